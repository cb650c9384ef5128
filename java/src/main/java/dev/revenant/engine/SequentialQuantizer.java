package dev.revenant.engine;

import dev.revenant.kernel.Backend;
import dev.revenant.model.LayerWeights;
import dev.revenant.model.ModelConfig;
import dev.revenant.quant.Hessian;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Drives a Hessian-based quantizer (GPTQ) through a float model layer by layer, as the GPTQ authors'
 * {@code llama_sequential} does with true-sequential order: in every decoder layer the Linear weights are
 * quantized in groups that share an input, in execution order ({@code [q, k, v] → o → [gate, up] → down};
 * phi: {@code [q, k, v, fc1] → dense → fc2}), each group's inputs produced by the layers and groups already
 * quantized before it, and the next layer's inputs are the quantized layer's outputs.
 *
 * <p>Per group, the calibration samples run through the layer (chunks of samples, the engine's own
 * {@link Forward} arithmetic) up to the group's first matmul, where the input rows {@code X (tokens, K)} are
 * accumulated into {@code H = 2/N · Σ x xᵀ} with the authors' running mean ({@code add_batch});
 * {@code XᵀX} of a chunk is one GEMM on the CPU backend. Outputs of already-quantized weights are reused
 * between the stages of a layer within a memory budget, so each weight multiplies the calibration tokens
 * about once.
 */
public final class SequentialQuantizer {

    /**
     * Quantizes weights {@code [out, in]} given the Hessian of their inputs: {@code prepare} once per group of
     * weights sharing an input (GPTQ: the Cholesky factor), then {@code quantize} per weight.
     */
    public interface WeightQuantizer<F> {
        F prepare(Hessian h);

        QuantizedWeight quantize(Tensor w, F prepared);
    }

    /** Progress and the time split the issue asks for. */
    public interface Listener {
        void layerDone(int layer, int layers, LayerTimes t);
    }

    /**
     * Seconds spent in one layer: forward passes, Hessian accumulation, preparing each group (GPTQ: dead columns,
     * damping, the Cholesky factor of H⁻¹), and the per-weight quantization loop.
     */
    public record LayerTimes(double forward, double hessian, double prepare, double quantize) {
        public double total() {
            return forward + hessian + prepare + quantize;
        }
    }

    /**
     * The quantized weight of every decoder Linear tensor (keyed by the model's tensor objects), other decoder
     * tensors the method changed (AWQ folds its scales into norms and biases; empty for GPTQ), and the times.
     */
    public record Result(Map<Tensor, QuantizedWeight> weights, Map<Tensor, Tensor> replaced, List<LayerTimes> times) {
    }

    /** Attention calls the last {@link #run} answered from its cache (for the test of the cache). */
    static volatile long lastAttentionHits;

    private SequentialQuantizer() {
    }

    /**
     * Quantizes every decoder Linear weight of {@code model} (loaded at full precision on a CPU backend).
     *
     * @param samples    calibration token sequences (each run from position 0)
     * @param chunkRows  at most this many tokens per forward chunk (memory: activations scale with it)
     */
    public static <F> Result run(Model model, List<int[]> samples, WeightQuantizer<F> quantizer, int chunkRows,
                                 Listener listener) {
        return run(model, samples, quantizer, chunkRows, listener, true);
    }

    /** As above; {@code cacheAttention} false recomputes every attention (the test of the attention cache). */
    static <F> Result run(Model model, List<int[]> samples, WeightQuantizer<F> quantizer, int chunkRows,
                          Listener listener, boolean cacheAttention) {
        if (samples.isEmpty()) {
            throw new IllegalArgumentException("calibration needs at least one sample");
        }
        ModelConfig c = model.config();
        long budget = Math.max(0, Runtime.getRuntime().maxMemory() / 3);
        CalibrationBackend cb = new CalibrationBackend(model.backend(), budget);
        cb.cacheAttention(cacheAttention);
        Forward fwd = new Forward(model, cb);
        List<int[]> chunks = chunks(samples, chunkRows);
        // hidden[i]: the residual stream of chunk i entering the current layer, (chunk tokens, hidden)
        List<float[]> hidden = new ArrayList<>();
        for (int[] ch : chunks) {
            List<int[]> seqs = new ArrayList<>();
            for (int i = ch[0]; i < ch[1]; i++) {
                seqs.add(samples.get(i));
            }
            hidden.add(fwd.embedOnly(seqs));
        }
        Map<Tensor, QuantizedWeight> out = new LinkedHashMap<>();
        List<LayerTimes> times = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights lw = model.weights().layers().get(l);
            List<Map<Tensor, CalibrationBackend.Cached>> caches = new ArrayList<>();
            for (int i = 0; i < chunks.size(); i++) {
                caches.add(new IdentityHashMap<>());
            }
            cb.clearCacheAccounting();
            double tf = 0;
            double th = 0;
            double tp = 0;
            double tq = 0;
            for (List<Tensor> group : groups(lw)) {
                int in = (int) group.get(0).dim(1);
                Hessian hess = new Hessian(group.get(0).name(), in);
                double[] hTime = {0};
                long t0 = System.nanoTime();
                int[] chunkSamples = {0};
                cb.target(group.get(0), (x, rows, cols) -> {
                    long a = System.nanoTime();
                    accumulate(cb.delegate(), x, rows, cols, chunkSamples[0], hess);
                    hTime[0] += (System.nanoTime() - a) / 1e9;
                });
                for (int i = 0; i < chunks.size(); i++) {
                    chunkSamples[0] = chunks.get(i)[1] - chunks.get(i)[0];
                    cb.cache(caches.get(i));
                    float[] x = hidden.get(i).clone();
                    try {
                        fwd.runLayer(l, lengths(samples, chunks.get(i)), x);
                        throw new IllegalStateException("layer " + l + " never multiplied " + group.get(0).name());
                    } catch (CalibrationBackend.Stop expected) {
                        // the target's inputs were captured
                    }
                }
                cb.target(null, null);
                tf += (System.nanoTime() - t0) / 1e9 - hTime[0];
                th += hTime[0];
                long p0 = System.nanoTime();
                F prepared = quantizer.prepare(hess);
                long q0 = System.nanoTime();
                tp += (q0 - p0) / 1e9;
                for (Tensor w : group) {
                    QuantizedWeight q = quantizer.quantize(w, prepared);
                    cb.quantized(w, q);
                    out.put(w, q);
                }
                tq += (System.nanoTime() - q0) / 1e9;
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < chunks.size(); i++) { // the quantized layer's outputs feed the next layer
                cb.cache(caches.get(i));
                fwd.runLayer(l, lengths(samples, chunks.get(i)), hidden.get(i));
            }
            tf += (System.nanoTime() - t0) / 1e9;
            caches.clear();
            LayerTimes t = new LayerTimes(tf, th, tp, tq);
            times.add(t);
            if (listener != null) {
                listener.layerDone(l, c.numLayers(), t);
            }
        }
        lastAttentionHits = cb.attentionHits();
        return new Result(out, Map.of(), times);
    }

    /** Groups of weights sharing an input, in the order the layer multiplies them (null parts skipped). */
    public static List<List<Tensor>> groups(LayerWeights lw) {
        List<List<Tensor>> g = new ArrayList<>();
        if (lw.wGate() == null) { // phi: parallel block, fc1 reads the attention's normed input
            g.add(present(lw.wq(), lw.wk(), lw.wv(), lw.wUp()));
            g.add(present(lw.wo()));
            g.add(present(lw.wDown()));
        } else {
            g.add(present(lw.wq(), lw.wk(), lw.wv()));
            g.add(present(lw.wo()));
            g.add(present(lw.wGate(), lw.wUp()));
            g.add(present(lw.wDown()));
        }
        return g;
    }

    private static List<Tensor> present(Tensor... ts) {
        List<Tensor> l = new ArrayList<>();
        for (Tensor t : ts) {
            if (t != null) {
                l.add(t);
            }
        }
        return l;
    }

    // [from, to) sample ranges of at most chunkRows tokens (a longer sample gets a chunk of its own)
    static List<int[]> chunks(List<int[]> samples, int chunkRows) {
        List<int[]> out = new ArrayList<>();
        int start = 0;
        int rows = 0;
        for (int i = 0; i < samples.size(); i++) {
            int n = samples.get(i).length;
            if (n == 0) {
                throw new IllegalArgumentException("calibration sample " + i + " is empty");
            }
            if (i > start && rows + n > chunkRows) {
                out.add(new int[] {start, i});
                start = i;
                rows = 0;
            }
            rows += n;
        }
        out.add(new int[] {start, samples.size()});
        return out;
    }

    static int[] lengths(List<int[]> samples, int[] chunk) {
        int[] n = new int[chunk[1] - chunk[0]];
        for (int i = 0; i < n.length; i++) {
            n[i] = samples.get(chunk[0] + i).length;
        }
        return n;
    }

    /** Columns of H per Gram block: the blocked product computes ~(1/2 + BLOCK/2K) of the full K² entries. */
    static final int GRAM_BLOCK = 256;

    /**
     * Adds a chunk of t samples to H ({@link Hessian#addGram}: the authors' running mean, n counting samples).
     * {@code XᵀX} is symmetric, so only its upper block triangle is multiplied (a symmetric rank-k update):
     * for each block I of {@link #GRAM_BLOCK} columns, one backend matmul with {@code Xᵀ[I] (|I|, rows)} as the
     * input and {@code Xᵀ[i0..K) (K − i0, rows)} as the weight gives {@code out[i, j] = Σ_r Xᵀ[i, r] · Xᵀ[j, r]}
     * for j ≥ i0; the lower triangle is mirrored. Each entry is the backend's fixed-order dot of the same two
     * rows, which does not depend on the batch or the output's position, so the result equals the full product's
     * bit for bit ({@code SequentialQuantizerTest}) at about half the flops.
     */
    static void accumulate(Backend be, float[] x, int rows, int cols, int samples, Hessian h) {
        h.addGram(gram(be, x, rows, cols), samples);
    }

    /** {@code XᵀX (cols, cols)} of {@code x (rows, cols)}, upper block triangle multiplied, lower mirrored. */
    static float[] gram(Backend be, float[] x, int rows, int cols) {
        float[] gram = new float[cols * cols];
        try (Arena arena = Arena.ofShared()) { // the backend's worker threads read it
            MemorySegment seg = arena.allocate((long) cols * rows * 4, 64);
            float[] xt = transpose(x, rows, cols);
            MemorySegment.copy(xt, 0, seg, Tensor.F32_LE, 0, xt.length);
            for (int i0 = 0; i0 < cols; i0 += GRAM_BLOCK) {
                int bi = Math.min(GRAM_BLOCK, cols - i0);
                int n = cols - i0;
                Tensor w = new Tensor("calibration XT[" + i0 + ":]", DType.F32, new long[] {n, rows},
                        seg.asSlice((long) i0 * rows * 4, (long) n * rows * 4));
                float[] xi = java.util.Arrays.copyOfRange(xt, i0 * rows, (i0 + bi) * rows);
                float[] part = new float[bi * n];
                be.matmul(w, null, xi, bi, part); // part[a, b] = (XᵀX)[i0 + a, i0 + b]
                for (int a = 0; a < bi; a++) {
                    System.arraycopy(part, a * n + a, gram, (i0 + a) * cols + i0 + a, n - a);
                }
            }
        }
        for (int i0 = 0; i0 < cols; i0 += TILE) { // mirror the upper triangle, tile by tile (cache-friendly)
            for (int j0 = i0; j0 < cols; j0 += TILE) {
                for (int i = i0; i < Math.min(cols, i0 + TILE); i++) {
                    for (int j = Math.max(j0, i + 1); j < Math.min(cols, j0 + TILE); j++) {
                        gram[j * cols + i] = gram[i * cols + j];
                    }
                }
            }
        }
        return gram;
    }

    private static final int TILE = 64;

    /** {@code x (rows, cols)} transposed to {@code (cols, rows)}, in 64 × 64 tiles (a strided write per element otherwise). */
    static float[] transpose(float[] x, int rows, int cols) {
        float[] xt = new float[cols * rows];
        for (int r0 = 0; r0 < rows; r0 += TILE) {
            int r1 = Math.min(rows, r0 + TILE);
            for (int c0 = 0; c0 < cols; c0 += TILE) {
                int c1 = Math.min(cols, c0 + TILE);
                for (int c = c0; c < c1; c++) {
                    int o = c * rows;
                    for (int r = r0; r < r1; r++) {
                        xt[o + r] = x[r * cols + c];
                    }
                }
            }
        }
        return xt;
    }
}
