package dev.revenant.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * This machine's fp32 FMA throughput as the JVM can reach it: each thread runs 12 independent
 * FloatVector FMA chains (enough to cover FMA latency × ports on current x86) in registers, no memory
 * traffic. GFLOP/s counts 2 flops per lane per FMA. The compute floor that matmuls with many rows are
 * judged against, measured rather than taken from a datasheet.
 */
public final class FmaPeak {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static volatile float sink;

    private FmaPeak() {
    }

    /** Median GFLOP/s over {@code repeats} runs of {@code threads} threads. */
    public static double gflops(int threads, int repeats) {
        long iters = 20_000_000L;
        chains(200_000); // JIT warm-up
        double[] g = new double[repeats];
        for (int r = 0; r < repeats; r++) {
            Thread[] team = new Thread[threads];
            long t0 = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                team[t] = Thread.ofPlatform().start(() -> sink += chains(iters));
            }
            for (Thread t : team) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("FMA probe interrupted", e);
                }
            }
            double s = (System.nanoTime() - t0) / 1e9;
            g[r] = threads * iters * 12.0 * F.length() * 2 / s / 1e9;
        }
        Arrays.sort(g);
        return g[repeats / 2];
    }

    private static float chains(long iters) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f);
        FloatVector c = FloatVector.broadcast(F, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0.add(c), a2 = a1.add(c), a3 = a2.add(c);
        FloatVector a4 = a3.add(c), a5 = a4.add(c), a6 = a5.add(c), a7 = a6.add(c);
        FloatVector a8 = a7.add(c), a9 = a8.add(c), a10 = a9.add(c), a11 = a10.add(c);
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11).lane(0);
    }
}
