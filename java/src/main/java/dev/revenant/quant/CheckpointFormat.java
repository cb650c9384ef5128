package dev.revenant.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The packed layout of a quantized checkpoint, chosen by config.json's {@code quantization_config} (or, for
 * AutoGPTQ folders without it, {@code quantize_config.json}): Revenant's own ({@link PackedIo}), GPTQ v1/v2
 * ({@link GptqLayout}), AutoAWQ GEMM ({@link AwqLayout}), compressed-tensors {@code pack-quantized}
 * ({@link CompressedTensorsLayout}) or bitsandbytes 4-bit ({@link BnbLayout}). Keys are parsed by
 * {@link QuantConfigKeys}; unknown or inconsistent values fail there naming the file and the key.
 *
 * <p>Modules the config leaves unconverted ({@code modules_to_not_convert}, {@code llm_int8_skip_modules},
 * compressed-tensors {@code ignore} or unmatched {@code targets}), and Linear layers stored as a float
 * {@code P.weight} without their packed parts, stay float: {@link #read} returns empty and the caller binds
 * {@code P.weight} as stored.
 */
public final class CheckpointFormat {
    public enum Method { REVENANT, GPTQ, AWQ, COMPRESSED_TENSORS, BITSANDBYTES }

    /**
     * A parsed configuration: the integer grid ({@code groupSize} −1: one group per row), GPTQ v1's zero − 1,
     * the bitsandbytes kind, and the module filter of unconverted layers.
     */
    record Spec(Method method, Precision precision, int bits, int groupSize, boolean sym, boolean v1,
                Bnb4Packed.Kind kind, ModuleFilter converted) {
    }

    private final Path file;
    private final Spec spec;

    CheckpointFormat(Path file, Spec spec) {
        this.file = file;
        this.spec = spec;
    }

    /** The format of the checkpoint in {@code dir} (a folder or its config.json), or empty for a float checkpoint. */
    public static Optional<CheckpointFormat> read(Path dir) {
        Path cfg = Files.isDirectory(dir) ? dir.resolve("config.json") : dir;
        JsonNode root = json(cfg);
        JsonNode q = root == null ? null : root.get("quantization_config");
        Path file = cfg;
        if (q == null || q.isNull()) {
            Path alt = cfg.resolveSibling("quantize_config.json"); // AutoGPTQ's own file
            if (!Files.exists(alt)) {
                return Optional.empty();
            }
            file = alt;
            q = json(alt);
        }
        if (q == null || !q.isObject()) {
            throw new IllegalArgumentException(file + ": quantization_config: expected an object, found " + q);
        }
        return Optional.of(new CheckpointFormat(file, QuantConfigKeys.parse(file, q)));
    }

    private static JsonNode json(Path file) {
        try {
            return new ObjectMapper().readTree(Files.readString(file));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": not found (a model folder needs config.json)", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    public Method method() {
        return spec.method();
    }

    /** The precision the Linear layers hold (e.g. {@code gptq-w4-g128-act}, {@code awq-w4-g128}, {@code nf4}). */
    public Precision precision() {
        return spec.precision();
    }

    /** The file the configuration came from. */
    public Path file() {
        return file;
    }

    /**
     * As {@link #read(String, String, long[], Function)} on a mapped checkpoint; errors name its file (the shard
     * index for a sharded one).
     */
    public Optional<QuantizedWeight> read(Checkpoint ckpt, String prefix, long[] shape) {
        String where = (ckpt.files().size() == 1 ? ckpt.files().get(0) : ckpt.path()).toString();
        return read(where, prefix, shape, ckpt::find);
    }

    /**
     * The quantized Linear weight {@code prefix.weight} of shape {@code [out, in]}, rebuilt from its stored parts
     * found by {@code find}; empty when this layer stays float. {@code where} (the checkpoint) names errors.
     */
    public Optional<QuantizedWeight> read(String where, String prefix, long[] shape, Function<String, Optional<Tensor>> find) {
        int rows = Math.toIntExact(shape[0]);
        int cols = Math.toIntExact(shape[1]);
        String p = spec.precision().name();
        if (spec.method() == Method.REVENANT) {
            return Optional.of(PackedIo.read(spec.precision(), prefix, shape, name -> find.apply(name).orElseThrow(
                    () -> new IllegalArgumentException(where + ": tensor '" + name + "' missing"))));
        }
        if (!spec.converted().test(prefix)) {
            return Optional.empty();
        }
        String main = switch (spec.method()) {
            case GPTQ, AWQ -> "qweight";
            case COMPRESSED_TENSORS -> "weight_packed";
            default -> null;
        };
        if (main != null && find.apply(prefix + "." + main).isEmpty()
                && find.apply(prefix + ".weight").map(t -> t.dtype().isFloat()).orElse(false)) {
            return Optional.empty(); // stored unconverted (e.g. transformers' modules_in_block_to_quantize left it out)
        }
        return switch (spec.method()) {
            case GPTQ -> Optional.of(GptqLayout.read(where, prefix, rows, cols, spec.bits(), spec.groupSize(), spec.sym(),
                    spec.v1(), p, find));
            case AWQ -> Optional.of(AwqLayout.read(where, prefix, rows, cols, spec.groupSize(), p, find));
            case COMPRESSED_TENSORS -> Optional.of(CompressedTensorsLayout.read(where, prefix, rows, cols, spec.bits(),
                    spec.groupSize(), spec.sym(), p, find));
            case BITSANDBYTES -> {
                Optional<Bnb4Packed> b = BnbLayout.read(where, prefix, rows, cols, spec.kind(), find);
                if (b.isEmpty() && find.apply(prefix + ".weight").map(t -> !t.dtype().isFloat()).orElse(true)) {
                    throw new IllegalArgumentException(where + ": " + prefix + ".weight has no quant state (tensor '" + prefix
                            + ".weight.quant_state.bitsandbytes__" + p + "' missing) and is not a float weight");
                }
                yield b.map(x -> x);
            }
            case REVENANT -> throw new IllegalStateException();
        };
    }

    /** Which Linear prefixes a configuration converted (see {@link QuantConfigKeys}). */
    @FunctionalInterface
    interface ModuleFilter {
        boolean test(String prefix);

        ModuleFilter ALL = p -> true;

        /** For {@code modules_to_not_convert}-style lists: a key names the module, an ancestor or a dotted part of its path. */
        static ModuleFilter except(List<String> keys) {
            List<String> k = new ArrayList<>(keys);
            return p -> k.stream().noneMatch(key -> ("." + p + ".").contains("." + key + "."));
        }
    }
}
