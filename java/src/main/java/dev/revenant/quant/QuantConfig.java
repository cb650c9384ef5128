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
 * {@code {"quant_method": "revenant", "precision": P, "format_version": 1}}; other methods (gptq, awq,
 * bitsandbytes, compressed-tensors) are refused naming the key until their readers land.
 */
public final class QuantConfig {
    public static final String METHOD = "revenant";
    public static final int FORMAT_VERSION = 1;

    private QuantConfig() {
    }

    /** The precision of a packed checkpoint in {@code dir}, or empty for a plain float checkpoint. */
    public static Optional<Precision> read(Path dir) {
        Path file = Files.isDirectory(dir) ? dir.resolve("config.json") : dir;
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": not found (a model folder needs config.json)", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
        JsonNode q = root == null ? null : root.get("quantization_config");
        if (q == null || q.isNull()) {
            return Optional.empty();
        }
        String method = q.path("quant_method").asText("");
        if (!METHOD.equals(method)) {
            throw new IllegalArgumentException(file + ": quantization_config.quant_method '" + method
                    + "' is not supported yet (supported: '" + METHOD + "'; gptq, awq, bitsandbytes and "
                    + "compressed-tensors readers come with the GPTQ/AWQ issue)");
        }
        if (q.path("format_version").asInt(-1) != FORMAT_VERSION) {
            throw new IllegalArgumentException(file + ": quantization_config.format_version: expected " + FORMAT_VERSION
                    + ", found " + q.get("format_version"));
        }
        if (!q.path("precision").isTextual()) {
            throw new IllegalArgumentException(file + ": quantization_config.precision: expected a precision name");
        }
        Precision p = Precision.parse(q.get("precision").asText());
        if (p.kind() == Precision.Kind.FLOAT || !p.available()) {
            throw new IllegalArgumentException(file + ": quantization_config.precision '" + p.name()
                    + "' is not a packed precision of this build");
        }
        return Optional.of(p);
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
