package dev.revenant.quant;

/**
 * The GPTQ authors' min-max {@code Quantizer} (IST-DASLab/gptq {@code quant.py}, {@code perchannel=True,
 * mse=False}) for one row and one group, in fp32 exactly as torch computes it: {@link RtnQuantizer} applies it
 * once per group, {@link GptqQuantizer} per row at group starts; {@link AwqQuantizer} shares its {@link #code}:
 * <pre>
 *   xmin = min(min(w), 0), xmax = max(max(w), 0)
 *   sym:  xmax = max(|xmin|, xmax); if xmin &lt; 0: xmin = -xmax
 *   dead: if xmin == 0 and xmax == 0: xmin = -1, xmax = +1
 *   scale = (xmax - xmin) / maxq,  zero = sym ? (maxq + 1) / 2 : rint(-xmin / scale)
 *   q = clamp(rint(w / scale) + zero, 0, maxq),  deq = scale * (q - zero)
 * </pre>
 * {@code rint} is {@code torch.round} (half to even); divisions are fp32 divisions, never reciprocals.
 */
final class MinMaxGrid {
    private MinMaxGrid() {
    }

    /** Scale and zero of {@code w[from, to)}, written to {@code scale[at]} and {@code zero[at]}. */
    static void find(float[] w, int from, int to, int maxq, boolean sym, float[] scale, float[] zero, int at) {
        float mn = w[from];
        float mx = w[from];
        for (int c = from + 1; c < to; c++) {
            mn = Math.min(mn, w[c]);
            mx = Math.max(mx, w[c]);
        }
        float xmin = Math.min(mn, 0f);
        float xmax = Math.max(mx, 0f);
        if (sym) {
            xmax = Math.max(Math.abs(xmin), xmax);
            if (xmin < 0) {
                xmin = -xmax;
            }
        }
        if (xmin == 0f && xmax == 0f) {
            xmin = -1f;
            xmax = 1f;
        }
        float s = (xmax - xmin) / maxq;
        scale[at] = s;
        zero[at] = sym ? (maxq + 1f) / 2f : (float) Math.rint(-xmin / s);
    }

    /** The integer code of {@code w}: {@code clamp(rint(w / scale) + zero, 0, maxq)}. */
    static float code(float w, float scale, float zero, int maxq) {
        float q = (float) Math.rint(w / scale) + zero;
        return Math.min(Math.max(q, 0f), (float) maxq);
    }
}
