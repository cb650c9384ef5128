package dev.revenant.kernel;

import dev.revenant.quant.QuantizedWeight;
import dev.revenant.tensor.Tensor;

/**
 * The compute ops of the forward pass. Activations are fp32 heap arrays, row-major; weights are
 * {@link Tensor} views (F32, BF16 or F16, {@code [N, K]}) converted inside the kernel, never copied.
 *
 * <p>Contract every implementation keeps (design.md, convention 8): each output element is computed
 * by one thread in a fixed reduction order that depends only on the op's shape along the reduced
 * dimension, so a row gives bit-identical results alone or in a batch, whatever the thread count.
 * Kernels never allocate on the hot path; the caller owns every output array.
 */
public interface Backend extends AutoCloseable {

    /** Short name for logs and manifests ("reference", "vector"). */
    String name();

    /** Threads this backend computes with. */
    int threads();

    /**
     * {@code out[r, n] = Σ_k x[r, k] · w[n, k] (+ bias[n])} for {@code r < rows}; x is {@code [rows, K]},
     * out is {@code [rows, N]}, both starting at index 0.
     */
    void matmul(Tensor w, Tensor bias, float[] x, int rows, float[] out);

    /**
     * {@code out[r, n] = Σ_k x[r, k] · deq(w)[n, k] (+ bias[n])} on a packed quantized weight {@code [N, K]},
     * dequantized inside the kernel. The default is the scalar reference ({@link PackedReference}); LLM.int8
     * runs its activation-quantizing op ({@code Int8Bnb.matmulPerRow}) on every backend.
     */
    default void matmulPacked(QuantizedWeight w, Tensor bias, float[] x, int rows, float[] out) {
        PackedReference.matmul(w, bias, x, rows, out);
    }

    /**
     * Causal (optionally sliding-window) scaled dot-product attention of one sequence with GQA.
     *
     * @param q       {@code [tokens, nHeads·headDim]} queries of the new tokens, rows from {@code qRow}
     * @param start   position of the first new token; keys/values hold positions {@code [0, start + tokens)}
     * @param k       {@code [start + tokens, nKv·headDim]} key cache, rotated
     * @param v       {@code [start + tokens, nKv·headDim]} value cache
     * @param window  0 for full causal attention, else query i sees keys j with {@code i - window < j <= i}
     * @param scale   multiplier of q·k (1/sqrt(headDim))
     * @param out     {@code [tokens, nHeads·headDim]}, rows from {@code outRow}
     * @param scratch at least {@code (start + tokens) · threads()} floats for the scores
     */
    void attention(float[] q, int qRow, int tokens, int start, float[] k, float[] v, int nHeads, int nKv, int headDim,
                   int window, float scale, float[] out, int outRow, float[] scratch);

    @Override
    default void close() {
    }
}
