package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The worker team runs every item of every call exactly once, also with more threads than cores. */
class VectorPoolTest {

    @Test
    void everyItemExactlyOnce() {
        AtomicIntegerArray runs = new AtomicIntegerArray(128);
        try (VectorPool pool = new VectorPool(3, "test-pool")) {
            for (int rep = 0; rep < 3000; rep++) {
                int n = 1 + rep % 127;
                pool.run(new VectorPool.Job() {
                    @Override
                    public int items() {
                        return n;
                    }

                    @Override
                    public void run(int item, int worker) {
                        runs.incrementAndGet(item);
                    }
                });
                for (int i = 0; i < runs.length(); i++) {
                    assertEquals(i < n ? 1 : 0, runs.getAndSet(i, 0), "call " + rep + ", item " + i);
                }
            }
        }
    }

    @Test
    void failuresReachTheCallerAndThePoolGoesOn() {
        try (VectorPool pool = new VectorPool(2, "test-pool")) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.run(new VectorPool.Job() {
                @Override
                public int items() {
                    return 64;
                }

                @Override
                public void run(int item, int worker) {
                    if (item == 40) {
                        throw new IllegalStateException("item 40");
                    }
                }
            }));
            assertEquals("item 40", e.getMessage());
            int[] sum = new int[1];
            pool.run(new VectorPool.Job() {
                @Override
                public int items() {
                    return 8;
                }

                @Override
                public void run(int item, int worker) {
                    synchronized (sum) {
                        sum[0] += item;
                    }
                }
            });
            assertEquals(28, sum[0]);
        }
    }
}
