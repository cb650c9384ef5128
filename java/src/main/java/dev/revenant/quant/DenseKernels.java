package dev.revenant.quant;

import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The O(n³) inner loop of the GPTQ linear algebra ({@link CholeskyInverse}, {@link GptqQuantizer}): a
 * rank-{@code depth} update of up to four accumulator rows, {@code s_r[k] += Σ_m x_r[m] · b[m][k]}. A
 * register tile of 4 rows × 2 vectors stays in registers for the whole {@code m} loop (8 FMAs per two
 * loads of {@code b}), which plain loops do not get from C2 (measured ~2 GFMA/s per core for the plain
 * form). Callers tile {@code k} and {@code m} so that the {@code b} tile stays in L2.
 *
 * <p>Every element is one chain of fused multiply-adds over increasing {@code m}, in the vector lanes and in
 * the scalar tail alike ({@link Math#fma}), so the result depends neither on the vector width of the
 * machine nor on how rows and columns are split across threads.
 */
final class DenseKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;

    private DenseKernels() {
    }

    /** Runs {@code body(0 .. tasks-1)} on the common pool (or the caller's fork-join pool); tasks own disjoint outputs. */
    static void parallel(int tasks, IntConsumer body) {
        if (tasks == 1) {
            body.accept(0);
        } else if (tasks > 1) {
            IntStream.range(0, tasks).parallel().forEach(body);
        }
    }

    /** {@code s_r[sOff+k] += Σ_{m<depth} x_r[xOff+m] · b[bRow+m][bOff+k]}, {@code k < len}, for rows r < nr ≤ 4. */
    static void acc(int nr, float[][] s, int sOff, float[][] x, int xOff, float[][] b, int bRow, int bOff, int depth, int len) {
        float[] s0 = s[0];
        float[] s1 = nr > 1 ? s[1] : s0;
        float[] s2 = nr > 2 ? s[2] : s0;
        float[] s3 = nr > 3 ? s[3] : s0;
        float[] x0 = x[0];
        float[] x1 = nr > 1 ? x[1] : x0;
        float[] x2 = nr > 2 ? x[2] : x0;
        float[] x3 = nr > 3 ? x[3] : x0;
        int vl = F.length();
        int k = 0;
        if (nr == 4) {
            for (; k + 2 * vl <= len; k += 2 * vl) {
                int o = sOff + k;
                FloatVector c00 = FloatVector.fromArray(F, s0, o), c01 = FloatVector.fromArray(F, s0, o + vl);
                FloatVector c10 = FloatVector.fromArray(F, s1, o), c11 = FloatVector.fromArray(F, s1, o + vl);
                FloatVector c20 = FloatVector.fromArray(F, s2, o), c21 = FloatVector.fromArray(F, s2, o + vl);
                FloatVector c30 = FloatVector.fromArray(F, s3, o), c31 = FloatVector.fromArray(F, s3, o + vl);
                for (int m = 0; m < depth; m++) {
                    float[] bm = b[bRow + m];
                    FloatVector b0 = FloatVector.fromArray(F, bm, bOff + k);
                    FloatVector b1 = FloatVector.fromArray(F, bm, bOff + k + vl);
                    FloatVector a = FloatVector.broadcast(F, x0[xOff + m]);
                    c00 = b0.fma(a, c00);
                    c01 = b1.fma(a, c01);
                    a = FloatVector.broadcast(F, x1[xOff + m]);
                    c10 = b0.fma(a, c10);
                    c11 = b1.fma(a, c11);
                    a = FloatVector.broadcast(F, x2[xOff + m]);
                    c20 = b0.fma(a, c20);
                    c21 = b1.fma(a, c21);
                    a = FloatVector.broadcast(F, x3[xOff + m]);
                    c30 = b0.fma(a, c30);
                    c31 = b1.fma(a, c31);
                }
                c00.intoArray(s0, o);
                c01.intoArray(s0, o + vl);
                c10.intoArray(s1, o);
                c11.intoArray(s1, o + vl);
                c20.intoArray(s2, o);
                c21.intoArray(s2, o + vl);
                c30.intoArray(s3, o);
                c31.intoArray(s3, o + vl);
            }
        }
        for (int r = 0; r < nr; r++) {
            float[] sr = s[r];
            float[] xr = x[r];
            int kk = k;
            for (; kk + vl <= len; kk += vl) {
                FloatVector c = FloatVector.fromArray(F, sr, sOff + kk);
                for (int m = 0; m < depth; m++) {
                    c = FloatVector.fromArray(F, b[bRow + m], bOff + kk).fma(FloatVector.broadcast(F, xr[xOff + m]), c);
                }
                c.intoArray(sr, sOff + kk);
            }
            for (; kk < len; kk++) {
                float c = sr[sOff + kk];
                for (int m = 0; m < depth; m++) {
                    c = Math.fma(b[bRow + m][bOff + kk], xr[xOff + m], c);
                }
                sr[sOff + kk] = c;
            }
        }
    }

    /** The double form of {@link #acc(int, float[][], int, float[][], int, float[][], int, int, int, int)}. */
    static void acc(int nr, double[][] s, int sOff, double[][] x, int xOff, double[][] b, int bRow, int bOff, int depth, int len) {
        double[] s0 = s[0];
        double[] s1 = nr > 1 ? s[1] : s0;
        double[] s2 = nr > 2 ? s[2] : s0;
        double[] s3 = nr > 3 ? s[3] : s0;
        double[] x0 = x[0];
        double[] x1 = nr > 1 ? x[1] : x0;
        double[] x2 = nr > 2 ? x[2] : x0;
        double[] x3 = nr > 3 ? x[3] : x0;
        int vl = D.length();
        int k = 0;
        if (nr == 4) {
            for (; k + 2 * vl <= len; k += 2 * vl) {
                int o = sOff + k;
                DoubleVector c00 = DoubleVector.fromArray(D, s0, o), c01 = DoubleVector.fromArray(D, s0, o + vl);
                DoubleVector c10 = DoubleVector.fromArray(D, s1, o), c11 = DoubleVector.fromArray(D, s1, o + vl);
                DoubleVector c20 = DoubleVector.fromArray(D, s2, o), c21 = DoubleVector.fromArray(D, s2, o + vl);
                DoubleVector c30 = DoubleVector.fromArray(D, s3, o), c31 = DoubleVector.fromArray(D, s3, o + vl);
                for (int m = 0; m < depth; m++) {
                    double[] bm = b[bRow + m];
                    DoubleVector b0 = DoubleVector.fromArray(D, bm, bOff + k);
                    DoubleVector b1 = DoubleVector.fromArray(D, bm, bOff + k + vl);
                    DoubleVector a = DoubleVector.broadcast(D, x0[xOff + m]);
                    c00 = b0.fma(a, c00);
                    c01 = b1.fma(a, c01);
                    a = DoubleVector.broadcast(D, x1[xOff + m]);
                    c10 = b0.fma(a, c10);
                    c11 = b1.fma(a, c11);
                    a = DoubleVector.broadcast(D, x2[xOff + m]);
                    c20 = b0.fma(a, c20);
                    c21 = b1.fma(a, c21);
                    a = DoubleVector.broadcast(D, x3[xOff + m]);
                    c30 = b0.fma(a, c30);
                    c31 = b1.fma(a, c31);
                }
                c00.intoArray(s0, o);
                c01.intoArray(s0, o + vl);
                c10.intoArray(s1, o);
                c11.intoArray(s1, o + vl);
                c20.intoArray(s2, o);
                c21.intoArray(s2, o + vl);
                c30.intoArray(s3, o);
                c31.intoArray(s3, o + vl);
            }
        }
        for (int r = 0; r < nr; r++) {
            double[] sr = s[r];
            double[] xr = x[r];
            int kk = k;
            for (; kk + vl <= len; kk += vl) {
                DoubleVector c = DoubleVector.fromArray(D, sr, sOff + kk);
                for (int m = 0; m < depth; m++) {
                    c = DoubleVector.fromArray(D, b[bRow + m], bOff + kk).fma(DoubleVector.broadcast(D, xr[xOff + m]), c);
                }
                c.intoArray(sr, sOff + kk);
            }
            for (; kk < len; kk++) {
                double c = sr[sOff + kk];
                for (int m = 0; m < depth; m++) {
                    c = Math.fma(b[bRow + m][bOff + kk], xr[xOff + m], c);
                }
                sr[sOff + kk] = c;
            }
        }
    }

    /** Rows {@code [r0, r1)} of {@code s} updated with the same rows of {@code x}, four at a time. */
    static void accRows(double[][] s, int sOff, double[][] x, int xOff, int r0, int r1,
                        double[][] b, int bRow, int bOff, int depth, int len) {
        double[][] sg = new double[4][];
        double[][] xg = new double[4][];
        for (int r = r0; r < r1; r += 4) {
            int nr = Math.min(4, r1 - r);
            for (int t = 0; t < nr; t++) {
                sg[t] = s[r + t];
                xg[t] = x[r + t];
            }
            acc(nr, sg, sOff, xg, xOff, b, bRow, bOff, depth, len);
        }
    }
}
