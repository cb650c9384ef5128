package dev.revenant.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.kernel.Elementwise;
import dev.revenant.model.LayerWeights;
import dev.revenant.quant.Precision;
import dev.revenant.quant.RtnQuantizer;
import dev.revenant.tensor.Tensor;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The layer-by-layer calibration driver. With RTN as the "quantizer" (it ignores the Hessian), the sequential
 * pass must see exactly the activations of the one-shot rtn-w4-g128 model: the Hessian it builds for layer 1's
 * q_proj is checked against one computed here from the {@link Forward} taps of that model (layer 0's output,
 * normed with layer 1's input norm), in double. Tolerance 1e-5 relative to the largest entry: the driver sums
 * each chunk's XᵀX in fp32 (≤ 64 terms here, error ≲ 64·2⁻²⁴ relative).
 */
class SequentialQuantizerTest {
    private static final Map<String, Object> SAME = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The blocked symmetric Gram product equals the full matmul {@code XᵀX} bit for bit on every CPU backend
     * (each entry is the same fixed-order dot), at sizes that leave partial blocks (cols 300 = 256 + 44,
     * 513 = 2·256 + 1) and odd token counts; and it is exactly symmetric.
     */
    @Test
    void blockedGramEqualsTheFullProductBitForBit() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
        for (String backend : new String[] {"reference", "vector", "native"}) {
            if (backend.equals("native") && !dev.revenant.kernel.NativeLibrary.available()) {
                continue;
            }
            for (int[] s : new int[][] {{77, 300}, {5, 513}, {64, 37}}) {
                int rows = s[0];
                int cols = s[1];
                float[] x = new float[rows * cols];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                try (Backend be = Backends.create(backend, 2); java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
                    float[] xt = new float[cols * rows];
                    for (int r = 0; r < rows; r++) {
                        for (int k = 0; k < cols; k++) {
                            xt[k * rows + r] = x[r * cols + k];
                        }
                    }
                    java.lang.foreign.MemorySegment seg = arena.allocate((long) xt.length * 4, 64);
                    java.lang.foreign.MemorySegment.copy(xt, 0, seg, Tensor.F32_LE, 0, xt.length);
                    float[] full = new float[cols * cols];
                    be.matmul(new Tensor("XT", dev.revenant.tensor.DType.F32, new long[] {cols, rows}, seg), null, xt, cols, full);
                    float[] got = SequentialQuantizer.gram(be, x, rows, cols);
                    for (int i = 0; i < full.length; i++) {
                        assertEquals(Float.floatToRawIntBits(full[i]), Float.floatToRawIntBits(got[i]),
                                backend + " " + rows + "x" + cols + ": entry (" + i / cols + ", " + i % cols + ")");
                    }
                }
            }
        }
    }

    /**
     * The attention cache (stages of a layer reuse the attention of unchanged q, k, v) changes nothing: GPTQ codes,
     * scales and zeros of every decoder weight equal those of a run that recomputes every attention, for two chunk
     * sizes (one sample per chunk, and all in one).
     */
    @Test
    void attentionCacheGivesTheSameGptqWeights() {
        Path dir = Fixtures.model("llama");
        Precision p = Precision.parse("gptq-w4-g128");
        Calibration cal = Calibration.random(512, new Calibration.Options(null, 4, 17, 9));
        for (int chunk : new int[] {17, 68}) {
            try (Backend be = Backends.create("vector", 2); Model m = Model.load(dir, be)) {
                var on = SequentialQuantizer.run(m, cal.samples(), CalibratedQuantizers.gptq(p), chunk, null, true).weights();
                assertTrue(SequentialQuantizer.lastAttentionHits >= 3L * 4 * 2,
                        "three later stages of each of 2 layers reuse the 4 samples' attention: " + SequentialQuantizer.lastAttentionHits);
                var off = SequentialQuantizer.run(m, cal.samples(), CalibratedQuantizers.gptq(p), chunk, null, false).weights();
                assertEquals(off.keySet(), on.keySet());
                for (Tensor w : off.keySet()) {
                    var a = ((dev.revenant.quant.GptqPacked) on.get(w)).body();
                    var b = ((dev.revenant.quant.GptqPacked) off.get(w)).body();
                    org.junit.jupiter.api.Assertions.assertArrayEquals(b.codes(), a.codes(), w.name() + " codes, chunk " + chunk);
                    org.junit.jupiter.api.Assertions.assertArrayEquals(b.scale(), a.scale(), w.name() + " scales");
                    org.junit.jupiter.api.Assertions.assertArrayEquals(b.zero(), a.zero(), w.name() + " zeros");
                }
            }
        }
    }

    @Test
    void hessiansComeFromTheQuantizedLayersBefore() {
        Path dir = Fixtures.model("llama");
        RtnQuantizer rtn = RtnQuantizer.of(Precision.parse("rtn-w4-g128"));
        Calibration cal = Calibration.random(512, new Calibration.Options(null, 5, 13, 3));
        for (int chunk : new int[] {13, 64}) { // one sample per chunk, then all five together
            Map<String, double[]> hs = new HashMap<>();
            Map<String, Long> ns = new HashMap<>();
            try (Backend be = Backends.create("vector", 2); Model m = Model.load(dir, be)) {
                SequentialQuantizer.Result r = SequentialQuantizer.run(m, cal.samples(), recording(hs, ns, rtn), chunk, null);
                assertEquals(14, r.weights().size(), "every decoder Linear weight of the 2-layer llama");
                assertEquals(2, r.times().size());
                LayerWeights l1 = m.weights().layers().get(1);
                assertSame(SAME.get(l1.wq().name()), SAME.get(l1.wk().name()), "q, k, v share one input Hessian");
                assertSame(SAME.get(l1.wq().name()), SAME.get(l1.wv().name()));
                assertEquals(5L, ns.get(l1.wq().name()), "N counts samples, as the authors' add_batch");
            }
            double[] want = expectedQHessianOfLayer1(dir, cal.samples());
            double[] got = hs.get("model.layers.1.self_attn.q_proj.weight");
            double scale = 0;
            for (double v : want) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 1e-5 * scale, "chunk " + chunk + ": H[" + i + "]");
            }
        }
    }

    // H = 2/N Σ xb xbᵀ, xb = rmsnorm(layer 0 output of the rtn-w4-g128 model, layer 1's input_layernorm)
    private static double[] expectedQHessianOfLayer1(Path dir, List<int[]> samples) {
        try (Backend be = Backends.create("vector", 2); Model m = Model.load(dir, be, Precision.parse("rtn-w4-g128"))) {
            int h = m.config().hiddenSize();
            double[] hess = new double[h * h];
            Tensor norm = m.weights().layers().get(1).attnNorm();
            for (int[] s : samples) {
                float[][] layer0 = new float[1][];
                new Forward(m).tap((index, seq, x, off, rows, dim) -> {
                    if (index == 1) {
                        layer0[0] = java.util.Arrays.copyOfRange(x, off, off + rows * dim);
                    }
                }).run(List.of(m.newCache(s.length)), List.of(s), false);
                float[] xb = new float[layer0[0].length];
                Elementwise.rmsnorm(layer0[0], 0, xb, 0, s.length, h, norm, (float) m.config().normEps(), false);
                for (int t = 0; t < s.length; t++) {
                    for (int i = 0; i < h; i++) {
                        for (int j = 0; j < h; j++) {
                            hess[i * h + j] += 2.0 / samples.size() * xb[t * h + i] * xb[t * h + j];
                        }
                    }
                }
            }
            return hess;
        }
    }

    @Test
    void everyFixtureFamilyCalibrates() {
        // phi (parallel block, fc1 grouped with q/k/v), phi3 (fused qkv/gate_up as row slices), qwen3 (q/k norms)
        for (String arch : new String[] {"phi", "phi3", "qwen3", "gemma"}) {
            Calibration cal = Calibration.random(512, new Calibration.Options(null, 2, 9, 1));
            try (Backend be = Backends.create("vector", 2); Model m = Model.load(Fixtures.model(arch), be)) {
                RtnQuantizer rtn = new RtnQuantizer(4, 32, false);
                Map<String, double[]> hs = new HashMap<>();
                SequentialQuantizer.Result r = SequentialQuantizer.run(m, cal.samples(), recording(hs, new HashMap<>(), rtn), 64, null);
                for (Map.Entry<String, double[]> e : hs.entrySet()) {
                    int in = (int) Math.round(Math.sqrt(e.getValue().length));
                    for (int i = 0; i < in; i++) {
                        assertTrue(e.getValue()[i * in + i] >= 0, e.getKey() + ": a Hessian has a non-negative diagonal");
                    }
                }
                int linear = m.config().numLayers() * (arch.equals("phi") ? 6 : 7);
                assertEquals(linear, r.weights().size(), arch);
            }
        }
    }

    // RTN as the "quantizer" (the Hessian ignored), recording each weight's H and sample count
    private static SequentialQuantizer.WeightQuantizer<dev.revenant.quant.Hessian> recording(Map<String, double[]> hs,
            Map<String, Long> ns, RtnQuantizer rtn) {
        return new SequentialQuantizer.WeightQuantizer<>() {
            @Override
            public dev.revenant.quant.Hessian prepare(dev.revenant.quant.Hessian h) {
                return h;
            }

            @Override
            public dev.revenant.quant.QuantizedWeight quantize(Tensor w, dev.revenant.quant.Hessian h) {
                hs.put(w.name(), h.matrix());
                SAME.put(w.name(), h);
                ns.put(w.name(), h.count());
                assertEquals(w.dim(1), h.columns(), w.name());
                return rtn.quantize(w);
            }
        };
    }
}
