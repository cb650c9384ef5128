package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.Fixtures;
import dev.revenant.safetensors.Checkpoint;
import java.io.IOException;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** AWQ's quantizer, statistics, scale candidates and clip search (AutoAWQ's documented arithmetic). */
class AwqQuantizerTest {

    @Test
    void quantizerFollowsAutoAwqArithmetic() {
        // row [-1, 0.5, 2, 3.5], 4 bits: scale = 4.5/15 = 0.3 (fp32), zero = clamp(-rint(-1/0.3), 0, 15) = 3
        float[] w = {-1f, 0.5f, 2f, 3.5f};
        GptqPacked p = new AwqQuantizer(4, -1).quantize("w", w, 1, 4);
        float s = (3.5f - -1f) / 15;
        assertEquals(s, p.body().scale(0, 0));
        assertEquals(3f, p.body().zero(0, 0));
        for (int c = 0; c < 4; c++) {
            float q = Math.min(Math.max((float) Math.rint(w[c] / s) + 3f, 0f), 15f);
            assertEquals(q, p.code(0, c), "code " + c);
            assertEquals((q - 3f) * s, p.dequantize(0, c), 0f, "deq " + c);
        }
        // min/max are not widened to include 0: an all-positive row gets scale (max - min)/maxq, but its zero point
        // clamps to 0, so the grid is [0, 15 s] = [0, 3] and the top is cut (AutoAWQ's arithmetic; real groups straddle 0)
        GptqPacked pos = new AwqQuantizer(4, -1).quantize("w", new float[] {1f, 2.5f, 4f}, 1, 3);
        assertEquals(3f / 15, pos.body().scale(0, 0));
        assertEquals(0f, pos.body().zero(0, 0)); // -rint(1 / 0.2) = -5 -> clamped to 0
        assertEquals(15, pos.code(0, 2)); // rint(4 / 0.2) = 20 -> 15
        assertEquals(15 * (3f / 15), pos.dequantize(0, 2), 0f);
    }

    @Test
    void roundTripIsWithinHalfAStepAndMatchesPseudoQuantize() {
        SplittableRandom rnd = new SplittableRandom(5);
        int rows = 7;
        int cols = 256;
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * (i % 17 == 0 ? 5 : 1));
        }
        for (int bits : new int[] {2, 3, 4, 8}) {
            AwqQuantizer q = new AwqQuantizer(bits, 64);
            GptqPacked p = q.quantize("w", w, rows, cols);
            float[] pq = q.pseudoQuantize(w, rows, cols);
            assertEquals("awq-w" + bits + "-g64", p.precision());
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int g = c / 64;
                    assertEquals(g, p.group(c));
                    float s = p.body().scale(g, r);
                    assertEquals(pq[r * cols + c], p.dequantize(r, c), 0f, "pseudo-quantize = packed deq");
                    // min and max are both on the grid up to rounding of the zero point: half a step, plus fp32 slack
                    assertTrue(Math.abs(w[r * cols + c] - p.dequantize(r, c)) <= s * 0.5f * (1 + 1e-4f) + 1e-6f,
                            bits + " bits (" + r + "," + c + ")");
                    assertTrue(p.code(r, c) <= (1 << bits) - 1);
                }
            }
        }
    }

    @Test
    void constantAndAllZeroGroups() {
        AwqQuantizer q = new AwqQuantizer(4, 4);
        float[] w = {0, 0, 0, 0, 0.7f, 0.7f, 0.7f, 0.7f, -0.7f, -0.7f, -0.7f, -0.7f};
        GptqPacked p = q.quantize("w", w, 1, 12);
        float s = 1e-5f / 15; // (max - min).clamp(min=1e-5) / maxq
        for (int g = 0; g < 3; g++) {
            assertEquals(s, p.body().scale(g, 0), "scale g" + g);
        }
        // all zero: zero point 0, exact zeros
        assertEquals(0f, p.body().zero(0, 0));
        for (int c = 0; c < 4; c++) {
            assertEquals(0f, p.dequantize(0, c), 0f);
        }
        // a constant group collapses to the end of a 1e-5-wide grid (AutoAWQ behaviour; real weights never do this):
        // +0.7: zero = clamp(-rint(0.7/s)) = 0, q = 15, deq = 15 s = 1e-5; -0.7: zero = 15, q = 0, deq = -15 s
        assertEquals(0f, p.body().zero(1, 0));
        assertEquals(15, p.code(0, 4));
        assertEquals(15 * s, p.dequantize(0, 4), 0f);
        assertEquals(15f, p.body().zero(2, 0));
        assertEquals(0, p.code(0, 8));
        assertEquals(-15 * s, p.dequantize(0, 8), 0f);
    }

    @Test
    void activationMeanAndScaleCandidates() {
        float[] x = {1, -2, 0, 3, 2, 0};
        assertArrayEquals(new float[] {2f, 2f, 0f}, AwqQuantizer.activationMean(x, 2, 3));
        float[] mean = {0f, 0.01f, 0.5f, 1f, 4f, 100f};
        float[][] cand = AwqQuantizer.scaleCandidates(mean);
        assertEquals(20, cand.length);
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1}, cand[0], "ratio 0: plain RTN");
        for (int i = 1; i < 20; i++) {
            float[] s = cand[i];
            float mx = 0;
            float mn = Float.MAX_VALUE;
            for (int c = 0; c < s.length; c++) {
                mx = Math.max(mx, s[c]);
                mn = Math.min(mn, s[c]);
                assertTrue(c == 0 || s[c] >= s[c - 1], "monotone in x_mean");
            }
            assertEquals(1.0, (double) mx * mn, 1e-5, "normalised: max*min = 1, ratio " + i / 20.0);
            // x_mean 0 gives 0^ratio = 0, clamped to 1e-4 before normalising
            assertEquals(1e-4f / (float) Math.sqrt(Math.max((float) Math.pow(100, i / 20.0), 1e-4f) * 1e-4f), s[0], 1e-6f * s[0] + 1e-12f);
        }
        assertThrows(IllegalArgumentException.class, () -> AwqQuantizer.scaleCandidate(mean, 20));
    }

    @Test
    void clipSearchShrinksAGroupWithAnUnusedOutlier() {
        // one group of 128: weight 0 is a large outlier on a channel whose inputs are tiny, so clipping it costs
        // little while the finer grid lowers the error of every other weight
        int cols = 128;
        int rows = 3;
        int tokens = 1500; // step = 1500 / 512 = 2: 750 sampled tokens
        SplittableRandom rnd = new SplittableRandom(9);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        w[0] = 12f;
        w[cols + 5] = -12f;
        float[] x = new float[tokens * cols];
        for (int t = 0; t < tokens; t++) {
            for (int c = 0; c < cols; c++) {
                x[t * cols + c] = (float) (rnd.nextGaussian() * (c == 0 || c == 5 ? 0.01 : 1));
            }
        }
        AwqQuantizer q = new AwqQuantizer(4, 128);
        assertEquals(750, AwqClipSearch.sampleTokens(tokens).length);
        float[] best = AwqClipSearch.search(q, "w", w, rows, cols, x, tokens);
        assertEquals(rows, best.length);
        int[] keep = AwqClipSearch.sampleTokens(tokens);
        for (int r = 0; r < rows; r++) {
            float org = 0;
            for (int c = 0; c < cols; c++) {
                org = Math.max(org, Math.abs(w[r * cols + c]));
            }
            // the plain-loop error of every shrink step; the search must pick the (first) smallest
            double[] err = new double[AwqClipSearch.SHRINK_STEPS];
            int arg = 0;
            for (int s = 0; s < err.length; s++) {
                float mv = org * AwqClipSearch.shrink(s);
                float[] row = new float[cols];
                for (int c = 0; c < cols; c++) {
                    row[c] = Math.min(Math.max(w[r * cols + c], -mv), mv);
                }
                float[] dq = q.pseudoQuantize(row, 1, cols);
                for (int t : keep) {
                    double y = 0;
                    for (int c = 0; c < cols; c++) {
                        y += (double) x[t * cols + c] * (dq[c] - w[r * cols + c]);
                    }
                    err[s] += y * y;
                }
                if (err[s] < err[arg]) {
                    arg = s;
                }
            }
            if (r < 2) {
                assertTrue(best[r] < org, "row " + r + ": the outlier row must be clipped, got " + best[r] + " of " + org);
                assertTrue(err[arg] < err[0], "row " + r + ": clipping lowers the error");
            }
            int chosen = Math.round((1 - best[r] / org) * 20);
            assertEquals(org * AwqClipSearch.shrink(chosen), best[r], 0f, "row " + r + " bound is a grid point");
            assertTrue(err[chosen] <= err[arg] * (1 + 1e-4), "row " + r + ": picked step " + chosen + " (err " + err[chosen]
                    + "), plain loops say " + arg + " (err " + err[arg] + ")");
        }
        float[] clipped = w.clone();
        AwqClipSearch.apply(clipped, rows, cols, 128, best);
        assertEquals(best[0], clipped[0], 0f);
        assertEquals(-best[1], clipped[cols + 5], 0f);
    }

    @Test
    void endToEndOnTheFixtureLayerBeatsRtnInEveryConfig() throws IOException {
        // the fixture's layer as its own "block": ratio search on the layer output, fold, clip, quantize, at each
        // config's bits and group (per channel = one group of all 256 columns; AWQ always has a zero point), judged
        // against that config's RTN error from the authors' quantizer
        var configs = new ObjectMapper().readTree(Fixtures.dir().resolve("quant/gptq_reference.json").toFile()).get("configs");
        try (Checkpoint ck = Checkpoint.open(Fixtures.dir().resolve("quant/gptq_reference.safetensors"))) {
            int rows = 96;
            int cols = 256;
            int tokens = 1024;
            float[] w = ck.tensor("W").toFloatArray();
            float[] x = ck.tensor("X").toFloatArray();
            for (var it = configs.fields(); it.hasNext(); ) {
                var e = it.next();
                int bits = e.getValue().get("bits").asInt();
                int group = e.getValue().get("group").asInt() < 0 ? cols : e.getValue().get("group").asInt();
                double rtn = e.getValue().get("rel_output_err_rtn").asDouble();
                AwqQuantizer q = new AwqQuantizer(bits, group);
                float[] mean = AwqQuantizer.activationMean(x, tokens, cols);
                double bestErr = Double.MAX_VALUE;
                float[] bestS = null;
                for (float[] s : AwqQuantizer.scaleCandidates(mean)) {
                    double err = QuantError.relativeOutputError(x, tokens, w, q.pseudoQuantizeScaled(w, rows, cols, s), rows, cols);
                    if (err < bestErr) {
                        bestErr = err;
                        bestS = s;
                    }
                }
                float[] ws = w.clone();
                AwqQuantizer.scaleColumns(ws, rows, cols, bestS);
                float[] xs = x.clone();
                for (int t = 0; t < tokens; t++) {
                    for (int c = 0; c < cols; c++) {
                        xs[t * cols + c] /= bestS[c];
                    }
                }
                AwqClipSearch.apply(ws, rows, cols, group, AwqClipSearch.search(q, "W", ws, rows, cols, xs, tokens));
                float[] deq = QuantError.dequantize(q.quantize("W", ws, rows, cols));
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        deq[r * cols + c] /= bestS[c];
                    }
                }
                double err = QuantError.relativeOutputError(x, tokens, w, deq, rows, cols);
                double plain = QuantError.relativeOutputError(x, tokens, w, q.pseudoQuantize(w, rows, cols), rows, cols);
                System.out.printf(Locale.ROOT, "AWQ w%d g%d on the fixture layer (%s): scaled %.6f, scaled+clipped %.6f, "
                        + "AWQ grid unscaled %.6f, RTN %.6f, GPTQ %.6f%n", bits, group, e.getKey(), bestErr, err, plain, rtn,
                        e.getValue().get("rel_output_err_gptq").asDouble());
                assertTrue(bestErr <= plain, e.getKey() + ": ratio 0 is a candidate");
                assertTrue(err < rtn, e.getKey() + ": AWQ " + err + " not below RTN " + rtn);
            }
        }
    }

    @Test
    void foldingHelpersScaleColumnsAndDivideRows() {
        float[] w = {1, 2, 3, 4, 5, 6};
        AwqQuantizer.scaleColumns(w, 2, 3, new float[] {2, 1, 0.5f});
        assertArrayEquals(new float[] {2, 2, 1.5f, 8, 5, 3}, w);
        AwqQuantizer.divideRows(w, 2, 3, new float[] {2, 4});
        assertArrayEquals(new float[] {1, 1, 0.75f, 2, 1.25f, 0.75f}, w);
    }

    @Test
    void refusesBadInput() {
        AwqQuantizer q = new AwqQuantizer(4, 128);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> q.quantize("layers.1.mlp.up", new float[] {1, Float.NaN}, 1, 2));
        assertTrue(e.getMessage().contains("layers.1.mlp.up"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> q.quantize("layers.1.mlp.up", new float[200], 1, 200));
        assertTrue(e.getMessage().contains("layers.1.mlp.up") && e.getMessage().contains("128"), e.getMessage());
        assertEquals(new AwqQuantizer(4, 128).precisionName(), AwqQuantizer.of(Precision.parse("awq-w4-g128")).precisionName());
    }
}
