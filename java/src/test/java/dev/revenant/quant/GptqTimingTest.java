package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Timing of GPTQ on TinyLlama-1.1B's largest Linear shapes (mlp.down_proj 2048×5632, mlp.gate/up_proj
 * 5632×2048), w4 g128, synthetic weights and a synthetic SPD Hessian; and AWQ's clip search on the same shapes. Opt-in (heavy: ~1 GiB of heap):
 * {@code -Drevenant.gptq.timing=true}.
 */
@EnabledIfSystemProperty(named = "revenant.gptq.timing", matches = "true")
class GptqTimingTest {

    @Test
    void tinyLlamaShapes() {
        for (int[] shape : new int[][] {{2048, 5632}, {5632, 2048}}) {
            int rows = shape[0];
            int cols = shape[1];
            SplittableRandom rnd = new SplittableRandom(11);
            float[] w = new float[rows * cols];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (rnd.nextGaussian() * 0.02);
            }
            // H = 2/N XᵀX of N = 2·cols random tokens with a few loud channels, built as a Gram matrix
            int tokens = 2 * cols;
            Hessian h = new Hessian("synthetic", cols);
            float[] gram = syntheticGram(cols, tokens, rnd);
            h.addGram(gram, 128);
            GptqQuantizer q = new GptqQuantizer(new Precision.IntSpec(4, 128, false, false, false));
            long t0 = System.nanoTime();
            GptqFactor f = q.factor(h);
            long t1 = System.nanoTime();
            GptqResult r = q.quantize("w", w, rows, cols, f);
            long t2 = System.nanoTime();
            System.out.printf(Locale.ROOT, "GPTQ timing %dx%d w4 g128: factor (damp + Cholesky + inverse) %.2f s, "
                    + "quantization loop %.2f s, total %.2f s (%d threads)%n", rows, cols, (t1 - t0) / 1e9, (t2 - t1) / 1e9,
                    (t2 - t0) / 1e9, Runtime.getRuntime().availableProcessors());
            assertTrue(r.loss() > 0 && Double.isFinite(r.loss()));

            // AWQ's clip search on the same shape with 512 calibration tokens (all sampled)
            float[] x = new float[512 * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            AwqQuantizer awq = new AwqQuantizer(4, 128);
            long t3 = System.nanoTime();
            float[] clip = AwqClipSearch.search(awq, "w", w, rows, cols, x, 512);
            long t4 = System.nanoTime();
            System.out.printf(Locale.ROOT, "AWQ clip search %dx%d w4 g128, 512 tokens: %.2f s%n", rows, cols, (t4 - t3) / 1e9);
            assertTrue(clip.length == rows * cols / 128);
        }
    }

    /** XᵀX of a random low-ish-rank-plus-noise X, computed cheaply as Σ over 4·cols/8 rank-8 chunks. */
    static float[] syntheticGram(int n, int tokens, SplittableRandom rnd) {
        // H = A Aᵀ + diag: A [n, 64] random, loud channels scaled; SPD and ill-conditioned enough to matter
        int k = 64;
        double[] a = new double[n * k];
        for (int i = 0; i < n; i++) {
            double loud = i % 97 == 0 ? 12 : 1;
            for (int j = 0; j < k; j++) {
                a[i * k + j] = rnd.nextGaussian() * loud;
            }
        }
        float[] g = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int m = 0; m < k; m++) {
                    s += a[i * k + m] * a[j * k + m];
                }
                s *= tokens / (double) k;
                if (i == j) {
                    s += tokens * 0.5;
                }
                g[i * n + j] = (float) s;
                g[j * n + i] = (float) s;
            }
        }
        return g;
    }
}
