package dev.revenant.model;

import dev.revenant.tensor.Tensor;

/**
 * One decoder layer's tensors, as views into the checkpoint (never copies). Linear weights are
 * {@code [out, in]}. Absent parts are null: biases, q/k norms (qwen3 only), the gate (phi has a plain
 * fc1 → act → fc2 MLP, stored here as up/down) and the post-attention norm (phi's block is parallel).
 */
public record LayerWeights(
        Tensor attnNorm, Tensor attnNormBias,
        Tensor wq, Tensor wk, Tensor wv, Tensor bq, Tensor bk, Tensor bv,
        Tensor wo, Tensor bo,
        Tensor qNorm, Tensor kNorm,
        Tensor mlpNorm,
        Tensor wGate, Tensor wUp, Tensor wDown, Tensor bGate, Tensor bUp, Tensor bDown) {
}
