package dev.revenant.quant;

import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * The two inner loops of the GPTQ linear algebra ({@link CholeskyInverse}, {@link GptqQuantizer}): a
 * rank-{@code depth} update of four accumulator rows at once, {@code s_r[k] += Σ_m x_r[m] · b[m][k]},
 * written as plain loops that C2's superword pass turns into vector multiply-adds (one
 * {@code b} load feeds four rows, so the loop is not load-bound on {@code b}). Callers tile {@code k}
 * (a few KiB of accumulators stay in L1) and {@code m} (the {@code b} tile stays in L2).
 *
 * <p>Each accumulator element sums its {@code depth} terms in increasing {@code m}, whatever the tiling
 * of the other rows and columns, so results never depend on how work is split across threads.
 */
final class DenseKernels {
    private DenseKernels() {
    }

    /** Runs {@code body(0 .. tasks-1)} on the common pool; every task owns fixed, disjoint outputs. */
    static void parallel(int tasks, IntConsumer body) {
        if (tasks == 1) {
            body.accept(0);
        } else if (tasks > 1) {
            IntStream.range(0, tasks).parallel().forEach(body);
        }
    }

    /** {@code s_r[sOff+k] += Σ_{m<depth} x_r[xOff+m] · b[bRow+m][bOff+k]}, {@code k < len}, rows r = 0..3. */
    static void acc4(double[] s0, double[] s1, double[] s2, double[] s3, int sOff,
                     double[] x0, double[] x1, double[] x2, double[] x3, int xOff,
                     double[][] b, int bRow, int bOff, int depth, int len) {
        for (int m = 0; m < depth; m++) {
            double[] bm = b[bRow + m];
            double a0 = x0[xOff + m];
            double a1 = x1[xOff + m];
            double a2 = x2[xOff + m];
            double a3 = x3[xOff + m];
            for (int k = 0; k < len; k++) {
                double v = bm[bOff + k];
                s0[sOff + k] += a0 * v;
                s1[sOff + k] += a1 * v;
                s2[sOff + k] += a2 * v;
                s3[sOff + k] += a3 * v;
            }
        }
    }

    /** One-row form of {@link #acc4(double[], double[], double[], double[], int, double[], double[], double[], double[], int, double[][], int, int, int, int)}. */
    static void acc1(double[] s0, int sOff, double[] x0, int xOff, double[][] b, int bRow, int bOff, int depth, int len) {
        for (int m = 0; m < depth; m++) {
            double[] bm = b[bRow + m];
            double a0 = x0[xOff + m];
            for (int k = 0; k < len; k++) {
                s0[sOff + k] += a0 * bm[bOff + k];
            }
        }
    }

    /** Rows {@code [r0, r1)} of {@code s} (row {@code r} of {@code s} paired with row {@code r} of {@code x}). */
    static void accRows(double[][] s, int sOff, double[][] x, int xOff, int r0, int r1,
                        double[][] b, int bRow, int bOff, int depth, int len) {
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            acc4(s[r], s[r + 1], s[r + 2], s[r + 3], sOff, x[r], x[r + 1], x[r + 2], x[r + 3], xOff, b, bRow, bOff, depth, len);
        }
        for (; r < r1; r++) {
            acc1(s[r], sOff, x[r], xOff, b, bRow, bOff, depth, len);
        }
    }

    /** The fp32 form: {@code s_r[sOff+k] += Σ_{m<depth} x_r[xOff+m] · b[bRow+m][bOff+k]}, rows r = 0..3. */
    static void acc4(float[] s0, float[] s1, float[] s2, float[] s3, int sOff,
                     float[] x0, float[] x1, float[] x2, float[] x3, int xOff,
                     float[][] b, int bRow, int bOff, int depth, int len) {
        for (int m = 0; m < depth; m++) {
            float[] bm = b[bRow + m];
            float a0 = x0[xOff + m];
            float a1 = x1[xOff + m];
            float a2 = x2[xOff + m];
            float a3 = x3[xOff + m];
            for (int k = 0; k < len; k++) {
                float v = bm[bOff + k];
                s0[sOff + k] += a0 * v;
                s1[sOff + k] += a1 * v;
                s2[sOff + k] += a2 * v;
                s3[sOff + k] += a3 * v;
            }
        }
    }

    static void acc1(float[] s0, int sOff, float[] x0, int xOff, float[][] b, int bRow, int bOff, int depth, int len) {
        for (int m = 0; m < depth; m++) {
            float[] bm = b[bRow + m];
            float a0 = x0[xOff + m];
            for (int k = 0; k < len; k++) {
                s0[sOff + k] += a0 * bm[bOff + k];
            }
        }
    }

    static void accRows(float[][] s, int sOff, float[][] x, int xOff, int r0, int r1,
                        float[][] b, int bRow, int bOff, int depth, int len) {
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            acc4(s[r], s[r + 1], s[r + 2], s[r + 3], sOff, x[r], x[r + 1], x[r + 2], x[r + 3], xOff, b, bRow, bOff, depth, len);
        }
        for (; r < r1; r++) {
            acc1(s[r], sOff, x[r], xOff, b, bRow, bOff, depth, len);
        }
    }
}
