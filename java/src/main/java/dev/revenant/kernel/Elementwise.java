package dev.revenant.kernel;

import dev.revenant.tensor.Tensor;

/**
 * The cheap per-row ops of the forward pass (norms, activations, residual adds), in fp32 as HF
 * transformers computes them, shared by every CPU backend. All are deterministic per row.
 */
public final class Elementwise {
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

    private Elementwise() {
    }

    /**
     * RMSNorm of {@code rows} rows of width {@code dim}: {@code y = x · rsqrt(mean(x²) + eps) · w}
     * (HF LlamaRMSNorm); with {@code plusOne} the weight is {@code 1 + w} (GemmaRMSNorm).
     * The mean of squares is accumulated in double, then rounded to fp32 like HF's fp32 variance.
     */
    public static void rmsnorm(float[] x, int xOff, float[] y, int yOff, int rows, int dim, Tensor w, float eps, boolean plusOne) {
        for (int r = 0; r < rows; r++) {
            int xo = xOff + r * dim;
            int yo = yOff + r * dim;
            double ss = 0;
            for (int i = 0; i < dim; i++) {
                ss += (double) x[xo + i] * x[xo + i];
            }
            float variance = (float) (ss / dim);
            float inv = (float) (1.0 / Math.sqrt(variance + eps));
            for (int i = 0; i < dim; i++) {
                float wi = w.getFloat(i);
                float n = x[xo + i] * inv;
                y[yo + i] = plusOne ? n * (1f + wi) : wi * n;
            }
        }
    }

    /** LayerNorm with bias (torch.nn.LayerNorm, biased variance), per row of width {@code dim}. */
    public static void layernorm(float[] x, int xOff, float[] y, int yOff, int rows, int dim, Tensor w, Tensor b, float eps) {
        for (int r = 0; r < rows; r++) {
            int xo = xOff + r * dim;
            int yo = yOff + r * dim;
            double sum = 0;
            for (int i = 0; i < dim; i++) {
                sum += x[xo + i];
            }
            double mean = sum / dim;
            double var = 0;
            for (int i = 0; i < dim; i++) {
                double d = x[xo + i] - mean;
                var += d * d;
            }
            var /= dim;
            double inv = 1.0 / Math.sqrt(var + eps);
            for (int i = 0; i < dim; i++) {
                y[yo + i] = (float) ((x[xo + i] - mean) * inv) * w.getFloat(i) + (b == null ? 0f : b.getFloat(i));
            }
        }
    }

    /** SiLU: x · sigmoid(x). */
    public static float silu(float x) {
        return (float) (x / (1.0 + Math.exp(-x)));
    }

    /** GELU, tanh approximation (gelu_pytorch_tanh = gelu_new): 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). */
    public static float geluTanh(float x) {
        double xd = x;
        return (float) (0.5 * xd * (1.0 + Math.tanh(SQRT_2_OVER_PI * (xd + 0.044715 * xd * xd * xd))));
    }

    /** Exact GELU: 0.5x(1 + erf(x/√2)). */
    public static float gelu(float x) {
        return (float) (0.5 * x * (1.0 + erf(x / Math.sqrt(2.0))));
    }

    /**
     * erf with |error| &lt; 1.2e-7 (Numerical Recipes' erfc Chebyshev fit, 3rd ed. §6.2), ample for fp32.
     */
    static double erf(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1.0 - r : r - 1.0;
    }

    /** {@code x[i] += y[i]} for {@code n} elements. */
    public static void addInPlace(float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) {
            x[i] += y[i];
        }
    }
}
