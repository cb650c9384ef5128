package dev.revenant.model;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The architecture families Revenant runs, keyed by HF {@code model_type}. Each fixes the variants
 * that config.json does not spell out (norm kind, default activation, fused projections).
 */
public enum Family {
    /** Llama 1/2/3, TinyLlama, ICLM, SmolLM: RMSNorm, SwiGLU, rotate-half RoPE. */
    LLAMA("llama", NormKind.RMS, false, false),
    /** Llama with a causal sliding window. */
    MISTRAL("mistral", NormKind.RMS, false, false),
    /** Llama with q/k/v biases; optional sliding window on layers ≥ max_window_layers. */
    QWEN2("qwen2", NormKind.RMS, false, false),
    /** Explicit head_dim and per-head RMSNorm on q and k before RoPE. */
    QWEN3("qwen3", NormKind.RMS, false, false),
    /** RMSNorm with (1 + w), embeddings × sqrt(hidden), gelu-tanh gating, tied embeddings. */
    GEMMA("gemma", NormKind.RMS_PLUS_ONE, true, false),
    /** Fused qkv_proj and gate_up_proj. */
    PHI3("phi3", NormKind.RMS, false, true),
    /** phi-1.5: LayerNorm with bias, parallel attention and MLP, partial rotary, gelu_new, biases. */
    PHI("phi", NormKind.LAYER_NORM, false, false);

    /** How a norm layer normalises. */
    public enum NormKind { RMS, RMS_PLUS_ONE, LAYER_NORM }

    private final String modelType;
    private final NormKind norm;
    private final boolean tiedByDefault;
    private final boolean fused;

    Family(String modelType, NormKind norm, boolean tiedByDefault, boolean fused) {
        this.modelType = modelType;
        this.norm = norm;
        this.tiedByDefault = tiedByDefault;
        this.fused = fused;
    }

    public String modelType() {
        return modelType;
    }

    public NormKind norm() {
        return norm;
    }

    /** The transformers default of {@code tie_word_embeddings} for this family's config class. */
    public boolean tiedByDefault() {
        return tiedByDefault;
    }

    /** True when q/k/v and gate/up are stored as one fused tensor each (phi3). */
    public boolean fused() {
        return fused;
    }

    public static String supported() {
        return Arrays.stream(values()).map(Family::modelType).collect(Collectors.joining(", "));
    }

    /** @throws IllegalArgumentException listing the supported model types */
    public static Family of(String modelType) {
        if (modelType != null) {
            String m = modelType.toLowerCase(Locale.ROOT);
            for (Family f : values()) {
                if (f.modelType.equals(m)) {
                    return f;
                }
            }
        }
        throw new IllegalArgumentException("unsupported model_type '" + modelType + "'; supported: " + supported());
    }
}
