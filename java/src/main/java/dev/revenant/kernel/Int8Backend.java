package dev.revenant.kernel;

import dev.revenant.quant.Int8Bnb;
import dev.revenant.quant.Int8Packed;
import dev.revenant.tensor.Tensor;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * LLM.int8 (muse-spec §2.3) on top of another backend: matmuls whose weight was registered as int8 run
 * {@link Int8Bnb#matmulPerRow} (int8 codes, per-row activation quantization, fp16 outlier columns with
 * |x| ≥ 6); every other op goes to the delegate. The outlier columns are chosen per row so results stay
 * batch-invariant; bitsandbytes chooses them over all rows of a call, which only differs when a call
 * mixes rows with and without outliers. A scalar reference path: correct, not fast (the int8 kernels
 * come with the CPU-kernels work). Closing it does not close the delegate.
 */
public final class Int8Backend implements Backend {
    private final Backend delegate;
    private final Map<Tensor, Int8Packed> int8 = new IdentityHashMap<>();

    public Int8Backend(Backend delegate) {
        this.delegate = delegate;
    }

    /** Routes matmuls with exactly this tensor object as weight to the int8 op. */
    public void register(Tensor placeholder, Int8Packed packed) {
        int8.put(placeholder, packed);
    }

    @Override
    public String name() {
        return delegate.name() + "+int8";
    }

    @Override
    public int threads() {
        return delegate.threads();
    }

    @Override
    public void matmul(Tensor w, Tensor bias, float[] x, int rows, float[] out) {
        Int8Packed q = int8.get(w);
        if (q == null) {
            delegate.matmul(w, bias, x, rows, out);
            return;
        }
        Int8Bnb.matmulPerRow(x, rows, q.cols(), q, out);
        if (bias != null) {
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < q.rows(); j++) {
                    out[r * q.rows() + j] += bias.getFloat(j);
                }
            }
        }
    }

    @Override
    public void attention(float[] q, int qRow, int tokens, int start, float[] k, float[] v, int nHeads, int nKv, int headDim,
                          int window, float scale, float[] out, int outRow, float[] scratch) {
        delegate.attention(q, qRow, tokens, start, k, v, nHeads, nKv, headDim, window, scale, out, outRow, scratch);
    }
}
