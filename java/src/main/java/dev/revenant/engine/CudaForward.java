package dev.revenant.engine;

import dev.revenant.kernel.PackedRouter;
import dev.revenant.kernel.cuda.CudaBackend;
import dev.revenant.kernel.cuda.CudaKernels;
import dev.revenant.kernel.cuda.DeviceBuffer;
import dev.revenant.kernel.cuda.DeviceWeight;
import dev.revenant.model.Activation;
import dev.revenant.model.Family;
import dev.revenant.model.LayerWeights;
import dev.revenant.model.ModelConfig;
import dev.revenant.model.Weights;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.tensor.Tensor;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import jcuda.driver.CUdeviceptr;

/**
 * {@link Forward} on the GPU: the same pass, op for op (cuda-kernels/ABI.md mirrors each CPU op), with
 * weights resident (uploaded once through {@link CudaBackend}), activations in a device workspace and
 * each {@link KvCache}'s keys and values in device memory of its own. Only token ids go in; logits,
 * log-probabilities or tapped hidden states come out. One per model (see {@link #of}); not thread-safe.
 */
final class CudaForward {
    private static final Map<Model, CudaForward> PER_MODEL = new WeakHashMap<>();

    private final Model model;
    private final ModelConfig c;
    private final CudaBackend be;
    private final CudaKernels kk;
    private final Layer[] layers;
    private final DeviceWeight embed;
    private final int embedType;
    private final DeviceWeight lmHead;
    private final DeviceBuffer lmHeadBias;
    private final DeviceBuffer finalNorm;
    private final DeviceBuffer finalNormBias;
    private final Map<KvCache, DeviceKv> kv = new WeakHashMap<>();
    private final List<DeviceKv> allKv = new ArrayList<>();
    private final Map<String, DeviceBuffer> ws = new java.util.HashMap<>();

    private record Linear(DeviceWeight w, DeviceBuffer bias) {
    }

    private record Layer(DeviceBuffer attnNorm, DeviceBuffer attnNormBias, Linear q, Linear k, Linear v, DeviceBuffer qNorm,
                         DeviceBuffer kNorm, Linear o, DeviceBuffer mlpNorm, Linear gate, Linear up, Linear down) {
    }

    /** Keys and values of one cache on the device: per layer {@code (capacity, kvDim)} floats. */
    private static final class DeviceKv {
        final WeakReference<KvCache> owner;
        DeviceBuffer[] k;
        DeviceBuffer[] v;
        int capacity;

        DeviceKv(KvCache owner) {
            this.owner = new WeakReference<>(owner);
        }

        void close() {
            for (int l = 0; k != null && l < k.length; l++) {
                k[l].close();
                v[l].close();
            }
            k = v = null;
        }
    }

    static synchronized CudaForward of(Model model, CudaBackend be) {
        return PER_MODEL.computeIfAbsent(model, m -> new CudaForward(m, be));
    }

    private CudaForward(Model model, CudaBackend be) {
        this.model = model;
        this.c = model.config();
        this.be = be;
        this.kk = be.kernels();
        Weights w = model.weights();
        PackedRouter router = model.backend() instanceof PackedRouter pr ? pr : null;
        layers = new Layer[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            LayerWeights lw = w.layers().get(l);
            layers[l] = new Layer(be.vector(lw.attnNorm()), be.vector(lw.attnNormBias()), linear(router, lw.wq(), lw.bq()),
                    linear(router, lw.wk(), lw.bk()), linear(router, lw.wv(), lw.bv()), be.vector(lw.qNorm()),
                    be.vector(lw.kNorm()), linear(router, lw.wo(), lw.bo()), be.vector(lw.mlpNorm()),
                    lw.wGate() == null ? null : linear(router, lw.wGate(), lw.bGate()), linear(router, lw.wUp(), lw.bUp()),
                    linear(router, lw.wDown(), lw.bDown()));
        }
        embed = be.weight(w.embed());
        embedType = switch (w.embed().dtype()) {
            case F32 -> 0;
            case BF16 -> 1;
            case F16 -> 2;
            default -> throw new IllegalArgumentException(w.embed().describe() + ": embeddings must be F32, BF16 or F16");
        };
        lmHead = be.weight(w.lmHead());
        lmHeadBias = be.vector(w.lmHeadBias());
        finalNorm = be.vector(w.finalNorm());
        finalNormBias = be.vector(w.finalNormBias());
        be.onClose(this::free);
    }

    // the backend is closing: workspace and caches go with its weights
    private void free() {
        synchronized (CudaForward.class) {
            PER_MODEL.remove(model);
        }
        ws.values().forEach(DeviceBuffer::close);
        ws.clear();
        allKv.forEach(DeviceKv::close);
        allKv.clear();
        kv.clear();
    }

    private Linear linear(PackedRouter router, Tensor w, Tensor bias) {
        QuantizedWeight q = router == null ? null : router.packedFor(w);
        return new Linear(q == null ? be.weight(w) : be.weight(q), be.vector(bias));
    }

    private CUdeviceptr buf(String name, long floats) {
        DeviceBuffer b = ws.get(name);
        long bytes = 4L * Math.max(1, floats);
        if (b == null || b.bytes() < bytes) {
            if (b != null) {
                b.close();
            }
            b = DeviceBuffer.allocate("workspace " + name, b == null ? bytes : Math.max(bytes, b.bytes() * 3 / 2));
            ws.put(name, b);
        }
        return b.ptr();
    }

    private static CUdeviceptr p(DeviceBuffer b) {
        return b == null ? null : b.ptr();
    }

    private static CUdeviceptr at(CUdeviceptr base, long floats) {
        return base.withByteOffset(4L * floats);
    }

    /** As {@link Forward#run}; {@code tap} may be null. */
    float[][] run(List<KvCache> caches, List<int[]> tokens, boolean allPositions, Forward.Tap tap) {
        int[] rowStart = prefill(caches, tokens, tap);
        return logits(rowStart, allPositions, tap);
    }

    /** Teacher-forced log-probabilities of each sequence (as {@link Scorer#logProbs}), computed on the device. */
    List<float[]> logProbs(List<int[]> seqs) {
        List<KvCache> caches = new ArrayList<>();
        for (int[] s : seqs) {
            caches.add(model.newCache(s.length));
        }
        int[] rowStart = prefill(caches, seqs, null);
        int rows = rowStart[seqs.size()];
        int h = c.hiddenSize();
        int vocab = c.vocabSize();
        CUdeviceptr x = buf("x", (long) rows * h);
        CUdeviceptr xb = buf("xb", (long) rows * h);
        norm(x, xb, rows, finalNorm, finalNormBias);
        CUdeviceptr lg = buf("logits", (long) rows * vocab);
        lmHead.matmul(kk, xb, rows, p(lmHeadBias), lg, be.tensorCores());
        int[] targets = new int[rows];
        for (int s = 0; s < seqs.size(); s++) {
            int[] ids = seqs.get(s);
            for (int t = 0; t < ids.length; t++) {
                targets[rowStart[s] + t] = t + 1 < ids.length ? ids[t + 1] : 0;
            }
        }
        CUdeviceptr tg = buf("targets", rows);
        upload(tg, targets);
        CUdeviceptr lp = buf("logprobs", rows);
        kk.logSoftmaxGather(lg, rows, vocab, tg, lp);
        float[] all = new float[rows];
        jcuda.driver.JCudaDriver.cuMemcpyDtoH(jcuda.Pointer.to(all), lp, 4L * rows);
        for (KvCache cache : caches) {
            release(cache);
        }
        List<float[]> out = new ArrayList<>();
        for (int s = 0; s < seqs.size(); s++) {
            out.add(java.util.Arrays.copyOfRange(all, rowStart[s], rowStart[s + 1] - 1));
        }
        return out;
    }

    private static void upload(CUdeviceptr dst, int[] src) {
        if (src.length > 0) {
            jcuda.driver.JCudaDriver.cuMemcpyHtoD(dst, jcuda.Pointer.to(src), 4L * src.length);
        }
    }

    private static void upload(CUdeviceptr dst, float[] src) {
        if (src.length > 0) {
            jcuda.driver.JCudaDriver.cuMemcpyHtoD(dst, jcuda.Pointer.to(src), 4L * src.length);
        }
    }

    private static void download(CUdeviceptr src, float[] dst, int to, int count) {
        if (count > 0) {
            jcuda.driver.JCudaDriver.cuMemcpyDtoH(jcuda.Pointer.to(dst).withByteOffset(4L * to), src, 4L * count);
        }
    }

    // embeddings and every layer; advances the caches; returns the row offsets of the sequences
    private int[] prefill(List<KvCache> caches, List<int[]> tokens, Forward.Tap tap) {
        be.kernels().runtime().bind();
        freeDeadCaches();
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
        int[] ids = new int[rows];
        for (int s = 0; s < b; s++) {
            int[] t = tokens.get(s);
            for (int i = 0; i < t.length; i++) {
                if (t[i] < 0 || t[i] >= c.vocabSize()) {
                    throw new IllegalArgumentException("token id " + t[i] + " at position " + i + " of sequence " + s
                            + " is outside the vocabulary [0, " + c.vocabSize() + ")");
                }
                ids[rowStart[s] + i] = t[i];
            }
        }
        CUdeviceptr idBuf = buf("ids", rows);
        upload(idBuf, ids);
        CUdeviceptr x = buf("x", (long) rows * h);
        float scale = c.family() == Family.GEMMA ? (float) Math.sqrt(h) : 1f;
        kk.embed(idBuf, rows, ((DeviceWeight.Dense) embed).data().ptr(), embedType, h, scale, x);
        emit(tap, 0, rowStart, x, h);
        ropeTables(caches, rowStart);
        attentionTables(caches, rowStart);
        for (int l = 0; l < layers.length; l++) {
            layer(l, caches, rowStart, rows);
            emit(tap, l + 1, rowStart, x, h);
        }
        for (int s = 0; s < b; s++) {
            caches.get(s).advance(tokens.get(s).length);
        }
        return rowStart;
    }

    // cos/sin of every row's position (host-computed exactly as Rope.apply does), uploaded once per run
    private void ropeTables(List<KvCache> caches, int[] rowStart) {
        Rope rope = model.rope();
        int half = rope.rotaryDim() / 2;
        int rows = rowStart[caches.size()];
        float[] cos = new float[rows * half];
        float[] sin = new float[rows * half];
        for (int s = 0; s < caches.size(); s++) {
            int start = caches.get(s).length();
            int n = rowStart[s + 1] - rowStart[s];
            float[] freq = rope.inverseFrequencies(start + n);
            for (int t = 0; t < n; t++) {
                rope.table(start + t, freq, cos, sin, (rowStart[s] + t) * half);
            }
        }
        upload(buf("cos", (long) rows * half), cos);
        upload(buf("sin", (long) rows * half), sin);
    }

    private int stride; // the longest sequence after this run: scores per (row, head) in attention's scratch
    private final boolean batchedAttention = dev.revenant.Settings.cudaBatchedAttention();

    // each row's sequence and position, and every layer's cache addresses per sequence (one upload per run)
    private void attentionTables(List<KvCache> caches, int[] rowStart) {
        int b = caches.size();
        int rows = rowStart[b];
        int[] seq = new int[rows];
        int[] pos = new int[rows];
        long[] tab = new long[2 * layers.length * b];
        stride = 1;
        for (int s = 0; s < b; s++) {
            KvCache cache = caches.get(s);
            int start = cache.length();
            int n = rowStart[s + 1] - rowStart[s];
            stride = Math.max(stride, start + n);
            DeviceKv d = deviceKv(cache, start + n);
            for (int t = 0; t < n; t++) {
                seq[rowStart[s] + t] = s;
                pos[rowStart[s] + t] = start + t;
            }
            for (int l = 0; batchedAttention && l < layers.length; l++) {
                tab[l * b + s] = d.k[l].address();
                tab[(layers.length + l) * b + s] = d.v[l].address();
            }
        }
        if (!batchedAttention) {
            return;
        }
        upload(buf("rowseq", rows), seq);
        upload(buf("rowpos", rows), pos);
        CUdeviceptr t = buf("kvtable", 2L * tab.length);
        jcuda.driver.JCudaDriver.cuMemcpyHtoD(t, jcuda.Pointer.to(tab), 8L * tab.length);
    }

    private void layer(int l, List<KvCache> caches, int[] rowStart, int rows) {
        Layer lw = layers[l];
        int h = c.hiddenSize();
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        boolean tc = be.tensorCores();
        CUdeviceptr x = buf("x", (long) rows * h);
        CUdeviceptr xb = buf("xb", (long) rows * h);
        CUdeviceptr q = buf("q", (long) rows * qDim);
        CUdeviceptr k = buf("k", (long) rows * kvDim);
        CUdeviceptr v = buf("v", (long) rows * kvDim);
        CUdeviceptr att = buf("att", (long) rows * qDim);
        CUdeviceptr o = buf("o", (long) rows * h);
        norm(x, xb, rows, lw.attnNorm(), lw.attnNormBias());
        lw.q().w().matmul(kk, xb, rows, p(lw.q().bias()), q, tc);
        lw.k().w().matmul(kk, xb, rows, p(lw.k().bias()), k, tc);
        lw.v().w().matmul(kk, xb, rows, p(lw.v().bias()), v, tc);
        if (lw.qNorm() != null) {
            kk.rmsnorm(q, q, rows * c.numHeads(), c.headDim(), lw.qNorm().ptr(), (float) c.normEps(), false);
            kk.rmsnorm(k, k, rows * c.numKvHeads(), c.headDim(), lw.kNorm().ptr(), (float) c.normEps(), false);
        }
        int half = model.rope().rotaryDim() / 2;
        CUdeviceptr cos = buf("cos", (long) rows * half);
        CUdeviceptr sin = buf("sin", (long) rows * half);
        kk.rope(q, rows, c.numHeads(), c.headDim(), half, cos, sin);
        kk.rope(k, rows, c.numKvHeads(), c.headDim(), half, cos, sin);
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        int window = c.slidingLayer(l) ? c.slidingWindow() : 0;
        if (batchedAttention) {
            int b = caches.size();
            CUdeviceptr tab = buf("kvtable", 2L * layers.length * b * 2); // longs: 2 floats each
            CUdeviceptr kTab = tab.withByteOffset(8L * l * b);
            CUdeviceptr vTab = tab.withByteOffset(8L * (layers.length + l) * b);
            CUdeviceptr rowSeq = buf("rowseq", rows);
            CUdeviceptr rowPos = buf("rowpos", rows);
            kk.kvAppend(k, v, rows, kvDim, rowSeq, rowPos, kTab, vTab);
            CUdeviceptr scratch = buf("scores", (long) rows * c.numHeads() * stride);
            kk.attentionBatched(q, rows, rowSeq, rowPos, kTab, vTab, c.numHeads(), c.numKvHeads(), c.headDim(), window, scale,
                    att, scratch, stride);
        } else {
            for (int s = 0; s < caches.size(); s++) { // per sequence: its k/v rows into its cache, then its attention
                KvCache cache = caches.get(s);
                int start = cache.length();
                int n = rowStart[s + 1] - rowStart[s];
                DeviceKv d = kv.get(cache);
                DeviceBuffer.copy(d.k[l].at(4L * start * kvDim), at(k, (long) rowStart[s] * kvDim), 4L * n * kvDim);
                DeviceBuffer.copy(d.v[l].at(4L * start * kvDim), at(v, (long) rowStart[s] * kvDim), 4L * n * kvDim);
                CUdeviceptr scratch = buf("scores", (long) n * c.numHeads() * (start + n));
                kk.attention(at(q, (long) rowStart[s] * qDim), n, start, d.k[l].ptr(), d.v[l].ptr(), c.numHeads(),
                        c.numKvHeads(), c.headDim(), window, scale, at(att, (long) rowStart[s] * qDim), scratch);
            }
        }
        lw.o().w().matmul(kk, att, rows, p(lw.o().bias()), o, tc);
        if (c.family() == Family.PHI) {
            CUdeviceptr g = mlp(lw, rows);
            kk.add3(x, o, g, rows * h);
            return;
        }
        kk.add(x, o, rows * h);
        norm(x, xb, rows, lw.mlpNorm(), null);
        CUdeviceptr m = mlp(lw, rows);
        kk.add(x, m, rows * h);
    }

    // gated: down(act(gate(xb)) · up(xb)); phi: fc2(act(fc1(xb))); returns the (rows, hidden) result
    private CUdeviceptr mlp(Layer lw, int rows) {
        int inter = c.intermediateSize();
        int h = c.hiddenSize();
        boolean tc = be.tensorCores();
        CUdeviceptr xb = buf("xb", (long) rows * h);
        CUdeviceptr up = buf("up", (long) rows * inter);
        CUdeviceptr gate = buf("gate", (long) rows * inter);
        CUdeviceptr out = buf("mlp", (long) rows * h);
        int act = actCode(c.activation());
        if (lw.gate() == null) {
            lw.up().w().matmul(kk, xb, rows, p(lw.up().bias()), up, tc);
            kk.act(up, rows * inter, act);
            lw.down().w().matmul(kk, up, rows, p(lw.down().bias()), out, tc);
            return out;
        }
        lw.gate().w().matmul(kk, xb, rows, p(lw.gate().bias()), gate, tc);
        lw.up().w().matmul(kk, xb, rows, p(lw.up().bias()), up, tc);
        kk.gateAct(gate, up, rows * inter, act);
        lw.down().w().matmul(kk, gate, rows, p(lw.down().bias()), out, tc);
        return out;
    }

    private static int actCode(Activation a) {
        return switch (a) {
            case SILU -> 0;
            case GELU_TANH -> 1;
            case GELU -> 2;
        };
    }

    private void norm(CUdeviceptr x, CUdeviceptr y, int rows, DeviceBuffer w, DeviceBuffer b) {
        float eps = (float) c.normEps();
        switch (c.family().norm()) {
            case RMS -> kk.rmsnorm(x, y, rows, c.hiddenSize(), w.ptr(), eps, false);
            case RMS_PLUS_ONE -> kk.rmsnorm(x, y, rows, c.hiddenSize(), w.ptr(), eps, true);
            case LAYER_NORM -> kk.layernorm(x, y, rows, c.hiddenSize(), w.ptr(), p(b), eps);
        }
    }

    private float[][] logits(int[] rowStart, boolean allPositions, Forward.Tap tap) {
        int h = c.hiddenSize();
        int vocab = c.vocabSize();
        int b = rowStart.length - 1;
        int rows = rowStart[b];
        boolean tc = be.tensorCores();
        CUdeviceptr x = buf("x", (long) rows * h);
        CUdeviceptr xb = buf("xb", (long) rows * h);
        float[][] out = new float[b][];
        if (allPositions || tap != null) {
            norm(x, xb, rows, finalNorm, finalNormBias);
            emit(tap, c.numLayers() + 1, rowStart, xb, h);
        }
        if (allPositions) {
            CUdeviceptr lg = buf("logits", (long) rows * vocab);
            lmHead.matmul(kk, xb, rows, p(lmHeadBias), lg, tc);
            for (int s = 0; s < b; s++) {
                out[s] = new float[(rowStart[s + 1] - rowStart[s]) * vocab];
                download(at(lg, (long) rowStart[s] * vocab), out[s], 0, out[s].length);
            }
            return out;
        }
        int[] last = new int[b];
        for (int s = 0; s < b; s++) {
            last[s] = rowStart[s + 1] - 1;
        }
        CUdeviceptr idx = buf("last", b);
        upload(idx, last);
        CUdeviceptr lastX = buf("lastx", (long) b * h);
        CUdeviceptr normed = buf("lastn", (long) b * h);
        kk.gatherRows(x, idx, b, h, lastX);
        norm(lastX, normed, b, finalNorm, finalNormBias);
        CUdeviceptr lg = buf("logits", (long) b * vocab);
        lmHead.matmul(kk, normed, b, p(lmHeadBias), lg, tc);
        float[] all = new float[b * vocab];
        download(lg, all, 0, all.length);
        for (int s = 0; s < b; s++) {
            out[s] = java.util.Arrays.copyOfRange(all, s * vocab, (s + 1) * vocab);
        }
        return out;
    }

    private void emit(Forward.Tap tap, int index, int[] rowStart, CUdeviceptr x, int dim) {
        if (tap == null) {
            return;
        }
        int rows = rowStart[rowStart.length - 1];
        float[] host = new float[rows * dim];
        download(x, host, 0, host.length);
        for (int s = 0; s + 1 < rowStart.length; s++) {
            tap.hidden(index, s, host, rowStart[s] * dim, rowStart[s + 1] - rowStart[s], dim);
        }
    }

    // the device cache of `cache`, grown (by doubling) to hold `total` positions
    private DeviceKv deviceKv(KvCache cache, int total) {
        DeviceKv d = kv.get(cache);
        if (d == null) {
            d = new DeviceKv(cache);
            kv.put(cache, d);
            allKv.add(d);
        }
        if (d.k != null && total <= d.capacity) {
            return d;
        }
        int cap = d.k == null ? Math.max(total, cache.capacity()) : Math.max(total, d.capacity * 2);
        int kvDim = c.kvDim();
        int n = c.numLayers();
        DeviceBuffer[] nk = new DeviceBuffer[n];
        DeviceBuffer[] nv = new DeviceBuffer[n];
        for (int l = 0; l < n; l++) {
            nk[l] = DeviceBuffer.allocate("KV cache keys, layer " + l + ", " + cap + " positions", 4L * cap * kvDim);
            nv[l] = DeviceBuffer.allocate("KV cache values, layer " + l + ", " + cap + " positions", 4L * cap * kvDim);
            if (d.k != null) {
                DeviceBuffer.copy(nk[l].ptr(), d.k[l].ptr(), 4L * cache.length() * kvDim);
                DeviceBuffer.copy(nv[l].ptr(), d.v[l].ptr(), 4L * cache.length() * kvDim);
            }
        }
        d.close();
        d.k = nk;
        d.v = nv;
        d.capacity = cap;
        return d;
    }

    /** Frees the device memory of a cache now (it is freed anyway once the cache is garbage). */
    void release(KvCache cache) {
        DeviceKv d = kv.remove(cache);
        if (d != null) {
            d.close();
            allKv.remove(d);
        }
    }

    private void freeDeadCaches() {
        for (Iterator<DeviceKv> it = allKv.iterator(); it.hasNext(); ) {
            DeviceKv d = it.next();
            if (d.owner.get() == null) {
                d.close();
                it.remove();
            }
        }
    }
}
