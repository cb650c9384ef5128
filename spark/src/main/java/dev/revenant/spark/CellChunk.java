package dev.revenant.spark;

import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One Spark task's work: some precisions of one model, so the task loads the model's tokenizer once and its
 * quantized weights land in one executor's cache. {@code contentHash} is the float checkpoint's
 * {@code QuantCache.contentHash} (hashed once per job, in the first stage), null for a packed checkpoint;
 * {@code identity} is the checkpoint's {@code Identity} as the driver saw it (the executor checks it sees the same).
 */
public record CellChunk(String model, List<String> precisions, String contentHash, Map<String, Object> identity)
        implements Serializable {
    public CellChunk {
        precisions = List.copyOf(precisions);
        identity = new TreeMap<>(identity); // serializable whatever map the caller had
        if (precisions.isEmpty()) {
            throw new IllegalArgumentException("a chunk of model " + model + " without precisions");
        }
    }
}
