package dev.revenant.quant;

import dev.revenant.tensor.Tensor;

/**
 * The building blocks of AWQ (Lin et al., "AWQ: Activation-aware Weight Quantization for LLM Compression
 * and Acceleration", MLSys 2024) with AutoAWQ's documented behaviour (its {@code pseudo_quantize_tensor},
 * {@code get_act_scale}, {@code _search_best_scale} and {@code _compute_best_clip}); written from those
 * descriptions. The block-level search over scaling ratios needs the transformer block's forward pass
 * and lives in the engine's driver; this class gives it:
 * <ol>
 *   <li>the zero-point group quantizer ({@link #quantize}, {@link #pseudoQuantize}); fp32 throughout
 *       (AutoAWQ runs fp16 models; the arithmetic is the same, the rounding of the inputs differs);
 *   <li>the activation statistic {@code x_mean = mean_t |x[t, c]|} ({@link #activationMean});
 *   <li>the scale candidates {@code s = clamp(x_mean^ratio, 1e-4) / sqrt(max(s)·min(s))}, ratio = i/20
 *       ({@link #scaleCandidate}; the paper's §3.3 search space, AutoAWQ without {@code duo_scaling});
 *       each is evaluated as {@code Q(W·diag(s))·diag(s)⁻¹} ({@link #pseudoQuantizeScaled}) and the best
 *       folded into the preceding op ({@link #scaleColumns}, {@link #divideRows});
 *   <li>the weight-clipping search ({@link AwqClipSearch}).
 * </ol>
 * The quantizer (per row and group of {@code groupSize} columns; AutoAWQ reshapes to {@code [-1, group]}):
 * <pre>
 *   max = max(w), min = min(w)              (not widened to include 0, unlike GPTQ's quantizer)
 *   scale = max(max − min, 1e-5) / maxq,  zero = clamp(−rint(min / scale), 0, maxq)
 *   q = clamp(rint(w / scale) + zero, 0, maxq),  deq = (q − zero) · scale        rint: half to even (torch.round)
 * </pre>
 */
public final class AwqQuantizer {
    /** Grid points of the ratio search (AutoAWQ {@code n_grid}); ratios i/20, i = 0..19. */
    public static final int N_GRID = 20;

    private final int bits;
    private final int groupSize;

    /** @param groupSize columns per group ({@code -1}: one group per row); AWQ's default is 128 */
    public AwqQuantizer(int bits, int groupSize) {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("AWQ bits must be 2..8, found " + bits);
        }
        if (groupSize != -1 && groupSize <= 0) {
            throw new IllegalArgumentException("AWQ group size must be positive or -1, found " + groupSize);
        }
        this.bits = bits;
        this.groupSize = groupSize;
    }

    /** The configuration of an {@code awq-wB-gG} name. */
    public static AwqQuantizer of(Precision p) {
        if (p.kind() != Precision.Kind.AWQ) {
            throw new IllegalArgumentException("precision '" + p.name() + "' is not an AWQ precision (awq-wB-gG)");
        }
        Precision.IntSpec s = p.intSpec();
        return new AwqQuantizer(s.bits(), s.groupSize());
    }

    public int bits() {
        return bits;
    }

    public int groupSize() {
        return groupSize;
    }

    public int maxq() {
        return (1 << bits) - 1;
    }

    public String precisionName() {
        return "awq-w" + bits + (groupSize > 0 ? "-g" + groupSize : "");
    }

    /** Columns per group for a weight of {@code cols} columns; AutoAWQ's reshape needs whole groups. */
    int group(String name, int cols) {
        int g = groupSize < 0 ? cols : groupSize;
        if (cols % g != 0) {
            throw new IllegalArgumentException(name + ": " + cols + " input columns are not a multiple of the AWQ group size "
                    + g);
        }
        return g;
    }

    /** Quantizes {@code w [out, in]} (F32/BF16/F16/F64), already scaled and clipped by the driver. */
    public GptqPacked quantize(Tensor w) {
        int[] d = QuantInput.dims(w);
        float[] flat = new float[d[0] * d[1]];
        float[] row = new float[d[1]];
        for (int r = 0; r < d[0]; r++) {
            QuantInput.row(w, r, d[1], row);
            System.arraycopy(row, 0, flat, r * d[1], d[1]);
        }
        return quantize(w.name(), flat, d[0], d[1]);
    }

    /** Quantizes {@code w [rows, cols]} (row-major, not modified); {@code g_idx[c] = c / group}. */
    public GptqPacked quantize(String name, float[] w, int rows, int cols) {
        checkFinite(name, w, rows, cols);
        int g = cols == 0 ? 1 : group(name, cols);
        int groups = cols / g;
        byte[] codes = new byte[rows * cols];
        float[] scale = new float[groups * rows];
        float[] zero = new float[groups * rows];
        int maxq = maxq();
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < groups; k++) {
                int o = r * cols + k * g;
                params(w, o, o + g, maxq, scale, zero, k * rows + r);
                float s = scale[k * rows + r];
                float z = zero[k * rows + r];
                for (int i = o; i < o + g; i++) {
                    codes[i] = (byte) (int) MinMaxGrid.code(w[i], s, z, maxq);
                }
            }
        }
        return GptqPacked.of(name, precisionName(), rows, cols, bits, groupSize, false, codes, scale, zero, null);
    }

    /** The dequantized values AWQ's searches compare against ({@code pseudo_quantize_tensor}); {@code w} is not modified. */
    public float[] pseudoQuantize(float[] w, int rows, int cols) {
        float[] out = w.clone();
        pseudoQuantizeInPlace(out, rows, cols, 0, rows);
        return out;
    }

    /** In place on rows {@code [r0, r1)} of {@code w [rows, cols]}. */
    void pseudoQuantizeInPlace(float[] w, int rows, int cols, int r0, int r1) {
        int g = group("weight", cols);
        int maxq = maxq();
        float[] sz = new float[2];
        float[] zz = new float[1];
        for (int r = r0; r < r1; r++) {
            for (int o = r * cols; o < (r + 1) * cols; o += g) {
                params(w, o, o + g, maxq, sz, zz, 0);
                float s = sz[0];
                float z = zz[0];
                for (int i = o; i < o + g; i++) {
                    w[i] = (MinMaxGrid.code(w[i], s, z, maxq) - z) * s;
                }
            }
        }
    }

    /**
     * One candidate of the ratio search: {@code Q(W·diag(s))·diag(s)⁻¹} (AutoAWQ: {@code weight.mul_(scales)},
     * pseudo-quantize, {@code / scales}), the weight the block forward runs with to score the candidate.
     */
    public float[] pseudoQuantizeScaled(float[] w, int rows, int cols, float[] s) {
        float[] out = w.clone();
        scaleColumns(out, rows, cols, s);
        pseudoQuantizeInPlace(out, rows, cols, 0, rows);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] /= s[c];
            }
        }
        return out;
    }

    /** AutoAWQ's zero-point params of {@code w[from, to)} into {@code scale[at]}, {@code zero[at]}. */
    static void params(float[] w, int from, int to, int maxq, float[] scale, float[] zero, int at) {
        float mn = w[from];
        float mx = w[from];
        for (int i = from + 1; i < to; i++) {
            mn = Math.min(mn, w[i]);
            mx = Math.max(mx, w[i]);
        }
        float s = Math.max(mx - mn, 1e-5f) / maxq;
        float z = -(float) Math.rint(mn / s);
        scale[at] = s;
        zero[at] = Math.min(Math.max(z, 0f), (float) maxq); // max(-0.0, 0) = +0.0
    }

    /**
     * AWQ's activation statistic: per input channel, the mean over tokens of {@code |x|} (AutoAWQ
     * {@code get_act_scale}: {@code x.abs().view(-1, in).mean(0)}), summed in double.
     *
     * @param x the layer's calibration inputs {@code [tokens, cols]}
     */
    public static float[] activationMean(float[] x, int tokens, int cols) {
        if (tokens <= 0 || x.length < (long) tokens * cols) {
            throw new IllegalArgumentException("activation mean: " + x.length + " values for [" + tokens + ", " + cols + "]");
        }
        double[] sum = new double[cols];
        for (int t = 0; t < tokens; t++) {
            for (int c = 0; c < cols; c++) {
                float v = x[t * cols + c];
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("activation mean: non-finite input " + v + " at token " + t
                            + ", channel " + c);
                }
                sum[c] += Math.abs(v);
            }
        }
        float[] out = new float[cols];
        for (int c = 0; c < cols; c++) {
            out[c] = (float) (sum[c] / tokens);
        }
        return out;
    }

    /**
     * Candidate {@code i} (ratio {@code i / 20}, {@code i = 0..19}) of the per-channel scales: {@code s =
     * max(x_mean^ratio, 1e-4)}, then {@code s / sqrt(max(s) · min(s))} so the scales are centred around 1
     * in log space (max·min of the result is 1); a non-finite scale becomes 1 (AutoAWQ). Ratio 0 gives all
     * ones: plain RTN is always among the candidates.
     */
    public static float[] scaleCandidate(float[] xMean, int i) {
        if (i < 0 || i >= N_GRID) {
            throw new IllegalArgumentException("AWQ ratio index must be 0.." + (N_GRID - 1) + ", found " + i);
        }
        double ratio = (double) i / N_GRID;
        int n = xMean.length;
        float[] s = new float[n];
        float mx = Float.NEGATIVE_INFINITY;
        float mn = Float.POSITIVE_INFINITY;
        for (int c = 0; c < n; c++) {
            s[c] = Math.max((float) Math.pow(xMean[c], ratio), 1e-4f);
            mx = Math.max(mx, s[c]);
            mn = Math.min(mn, s[c]);
        }
        float norm = (float) Math.sqrt(mx * mn);
        for (int c = 0; c < n; c++) {
            float v = s[c] / norm;
            s[c] = Float.isFinite(v) ? v : 1f;
        }
        return s;
    }

    /** All {@value #N_GRID} candidates, index = ratio · 20. */
    public static float[][] scaleCandidates(float[] xMean) {
        float[][] out = new float[N_GRID][];
        for (int i = 0; i < N_GRID; i++) {
            out[i] = scaleCandidate(xMean, i);
        }
        return out;
    }

    /** {@code W[:, c] *= s[c]}: folds the chosen scales into a Linear that reads the scaled channel. */
    public static void scaleColumns(float[] w, int rows, int cols, float[] s) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                w[r * cols + c] *= s[c];
            }
        }
    }

    /**
     * {@code W[c, :] /= s[c]} for the producing Linear (AutoAWQ {@code scale_fc_fc}: v_proj before o_proj, up_proj
     * before down_proj; divide its bias by {@code s} too), or, with {@code cols = 1}, a norm weight
     * ({@code scale_ln_fcs}: the RMSNorm weight before q/k/v or gate/up).
     */
    public static void divideRows(float[] w, int rows, int cols, float[] s) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                w[r * cols + c] /= s[r];
            }
        }
    }

    static void checkFinite(String name, float[] w, int rows, int cols) {
        if (w.length != (long) rows * cols) {
            throw new IllegalArgumentException(name + ": " + w.length + " weights for [" + rows + ", " + cols + "]");
        }
        for (int i = 0; i < w.length; i++) {
            if (!Float.isFinite(w[i])) {
                throw QuantInput.nonFinite(name, new long[] {rows, cols}, i, w[i], "");
            }
        }
    }
}
