package dev.revenant.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code quantization_config} in a model folder's config.json. Revenant's own packed checkpoints say
 * {@code {"quant_method": "revenant", "precision": P, "format_version": 1}}; gptq, awq, compressed-tensors and
 * bitsandbytes 4-bit checkpoints are read through {@link CheckpointFormat}.
 */
public final class QuantConfig {
    public static final String METHOD = "revenant";
    public static final int FORMAT_VERSION = 1;

    private QuantConfig() {
    }

    /**
     * The precision of a packed checkpoint in {@code dir} (any format {@link CheckpointFormat} reads), or empty for a
     * plain float checkpoint.
     */
    public static Optional<Precision> read(Path dir) {
        return CheckpointFormat.read(dir).map(CheckpointFormat::precision);
    }

    /** Revenant's own {@code quantization_config} in {@code file}: its precision (GPTQ/AWQ ones too: they load as stored). */
    static Precision revenant(Path file, JsonNode q) {
        if (q.path("format_version").asInt(-1) != FORMAT_VERSION) {
            throw new IllegalArgumentException(file + ": quantization_config.format_version: expected " + FORMAT_VERSION
                    + ", found " + q.get("format_version"));
        }
        if (!q.path("precision").isTextual()) {
            throw new IllegalArgumentException(file + ": quantization_config.precision: expected a precision name");
        }
        Precision p = Precision.parse(q.get("precision").asText());
        if (p.kind() == Precision.Kind.FLOAT) {
            throw new IllegalArgumentException(file + ": quantization_config.precision '" + p.name()
                    + "' is not a packed precision");
        }
        return p;
    }

    /** The object to put under config.json's {@code quantization_config}. */
    public static ObjectNode json(Precision p) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("quant_method", METHOD);
        o.put("precision", p.name());
        o.put("format_version", FORMAT_VERSION);
        o.put("modules", "the Linear layers inside the decoder blocks; embeddings, norms and lm_head as stored");
        return o;
    }
}
