package dev.revenant.quant;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.revenant.model.Architecture;
import dev.revenant.model.ConfigLoader;
import dev.revenant.model.ModelConfig;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.safetensors.SafetensorsWriter;
import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code revenant quantize --format gptq|awq}: a checkpoint in the layout AutoGPTQ/GPTQModel (GPTQ v1,
 * {@link GptqLayout}) or AutoAWQ (GEMM, {@link AwqLayout}) write, with the {@code quantization_config} transformers
 * reads. Every decoder-block Linear weight is quantized at the precision and stored as {@code qweight}, {@code qzeros},
 * {@code scales} (fp16, as those tools store them; the only rounding the export adds) and, for GPTQ, {@code g_idx};
 * every other tensor (embeddings, norms, lm_head, biases) is written as stored, in its own dtype: the float dtype of
 * the source is kept rather than cast to fp16, so Revenant reloads exactly what it quantized (transformers casts to
 * its {@code torch_dtype} on load). Any precision whose quantizer yields an integer group grid ({@link RtnPacked} or
 * {@link GptqPacked}: {@code rtn-*}, {@code gptq-*}, {@code awq-*}) can be written: GPTQ's layout holds any such grid.
 */
public final class CheckpointExport {
    public enum Format { GPTQ, AWQ }

    private CheckpointExport() {
    }

    /** Parses a {@code --format} value other than revenant/gguf. */
    public static Format format(String s) {
        return switch (s) {
            case "gptq" -> Format.GPTQ;
            case "awq" -> Format.AWQ;
            default -> throw new IllegalArgumentException("--format " + s + ": expected revenant, gguf, gptq or awq");
        };
    }

    /**
     * Writes {@code model} quantized at {@code p} in {@code format} into {@code out}; returns the number of quantized
     * Linear layers.
     *
     * @throws IllegalArgumentException before writing anything when the precision is not an integer group grid the
     *     format holds (e.g. nf4, q4_0, or a 3-bit / act-order / per-row grid for AWQ)
     */
    public static int write(Path model, Precision p, Format format, Path out) throws IOException {
        return write(model, p, format, out, null, Map.of());
    }

    /**
     * As {@link #write(Path, Precision, Format, Path)}, with the Linear weights already quantized by calibration
     * ({@code calibrated}: by tensor name; null quantizes from the weights) and other tensors the method changed
     * ({@code replaced}: AWQ's folded norms) written in place of the stored ones.
     */
    public static int write(Path model, Precision p, Format format, Path out, Map<String, QuantizedWeight> calibrated,
                            Map<String, Tensor> replaced) throws IOException {
        check(p, format);
        if (QuantConfig.read(model).isPresent()) {
            throw new IllegalArgumentException(model + ": already a quantized checkpoint; quantize the float checkpoint");
        }
        ModelConfig c = ConfigLoader.load(model);
        Set<String> linear = new HashSet<>();
        for (Architecture.TensorSpec s : Architecture.tensors(c)) {
            if (s.role() == Architecture.Role.LINEAR) {
                linear.add(s.name());
            }
        }
        int quantized = 0;
        Files.createDirectories(out);
        try (Checkpoint ck = Checkpoint.open(model)) {
            List<Tensor> tensors = new ArrayList<>();
            for (String n : ck.names()) {
                Tensor t = ck.tensor(n);
                if (linear.contains(n)) {
                    String prefix = n.substring(0, n.length() - ".weight".length());
                    GptqPacked w = grid(calibrated != null ? calibrated.get(n) : Quantizers.quantize(p, t), p);
                    tensors.addAll(format == Format.GPTQ ? GptqLayout.tensors(w, prefix, true) : AwqLayout.tensors(w, prefix));
                    quantized++;
                } else {
                    tensors.add(replaced.getOrDefault(n, t));
                }
            }
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put("revenant.precision", p.name());
            SafetensorsWriter.write(out.resolve("model.safetensors"), tensors, meta);
        }
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode cfg = (ObjectNode) json.readTree(Files.readString(model.resolve("config.json")));
        cfg.set("quantization_config", config(p, format));
        Files.writeString(out.resolve("config.json"), json.writeValueAsString(cfg));
        try (Stream<Path> files = Files.list(model)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (Files.isRegularFile(f) && !name.endsWith(".safetensors") && !name.equals("config.json")
                        && !name.equals(Checkpoint.INDEX_NAME)) {
                    Files.copy(f, out.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return quantized;
    }

    /** The {@code quantization_config} of a checkpoint written at {@code p} in {@code format}. */
    public static ObjectNode config(Precision p, Format format) {
        check(p, format);
        Precision.IntSpec s = p.intSpec();
        ObjectNode o = new ObjectMapper().createObjectNode();
        if (format == Format.GPTQ) {
            // AutoGPTQ BaseQuantizeConfig / transformers GPTQConfig keys; checkpoint_format as GPTQModel names it
            o.put("quant_method", "gptq");
            o.put("bits", s.bits());
            o.put("group_size", s.groupSize());
            o.put("desc_act", s.actOrder());
            o.put("sym", s.sym());
            o.put("static_groups", s.staticGroups());
            o.put("true_sequential", true);
            o.put("checkpoint_format", "gptq");
            o.put("model_file_base_name", "model");
        } else {
            // AutoAWQ's config.json keys (transformers AwqConfig)
            o.put("quant_method", "awq");
            o.put("version", "gemm");
            o.put("bits", s.bits());
            o.put("group_size", s.groupSize());
            o.put("zero_point", true);
            o.putNull("modules_to_not_convert");
        }
        o.put("revenant_precision", p.name());
        return o;
    }

    private static void check(Precision p, Format format) {
        if (p.kind() != Precision.Kind.RTN && p.kind() != Precision.Kind.GPTQ && p.kind() != Precision.Kind.AWQ) {
            throw new IllegalArgumentException("--precision " + p.name() + " cannot be written as --format "
                    + format.name().toLowerCase() + ": that layout holds integer group grids (rtn-*, gptq-*, awq-*); "
                    + "write " + p.name() + " with --format revenant" + (p.kind() == Precision.Kind.GGUF ? " or gguf" : ""));
        }
        Precision.IntSpec s = p.intSpec();
        if (format == Format.GPTQ && s.bits() != 2 && s.bits() != 3 && s.bits() != 4 && s.bits() != 8) {
            throw new IllegalArgumentException("--precision " + p.name() + ": GPTQ packs 2, 3, 4 or 8 bits");
        }
        if (format == Format.AWQ && (s.bits() != 4 || s.groupSize() <= 0 || s.actOrder())) {
            throw new IllegalArgumentException("--precision " + p.name() + " cannot be written as --format awq: AutoAWQ "
                    + "GEMM holds 4 bits in groups (e.g. rtn-w4-g128, awq-w4-g128) without act-order");
        }
    }

    private static GptqPacked grid(QuantizedWeight q, Precision p) {
        return switch (q) {
            case GptqPacked g -> g;
            case RtnPacked r -> new GptqPacked(r.name(), p.name(), r, null);
            default -> throw new IllegalArgumentException(q.name() + ": precision " + p.name() + " produced "
                    + q.getClass().getSimpleName() + ", not an integer group grid");
        };
    }
}
