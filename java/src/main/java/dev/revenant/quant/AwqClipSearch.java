package dev.revenant.quant;

/**
 * AWQ's weight-clipping search (AWQ paper §3.3 / AutoAWQ {@code _compute_best_clip} and {@code apply_clip}),
 * run after the activation scales are folded in: per row and group, try {@code max_val = org_max · (1 − i/20)}
 * for {@code i = 0..9} (shrinking by up to 50%, {@code max_shrink = 0.5}, {@code n_grid = 20}), where
 * {@code org_max = max |w|} over the group; clamp the group to {@code [−max_val, max_val]}, pseudo-quantize it,
 * and score {@code mean_t (Σ_{c ∈ group} x[t,c] · (q(w)[c] − w[c]))²}, the squared error of the group's
 * share of the output, over a token subsample; keep the first {@code i} with a strictly smaller error.
 *
 * <p>Choices, with their source:
 * <ul>
 *   <li>tokens: every {@code step}-th of the calibration inputs, {@code step = max(1, tokens / 512)}
 *       ({@code n_sample_token = 512}; AutoAWQ slices {@code input_feat[:, ::step]}, no random draw);
 *   <li>the inputs are the ones the Linear sees after the scales were folded ({@code x / s}; AutoAWQ divides
 *       its cached input features in {@code apply_scale});
 *   <li>the error is computed from the weight difference, {@code x·(q − w)}, which equals AutoAWQ's
 *       {@code cur_out − org_out} in exact arithmetic and avoids the cancellation of two large outputs;
 *       sums run as fused multiply-adds in fp32 per token, squares summed in double;
 *   <li>AutoAWQ does not clip q/k projections ({@code avoid_clipping}: their errors are amplified by
 *       attention's softmax); that is the driver's call.
 * </ul>
 * Rows and groups are split into fixed tasks; results do not depend on the thread count.
 */
public final class AwqClipSearch {
    /** Shrink steps tried: {@code int(max_shrink · n_grid)} = {@code int(0.5 · 20)}. */
    public static final int SHRINK_STEPS = 10;
    public static final int N_GRID = 20;
    /** AutoAWQ's {@code n_sample_token}. */
    public static final int N_SAMPLE_TOKEN = 512;
    static final int ROWS_PER_TASK = 32;

    private AwqClipSearch() {
    }

    /** The tokens AutoAWQ's clip search keeps: {@code 0, step, 2·step, …}, {@code step = max(1, tokens / 512)}. */
    public static int[] sampleTokens(int tokens) {
        int step = Math.max(1, tokens / N_SAMPLE_TOKEN);
        int n = (tokens + step - 1) / step;
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = i * step;
        }
        return t;
    }

    /** The shrink factor of step {@code i}, as torch scales an fp32 tensor by a Python float. */
    static float shrink(int i) {
        return (float) (1 - (double) i / N_GRID);
    }

    /**
     * The best clipping bound per row and group.
     *
     * @param w weights {@code [rows, cols]} (scales already folded in), not modified
     * @param x the Linear's inputs {@code [tokens, cols]} (already divided by the scales)
     * @return {@code max_val [rows, groups]}, row-major
     */
    public static float[] search(AwqQuantizer q, String name, float[] w, int rows, int cols, float[] x, int tokens) {
        AwqQuantizer.checkFinite(name, w, rows, cols);
        if (tokens <= 0 || x.length < (long) tokens * cols) {
            throw new IllegalArgumentException(name + ": " + x.length + " calibration inputs for [" + tokens + ", " + cols + "]");
        }
        int g = q.group(name, cols);
        int groups = cols / g;
        int[] keep = sampleTokens(tokens);
        float[][] xs = new float[keep.length][];
        for (int i = 0; i < keep.length; i++) {
            xs[i] = new float[cols];
            System.arraycopy(x, keep[i] * cols, xs[i], 0, cols);
            for (float v : xs[i]) {
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException(name + ": non-finite calibration input at token " + keep[i]);
                }
            }
        }
        float[] best = new float[rows * groups];
        int rowTasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        DenseKernels.parallel(rowTasks * groups, task -> {
            int r0 = task / groups * ROWS_PER_TASK;
            int k = task % groups;
            searchTile(q, w, cols, xs, r0, Math.min(rows, r0 + ROWS_PER_TASK), k * g, g, best, groups, k);
        });
        return best;
    }

    private static void searchTile(AwqQuantizer q, float[] w, int cols, float[][] xs, int r0, int r1, int c0, int g,
                                   float[] best, int groups, int k) {
        int nr = r1 - r0;
        int width = SHRINK_STEPS * nr;
        int maxq = q.maxq();
        float[] orgMax = new float[nr];
        float[][] dt = new float[g][width]; // dt[c][s·nr + r] = q_s(w)[r, c0+c] − w[r, c0+c]
        float[] cur = new float[g];
        float[] sc = new float[1];
        float[] zc = new float[1];
        for (int rr = 0; rr < nr; rr++) {
            int o = (r0 + rr) * cols + c0;
            float m = 0f;
            for (int c = 0; c < g; c++) {
                m = Math.max(m, Math.abs(w[o + c]));
            }
            orgMax[rr] = m;
            for (int s = 0; s < SHRINK_STEPS; s++) {
                float mv = m * shrink(s);
                for (int c = 0; c < g; c++) {
                    cur[c] = Math.min(Math.max(w[o + c], -mv), mv);
                }
                AwqQuantizer.params(cur, 0, g, maxq, sc, zc, 0);
                for (int c = 0; c < g; c++) {
                    float deq = (MinMaxGrid.code(cur[c], sc[0], zc[0], maxq) - zc[0]) * sc[0];
                    dt[c][s * nr + rr] = deq - w[o + c];
                }
            }
        }
        double[] err = new double[width];
        float[][] y = new float[4][width];
        float[][] x4 = new float[4][];
        int nt = xs.length;
        for (int t = 0; t < nt; t += 4) {
            int n4 = Math.min(4, nt - t);
            for (int i = 0; i < n4; i++) {
                java.util.Arrays.fill(y[i], 0f);
                x4[i] = xs[t + i];
            }
            DenseKernels.acc(n4, y, 0, x4, c0, dt, 0, 0, g, width);
            for (int i = 0; i < n4; i++) {
                float[] yi = y[i];
                for (int j = 0; j < width; j++) {
                    err[j] += (double) yi[j] * yi[j];
                }
            }
        }
        for (int rr = 0; rr < nr; rr++) {
            double minErr = 1e9; // AutoAWQ's initial min_errs
            float bestVal = orgMax[rr];
            for (int s = 0; s < SHRINK_STEPS; s++) {
                double e = err[s * nr + rr] / nt;
                if (e < minErr) {
                    minErr = e;
                    bestVal = orgMax[rr] * shrink(s);
                }
            }
            best[(r0 + rr) * groups + k] = bestVal;
        }
    }

    /** Clamps every group of {@code w [rows, cols]} to {@code [−max_val, max_val]} ({@code maxVal [rows, groups]}). */
    public static void apply(float[] w, int rows, int cols, int groupSize, float[] maxVal) {
        int g = groupSize < 0 ? cols : groupSize;
        int groups = cols / g;
        if (maxVal.length != rows * groups) {
            throw new IllegalArgumentException(maxVal.length + " clip bounds for " + rows + " rows x " + groups + " groups");
        }
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float mv = maxVal[r * groups + c / g];
                int i = r * cols + c;
                w[i] = Math.min(Math.max(w[i], -mv), mv);
            }
        }
    }
}
