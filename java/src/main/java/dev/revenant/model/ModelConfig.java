package dev.revenant.model;

/**
 * What the engine needs from an HF config.json, validated. Shapes: q heads {@code numHeads × headDim},
 * kv heads {@code numKvHeads × headDim}. {@code slidingWindow} 0 = full causal attention;
 * otherwise query i sees keys j with {@code i - window < j <= i} on the layers where
 * {@link #slidingLayer(int)} holds.
 */
public record ModelConfig(
        Family family,
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double normEps,
        Activation activation,
        boolean tieWordEmbeddings,
        int maxPositions,
        int slidingWindow,
        int firstSlidingLayer,
        boolean qkvBias,
        boolean outputBias,
        boolean mlpBias,
        RopeConfig rope,
        int bosTokenId,
        int eosTokenId,
        String torchDtype) {

    public ModelConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numLayers);
        positive("num_attention_heads", numHeads);
        positive("num_key_value_heads", numKvHeads);
        positive("head_dim", headDim);
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numHeads
                    + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        }
        if (rope.rotaryDim() > headDim) {
            throw new IllegalArgumentException("rotary dimension " + rope.rotaryDim() + " exceeds head_dim " + headDim);
        }
        if (!(normEps > 0)) {
            throw new IllegalArgumentException("norm epsilon must be > 0, found " + normEps);
        }
        if (slidingWindow < 0) {
            throw new IllegalArgumentException("sliding_window must be ≥ 0, found " + slidingWindow);
        }
    }

    private static void positive(String key, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException(key + " must be a positive integer, found " + v);
        }
    }

    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** True when layer {@code layer} uses the sliding window. */
    public boolean slidingLayer(int layer) {
        return slidingWindow > 0 && layer >= firstSlidingLayer;
    }

    /** Parameter count implied by the shapes (what {@link Architecture#tensors} lists). */
    public long parameterCount() {
        return Architecture.tensors(this).stream().mapToLong(Architecture.TensorSpec::numel).sum();
    }
}
