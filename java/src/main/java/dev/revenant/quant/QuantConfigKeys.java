package dev.revenant.quant;

import com.fasterxml.jackson.databind.JsonNode;
import dev.revenant.quant.CheckpointFormat.Method;
import dev.revenant.quant.CheckpointFormat.ModuleFilter;
import dev.revenant.quant.CheckpointFormat.Spec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Parses a {@code quantization_config} object into a {@link Spec}; every refusal names the file and the key. Keys
 * read (sources: transformers' {@code GPTQConfig}/{@code AwqConfig}/{@code BitsAndBytesConfig}, AutoGPTQ
 * {@code BaseQuantizeConfig}, GPTQModel {@code QuantizeConfig}, compressed-tensors {@code QuantizationConfig} and
 * {@code QuantizationArgs}):
 * <ul>
 * <li>gptq: {@code bits}, {@code group_size}, {@code sym} (default true), {@code desc_act}, {@code static_groups},
 *     {@code checkpoint_format} (GPTQModel; {@code format} in older files): gptq (v1, zero − 1) or gptq_v2, refused:
 *     {@code is_marlin_format: true}, {@code pack_dtype} other than int32, {@code lm_head: true}, a non-empty
 *     {@code dynamic}; {@code modules_to_not_convert} stay float;
 * <li>awq: {@code version} gemm only (gemv, gemv_fast, marlin, exllama, ipex refused), {@code bits} 4,
 *     {@code group_size} &gt; 0, {@code zero_point} true, {@code backend} autoawq if present, {@code modules_to_not_convert};
 * <li>compressed-tensors: {@code format} pack-quantized, {@code quantization_status} compressed,
 *     {@code config_groups.*.weights} {num_bits, type int, symmetric, strategy group|channel, group_size, actorder},
 *     no {@code input_activations}, {@code targets}, {@code ignore};
 * <li>bitsandbytes: {@code load_in_4bit} true, {@code bnb_4bit_quant_type} nf4|fp4 (default fp4),
 *     {@code bnb_4bit_quant_storage} uint8, {@code llm_int8_skip_modules};
 * <li>revenant: {@link QuantConfig}.
 * </ul>
 */
final class QuantConfigKeys {
    private QuantConfigKeys() {
    }

    static Spec parse(Path file, JsonNode q) {
        boolean autoGptqFile = file.getFileName().toString().equals("quantize_config.json");
        String method = q.path("quant_method").asText(autoGptqFile ? "gptq" : "").toLowerCase(Locale.ROOT);
        return switch (method) {
            case QuantConfig.METHOD -> {
                Precision p = QuantConfig.revenant(file, q);
                yield new Spec(Method.REVENANT, p, 0, 0, false, false, null, ModuleFilter.ALL);
            }
            case "gptq" -> gptq(file, q);
            case "awq" -> awq(file, q);
            case "compressed-tensors" -> CompressedTensorsKeys.parse(file, q);
            case "bitsandbytes" -> bnb(file, q);
            default -> throw new IllegalArgumentException(file + ": quantization_config.quant_method '" + method
                    + "' is not supported (supported: gptq, awq, compressed-tensors, bitsandbytes (4-bit), " + QuantConfig.METHOD + ")");
        };
    }

    private static Spec gptq(Path file, JsonNode q) {
        int bits = integer(file, q, "bits");
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            throw bad(file, "bits", "2, 3, 4 or 8", q.get("bits"));
        }
        int group = integer(file, q, "group_size");
        if (group == 0 || group < -1) {
            throw bad(file, "group_size", "a positive group size or -1", q.get("group_size"));
        }
        boolean sym = bool(file, q, "sym", true);
        boolean act = bool(file, q, "desc_act", false);
        // GPTQModel keeps static_groups (and damp_percent, true_sequential) under "meta" in newer files
        boolean stat = q.has("static_groups") ? bool(file, q, "static_groups", false) : bool(file, q.path("meta"), "static_groups", false);
        String key = q.has("checkpoint_format") ? "checkpoint_format" : "format";
        String fmt = q.path(key).asText("gptq");
        if (!fmt.equals("gptq") && !fmt.equals("gptq_v2")) {
            throw bad(file, key, "gptq or gptq_v2 (marlin, bitblas, ipex and other repacked formats are not read)", q.get(key));
        }
        if (bool(file, q, "is_marlin_format", false)) {
            throw bad(file, "is_marlin_format", "false (Marlin-repacked weights are not read)", q.get("is_marlin_format"));
        }
        if (!q.path("pack_dtype").asText("int32").equals("int32")) {
            throw bad(file, "pack_dtype", "int32", q.get("pack_dtype"));
        }
        if (bool(file, q, "lm_head", false)) {
            throw bad(file, "lm_head", "false (a quantized lm_head is not read)", q.get("lm_head"));
        }
        JsonNode dyn = q.get("dynamic");
        if (dyn != null && !dyn.isNull() && !dyn.isEmpty()) {
            throw bad(file, "dynamic", "absent or empty (per-module overrides are not read)", dyn);
        }
        String name = "gptq-w" + bits + (group > 0 ? "-g" + group : "") + (sym ? "-sym" : "") + (act ? "-act" : "")
                + (act && stat ? "-static" : "");
        return new Spec(Method.GPTQ, Precision.parse(name), bits, group, sym, fmt.equals("gptq"), null,
                ModuleFilter.except(strings(file, q, "modules_to_not_convert")));
    }

    private static Spec awq(Path file, JsonNode q) {
        String version = q.path("version").asText("gemm").toLowerCase(Locale.ROOT);
        if (!version.equals("gemm")) {
            throw bad(file, "version", "gemm (AutoAWQ's GEMM layout; gemv, gemv_fast, marlin, exllama and ipex are not read)",
                    q.get("version"));
        }
        if (q.has("backend") && !q.path("backend").asText().equals("autoawq")) {
            throw bad(file, "backend", "autoawq (llm-awq packs differently)", q.get("backend"));
        }
        int bits = integer(file, q, q.has("bits") ? "bits" : "w_bit");
        if (bits != 4) {
            throw bad(file, "bits", "4 (AutoAWQ GEMM)", q.get("bits"));
        }
        String gk = q.has("group_size") ? "group_size" : "q_group_size";
        int group = integer(file, q, gk);
        if (group <= 0) {
            throw bad(file, gk, "a positive group size", q.get(gk));
        }
        if (!bool(file, q, "zero_point", true)) {
            throw bad(file, "zero_point", "true (AutoAWQ GEMM stores zero points)", q.get("zero_point"));
        }
        return new Spec(Method.AWQ, Precision.parse("awq-w4-g" + group), 4, group, false, false, null,
                ModuleFilter.except(strings(file, q, "modules_to_not_convert")));
    }

    private static Spec bnb(Path file, JsonNode q) {
        if (!bool(file, q, "load_in_4bit", false)) {
            throw bad(file, "load_in_4bit", "true (only 4-bit bitsandbytes checkpoints are read; LLM.int8 ones are not)",
                    q.get("load_in_4bit"));
        }
        String type = q.path("bnb_4bit_quant_type").asText("fp4");
        if (!type.equals("nf4") && !type.equals("fp4")) {
            throw bad(file, "bnb_4bit_quant_type", "nf4 or fp4", q.get("bnb_4bit_quant_type"));
        }
        if (!q.path("bnb_4bit_quant_storage").asText("uint8").equals("uint8")) {
            throw bad(file, "bnb_4bit_quant_storage", "uint8", q.get("bnb_4bit_quant_storage"));
        }
        return new Spec(Method.BITSANDBYTES, Precision.parse(type), 4, Bnb4.BLOCK, false, false,
                type.equals("nf4") ? Bnb4Packed.Kind.NF4 : Bnb4Packed.Kind.FP4,
                ModuleFilter.except(strings(file, q, "llm_int8_skip_modules")));
    }

    static IllegalArgumentException bad(Path file, String key, String expected, JsonNode found) {
        return new IllegalArgumentException(file + ": quantization_config." + key + ": expected " + expected + ", found " + found);
    }

    static int integer(Path file, JsonNode q, String key) {
        JsonNode v = q.get(key);
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
            throw bad(file, key, "an integer", v);
        }
        return v.asInt();
    }

    static boolean bool(Path file, JsonNode q, String key, boolean dflt) {
        JsonNode v = q.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw bad(file, key, "true or false", v);
        }
        return v.asBoolean();
    }

    static List<String> strings(Path file, JsonNode q, String key) {
        JsonNode v = q.get(key);
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (!v.isArray()) {
            throw bad(file, key, "a list of module names", v);
        }
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw bad(file, key, "a list of module names", v);
            }
            out.add(e.asText());
        }
        return out;
    }

    /** compressed-tensors' match of a module name against a target or ignore entry: {@code re:} regex or exact name. */
    static boolean matches(String prefix, String target) {
        if (target.startsWith("re:")) {
            return Pattern.compile(target.substring(3)).matcher(prefix).lookingAt();
        }
        return target.equals(prefix) || target.equals("Linear");
    }
}
