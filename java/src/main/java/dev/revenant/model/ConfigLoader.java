package dev.revenant.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Parses HF {@code config.json} into a {@link ModelConfig}. Both RoPE spellings are read: legacy
 * {@code rope_theta} + {@code rope_scaling} ({@code rope_type} or older {@code type}) and newer
 * {@code rope_parameters}. Defaults are those of the transformers config classes.
 */
public final class ConfigLoader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ConfigLoader() {
    }

    /** Reads {@code dir/config.json} (or {@code dir} itself when it is a file). */
    public static ModelConfig load(Path dirOrFile) {
        Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("config.json") : dirOrFile;
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": not found (a model folder needs config.json)", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": expected a JSON object");
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    public static ModelConfig parse(JsonNode c) {
        Family family = Family.of(text(c, "model_type", null));
        int hidden = intReq(c, "hidden_size");
        int heads = intReq(c, "num_attention_heads");
        int kvHeads = intOpt(c, "num_key_value_heads", heads);
        int headDim = c.hasNonNull("head_dim") ? intReq(c, "head_dim") : hidden / heads;
        if (!c.hasNonNull("head_dim") && hidden % heads != 0) {
            throw new IllegalArgumentException("hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
        }
        double eps = family == Family.PHI ? dbl(c, "layer_norm_eps", 1e-5) : dbl(c, "rms_norm_eps", 1e-6);
        String act = family == Family.GEMMA
                ? text(c, "hidden_activation", text(c, "hidden_act", "gelu_pytorch_tanh"))
                : text(c, "hidden_act", family == Family.PHI ? "gelu_new" : "silu");
        // gemma's config may still say hidden_act "gelu" for checkpoints made before the tanh fix; transformers
        // uses hidden_activation when present and otherwise the tanh approximation.
        if (family == Family.GEMMA && !c.hasNonNull("hidden_activation")) {
            act = "gelu_pytorch_tanh";
        }
        boolean tied = c.hasNonNull("tie_word_embeddings") ? c.get("tie_word_embeddings").asBoolean() : family.tiedByDefault();
        int window = 0;
        int firstSliding = 0;
        switch (family) {
            case MISTRAL, PHI3 -> window = intOpt(c, "sliding_window", 0);
            case QWEN2, QWEN3 -> {
                if (bool(c, "use_sliding_window", false)) {
                    window = intOpt(c, "sliding_window", 0);
                    firstSliding = intOpt(c, "max_window_layers", 0);
                }
            }
            default -> { }
        }
        boolean attnBias = bool(c, "attention_bias", false);
        boolean qkvBias = switch (family) {
            case QWEN2, PHI -> true;
            default -> attnBias;
        };
        boolean outBias = family == Family.PHI || (family != Family.QWEN2 && attnBias);
        boolean mlpBias = family == Family.PHI || bool(c, "mlp_bias", false);
        double partial = family == Family.PHI ? dbl(c, "partial_rotary_factor", 0.5) : dbl(c, "partial_rotary_factor", 1.0);
        int rotaryDim = (int) (headDim * partial);
        RopeConfig rope = rope(c, rotaryDim, intOpt(c, "max_position_embeddings", 2048));
        return new ModelConfig(family, family.modelType(), intReq(c, "vocab_size"), hidden, intReq(c, "intermediate_size"),
                intReq(c, "num_hidden_layers"), heads, kvHeads, headDim, eps, Activation.parse(act, "hidden_act"), tied,
                intOpt(c, "max_position_embeddings", 2048), window, firstSliding, qkvBias, outBias, mlpBias, rope,
                firstInt(c, "bos_token_id", 1), firstInt(c, "eos_token_id", 2),
                text(c, "torch_dtype", text(c, "dtype", "float32")));
    }

    private static RopeConfig rope(JsonNode c, int rotaryDim, int maxPos) {
        JsonNode params = c.get("rope_parameters");
        JsonNode scaling = c.get("rope_scaling");
        double theta;
        JsonNode s;
        if (params != null && params.isObject()) {
            theta = dbl(params, "rope_theta", dbl(c, "rope_theta", 10000.0));
            s = params;
        } else {
            theta = dbl(c, "rope_theta", 10000.0);
            s = scaling != null && scaling.isObject() ? scaling : null;
        }
        if (s == null) {
            return RopeConfig.plain(theta, rotaryDim);
        }
        String where = params != null ? "rope_parameters" : "rope_scaling";
        RopeConfig.Type type = RopeConfig.Type.parse(text(s, "rope_type", text(s, "type", "default")), where);
        if (type != RopeConfig.Type.DEFAULT && !s.hasNonNull("factor")) {
            throw new IllegalArgumentException(where + ".factor: required for rope type " + type.name().toLowerCase());
        }
        int origMax = intOpt(s, "original_max_position_embeddings", intOpt(c, "original_max_position_embeddings", maxPos));
        return new RopeConfig(type, theta, rotaryDim, dbl(s, "factor", 1.0), dbl(s, "low_freq_factor", 1.0),
                dbl(s, "high_freq_factor", 4.0), origMax);
    }

    private static String text(JsonNode c, String key, String dflt) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) {
            if (dflt == null) {
                throw new IllegalArgumentException(key + ": missing; expected a string");
            }
            return dflt;
        }
        if (!n.isTextual()) {
            throw new IllegalArgumentException(key + ": expected a string, found " + n);
        }
        return n.asText();
    }

    private static int intReq(JsonNode c, String key) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) {
            throw new IllegalArgumentException(key + ": missing; expected an integer");
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException(key + ": expected an integer, found " + n);
        }
        return n.asInt();
    }

    private static int intOpt(JsonNode c, String key, int dflt) {
        return c.hasNonNull(key) ? intReq(c, key) : dflt;
    }

    private static int firstInt(JsonNode c, String key, int dflt) {
        JsonNode n = c.get(key);
        if (n != null && n.isArray()) {
            return n.isEmpty() ? dflt : n.get(0).asInt();
        }
        return intOpt(c, key, dflt);
    }

    private static double dbl(JsonNode c, String key, double dflt) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isNumber()) {
            throw new IllegalArgumentException(key + ": expected a number, found " + n);
        }
        return n.asDouble();
    }

    private static boolean bool(JsonNode c, String key, boolean dflt) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException(key + ": expected true or false, found " + n);
        }
        return n.asBoolean();
    }
}
