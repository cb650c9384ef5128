package dev.revenant.quant;

import dev.revenant.tensor.Tensor;

/**
 * bitsandbytes LLM.int8 (muse-spec.md §2.3; bitsandbytes 0.43.0 {@code Int8Params.cuda},
 * {@code double_quant}, {@code MatMul8bitLt.forward}, {@code kDoubleRowColQuant},
 * {@code kdequant_mm_int32_fp16}), as a plain-loop reference.
 *
 * <p><b>Weights.</b> bitsandbytes quantizes {@code weight.half()}, so each weight is first rounded
 * to fp16 (a value beyond fp16's range is refused). Then per row {@code o}:
 * {@code SCB[o] = max|W[o,:]|} (fp32) and {@code CB[o,i] = (int8) rint(W[o,i] * (127f / SCB[o]))}:
 * the quotient {@code 127f / SCB} is computed once per row in fp32 and multiplied in, as the kernel
 * does. The kernel divides with {@code __fdividef} (a fast division within 2 ulp); IEEE division is
 * used here, so a code can differ from a GPU's only when the product lies within 2 ulp of a .5 tie.
 * An all-zero row has {@code SCB = 0} and codes 0.
 *
 * <p><b>Activations</b> (threshold {@value #THRESHOLD}): see {@link #matmulReference}. That op is
 * <em>not batch-invariant by definition</em>: which input columns take the fp16 outlier path depends
 * on every row of the call, so the same token can get different outputs alone and in a batch.
 * {@link #matmulPerRow} decides outliers per row and is batch-invariant; it equals
 * {@code matmulReference} for a single-row call.
 */
public final class Int8Bnb {
    public static final float THRESHOLD = 6.0f;
    /** {@code MM_DEQUANT_CONST}: 1/(127·127) as the kernel spells it. */
    public static final float MM_DEQUANT = 6.200012e-05f;

    private Int8Bnb() {
    }

    /** Quantizes a float weight {@code [out, in]} (rounded to fp16 first, as bitsandbytes does). */
    public static Int8Packed quantize(Tensor w) {
        int[] d = QuantInput.dims(w);
        int rows = d[0];
        int cols = d[1];
        byte[] cb = new byte[rows * cols];
        float[] scb = new float[rows];
        float[] row = new float[cols];
        for (int o = 0; o < rows; o++) {
            QuantInput.row(w, o, cols, row);
            float amax = 0f;
            for (int i = 0; i < cols; i++) {
                row[i] = fp16(row[i]);
                if (Float.isInfinite(row[i])) {
                    throw QuantInput.nonFinite(w.name(), w.shape(), (long) o * cols + i, row[i], " (after rounding to fp16)");
                }
                amax = Math.max(amax, Math.abs(row[i]));
            }
            scb[o] = amax;
            float rowStat = 127f / amax;
            for (int i = 0; i < cols; i++) {
                cb[o * cols + i] = (byte) quantizeInt8(row[i], rowStat);
            }
        }
        return new Int8Packed(w.name(), rows, cols, cb, scb);
    }

    /**
     * LLM.int8 {@code out[r, o] = x[r, :] · W[o, :]} for {@code x} {@code [rows, in]} row-major and
     * {@code out} {@code [rows, out]}, with bitsandbytes' batch semantics:
     * <ol>
     *   <li>{@code x} is rounded to fp16 (bitsandbytes runs on fp16 activations);</li>
     *   <li>outlier columns: every {@code j} where some row has {@code |x[r,j]| >= 6} <em>in this call</em>;</li>
     *   <li>{@code SCA[r]} = max |x[r,j]| over the entries with {@code |x| < 6} (including the small
     *       entries of outlier columns); {@code CA[r,j] = rint(x[r,j] * (127f / SCA[r]))}, 0 in outlier columns;</li>
     *   <li>int32 {@code acc = CA · CBᵀ}; {@code out = fp16(acc * 6.200012e-05f * SCA[r] * SCB[o])},
     *       multiplied left to right as {@code kdequant_mm_int32_fp16} does;</li>
     *   <li>when there are outlier columns: {@code subB[o,j] = fp16((CB[o,j] * SCB[o]) / 127f)},
     *       {@code part = fp16(Σ_j x[r,j] * subB[o,j])} summed in fp32 over the outlier columns in
     *       ascending order (fp16 products are exact in fp32; a GPU GEMM may sum in another order),
     *       and {@code out = fp16(out + part)} (an fp16 add).</li>
     * </ol>
     * Every output value is an fp16 value widened to float.
     */
    public static void matmulReference(float[] x, int rows, int in, Int8Packed w, float[] out) {
        check(x, rows, in, w, out);
        float[] xh = toFp16(x, rows * in);
        boolean[] outlier = new boolean[in];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < in; j++) {
                outlier[j] |= Math.abs(xh[r * in + j]) >= THRESHOLD;
            }
        }
        int[] ca = new int[in];
        for (int r = 0; r < rows; r++) {
            float sca = rowStat(xh, r * in, in);
            for (int j = 0; j < in; j++) {
                ca[j] = outlier[j] ? 0 : quantizeInt8(xh[r * in + j], 127f / sca);
            }
            rowOut(xh, r * in, ca, sca, outlier, w, out, r * w.rows());
        }
    }

    /**
     * The batch-invariant variant: as {@link #matmulReference}, but the outlier set is decided per
     * row ({@code |x[r,j]| >= 6} for that row only), so row {@code r}'s output depends on row
     * {@code r} alone. Not what bitsandbytes computes for a batch with outliers in other rows.
     */
    public static void matmulPerRow(float[] x, int rows, int in, Int8Packed w, float[] out) {
        check(x, rows, in, w, out);
        float[] xh = toFp16(x, rows * in);
        boolean[] outlier = new boolean[in];
        int[] ca = new int[in];
        for (int r = 0; r < rows; r++) {
            float sca = rowStat(xh, r * in, in);
            for (int j = 0; j < in; j++) {
                float v = xh[r * in + j];
                outlier[j] = Math.abs(v) >= THRESHOLD;
                ca[j] = outlier[j] ? 0 : quantizeInt8(v, 127f / sca);
            }
            rowOut(xh, r * in, ca, sca, outlier, w, out, r * w.rows());
        }
    }

    /**
     * The activations of {@link #matmulPerRow} prepared for a kernel: {@code xh} rounded to fp16 {@code [rows, in]},
     * the int8 codes {@code ca} (0 in outlier columns), the row statistics {@code sca}, and each row's outlier
     * columns {@code outlierCols[outlierStart[r] .. outlierStart[r + 1])} in ascending order.
     */
    public record Int8Rows(float[] xh, byte[] ca, float[] sca, int[] outlierStart, int[] outlierCols) {
    }

    /** {@link Int8Rows} of {@code x [rows, in]}, exactly as {@link #matmulPerRow} quantizes it. */
    public static Int8Rows prepareRows(float[] x, int rows, int in) {
        float[] xh = toFp16(x, rows * in);
        byte[] ca = new byte[rows * in];
        float[] sca = new float[rows];
        int[] start = new int[rows + 1];
        int[] cols = new int[8];
        int count = 0;
        for (int r = 0; r < rows; r++) {
            sca[r] = rowStat(xh, r * in, in);
            for (int j = 0; j < in; j++) {
                float v = xh[r * in + j];
                if (Math.abs(v) >= THRESHOLD) {
                    if (count == cols.length) {
                        cols = java.util.Arrays.copyOf(cols, 2 * count);
                    }
                    cols[count++] = j;
                } else {
                    ca[r * in + j] = (byte) quantizeInt8(v, 127f / sca[r]);
                }
            }
            start[r + 1] = count;
        }
        return new Int8Rows(xh, ca, sca, start, java.util.Arrays.copyOf(cols, Math.max(count, 1)));
    }

    /** One output row: the int8 part, then the fp16 outlier part when any column is an outlier. */
    private static void rowOut(float[] xh, int xOff, int[] ca, float sca, boolean[] outlier, Int8Packed w, float[] out,
                               int outOff) {
        int in = w.cols();
        boolean anyOutlier = false;
        for (boolean b : outlier) {
            anyOutlier |= b;
        }
        for (int o = 0; o < w.rows(); o++) {
            int acc = 0;
            int wOff = o * in;
            for (int j = 0; j < in; j++) {
                acc += ca[j] * w.cb()[wOff + j];
            }
            float scb = w.scb()[o];
            float v = fp16(acc * MM_DEQUANT * sca * scb);
            if (anyOutlier) {
                float part = 0f;
                for (int j = 0; j < in; j++) {
                    if (outlier[j]) {
                        part += xh[xOff + j] * fp16((w.cb()[wOff + j] * scb) / 127f);
                    }
                }
                v = fp16(v + fp16(part));
            }
            out[outOff + o] = v;
        }
    }

    /** max |x| over the entries below the threshold (bitsandbytes zeroes outlier entries first). */
    private static float rowStat(float[] xh, int off, int in) {
        float m = 0f;
        for (int j = 0; j < in; j++) {
            float a = Math.abs(xh[off + j]);
            if (a < THRESHOLD) {
                m = Math.max(m, a);
            }
        }
        return m;
    }

    /** {@code (int8) rint(v * rowStat)}; a zero row stat (127/0 = Inf, 0 * Inf = NaN) gives 0. */
    static int quantizeInt8(float v, float rowStat) {
        float p = v * rowStat;
        return Float.isNaN(p) ? 0 : (int) Math.rint(p);
    }

    static float fp16(float v) {
        return Float.float16ToFloat(Float.floatToFloat16(v));
    }

    private static float[] toFp16(float[] x, int n) {
        float[] h = new float[n];
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(x[i])) {
                throw new IllegalArgumentException("int8 matmul: non-finite activation " + x[i] + " at index " + i);
            }
            h[i] = fp16(x[i]);
        }
        return h;
    }

    private static void check(float[] x, int rows, int in, Int8Packed w, float[] out) {
        if (in != w.cols() || rows < 0 || x.length < (long) rows * in || out.length < (long) rows * w.rows()) {
            throw new IllegalArgumentException("int8 matmul " + w.name() + " [" + w.rows() + ", " + w.cols() + "]: x has "
                    + x.length + " values for [" + rows + ", " + in + "], out " + out.length + " for [" + rows + ", "
                    + w.rows() + "]");
        }
    }
}
