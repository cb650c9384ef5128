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
 * <li>outputs of already-quantized weights are remembered per chunk of calibration samples, so the next stage of
 *     the same layer (which reruns the layer up to its own target on the same inputs) copies them instead of
 *     multiplying again, within a memory budget.
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
    private final Map<Tensor, QuantizedWeight> quantized = new IdentityHashMap<>();
    private Map<Tensor, float[]> chunkCache = new IdentityHashMap<>();
    private final long budgetFloats;
    private long cachedFloats;
    private Tensor target;
    private InputSink sink;

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

    void target(Tensor w, InputSink s) {
        target = w;
        sink = s;
    }

    /** The output cache of one chunk of samples (the caller keeps one map per chunk for the current layer). */
    void cache(Map<Tensor, float[]> perChunk) {
        chunkCache = perChunk;
    }

    /** Forgets every cached output (a new layer). */
    void clearCacheAccounting() {
        cachedFloats = 0;
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
        if (w == target) {
            sink.accept(x, rows, (int) w.dim(1));
            throw new Stop();
        }
        QuantizedWeight q = quantized.get(w);
        if (q == null) {
            delegate.matmul(w, bias, x, rows, out);
            return;
        }
        int n = rows * (int) w.dim(0);
        float[] hit = chunkCache.get(w);
        if (hit != null && hit.length == n) {
            System.arraycopy(hit, 0, out, 0, n);
            return;
        }
        delegate.matmulPacked(q, bias, x, rows, out);
        if (cachedFloats + n <= budgetFloats) {
            chunkCache.put(w, java.util.Arrays.copyOf(out, n));
            cachedFloats += n;
        }
    }

    @Override
    public void matmulPacked(QuantizedWeight w, Tensor bias, float[] x, int rows, float[] out) {
        delegate.matmulPacked(w, bias, x, rows, out);
    }

    @Override
    public void attention(float[] q, int qRow, int tokens, int start, float[] k, float[] v, int nHeads, int nKv, int headDim,
                          int window, float scale, float[] out, int outRow, float[] scratch) {
        delegate.attention(q, qRow, tokens, start, k, v, nHeads, nKv, headDim, window, scale, out, outRow, scratch);
    }
}
