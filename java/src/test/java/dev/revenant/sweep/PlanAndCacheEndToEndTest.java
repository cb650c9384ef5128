package dev.revenant.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.cli.Main;
import dev.revenant.model.Family;
import dev.revenant.model.Presets;
import dev.revenant.model.Synthesizer;
import dev.revenant.quant.QuantConfig;
import dev.revenant.tensor.DType;
import dev.revenant.tokenizer.ByteTokenizerWriter;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code revenant sweep --plan} against the same sweep given as flags, and the quantized-weights cache: packed cells
 * load {@code OUT/cache/<content-sha256>-<precision>/}, a rerun reuses it untouched, and its numbers equal the
 * uncached {@code Model.load(dir, backend, precision)} path's.
 */
class PlanAndCacheEndToEndTest {
    static final List<String> PRECISIONS = List.of("fp32", "int8", "rtn-w4-g128");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path data;
    static Path outFlags;
    static Path outPlan;
    static Path plan;

    @BeforeAll
    static void sweepBoth() throws URISyntaxException, IOException {
        int seed = 21;
        for (String name : List.of("target", "ga")) {
            Path dir = tmp.resolve("models").resolve(name);
            Synthesizer.synthesize(Presets.get("tiny"), Family.LLAMA, DType.F32, seed++, dir);
            ByteTokenizerWriter.write(dir);
        }
        data = Path.of(PlanAndCacheEndToEndTest.class.getResource("/muse-mini/verbmem/forget.json").toURI())
                .getParent().getParent();
        Path m = tmp.resolve("models");
        outFlags = tmp.resolve("outFlags");
        assertEquals(0, Main.run("sweep", "--models", "target=" + m.resolve("target") + ",ga=" + m.resolve("ga"),
                "--precisions", String.join(",", PRECISIONS), "--data", data.toString(), "--corpus", "news",
                "--limit", "2", "--metrics", "knowmem_f,privleak", "--backend", "vector", "--threads", "2",
                "--out", outFlags.toString()));
        // relative model paths resolve against the plan's folder
        plan = Files.writeString(tmp.resolve("plan.yaml"), """
                models:
                  - {name: target, path: models/target, role: target}
                  - {name: ga, path: models/ga}
                precisions: [%s]
                data: %s
                corpus: news
                metrics: [knowmem_f, privleak]
                limit: 2
                backend: vector
                threads: 2
                """.formatted(String.join(", ", PRECISIONS), data));
        outPlan = tmp.resolve("outPlan");
        assertEquals(0, Main.run("sweep", "--plan", plan.toString(), "--out", outPlan.toString()));
    }

    static String metrics(Path out) throws IOException {
        JsonNode root = JSON.readTree(out.resolve("results.json").toFile());
        return root.get("cells").toString() + root.get("recovery").toString();
    }

    static Map<String, FileTime> cacheTimes(Path out) throws IOException {
        Map<String, FileTime> t = new TreeMap<>();
        try (Stream<Path> s = Files.walk(out.resolve("cache"))) {
            for (Path p : s.toList()) {
                t.put(out.relativize(p).toString(), Files.getLastModifiedTime(p));
            }
        }
        return t;
    }

    @Test
    void planSweepEqualsFlagsSweep() throws IOException {
        assertEquals(Files.readAllLines(outFlags.resolve("results.csv")), Files.readAllLines(outPlan.resolve("results.csv")));
        assertEquals(metrics(outFlags), metrics(outPlan));
        assertEquals(Files.readString(outFlags.resolve("table.md")), Files.readString(outPlan.resolve("table.md")));
    }

    @Test
    void packedCellsLoadFromTheCacheKeyedByContentHash() throws IOException {
        JsonNode models = JSON.readTree(outPlan.resolve("results.json").toFile()).get("manifest").get("models");
        List<String> expected = new ArrayList<>();
        for (JsonNode mm : models) {
            String h = mm.get("identity").get("content_sha256").asText();
            assertEquals(QuantCache.contentHash(Path.of(mm.get("path").asText())), h);
            for (String p : List.of("int8", "rtn-w4-g128")) {
                expected.add(h + "-" + p);
            }
        }
        List<String> found;
        try (Stream<Path> s = Files.list(outPlan.resolve("cache"))) {
            found = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertEquals(expected.stream().sorted().toList(), found, "one entry per model × packed precision, no temps");
        for (String e : found) {
            Path d = outPlan.resolve("cache").resolve(e);
            assertTrue(Files.isRegularFile(d.resolve("model.safetensors")), e);
            assertTrue(Files.isRegularFile(d.resolve("tokenizer.json")), e);
            assertEquals(e.substring(65), QuantConfig.read(d).orElseThrow().name());
        }
    }

    @Test
    void rerunReusesTheCacheUntouched() throws IOException {
        Path out = tmp.resolve("outRerun");
        copyTree(outPlan, out);
        Map<String, FileTime> before = cacheTimes(out);
        List<String> lines = Files.readAllLines(out.resolve("journal.jsonl"));
        List<String> kept = lines.stream().filter(l -> !l.contains("\"model\":\"ga\",\"precision\":\"int8\"")).toList();
        assertEquals(lines.size() - 1, kept.size());
        Files.write(out.resolve("journal.jsonl"), kept);
        Sweep.deleteTree(out.resolve("cells/ga/int8"));

        assertEquals(0, Main.run("sweep", "--plan", plan.toString(), "--out", out.toString()));
        List<String> after = Files.readAllLines(out.resolve("journal.jsonl"));
        assertEquals(lines.size(), after.size(), "the one missing cell was recomputed");
        assertTrue(after.getLast().contains("\"model\":\"ga\",\"precision\":\"int8\""), after.getLast());
        assertEquals(before, cacheTimes(out), "the cache was reused, not rewritten");
        assertEquals(metrics(outPlan), metrics(out));
    }

    @Test
    void cachedCellsEqualTheUncachedPath() throws Exception {
        Path out = tmp.resolve("outUncached");
        SweepPlan p = PlanFile.load(plan, out);
        Sweep.Result r = Sweep.run(p, new Sweep.Listener() { }, false);
        assertEquals(6, r.computed());
        assertFalse(Files.exists(out.resolve("cache")), "no cache without caching");
        assertEquals(Files.readAllLines(outPlan.resolve("results.csv")), Files.readAllLines(out.resolve("results.csv")));
        assertEquals(metrics(outPlan), metrics(out));
        for (String cell : List.of("target/int8", "ga/rtn-w4-g128")) {
            assertEquals(Files.readString(outPlan.resolve("cells/" + cell + "/knowmem_f/agg.json")),
                    Files.readString(out.resolve("cells/" + cell + "/knowmem_f/agg.json")), cell);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.walk(from)) {
            all = s.toList();
        }
        for (Path p : all) {
            Path q = to.resolve(from.relativize(p).toString());
            if (Files.isDirectory(p)) {
                Files.createDirectories(q);
                continue;
            }
            Files.copy(p, q);
        }
        // copying sets new times on the copies; pin the cache folders' times to the originals' for the comparison
        List<Path> dirs;
        try (Stream<Path> s = Files.walk(to.resolve("cache"))) {
            dirs = s.sorted(java.util.Comparator.reverseOrder()).toList();
        }
        for (Path q : dirs) {
            Files.setLastModifiedTime(q, Files.getLastModifiedTime(from.resolve(to.relativize(q).toString())));
        }
    }
}
