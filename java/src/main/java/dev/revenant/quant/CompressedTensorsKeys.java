package dev.revenant.quant;

import com.fasterxml.jackson.databind.JsonNode;
import dev.revenant.quant.CheckpointFormat.Method;
import dev.revenant.quant.CheckpointFormat.Spec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The compressed-tensors {@code quantization_config} (compressed-tensors {@code QuantizationConfig},
 * {@code QuantizationScheme}, {@code QuantizationArgs}): {@code format}, {@code quantization_status},
 * {@code config_groups: {name: {targets, weights: {num_bits, type, symmetric, strategy, group_size, actorder,
 * dynamic}, input_activations, output_activations, format}}}, {@code ignore}, {@code kv_cache_scheme},
 * {@code sparsity_config}, {@code transform_config} (refused). {@code format} may be {@code mixed-precision} when every
 * scheme says {@code pack-quantized}. Only weight-only integer {@code pack-quantized} schemes are read, and all groups must
 * quantize weights the same way (one precision per checkpoint). {@code actorder} group (alias dynamic, or
 * {@code true}) stores {@code weight_g_idx}: {@code -act}; weight (alias static) keeps groups in column order:
 * {@code -act-static}.
 */
final class CompressedTensorsKeys {
    private CompressedTensorsKeys() {
    }

    static Spec parse(Path file, JsonNode q) {
        String fmt = q.path("format").asText("pack-quantized");
        boolean mixed = fmt.equals("mixed-precision"); // newer files: then each scheme names its own format
        if (!fmt.equals("pack-quantized") && !mixed) {
            throw QuantConfigKeys.bad(file, "format", "pack-quantized (naive-quantized, float-quantized, "
                    + "nvfp4-pack-quantized, marlin-24 and dense are not read)", q.get("format"));
        }
        String status = q.path("quantization_status").asText("compressed");
        if (!status.equals("compressed")) {
            throw QuantConfigKeys.bad(file, "quantization_status", "compressed", q.get("quantization_status"));
        }
        JsonNode kv = q.get("kv_cache_scheme");
        if (kv != null && !kv.isNull()) {
            throw QuantConfigKeys.bad(file, "kv_cache_scheme", "null (a quantized KV cache is not supported)", kv);
        }
        JsonNode sparse = q.get("sparsity_config");
        if (sparse != null && !sparse.isNull() && !sparse.isEmpty() && !sparse.path("format").asText("dense").equals("dense")) {
            throw QuantConfigKeys.bad(file, "sparsity_config.format", "dense", sparse.get("format"));
        }
        JsonNode transform = q.get("transform_config");
        if (transform != null && !transform.isNull() && !transform.isEmpty()) {
            throw QuantConfigKeys.bad(file, "transform_config", "absent (rotated weights are not read)", transform);
        }
        JsonNode groups = q.get("config_groups");
        if (groups == null || !groups.isObject() || groups.isEmpty()) {
            throw QuantConfigKeys.bad(file, "config_groups", "an object of quantization schemes", groups);
        }
        JsonNode weights = null;
        String first = null;
        List<String> targets = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = groups.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = "config_groups." + e.getKey();
            JsonNode g = e.getValue();
            for (String a : new String[] {"input_activations", "output_activations"}) {
                if (g.hasNonNull(a)) {
                    throw QuantConfigKeys.bad(file, key + "." + a, "null (weight-only schemes are read)", g.get(a));
                }
            }
            if ((g.hasNonNull("format") || mixed) && !g.path("format").asText("").equals("pack-quantized")) {
                throw QuantConfigKeys.bad(file, key + ".format", "pack-quantized", g.get("format"));
            }
            JsonNode w = g.get("weights");
            if (w == null || !w.isObject()) {
                throw QuantConfigKeys.bad(file, key + ".weights", "an object of quantization arguments", w);
            }
            if (weights != null && !weights.equals(w)) {
                throw QuantConfigKeys.bad(file, key + ".weights", "the same arguments as config_groups." + first
                        + ".weights (one precision per checkpoint)", w);
            }
            weights = w;
            first = first == null ? e.getKey() : first;
            targets.addAll(QuantConfigKeys.strings(file, g, "targets"));
        }
        String wk = "config_groups." + first + ".weights.";
        int bits = QuantConfigKeys.integer(file, weights, "num_bits");
        if (bits < 2 || bits > 8) {
            throw QuantConfigKeys.bad(file, wk + "num_bits", "2..8", weights.get("num_bits"));
        }
        if (!weights.path("type").asText("int").equals("int")) {
            throw QuantConfigKeys.bad(file, wk + "type", "int", weights.get("type"));
        }
        if (weights.path("dynamic").asBoolean(false) || weights.path("dynamic").isTextual()) {
            throw QuantConfigKeys.bad(file, wk + "dynamic", "false", weights.get("dynamic"));
        }
        boolean sym = QuantConfigKeys.bool(file, weights, "symmetric", true);
        JsonNode gs = weights.get("group_size");
        int group = gs == null || gs.isNull() ? -2 : gs.asInt();
        String strategy = weights.path("strategy").asText(group > 0 ? "group" : group == -1 ? "channel" : "tensor");
        if (strategy.equals("group")) {
            if (group <= 0) {
                throw QuantConfigKeys.bad(file, wk + "group_size", "a positive group size with strategy group", gs);
            }
        } else if (strategy.equals("channel")) {
            group = -1;
        } else {
            throw QuantConfigKeys.bad(file, wk + "strategy", "group or channel", weights.get("strategy"));
        }
        JsonNode ao = weights.get("actorder");
        String actorder = ao == null || ao.isNull() ? "none" : ao.isBoolean() ? (ao.asBoolean() ? "group" : "none") : ao.asText();
        boolean act;
        boolean stat;
        switch (actorder) {
            case "none" -> { act = false; stat = false; }
            case "group", "dynamic" -> { act = true; stat = false; }
            case "weight", "static" -> { act = true; stat = true; }
            default -> throw QuantConfigKeys.bad(file, wk + "actorder", "null, group, weight, dynamic or static", ao);
        }
        List<String> ignore = QuantConfigKeys.strings(file, q, "ignore");
        String name = "gptq-w" + bits + (group > 0 ? "-g" + group : "") + (sym ? "-sym" : "") + (act ? "-act" : "")
                + (stat ? "-static" : "");
        return new Spec(Method.COMPRESSED_TENSORS, Precision.parse(name), bits, group, sym, false, null,
                p -> ignore.stream().noneMatch(t -> !t.equals("Linear") && QuantConfigKeys.matches(p, t))
                        && targets.stream().anyMatch(t -> QuantConfigKeys.matches(p, t)));
    }
}
