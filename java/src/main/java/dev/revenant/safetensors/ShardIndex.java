package dev.revenant.safetensors;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A parsed {@code model.safetensors.index.json}: {@code {"metadata": {...}, "weight_map": {tensor: shard}}}.
 * Shard names are resolved against the index's folder and must stay inside it, so a hostile index
 * cannot make us map arbitrary files.
 */
record ShardIndex(Path path, Map<String, Path> weightMap, Map<String, String> metadata) {

    static ShardIndex read(Path index) {
        byte[] bytes;
        try {
            long size = Files.size(index);
            if (size > SafetensorsFile.MAX_HEADER_BYTES) {
                throw SafetensorsFile.fail(index, "index of " + size + " bytes exceeds the limit of "
                        + SafetensorsFile.MAX_HEADER_BYTES + " bytes");
            }
            bytes = Files.readAllBytes(index);
        } catch (NoSuchFileException e) {
            throw SafetensorsFile.fail(index, "no such index file", e);
        } catch (IOException e) {
            throw SafetensorsFile.fail(index, "cannot read the index: " + e, e);
        }
        JsonNode root;
        try {
            root = SafetensorsFile.JSON.readTree(bytes);
        } catch (JacksonException e) {
            throw SafetensorsFile.fail(index, "malformed index JSON: " + e.getOriginalMessage()
                    + SafetensorsFile.at(e.getLocation()), e);
        } catch (IOException e) {
            throw SafetensorsFile.fail(index, "cannot parse the index: " + e, e);
        }
        if (root == null || !root.isObject()) {
            throw SafetensorsFile.fail(index, "index must be a JSON object with \"weight_map\", found "
                    + (root == null || root.isMissingNode() ? "an empty file" : SafetensorsFile.kind(root)));
        }
        JsonNode wm = root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw SafetensorsFile.fail(index, "expected a \"weight_map\" object of tensor name to shard file, found "
                    + (wm == null ? "none" : SafetensorsFile.kind(wm)));
        }
        Path dir = index.getParent();
        Map<String, Path> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : wm.properties()) {
            JsonNode v = e.getValue();
            if (!v.isTextual() || v.textValue().isEmpty()) {
                throw SafetensorsFile.fail(index, "weight_map '" + e.getKey() + "': expected a shard file name, found "
                        + SafetensorsFile.kind(v));
            }
            Path shard = dir.resolve(v.textValue()).normalize();
            if (!shard.startsWith(dir)) {
                throw SafetensorsFile.fail(index, "weight_map '" + e.getKey() + "': shard '" + v.textValue()
                        + "' lies outside the index's folder " + dir);
            }
            weightMap.put(e.getKey(), shard);
        }
        // HF writes numbers here (total_size); keep every value, rendered as text.
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode md = root.get("metadata");
        if (md != null && md.isObject()) {
            for (Map.Entry<String, JsonNode> e : md.properties()) {
                JsonNode v = e.getValue();
                metadata.put(e.getKey(), v.isValueNode() ? v.asText() : v.toString());
            }
        } else if (md != null && !md.isNull()) {
            throw SafetensorsFile.fail(index, "\"metadata\" must be an object, found " + SafetensorsFile.kind(md));
        }
        return new ShardIndex(index, Collections.unmodifiableMap(weightMap), Collections.unmodifiableMap(metadata));
    }
}
