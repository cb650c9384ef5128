package dev.revenant.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Memory bandwidth of this machine, the floor that decode speed is judged against.
 *
 * <p>Decode streams every weight once per token and writes almost nothing, so its honest floor is
 * {@link #readBytesPerSecond}: time per token ≥ weight bytes / read bandwidth. {@link #copyBytesPerSecond}
 * is the STREAM "copy" figure (2 × bytes moved per copy), given for comparison with published numbers.
 * Buffers are off-heap ({@link Arena}), touched before timing, and should be much larger than the
 * last-level cache (this VM reports a 480 MiB L3, hence the 1 GiB default of {@link #main}).
 */
public final class Bandwidth {
    private Bandwidth() {
    }

    private static final VectorSpecies<Long> LS = LongVector.SPECIES_PREFERRED;
    private static volatile long sink;

    /** Median over {@code repeats} of (2 · bytes) / time for a copy of {@code bytes} split across {@code threads}. */
    public static double copyBytesPerSecond(long bytes, int threads, int repeats) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = touched(arena, bytes);
            MemorySegment dst = touched(arena, bytes);
            return 2.0 * bytes / medianSeconds(bytes, threads, repeats,
                    (from, to) -> MemorySegment.copy(src, from, dst, from, to - from));
        }
    }

    /** Median over {@code repeats} of bytes / time for a vector sum of {@code bytes} split across {@code threads}. */
    public static double readBytesPerSecond(long bytes, int threads, int repeats) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = touched(arena, bytes);
            warmUp(src, Math.min(bytes, 64 << 10));
            return bytes / medianSeconds(bytes, threads, repeats, (from, to) -> sink += sumLongs(src, from, to));
        }
    }

    private interface Part {
        void run(long from, long to);
    }

    private static MemorySegment touched(Arena arena, long bytes) {
        if (bytes < 64 || bytes % 64 != 0) {
            throw new IllegalArgumentException("bandwidth buffer must be a positive multiple of 64 bytes, found " + bytes);
        }
        MemorySegment s = arena.allocate(bytes, 4096);
        s.fill((byte) 1);
        return s;
    }

    /** Runs the read loop until C2 has compiled it: interpreted, the Vector API is ~1000× slower. */
    private static void warmUp(MemorySegment s, long bytes) {
        long t0 = System.nanoTime();
        for (int i = 0; i < 20_000 && System.nanoTime() - t0 < 2_000_000_000L; i++) {
            sink += sumLongs(s, 0, bytes);
        }
    }

    /** Sum of the longs in {@code [from, to)}: four vector accumulators, a pure streaming read. */
    static long sumLongs(MemorySegment s, long from, long to) {
        LongVector a0 = LongVector.zero(LS), a1 = a0, a2 = a0, a3 = a0;
        long step = LS.vectorByteSize();
        long off = from;
        for (; off + 4 * step <= to; off += 4 * step) {
            a0 = a0.add(LongVector.fromMemorySegment(LS, s, off, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(LongVector.fromMemorySegment(LS, s, off + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(LongVector.fromMemorySegment(LS, s, off + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(LongVector.fromMemorySegment(LS, s, off + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        long r = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; off + 8 <= to; off += 8) {
            r += s.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, off);
        }
        return r;
    }

    /** Runs {@code part} over {@code threads} equal slices, {@code repeats + 1} times (the first is warm-up). */
    private static double medianSeconds(long bytes, int threads, int repeats, Part part) {
        if (threads < 1 || repeats < 1) {
            throw new IllegalArgumentException("bandwidth: threads and repeats must be ≥ 1, found " + threads + ", " + repeats);
        }
        long slice = bytes / threads / 64 * 64;
        CyclicBarrier barrier = new CyclicBarrier(threads + 1);
        Thread[] team = new Thread[threads];
        double[] seconds = new double[repeats];
        for (int i = 0; i < threads; i++) {
            long from = i * slice;
            long to = i == threads - 1 ? bytes : from + slice;
            team[i] = Thread.ofPlatform().name("revenant-bandwidth-" + i).start(() -> {
                try {
                    for (int rep = 0; rep <= repeats; rep++) {
                        barrier.await();
                        part.run(from, to);
                        barrier.await();
                    }
                } catch (InterruptedException | BrokenBarrierException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        try {
            for (int rep = 0; rep <= repeats; rep++) {
                barrier.await();
                long t0 = System.nanoTime();
                barrier.await();
                long t1 = System.nanoTime();
                if (rep > 0) {
                    seconds[rep - 1] = (t1 - t0) * 1e-9;
                }
            }
            for (Thread t : team) {
                t.join();
            }
        } catch (InterruptedException | BrokenBarrierException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("bandwidth measurement interrupted", e);
        }
        Arrays.sort(seconds);
        return repeats % 2 == 1 ? seconds[repeats / 2] : 0.5 * (seconds[repeats / 2 - 1] + seconds[repeats / 2]);
    }

    /** {@code Bandwidth [bytes, e.g. 1g or 512m] [repeats] [threads...]}: prints read and copy GB/s. */
    public static void main(String[] args) {
        long bytes = args.length > 0 ? parseBytes(args[0]) : 1L << 30;
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int[] threads = args.length > 2
                ? Arrays.stream(args, 2, args.length).mapToInt(Integer::parseInt).toArray()
                : new int[] {1, Runtime.getRuntime().availableProcessors()};
        for (int t : threads) {
            double read = readBytesPerSecond(bytes, t, repeats);
            double copy = copyBytesPerSecond(bytes, t, repeats);
            System.out.printf(Locale.ROOT, "threads=%d buffer=%d MiB read=%.2f GB/s copy=%.2f GB/s (median of %d)%n",
                    t, bytes >> 20, read / 1e9, copy / 1e9, repeats);
        }
    }

    private static long parseBytes(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        long unit = t.endsWith("g") ? 1L << 30 : t.endsWith("m") ? 1L << 20 : t.endsWith("k") ? 1L << 10 : 1;
        String digits = unit == 1 ? t : t.substring(0, t.length() - 1);
        return Long.parseLong(digits) * unit;
    }
}
