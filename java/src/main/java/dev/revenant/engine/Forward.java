package dev.revenant.engine;

import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Elementwise;
import dev.revenant.model.Activation;
import dev.revenant.model.Family;
import dev.revenant.model.LayerWeights;
import dev.revenant.model.ModelConfig;
import dev.revenant.model.Weights;
import dev.revenant.tensor.Tensor;
import java.util.List;

/**
 * The transformer forward pass over a batch of sequences, each appending new tokens to its own KV cache
 * (prefill when the cache is empty, decode when one token is added). Rows of all sequences are stacked
 * for the matmuls; attention runs per sequence. Every row's arithmetic is independent of the others, so
 * a sequence gives bit-identical logits alone or in a batch. Not thread-safe: one Forward per caller.
 */
public final class Forward {
    /** Receives hidden states: index 0 = embeddings, i = output of layer i−1, numLayers + 1 = after the final norm. */
    public interface Tap {
        void hidden(int index, int seq, float[] x, int offset, int rows, int dim);
    }

    private static final java.util.concurrent.atomic.LongAdder TOKENS = new java.util.concurrent.atomic.LongAdder();

    private final Model model;
    private final ModelConfig c;
    private final Weights w;
    private final Backend be;
    private final Workspace ws;
    private final CudaForward gpu; // non-null when the model's backend is the GPU: the whole pass runs there
    private Tap tap;

    public Forward(Model model) {
        this(model, model.backend());
    }

    /** A CPU pass over {@code model}'s weights whose ops go to {@code be} (calibration wraps the model's backend). */
    Forward(Model model, Backend be) {
        this.model = model;
        this.c = model.config();
        this.w = model.weights();
        this.be = be;
        this.ws = new Workspace(c);
        Backend base = be instanceof dev.revenant.kernel.PackedRouter pr ? pr.delegate() : be;
        this.gpu = base instanceof dev.revenant.kernel.cuda.CudaBackend cb ? CudaForward.of(model, cb) : null;
    }

    /** Tokens run through any forward pass in this process so far (progress displays derive tokens/s from it). */
    public static long tokensRun() {
        return TOKENS.sum();
    }

    static void countTokens(List<int[]> seqs) {
        for (int[] t : seqs) {
            TOKENS.add(t.length);
        }
    }

    /** True when this pass runs on the GPU (the model was loaded with the cuda backend). */
    public boolean onDevice() {
        return gpu != null;
    }

    /** Teacher-forced log-probabilities computed on the GPU (only when {@link #onDevice()}). */
    List<float[]> deviceLogProbs(List<int[]> seqs) {
        return gpu.logProbs(seqs);
    }

    public Forward tap(Tap t) {
        this.tap = t;
        return this;
    }

    /**
     * Runs {@code tokens.get(i)} after the contents of {@code caches.get(i)} and advances the caches.
     *
     * @return per sequence, logits {@code (newTokens, vocab)} when {@code allPositions}, else {@code (vocab)} of the last token
     */
    public float[][] run(List<KvCache> caches, List<int[]> tokens, boolean allPositions) {
        if (caches.size() != tokens.size()) {
            throw new IllegalArgumentException(caches.size() + " caches for " + tokens.size() + " sequences");
        }
        for (int[] t : tokens) {
            TOKENS.add(t.length);
        }
        if (gpu != null) {
            return gpu.run(caches, tokens, allPositions, tap);
        }
        int b = tokens.size();
        int[] rowStart = new int[b + 1];
        for (int s = 0; s < b; s++) {
            if (tokens.get(s).length == 0) {
                throw new IllegalArgumentException("sequence " + s + " has no tokens to run");
            }
            rowStart[s + 1] = rowStart[s] + tokens.get(s).length;
        }
        int rows = rowStart[b];
        int h = c.hiddenSize();
        ws.ensure(rows);
        embed(tokens, rowStart);
        emit(0, rowStart, ws.x, h);
        for (int l = 0; l < c.numLayers(); l++) {
            layer(l, caches, rowStart, rows);
            emit(l + 1, rowStart, ws.x, h);
        }
        for (int s = 0; s < b; s++) {
            caches.get(s).advance(tokens.get(s).length);
        }
        return logits(rowStart, allPositions);
    }

    /** The embedding output of {@code tokens}, stacked: {@code (Σ lengths, hidden)} (calibration's layer-0 input). */
    float[] embedOnly(List<int[]> tokens) {
        int[] rowStart = rowStarts(tokens);
        int rows = rowStart[tokens.size()];
        ws.ensure(rows);
        embed(tokens, rowStart);
        return java.util.Arrays.copyOf(ws.x, rows * c.hiddenSize());
    }

    /**
     * Decoder layer {@code l} alone over sequences of {@code lengths} tokens (positions from 0) whose residual
     * stream {@code x (Σ lengths, hidden)} enters it; {@code x} is replaced by the layer's output. The same
     * arithmetic as {@link #run} (calibration drives the model layer by layer with it).
     */
    void runLayer(int l, int[] lengths, float[] x) {
        List<int[]> shapes = new java.util.ArrayList<>();
        List<KvCache> caches = new java.util.ArrayList<>();
        for (int n : lengths) {
            shapes.add(new int[n]);
            caches.add(new KvCache(c.numLayers(), c.kvDim(), n));
        }
        int[] rowStart = rowStarts(shapes);
        int rows = rowStart[lengths.length];
        int n = rows * c.hiddenSize();
        ws.ensure(rows);
        System.arraycopy(x, 0, ws.x, 0, n);
        layer(l, caches, rowStart, rows);
        System.arraycopy(ws.x, 0, x, 0, n);
    }

    /**
     * The MLP of decoder layer {@code l} alone on its normed input {@code xb (rows, hidden)}, as {@link #runLayer}
     * computes it (the same code): returns a copy of its output {@code (rows, hidden)} (down's output; phi: fc2's).
     * AWQ's search of the MLP's scales runs it instead of the whole layer, whose attention does not change.
     */
    float[] mlpOnly(int l, float[] xb, int rows) {
        int n = rows * c.hiddenSize();
        ws.ensure(rows);
        System.arraycopy(xb, 0, ws.xb, 0, n);
        mlp(w.layers().get(l), rows);
        return java.util.Arrays.copyOf(c.family() == Family.PHI ? ws.gate : ws.o, n);
    }

    private static int[] rowStarts(List<int[]> tokens) {
        int[] rowStart = new int[tokens.size() + 1];
        for (int s = 0; s < tokens.size(); s++) {
            rowStart[s + 1] = rowStart[s] + tokens.get(s).length;
        }
        return rowStart;
    }

    // x (rows, hidden) = embed_tokens[ids] (gemma: × sqrt(hidden) rounded to fp32)
    private void embed(List<int[]> tokens, int[] rowStart) {
        int h = c.hiddenSize();
        float scale = c.family() == Family.GEMMA ? (float) Math.sqrt(h) : 1f;
        for (int s = 0; s < tokens.size(); s++) {
            int[] ids = tokens.get(s);
            for (int t = 0; t < ids.length; t++) {
                int id = ids[t];
                if (id < 0 || id >= c.vocabSize()) {
                    throw new IllegalArgumentException("token id " + id + " at position " + t + " of sequence " + s
                            + " is outside the vocabulary [0, " + c.vocabSize() + ")");
                }
                int o = (rowStart[s] + t) * h;
                long base = (long) id * h;
                for (int i = 0; i < h; i++) {
                    float e = w.embed().getFloat(base + i);
                    ws.x[o + i] = scale == 1f ? e : e * scale;
                }
            }
        }
    }

    private void layer(int l, List<KvCache> caches, int[] rowStart, int rows) {
        LayerWeights lw = w.layers().get(l);
        int h = c.hiddenSize();
        norm(ws.x, ws.xb, rows, lw.attnNorm(), lw.attnNormBias());
        // q (rows, nHeads·headDim), k and v (rows, nKv·headDim)
        be.matmul(lw.wq(), lw.bq(), ws.xb, rows, ws.q);
        be.matmul(lw.wk(), lw.bk(), ws.xb, rows, ws.k);
        be.matmul(lw.wv(), lw.bv(), ws.xb, rows, ws.v);
        if (lw.qNorm() != null) { // qwen3: per-head RMSNorm before RoPE
            Elementwise.rmsnorm(ws.q, 0, ws.q, 0, rows * c.numHeads(), c.headDim(), lw.qNorm(), (float) c.normEps(), false);
            Elementwise.rmsnorm(ws.k, 0, ws.k, 0, rows * c.numKvHeads(), c.headDim(), lw.kNorm(), (float) c.normEps(), false);
        }
        attention(l, caches, rowStart);
        be.matmul(lw.wo(), lw.bo(), ws.att, rows, ws.o);
        if (c.family() == Family.PHI) {
            // parallel block: x = attn(ln(x)) + mlp(ln(x)) + x, same normed input for both
            mlp(lw, rows);
            for (int i = 0; i < rows * h; i++) {
                ws.x[i] = ws.o[i] + ws.gate[i] + ws.x[i];
            }
            return;
        }
        Elementwise.addInPlace(ws.x, ws.o, rows * h);
        norm(ws.x, ws.xb, rows, lw.mlpNorm(), null);
        mlp(lw, rows);
        Elementwise.addInPlace(ws.x, ws.o, rows * h);
    }

    // RoPE on q and k of each sequence at its positions, append k/v to its cache, attend per sequence.
    private void attention(int l, List<KvCache> caches, int[] rowStart) {
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        Rope rope = model.rope();
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        int window = c.slidingLayer(l) ? c.slidingWindow() : 0;
        for (int s = 0; s < caches.size(); s++) {
            KvCache cache = caches.get(s);
            int start = cache.length();
            int n = rowStart[s + 1] - rowStart[s];
            cache.ensure(start + n);
            float[] freq = rope.inverseFrequencies(start + n);
            float[] kc = cache.keys(l);
            float[] vc = cache.values(l);
            for (int t = 0; t < n; t++) {
                int r = rowStart[s] + t;
                rope.apply(ws.q, r * qDim, c.numHeads(), c.headDim(), start + t, freq, ws.cos, ws.sin);
                rope.apply(ws.k, r * kvDim, c.numKvHeads(), c.headDim(), start + t, freq, ws.cos, ws.sin);
                System.arraycopy(ws.k, r * kvDim, kc, (start + t) * kvDim, kvDim);
                System.arraycopy(ws.v, r * kvDim, vc, (start + t) * kvDim, kvDim);
            }
            float[] scratch = ws.scores((start + n) * be.threads());
            be.attention(ws.q, rowStart[s], n, start, kc, vc, c.numHeads(), c.numKvHeads(), c.headDim(), window, scale,
                    ws.att, rowStart[s], scratch);
        }
    }

    // gated: o = down(act(gate(xb)) · up(xb)); phi: gate = fc2(act(fc1(xb))) (result left in ws.gate)
    private void mlp(LayerWeights lw, int rows) {
        int inter = c.intermediateSize();
        Activation act = c.activation();
        if (lw.wGate() == null) {
            be.matmul(lw.wUp(), lw.bUp(), ws.xb, rows, ws.up);
            for (int i = 0; i < rows * inter; i++) {
                ws.up[i] = activate(act, ws.up[i]);
            }
            be.matmul(lw.wDown(), lw.bDown(), ws.up, rows, ws.gate);
            return;
        }
        be.matmul(lw.wGate(), lw.bGate(), ws.xb, rows, ws.gate);
        be.matmul(lw.wUp(), lw.bUp(), ws.xb, rows, ws.up);
        for (int i = 0; i < rows * inter; i++) {
            ws.gate[i] = activate(act, ws.gate[i]) * ws.up[i];
        }
        be.matmul(lw.wDown(), lw.bDown(), ws.gate, rows, ws.o);
    }

    private static float activate(Activation a, float x) {
        return switch (a) {
            case SILU -> Elementwise.silu(x);
            case GELU_TANH -> Elementwise.geluTanh(x);
            case GELU -> Elementwise.gelu(x);
        };
    }

    private void norm(float[] x, float[] y, int rows, Tensor weight, Tensor bias) {
        float eps = (float) c.normEps();
        switch (c.family().norm()) {
            case RMS -> Elementwise.rmsnorm(x, 0, y, 0, rows, c.hiddenSize(), weight, eps, false);
            case RMS_PLUS_ONE -> Elementwise.rmsnorm(x, 0, y, 0, rows, c.hiddenSize(), weight, eps, true);
            case LAYER_NORM -> Elementwise.layernorm(x, 0, y, 0, rows, c.hiddenSize(), weight, bias, eps);
        }
    }

    // final norm, then lm_head over all rows or the last row of each sequence
    private float[][] logits(int[] rowStart, boolean allPositions) {
        int h = c.hiddenSize();
        int vocab = c.vocabSize();
        int b = rowStart.length - 1;
        int rows = rowStart[b];
        if (allPositions || tap != null) {
            norm(ws.x, ws.xb, rows, w.finalNorm(), w.finalNormBias());
            emit(c.numLayers() + 1, rowStart, ws.xb, h);
        }
        float[][] out = new float[b][];
        if (allPositions) {
            float[] all = new float[Math.multiplyExact(rows, vocab)];
            be.matmul(w.lmHead(), w.lmHeadBias(), ws.xb, rows, all);
            for (int s = 0; s < b; s++) {
                out[s] = java.util.Arrays.copyOfRange(all, rowStart[s] * vocab, rowStart[s + 1] * vocab);
            }
            return out;
        }
        float[] last = new float[b * h];
        for (int s = 0; s < b; s++) {
            System.arraycopy(ws.x, (rowStart[s + 1] - 1) * h, last, s * h, h);
        }
        float[] normed = new float[b * h];
        norm(last, normed, b, w.finalNorm(), w.finalNormBias());
        float[] lg = new float[b * vocab];
        be.matmul(w.lmHead(), w.lmHeadBias(), normed, b, lg);
        for (int s = 0; s < b; s++) {
            out[s] = java.util.Arrays.copyOfRange(lg, s * vocab, (s + 1) * vocab);
        }
        return out;
    }

    private void emit(int index, int[] rowStart, float[] x, int dim) {
        if (tap == null) {
            return;
        }
        for (int s = 0; s + 1 < rowStart.length; s++) {
            tap.hidden(index, s, x, rowStart[s] * dim, rowStart[s + 1] - rowStart[s], dim);
        }
    }
}
