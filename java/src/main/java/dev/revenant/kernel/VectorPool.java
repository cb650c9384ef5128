package dev.revenant.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of {@code threads} workers created once: the calling thread is worker 0 and
 * {@code threads - 1} platform threads are workers 1.. . {@link #run} splits a job into items that
 * the workers claim one by one from a shared cursor, so which worker computes an item never
 * changes a result, and returns when every item is done.
 *
 * <p>The caller waits for the items, not for the helpers: on a shared or oversubscribed machine a
 * helper that is not scheduled in time simply claims nothing, and the caller does its share. The
 * cursor packs (generation, next item) so a helper waking up late cannot claim an item of a later
 * call; it is closed before the job's fields may change.
 *
 * <p>Workers spin briefly between jobs (the ops of a forward pass come back to back), then park.
 * One {@link #run} at a time: the caller serializes (VectorBackend holds a lock).
 */
final class VectorPool implements AutoCloseable {

    /** Work split into {@link #items()} independent items. */
    interface Job {
        int items();

        /** Computes item {@code item}; {@code worker} in {@code [0, threads)} owns its scratch. */
        void run(int item, int worker);
    }

    /** Roughly 50-100 µs of PAUSE before parking: longer than the gap between two ops of a layer. */
    private static final int SPINS = 2048;
    private static final long CLOSED = Integer.MAX_VALUE;

    private final Helper[] helpers;
    /** (generation << 32) | next unclaimed item; CLOSED as the item once a run is over. */
    private final AtomicLong cursor = new AtomicLong(CLOSED);
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile Job job;
    private volatile int count;
    private volatile Thread caller;
    private volatile boolean callerParked;
    private volatile boolean closed;
    private int generation;

    VectorPool(int threads, String name) {
        if (threads < 1) {
            throw new IllegalArgumentException(name + ": threads must be ≥ 1, found " + threads);
        }
        helpers = new Helper[threads - 1];
        for (int i = 0; i < helpers.length; i++) {
            helpers[i] = new Helper(i + 1);
            helpers[i].thread = Thread.ofPlatform().name(name + "-" + (i + 1)).daemon(true).unstarted(helpers[i]);
        }
        for (Helper h : helpers) {
            h.thread.start();
        }
    }

    int threads() {
        return helpers.length + 1;
    }

    /** Runs every item of {@code j} (the caller as worker 0); rethrows the first failure. */
    void run(Job j) {
        if (closed) {
            throw new IllegalStateException("vector backend is closed");
        }
        int n = j.items();
        if (n <= 0) {
            return;
        }
        if (helpers.length == 0 || n == 1) {
            for (int i = 0; i < n; i++) {
                j.run(i, 0);
            }
            return;
        }
        int g = ++generation;
        caller = Thread.currentThread();
        job = j;
        count = n;
        done.set(0);
        cursor.set((long) g << 32); // publishes job and count (volatile writes before it)
        for (Helper h : helpers) {
            if (h.parked) {
                LockSupport.unpark(h.thread);
            }
        }
        work(g, 0);
        int spins = 0;
        while (done.get() != n) {
            if (++spins < SPINS) {
                Thread.onSpinWait();
            } else {
                callerParked = true;
                if (done.get() != n) {
                    LockSupport.park(this);
                }
                callerParked = false;
            }
        }
        cursor.set(((long) g << 32) | CLOSED); // no late claim of this generation from here on
        job = null;
        Throwable t = failure.getAndSet(null);
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new IllegalStateException(t);
        }
    }

    /** Claims and runs items of generation {@code g} until none is left. */
    private void work(int g, int worker) {
        while (true) {
            long c = cursor.get();
            int item = (int) c;
            if ((int) (c >>> 32) != g || item >= count) {
                return;
            }
            if (!cursor.compareAndSet(c, c + 1)) {
                continue;
            }
            // the item was unclaimed, so this generation is not over: job still holds its fields
            try {
                job.run(item, worker);
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
            if (done.incrementAndGet() == count && worker != 0 && callerParked) {
                LockSupport.unpark(caller);
            }
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Helper h : helpers) {
            LockSupport.unpark(h.thread);
        }
        for (Helper h : helpers) {
            try {
                h.thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private final class Helper implements Runnable {
        final int index;
        Thread thread;
        volatile boolean parked;

        Helper(int index) {
            this.index = index;
        }

        @Override
        public void run() {
            int seen = 0;
            while (true) {
                int g;
                int spins = 0;
                while ((g = (int) (cursor.get() >>> 32)) == seen && !closed) {
                    if (++spins < SPINS) {
                        Thread.onSpinWait();
                    } else {
                        // Dekker with run(): either run() sees parked or this sees the new generation.
                        parked = true;
                        if ((int) (cursor.get() >>> 32) == seen && !closed) {
                            LockSupport.park(this);
                        }
                        parked = false;
                    }
                }
                if (closed) {
                    return;
                }
                seen = g;
                work(g, index);
            }
        }
    }
}
