package dev.revenant.kernel;

import dev.revenant.quant.QuantizedWeight;
import dev.revenant.tensor.Tensor;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Quantized Linear layers on top of another backend: a matmul whose weight is a registered placeholder
 * tensor (by identity) runs {@link Backend#matmulPacked} of the delegate on the packed weight, dequantized
 * inside the kernel (LLM.int8: its activation-quantizing op); every other op goes to the delegate
 * unchanged. The placeholders are zero-byte {@code DType.PACKED} tensors of the weight's shape, so a quantized
 * model holds only its packed weights. Registration happens at load, before the first op. Closing it does not
 * close the delegate.
 */
public final class PackedRouter implements Backend {
    private final Backend delegate;
    private final Map<Tensor, QuantizedWeight> packed = new IdentityHashMap<>();

    public PackedRouter(Backend delegate) {
        this.delegate = delegate;
    }

    /** Routes matmuls with exactly this tensor object as weight to the packed op on {@code q} (same shape). */
    public void register(Tensor placeholder, QuantizedWeight q) {
        if (!java.util.Arrays.equals(placeholder.shape(), q.shape())) {
            throw new IllegalArgumentException(placeholder.describe() + ": packed weight " + q.name() + " has shape "
                    + java.util.Arrays.toString(q.shape()));
        }
        packed.put(placeholder, q);
    }

    /** Bytes of all registered packed weights. */
    public long packedBytes() {
        long b = 0;
        for (QuantizedWeight q : packed.values()) {
            b += q.packedBytes();
        }
        return b;
    }

    /** Registered weights (for tests and logs). */
    public int size() {
        return packed.size();
    }

    /** The packed weight registered for this placeholder, or null. */
    public QuantizedWeight packedFor(Tensor placeholder) {
        return packed.get(placeholder);
    }

    public Backend delegate() {
        return delegate;
    }

    @Override
    public String name() {
        return delegate.name() + "+packed";
    }

    @Override
    public int threads() {
        return delegate.threads();
    }

    @Override
    public void matmul(Tensor w, Tensor bias, float[] x, int rows, float[] out) {
        QuantizedWeight q = packed.get(w);
        if (q == null) {
            delegate.matmul(w, bias, x, rows, out);
        } else {
            delegate.matmulPacked(q, bias, x, rows, out);
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
