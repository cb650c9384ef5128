package dev.revenant.safetensors;

import static dev.revenant.safetensors.Craft.assertMentions;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Opening folders, indexes and shards, and the errors a broken sharded checkpoint must produce. */
class CheckpointTest {
    @TempDir
    Path dir;

    private Path shard(String file, String... names) {
        List<Tensor> ts = new java.util.ArrayList<>();
        float v = 1;
        for (String n : names) {
            ts.add(Tensor.ofFloats(n, new float[] {v++, v++}, 2));
        }
        SafetensorsWriter.write(dir.resolve(file), ts, Map.of("format", "pt"));
        return dir.resolve(file);
    }

    private Path index(String json) throws IOException {
        return Files.writeString(dir.resolve(Checkpoint.INDEX_NAME), json);
    }

    @Test
    void missingShard() throws IOException {
        shard("model-00001-of-00002.safetensors", "a");
        Path idx = index("{\"metadata\":{},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\","
                + "\"b\":\"model-00002-of-00002.safetensors\"}}");
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir));
        assertMentions(e, idx.toString(), "shard 'model-00002-of-00002.safetensors'", "tensor 'b'", "not found");
    }

    @Test
    void tensorInIndexAbsentFromItsShard() throws IOException {
        Path s1 = shard("model-00001-of-00001.safetensors", "a", "b");
        Path idx = index("{\"weight_map\":{\"a\":\"model-00001-of-00001.safetensors\",\"c\":\"model-00001-of-00001.safetensors\"}}");
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.open(idx));
        assertMentions(e, idx.toString(), "tensor 'c'", s1.toString(), "has no such tensor");
    }

    @Test
    void tensorsMissingFromTheIndexAreIgnored() throws IOException {
        shard("s.safetensors", "a", "extra");
        index("{\"weight_map\":{\"a\":\"s.safetensors\"}}");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(List.of("a"), c.names());
            assertFalse(c.has("extra"));
        }
    }

    @Test
    void badShardReportsTheShardFile() throws IOException {
        Path bad = Craft.file(dir.resolve("s.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 4);
        index("{\"weight_map\":{\"w\":\"s.safetensors\"}}");
        assertMentions(assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir)), bad.toString(), "truncated file");
    }

    @Test
    void indexWithoutWeightMap() throws IOException {
        Path idx = index("{\"metadata\":{}}");
        assertMentions(assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir)), idx.toString(), "\"weight_map\"", "none");
    }

    @Test
    void malformedIndex() throws IOException {
        Path idx = index("{\"weight_map\": {");
        assertMentions(assertThrows(SafetensorsException.class, () -> Checkpoint.open(idx)), idx.toString(), "malformed index JSON");
    }

    @Test
    void shardOutsideTheFolderIsRefused() throws IOException {
        Path idx = index("{\"weight_map\":{\"a\":\"../elsewhere.safetensors\"}}");
        assertMentions(assertThrows(SafetensorsException.class, () -> Checkpoint.open(idx)), idx.toString(),
                "'../elsewhere.safetensors'", "outside");
    }

    @Test
    void missingTensorLookupSuggestsNearNames() {
        Path f = shard("model.safetensors", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight", "lm_head.weight");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(f, c.files().get(0));
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> c.tensor("model.layers.0.self_attn.x_proj.weight"));
            assertMentions(e, "checkpoint " + dir, "no tensor 'model.layers.0.self_attn.x_proj.weight'", "3 tensors",
                    "did you mean", "q_proj", "k_proj");
            assertFalse(e.getMessage().contains("lm_head"), e.getMessage());
            SafetensorsException prefix = assertThrows(SafetensorsException.class, () -> c.tensor("layers.0.self_attn.q_proj.weight"));
            assertMentions(prefix, "did you mean [model.layers.0.self_attn.q_proj.weight");
            SafetensorsException far = assertThrows(SafetensorsException.class, () -> c.tensor("zzz"));
            assertFalse(far.getMessage().contains("did you mean"), far.getMessage());
            assertTrue(c.find("zzz").isEmpty());
            assertTrue(c.find("lm_head.weight").isPresent());
        }
    }

    @Test
    void folderPrefersIndexThenModelThenSingleFile() throws IOException {
        shard("only.safetensors", "x");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(List.of(dir.resolve("only.safetensors")), c.files());
            assertEquals(dir, c.path());
        }
        shard("model.safetensors", "y");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(List.of("y"), c.names());
        }
        index("{\"weight_map\":{\"x\":\"only.safetensors\"}}");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(List.of("x"), c.names());
        }
    }

    @Test
    void folderWithoutCheckpoint() throws IOException {
        Files.writeString(dir.resolve("config.json"), "{}");
        assertMentions(assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir)), dir.toString(),
                "no checkpoint", Checkpoint.INDEX_NAME);
    }

    @Test
    void folderWithSeveralFilesIsAmbiguous() {
        shard("a.safetensors", "x");
        shard("b.safetensors", "y");
        assertMentions(assertThrows(SafetensorsException.class, () -> Checkpoint.open(dir)), dir.toString(),
                "ambiguous", "a.safetensors", "b.safetensors");
    }

    @Test
    void missingPath() {
        Path p = dir.resolve("nothing-here");
        assertMentions(assertThrows(SafetensorsException.class, () -> Checkpoint.open(p)), p.toString(), "no such file");
    }

    @Test
    void sharedShardIsMappedOnceAndMetadataComesFromTheIndex() throws IOException {
        shard("s1.safetensors", "a", "b");
        shard("s2.safetensors", "c");
        index("{\"metadata\":{\"total_size\":24,\"note\":\"hi\"},\"weight_map\":{\"c\":\"s2.safetensors\","
                + "\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\"}}");
        try (Checkpoint c = Checkpoint.open(dir.resolve(Checkpoint.INDEX_NAME))) {
            assertEquals(List.of("c", "a", "b"), c.names());
            assertEquals(List.of(dir.resolve("s2.safetensors"), dir.resolve("s1.safetensors")), c.files());
            Map<String, String> md = new LinkedHashMap<>();
            md.put("total_size", "24");
            md.put("note", "hi");
            assertEquals(md, c.metadata());
            assertEquals(24, c.totalBytes());
            assertEquals(3f, c.tensor("b").getFloat(0));
            assertTrue(c.tensor("c").data().isMapped(), "zero-copy view of the mapping");
        }
    }

    @Test
    void closeUnmapsAndIsIdempotent() {
        shard("model.safetensors", "w");
        Checkpoint c = Checkpoint.open(dir);
        Tensor w = c.tensor("w");
        assertEquals(1f, w.getFloat(0));
        c.close();
        assertThrows(IllegalStateException.class, () -> w.getFloat(0));
        c.close();
    }
}
