package dev.revenant.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.safetensors.SafetensorsWriter;
import dev.revenant.tensor.DType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Writes a random model folder (config.json, generation_config.json, model.safetensors) of any supported
 * family at a {@link Presets} shape. Tensor names and shapes come only from {@link Architecture#tensors};
 * values from {@link SynthFill} (deterministic in the seed, independent of the thread count). Linear and
 * embedding weights are U(-a, a) with standard deviation {@code preset.initStd()}; norm weights 1 (0 for
 * gemma, whose norm multiplies by 1 + w); biases 0. Tensors stream into the mapped output file, so the
 * heap holds only a few chunk buffers whatever the model size.
 */
public final class Synthesizer {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Synthesizer() {
    }

    /** What was written. {@code bytes} is the size of model.safetensors. */
    public record Result(Path dir, Family family, String preset, DType dtype, long seed, ModelConfig config,
                         long parameters, long bytes, double seconds) {
        /** One line: arch, preset, dtype, seed, params, bytes, path, seconds. */
        public String summary() {
            return String.format(Locale.ROOT, "synth: arch=%s preset=%s dtype=%s seed=%d params=%,d bytes=%,d -> %s (%.1f s)",
                    family.modelType(), preset, dtypeName(dtype), seed, parameters, bytes, dir, seconds);
        }
    }

    /** Parses the names users type for weight types: f32|bf16|f16 (also fp32, float32, fp16, float16, bfloat16). */
    public static DType parseDType(String s) {
        String v = s == null ? "" : s.toLowerCase(Locale.ROOT);
        return switch (v) {
            case "f32", "fp32", "float32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            case "f16", "fp16", "float16" -> DType.F16;
            default -> throw new IllegalArgumentException("unknown dtype '" + s + "'; valid: f32, bf16, f16");
        };
    }

    /** The short name of a weight type (f32, bf16, f16). */
    public static String dtypeName(DType d) {
        return switch (d) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            case F16 -> "f16";
            default -> d.name().toLowerCase(Locale.ROOT);
        };
    }

    /** Synthesizes using all available processors. */
    public static Result synthesize(Presets.Preset preset, Family family, DType dtype, long seed, Path outDir) {
        return synthesize(preset, family, dtype, seed, outDir, Runtime.getRuntime().availableProcessors());
    }

    /**
     * Writes {@code outDir} (created if needed; config.json, generation_config.json and model.safetensors
     * are replaced). {@code family} null means the preset's own family.
     *
     * @throws IllegalArgumentException for an unsupported dtype or a folder holding a sharded checkpoint
     */
    public static Result synthesize(Presets.Preset preset, Family family, DType dtype, long seed, Path outDir, int threads) {
        long t0 = System.nanoTime();
        Family f = family != null ? family : preset.family();
        Presets.torchDtype(dtype); // rejects non-float types
        ModelConfig config = preset.config(f, dtype);
        ObjectNode json = configJson(preset, f, dtype);
        ModelConfig back = ConfigLoader.parse(json);
        if (!back.equals(config)) {
            throw new IllegalStateException("synthesized config.json reads back as " + back + ", expected " + config);
        }
        if (Files.exists(outDir.resolve(Checkpoint.INDEX_NAME))) {
            throw new IllegalArgumentException(outDir + ": holds a sharded checkpoint (" + Checkpoint.INDEX_NAME
                    + "), which would shadow model.safetensors; choose an empty folder");
        }
        List<Architecture.TensorSpec> specs = Architecture.tensors(config);
        float scale = SynthFill.scale(preset.initStd());
        float normValue = f.norm() == Family.NormKind.RMS_PLUS_ONE ? 0f : 1f;
        int nThreads = Math.max(1, threads);
        ExecutorService pool = nThreads > 1
                ? Executors.newFixedThreadPool(nThreads, r -> {
                    Thread t = new Thread(r, "revenant-synth");
                    t.setDaemon(true);
                    return t;
                })
                : null;
        int depth = 2 * nThreads + 1;
        long params = 0;
        List<SafetensorsWriter.Entry> entries = new ArrayList<>(specs.size());
        for (int i = 0; i < specs.size(); i++) {
            Architecture.TensorSpec spec = specs.get(i);
            params += spec.numel();
            long key = SynthFill.tensorKey(seed, i);
            SafetensorsWriter.TensorSource source = switch (spec.role()) {
                case EMBEDDING, LINEAR, LM_HEAD -> dst -> SynthFill.uniform(dst, dtype, key, scale, pool, depth);
                case NORM -> dst -> SynthFill.constant(dst, dtype, normValue);
                case BIAS -> dst -> SynthFill.constant(dst, dtype, 0f);
            };
            entries.add(new SafetensorsWriter.Entry(spec.name(), dtype, spec.shape(), source));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put("revenant.synth", "arch=" + f.modelType() + " preset=" + preset.name() + " seed=" + seed
                + " dtype=" + dtypeName(dtype));
        Path weights = outDir.resolve(Checkpoint.SINGLE_NAME);
        try {
            Files.createDirectories(outDir);
            SafetensorsWriter.writeStreaming(weights, entries, metadata);
            writeJson(outDir.resolve("config.json"), json);
            writeJson(outDir.resolve("generation_config.json"), generationConfigJson());
            long bytes = Files.size(weights);
            return new Result(outDir, f, preset.name(), dtype, seed, config, params, bytes, (System.nanoTime() - t0) / 1e9);
        } catch (IOException e) {
            throw new UncheckedIOException(outDir + ": cannot write: " + e, e);
        } finally {
            if (pool != null) {
                pool.shutdownNow();
            }
        }
    }

    /** HF config.json of {@code preset} as family {@code f}, with the keys that family's config class reads. */
    public static ObjectNode configJson(Presets.Preset p, Family f, DType dtype) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add(architectureName(f));
        c.put("model_type", f.modelType());
        c.put("vocab_size", p.vocabSize());
        c.put("hidden_size", p.hiddenSize());
        c.put("intermediate_size", p.intermediateSize());
        c.put("num_hidden_layers", p.numLayers());
        c.put("num_attention_heads", p.numHeads());
        c.put("num_key_value_heads", p.numKvHeads());
        if (p.headDim() > 0 || f == Family.QWEN3 || f == Family.GEMMA) {
            c.put("head_dim", p.resolvedHeadDim());
        }
        switch (f) {
            case PHI -> {
                c.put("hidden_act", "gelu_new");
                c.put("layer_norm_eps", p.normEps());
                c.put("partial_rotary_factor", 0.5);
                c.put("qk_layernorm", false);
            }
            case GEMMA -> {
                c.put("hidden_act", "gelu_pytorch_tanh");
                c.put("hidden_activation", "gelu_pytorch_tanh");
                c.put("rms_norm_eps", p.normEps());
            }
            default -> {
                c.put("hidden_act", "silu");
                c.put("rms_norm_eps", p.normEps());
            }
        }
        switch (f) {
            case LLAMA -> {
                c.put("attention_bias", false);
                c.put("mlp_bias", false);
            }
            case QWEN3, GEMMA -> c.put("attention_bias", false);
            default -> { }
        }
        switch (f) {
            case MISTRAL -> c.put("sliding_window", p.slidingWindow());
            case QWEN2, QWEN3 -> {
                c.put("use_sliding_window", false);
                c.put("sliding_window", p.maxPositions());
                c.put("max_window_layers", p.maxWindowLayers());
            }
            default -> { }
        }
        c.put("rope_theta", p.ropeTheta());
        Presets.RopeScaling s = p.ropeScaling();
        if (s == null) {
            c.putNull("rope_scaling");
        } else {
            ObjectNode r = c.putObject("rope_scaling");
            r.put("rope_type", s.ropeType());
            r.put("factor", s.factor());
            r.put("low_freq_factor", s.lowFreqFactor());
            r.put("high_freq_factor", s.highFreqFactor());
            r.put("original_max_position_embeddings", s.originalMaxPositions());
        }
        c.put("tie_word_embeddings", p.tiedFor(f));
        c.put("max_position_embeddings", p.maxPositions());
        c.put("initializer_range", p.initStd());
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", Presets.torchDtype(dtype));
        c.put("transformers_version", "revenant-synth");
        return c;
    }

    /** The transformers class name of each family's causal LM. */
    public static String architectureName(Family f) {
        return switch (f) {
            case LLAMA -> "LlamaForCausalLM";
            case MISTRAL -> "MistralForCausalLM";
            case QWEN2 -> "Qwen2ForCausalLM";
            case QWEN3 -> "Qwen3ForCausalLM";
            case GEMMA -> "GemmaForCausalLM";
            case PHI3 -> "Phi3ForCausalLM";
            case PHI -> "PhiForCausalLM";
        };
    }

    private static ObjectNode generationConfigJson() {
        ObjectNode g = JSON.createObjectNode();
        g.put("bos_token_id", 1);
        g.put("eos_token_id", 2);
        g.put("transformers_version", "revenant-synth");
        return g;
    }

    private static void writeJson(Path file, ObjectNode node) throws IOException {
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n");
    }
}
