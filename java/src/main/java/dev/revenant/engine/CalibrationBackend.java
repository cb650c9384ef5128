package dev.revenant.engine;

import dev.revenant.kernel.Backend;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.tensor.Tensor;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The backend a calibration pass runs on ({@link SequentialQuantizer}): every op goes to the CPU backend
 * underneath, except that
 * <ul>
 * <li>a Linear weight already quantized runs on its packed form (as the quantized model will);
 * <li>the matmul of the {@linkplain #target(Tensor, InputSink) target} weight hands its input rows to a sink and
 *     stops the layer there ({@link Stop}): the rest of the layer is not needed yet;
 * <li>a weight may be {@linkplain #substitute(Tensor, Tensor) replaced} by another dense tensor (AWQ's candidates);
 * <li>matmul outputs are remembered per chunk of calibration samples, keyed by the weight in effect and a 64-bit
 *     hash of the input rows, so a rerun of the layer (the next stage, the next AWQ candidate) copies the outputs
 *     whose weight and input did not change instead of multiplying again, within a memory budget. Outputs of a
 *     substitute are neither looked up nor remembered: each AWQ candidate is a new tensor multiplied once per chunk,
 *     so it could never be hit, and remembering it would evict the original weight's output.
 * </ul>
 */
final class CalibrationBackend implements Backend {
    /** Receives the input rows {@code x (rows, K)} of the target weight. */
    interface InputSink {
        void accept(float[] x, int rows, int cols);
    }

    /** Thrown by the target's matmul to end the layer early; carries nothing. */
    static final class Stop extends RuntimeException {
        Stop() {
            super(null, null, false, false);
        }
    }

    private final Backend delegate;
    /** A remembered output: the weight object in effect, the input's hash and row count, the output. */
    record Cached(Object weight, long inputHash, int rows, float[] out) {
    }

    private final Map<Tensor, QuantizedWeight> quantized = new IdentityHashMap<>();
    private final Map<Tensor, Tensor> substitutes = new IdentityHashMap<>();
    private Map<Tensor, Cached> chunkCache = new IdentityHashMap<>();
    private boolean captureOutput;
    private final Map<Tensor, java.util.List<InputSink>> inputObservers = new IdentityHashMap<>();
    private final Map<Tensor, java.util.List<InputSink>> outputObservers = new IdentityHashMap<>();
    private final long budgetFloats;
    private long cachedFloats;
    private Tensor target;
    private InputSink sink;
    private boolean cacheAttention;
    private final Map<Map<Tensor, Cached>, Map<Integer, Cached>> attentionCaches = new IdentityHashMap<>();
    private Map<Integer, Cached> attentionCache;
    private long attentionHits;

    CalibrationBackend(Backend delegate, long budgetBytes) {
        this.delegate = delegate;
        this.budgetFloats = budgetBytes / 4;
    }

    Backend delegate() {
        return delegate;
    }

    void quantized(Tensor w, QuantizedWeight q) {
        quantized.put(w, q);
    }

    /** Uses {@code replacement} (same shape) wherever the layer multiplies by {@code w}; null restores {@code w}. */
    void substitute(Tensor w, Tensor replacement) {
        if (replacement == null) {
            substitutes.remove(w);
        } else {
            substitutes.put(w, replacement);
        }
    }

    /** The tensor used in place of {@code w}, or null. */
    Tensor substituteOf(Tensor w) {
        return substitutes.get(w);
    }

    /** The matmul of {@code w} hands its input rows to {@code s} and stops the layer (null: no target). */
    void target(Tensor w, InputSink s) {
        target = w;
        sink = s;
        captureOutput = false;
    }

    /** The matmul of {@code w} runs, hands its output rows {@code (rows, N)} to {@code s}, then stops the layer. */
    void targetOutput(Tensor w, InputSink s) {
        target = w;
        sink = s;
        captureOutput = true;
    }

    /** Hands the input ({@code output} false) or output rows of every matmul of {@code w} to {@code s}; the layer goes on. */
    void observe(Tensor w, boolean output, InputSink s) {
        (output ? outputObservers : inputObservers).computeIfAbsent(w, k -> new java.util.ArrayList<>()).add(s);
    }

    void clearObservers() {
        inputObservers.clear();
        outputObservers.clear();
    }

    /** The output cache of one chunk of samples (the caller keeps one map per chunk for the current layer). */
    void cache(Map<Tensor, Cached> perChunk) {
        chunkCache = perChunk;
        attentionCache = cacheAttention ? attentionCaches.computeIfAbsent(perChunk, m -> new java.util.HashMap<>()) : null;
    }

    /**
     * Also remembers attention outputs per chunk, keyed by the query row and a hash of q's rows, the keys and values
     * and the call's scalars (the stages of a layer rerun the same attention up to three times once q, k and v are
     * quantized). Off by default; a caller that turns it on clears it per layer with {@link #clearCacheAccounting}.
     */
    void cacheAttention(boolean on) {
        cacheAttention = on;
    }

    /** Attention calls answered from the cache so far. */
    long attentionHits() {
        return attentionHits;
    }

    /** Forgets every cached output (a new layer). */
    void clearCacheAccounting() {
        cachedFloats = 0;
        attentionCaches.clear();
        attentionCache = null;
    }

    @Override
    public String name() {
        return delegate.name() + "+calibration";
    }

    @Override
    public int threads() {
        return delegate.threads();
    }

    @Override
    public void matmul(Tensor w, Tensor bias, float[] x, int rows, float[] out) {
        if (w == target && !captureOutput) {
            sink.accept(x, rows, (int) w.dim(1));
            throw new Stop();
        }
        for (InputSink in : inputObservers.getOrDefault(w, java.util.List.of())) {
            in.accept(x, rows, (int) w.dim(1));
        }
        QuantizedWeight q = quantized.get(w);
        Tensor sub = substitutes.get(w);
        Object effective = q != null ? q : sub != null ? sub : w;
        int k = (int) w.dim(1);
        int n = rows * (int) w.dim(0);
        if (sub != null && q == null) {
            delegate.matmul(sub, bias, x, rows, out);
        } else {
            cachedMatmul(w, bias, x, rows, out, q, effective, k, n);
        }
        for (InputSink ob : outputObservers.getOrDefault(w, java.util.List.of())) {
            ob.accept(out, rows, (int) w.dim(0));
        }
        if (w == target) {
            sink.accept(out, rows, (int) w.dim(0));
            throw new Stop();
        }
    }

    // the output of w (or its packed form q) from this chunk's cache when weight and input match, else multiplied
    private void cachedMatmul(Tensor w, Tensor bias, float[] x, int rows, float[] out, QuantizedWeight q, Object effective,
                              int k, int n) {
        long hash = hash(x, rows * k);
        Cached hit = chunkCache.get(w);
        if (hit != null && hit.weight() == effective && hit.inputHash() == hash && hit.rows() == rows) {
            System.arraycopy(hit.out(), 0, out, 0, n);
        } else {
            if (q != null) {
                delegate.matmulPacked(q, bias, x, rows, out);
            } else {
                delegate.matmul(w, bias, x, rows, out);
            }
            long old = hit == null ? 0 : hit.out().length;
            if (cachedFloats - old + n <= budgetFloats) {
                chunkCache.put(w, new Cached(effective, hash, rows, java.util.Arrays.copyOf(out, n)));
                cachedFloats += n - old;
            }
        }
    }

    // FNV-1a over the float bits in four interleaved streams (independent multiply chains), then mixed: equal inputs
    // give equal hashes; a collision between two different inputs of the same weight in one chunk (~2^-64) is the only
    // way a stale output could be reused
    private static long hash(float[] x, int n) {
        return hash(x, 0, n);
    }

    private static long hash(float[] x, int from, int n) {
        final long p = 0x100000001b3L;
        long a = 0xcbf29ce484222325L;
        long b = a ^ 1;
        long c = a ^ 2;
        long d = a ^ 3;
        int i = from;
        int end = from + n;
        for (; i + 3 < end; i += 4) {
            a = (a ^ Float.floatToRawIntBits(x[i])) * p;
            b = (b ^ Float.floatToRawIntBits(x[i + 1])) * p;
            c = (c ^ Float.floatToRawIntBits(x[i + 2])) * p;
            d = (d ^ Float.floatToRawIntBits(x[i + 3])) * p;
        }
        for (; i < end; i++) {
            a = (a ^ Float.floatToRawIntBits(x[i])) * p;
        }
        long h = ((a * 31 + b) * 31 + c) * 31 + d + n;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        return h ^ (h >>> 33);
    }

    @Override
    public void matmulPacked(QuantizedWeight w, Tensor bias, float[] x, int rows, float[] out) {
        delegate.matmulPacked(w, bias, x, rows, out);
    }

    @Override
    public void attention(float[] q, int qRow, int tokens, int start, float[] k, float[] v, int nHeads, int nKv, int headDim,
                          int window, float scale, float[] out, int outRow, float[] scratch) {
        if (attentionCache == null) {
            delegate.attention(q, qRow, tokens, start, k, v, nHeads, nKv, headDim, window, scale, out, outRow, scratch);
            return;
        }
        int qDim = nHeads * headDim;
        int kvLen = (start + tokens) * nKv * headDim;
        long h = hash(q, qRow * qDim, tokens * qDim);
        h = h * 31 + hash(k, 0, kvLen);
        h = h * 31 + hash(v, 0, kvLen);
        h = h * 31 + (((long) start << 32) ^ ((long) tokens << 16) ^ window ^ ((long) Float.floatToRawIntBits(scale) << 40));
        int n = tokens * qDim;
        Cached hit = attentionCache.get(qRow);
        if (hit != null && hit.inputHash() == h && hit.rows() == tokens) {
            System.arraycopy(hit.out(), 0, out, outRow * qDim, n);
            attentionHits++;
            return;
        }
        delegate.attention(q, qRow, tokens, start, k, v, nHeads, nKv, headDim, window, scale, out, outRow, scratch);
        long old = hit == null ? 0 : hit.out().length;
        if (cachedFloats - old + n <= budgetFloats) {
            attentionCache.put(qRow, new Cached(null, h, tokens, java.util.Arrays.copyOfRange(out, outRow * qDim, outRow * qDim + n)));
            cachedFloats += n - old;
        }
    }
}
