package dev.revenant.model;

import dev.revenant.tensor.DType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model shapes {@code revenant synth} knows: {@code tiny} (a few hundred thousand parameters, for
 * tests; any family) and the shapes of real checkpoints, copied from their HF config.json files, so that
 * timings and memory measured on a synthetic checkpoint carry over to the real one.
 */
public final class Presets {
    private static final Map<String, Preset> ALL = new LinkedHashMap<>();

    static {
        add(new Preset("tiny", Family.LLAMA, 512, 128, 384, 2, 4, 2, 0, null,
                10000.0, null, 1e-6, 256, 16, 2, 0.08));
        // HuggingFaceTB/SmolLM-135M
        add(new Preset("smollm-135m", Family.LLAMA, 49152, 576, 1536, 30, 9, 3, 0, true,
                10000.0, null, 1e-5, 2048, 4096, 30, 0.02));
        // TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T
        add(new Preset("tinyllama-1.1b", Family.LLAMA, 32000, 2048, 5632, 22, 32, 4, 0, false,
                10000.0, null, 1e-5, 2048, 4096, 22, 0.02));
        // meta-llama/Llama-3.2-1B
        add(new Preset("llama-3.2-1b", Family.LLAMA, 128256, 2048, 8192, 16, 32, 8, 64, true,
                500000.0, new RopeScaling("llama3", 32.0, 1.0, 4.0, 8192), 1e-5, 131072, 4096, 16, 0.02));
        // Qwen/Qwen2.5-0.5B (sliding window present in the config but disabled)
        add(new Preset("qwen2.5-0.5b", Family.QWEN2, 151936, 896, 4864, 24, 14, 2, 0, true,
                1000000.0, null, 1e-6, 32768, 4096, 21, 0.02));
        // meta-llama/Llama-2-7b-hf
        add(new Preset("llama-2-7b", Family.LLAMA, 32000, 4096, 11008, 32, 32, 32, 0, false,
                10000.0, null, 1e-5, 4096, 4096, 32, 0.02));
    }

    private Presets() {
    }

    /** Legacy {@code rope_scaling} of a preset (transformers' names). */
    public record RopeScaling(String ropeType, double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositions) {
        public RopeScaling {
            RopeConfig.Type.parse(ropeType, "rope_scaling.rope_type");
        }
    }

    /**
     * One preset's dimensions. {@code headDim} 0 means {@code hiddenSize / numHeads} (and no head_dim key
     * unless the family needs one); {@code tied} null means the family's default. {@code slidingWindow}
     * is the window of the families that always slide (mistral); qwen2/qwen3 get the keys with
     * {@code use_sliding_window: false}, {@code sliding_window = maxPositions} and
     * {@code max_window_layers = maxWindowLayers}, as Qwen2.5 ships them. {@code initStd} is the standard
     * deviation of the random linear and embedding weights (HF's {@code initializer_range}).
     */
    public record Preset(String name, Family family, int vocabSize, int hiddenSize, int intermediateSize, int numLayers,
                         int numHeads, int numKvHeads, int headDim, Boolean tied, double ropeTheta,
                         RopeScaling ropeScaling, double normEps, int maxPositions, int slidingWindow,
                         int maxWindowLayers, double initStd) {
        public Preset {
            if (name == null || family == null) {
                throw new IllegalArgumentException("preset: name and family are required");
            }
            if (headDim == 0 && hiddenSize % numHeads != 0) {
                throw new IllegalArgumentException("preset " + name + ": hidden " + hiddenSize
                        + " is not a multiple of heads " + numHeads + " and no head_dim is given");
            }
            if (!(initStd > 0) || slidingWindow <= 0 || maxWindowLayers < 0) {
                throw new IllegalArgumentException("preset " + name + ": initStd and slidingWindow must be > 0 and "
                        + "maxWindowLayers ≥ 0, found " + initStd + ", " + slidingWindow + ", " + maxWindowLayers);
            }
        }

        /** head_dim as the engine sees it. */
        public int resolvedHeadDim() {
            return headDim > 0 ? headDim : hiddenSize / numHeads;
        }

        public boolean tiedFor(Family f) {
            return tied != null ? tied : f.tiedByDefault();
        }

        /** Dimensions of the rotary part of a head: phi rotates half of it (partial_rotary_factor 0.5). */
        public int rotaryDim(Family f) {
            return f == Family.PHI ? resolvedHeadDim() / 2 : resolvedHeadDim();
        }

        /**
         * The config that the config.json synthesized for family {@code f} and {@code dtype} must load as;
         * built here from the dimensions, independently of the JSON, so that a round trip checks both.
         */
        public ModelConfig config(Family f, DType dtype) {
            boolean phi = f == Family.PHI;
            Activation act = phi || f == Family.GEMMA ? Activation.GELU_TANH : Activation.SILU;
            int rotary = rotaryDim(f);
            RopeConfig rope = ropeScaling == null
                    ? RopeConfig.plain(ropeTheta, rotary)
                    : new RopeConfig(RopeConfig.Type.parse(ropeScaling.ropeType(), "rope_scaling"), ropeTheta, rotary,
                            ropeScaling.factor(), ropeScaling.lowFreqFactor(), ropeScaling.highFreqFactor(),
                            ropeScaling.originalMaxPositions());
            int window = f == Family.MISTRAL ? slidingWindow : 0;
            return new ModelConfig(f, f.modelType(), vocabSize, hiddenSize, intermediateSize, numLayers, numHeads,
                    numKvHeads, resolvedHeadDim(), normEps, act, tiedFor(f), maxPositions, window, 0,
                    f == Family.QWEN2 || phi, phi, phi, rope, 1, 2, torchDtype(dtype));
        }
    }

    private static void add(Preset p) {
        ALL.put(p.name(), p);
    }

    /** @throws IllegalArgumentException naming the valid presets */
    public static Preset get(String name) {
        Preset p = name == null ? null : ALL.get(name);
        if (p == null) {
            throw new IllegalArgumentException("unknown preset '" + name + "'; valid presets: " + String.join(", ", names()));
        }
        return p;
    }

    public static List<String> names() {
        return List.copyOf(ALL.keySet());
    }

    public static List<Preset> all() {
        return List.copyOf(ALL.values());
    }

    /** HF {@code torch_dtype} of the weight types synth writes. */
    public static String torchDtype(DType d) {
        return switch (d) {
            case F32 -> "float32";
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> throw new IllegalArgumentException("unsupported weight dtype " + d + "; supported: f32, bf16, f16");
        };
    }
}
