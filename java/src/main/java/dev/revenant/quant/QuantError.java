package dev.revenant.quant;

/**
 * The layer-wise error GPTQ minimises and the fixture reports: {@code ‖X Ŵᵀ − X Wᵀ‖² / ‖X Wᵀ‖²} over the
 * calibration inputs (GPTQ paper, eq. 1, normalised). Sums in double, so it is within ~1e-7 relative of
 * the fixture's fp32 torch value.
 */
public final class QuantError {
    private QuantError() {
    }

    /**
     * @param x inputs {@code [tokens, in]}
     * @param w original weights {@code [out, in]}
     * @param wq quantized (dequantized) weights {@code [out, in]}
     */
    public static double relativeOutputError(float[] x, int tokens, float[] w, float[] wq, int out, int in) {
        if (x.length < (long) tokens * in || w.length != (long) out * in || wq.length != w.length) {
            throw new IllegalArgumentException("shapes: x " + x.length + " for [" + tokens + ", " + in + "], w " + w.length
                    + " and wq " + wq.length + " for [" + out + ", " + in + "]");
        }
        double num = 0;
        double den = 0;
        for (int t = 0; t < tokens; t++) {
            int xo = t * in;
            for (int r = 0; r < out; r++) {
                int wo = r * in;
                double y = 0;
                double yq = 0;
                for (int c = 0; c < in; c++) {
                    double xv = x[xo + c];
                    y += xv * w[wo + c];
                    yq += xv * wq[wo + c];
                }
                num += (yq - y) * (yq - y);
                den += y * y;
            }
        }
        return num / den;
    }

    /** The dequantized weights {@code [rows, cols]} of a packed weight, original column order. */
    public static float[] dequantize(GptqPacked p) {
        int rows = p.rows();
        int cols = p.cols();
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = p.dequantize(r, c);
            }
        }
        return out;
    }
}
