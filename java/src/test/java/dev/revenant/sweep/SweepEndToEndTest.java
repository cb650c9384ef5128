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
import dev.revenant.tensor.DType;
import dev.revenant.tokenizer.ByteTokenizerWriter;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
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
 * {@code revenant sweep} end to end: 3 synthetic tiny models × 3 precisions on muse-mini (2 items per file,
 * KnowMem-forget and PrivLeak only, to stay fast), a rerun that must recompute nothing, and a simulated
 * crash that must recompute exactly the one missing cell and end with the uninterrupted run's numbers.
 */
class SweepEndToEndTest {
    static final List<String> PRECISIONS = List.of("fp32", "int8", "rtn-w4-g128");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path data;
    static Path outA;

    @BeforeAll
    static void sweepOnce() throws URISyntaxException {
        int seed = 11;
        for (String name : List.of("target", "unlearned_a", "unlearned_b")) {
            Path dir = tmp.resolve("models").resolve(name);
            Synthesizer.synthesize(Presets.get("tiny"), Family.LLAMA, DType.F32, seed++, dir);
            ByteTokenizerWriter.write(dir);
        }
        data = Path.of(SweepEndToEndTest.class.getResource("/muse-mini/verbmem/forget.json").toURI()).getParent().getParent();
        outA = tmp.resolve("outA");
        assertEquals(0, sweep(outA));
    }

    static int sweep(Path out) {
        Path m = tmp.resolve("models");
        return Main.run("sweep", "--models", "target=" + m.resolve("target") + ",unlearned_a=" + m.resolve("unlearned_a")
                        + ",unlearned_b=" + m.resolve("unlearned_b"),
                "--precisions", String.join(",", PRECISIONS), "--data", data.toString(), "--corpus", "news",
                "--limit", "2", "--metrics", "knowmem_f,privleak", "--backend", "vector", "--threads", "2",
                "--out", out.toString());
    }

    static List<String> journal(Path out) throws IOException {
        return Files.readAllLines(out.resolve("journal.jsonl"));
    }

    static Map<String, FileTime> cellTimes(Path out) throws IOException {
        Map<String, FileTime> t = new TreeMap<>();
        for (String m : List.of("target", "unlearned_a", "unlearned_b")) {
            for (String p : PRECISIONS) {
                Path d = out.resolve("cells").resolve(m).resolve(p);
                if (!Files.exists(d)) {
                    continue;
                }
                t.put(m + "/" + p, Files.getLastModifiedTime(d));
                t.put(m + "/" + p + "/results.csv", Files.getLastModifiedTime(d.resolve("results.csv")));
            }
        }
        return t;
    }

    /** results.json without the manifest's times: the cells and the recovery table. */
    static String metrics(Path out) throws IOException {
        JsonNode root = JSON.readTree(out.resolve("results.json").toFile());
        return root.get("cells").toString() + root.get("recovery").toString();
    }

    @Test
    void writesEveryFile() throws IOException {
        for (String f : List.of("results.json", "results.csv", "table.md", "journal.jsonl")) {
            assertTrue(Files.isRegularFile(outA.resolve(f)), f);
        }
        assertEquals(9, journal(outA).size());
        for (String m : List.of("target", "unlearned_a", "unlearned_b")) {
            for (String p : PRECISIONS) {
                Path cell = outA.resolve("cells").resolve(m).resolve(p);
                assertTrue(Files.isRegularFile(cell.resolve("knowmem_f/agg.json")), cell.toString());
                assertTrue(Files.isRegularFile(cell.resolve("privleak/auc.json")), cell.toString());
                assertFalse(Files.exists(cell.resolve("verbmem_f")), "verbmem_f was not asked for");
            }
        }
        JsonNode root = JSON.readTree(outA.resolve("results.json").toFile());
        assertEquals(9, root.get("cells").size());
        JsonNode man = root.get("manifest");
        for (String k : List.of("revenant_version", "jvm", "os_arch", "cpu", "backend", "threads", "seed", "preset", "corpus",
                "precisions", "models", "started", "ended")) {
            assertTrue(man.has(k), k);
        }
        assertEquals("target", man.get("models").get(0).get("role").asText());
        assertEquals("unlearned", man.get("models").get(1).get("role").asText());
        assertEquals(64, man.get("models").get(0).get("identity").get("config_sha256").asText().length());
        assertEquals(6, root.get("recovery").get("rows").size());
        List<String> csv = Files.readAllLines(outA.resolve("results.csv"));
        assertEquals("model,role,precision,verbmem_f,knowmem_f,privleak,knowmem_r", csv.getFirst());
        assertEquals(10, csv.size());
        assertTrue(csv.get(1).startsWith("target,target,fp32,,"), csv.get(1));
        String md = Files.readString(outA.resolve("table.md"));
        assertTrue(md.contains("| target | — |"), md);
        assertTrue(md.contains("| unlearned_a + rtn-w4-g128 |"), md);
        assertTrue(md.contains("## Knowledge recovery"), md);
        assertTrue(md.contains("retention = metric(unlearned)/metric(target) at the same precision"), md);
        List<String> re = Files.readAllLines(outA.resolve("reemergence.csv"));
        assertEquals("model,precision,metric,item,score_full,score_quantized,delta", re.getFirst());
        // 3 models x 2 non-reference precisions x knowmem_f (the only forget-side ROUGE metric run)
        assertEquals(6, root.get("reemergence").get("rows").size());
    }

    @Test
    void writesSameBucketDiagnosticsForPackedPrecisionsOnly() throws IOException {
        List<String> csv = Files.readAllLines(outA.resolve("buckets.csv"));
        assertEquals("model,precision,tensor,layer,changed,same_bucket,fraction", csv.getFirst());
        // 2 unlearned models x 2 packed precisions (fp32 skipped) x 2 layers x 7 Linear tensors
        assertEquals(1 + 2 * 2 * 14, csv.size());
        for (String row : csv.subList(1, csv.size())) {
            String[] f = row.split(",", -1);
            assertTrue(f[0].equals("unlearned_a") || f[0].equals("unlearned_b"), row);
            assertTrue(f[1].equals("int8") || f[1].equals("rtn-w4-g128"), row);
            // different seeds: every weight changed
            assertTrue(Long.parseLong(f[4]) > 0, row);
            assertTrue(Long.parseLong(f[5]) <= Long.parseLong(f[4]), row);
        }
        JsonNode sb = JSON.readTree(outA.resolve("results.json").toFile()).get("same_bucket");
        assertEquals("target", sb.get("target").asText());
        assertEquals(4, sb.get("summary").size());
        assertEquals("int8", sb.get("summary").get(0).get("precision").asText());
        assertEquals(14, sb.get("summary").get(0).get("tensors").asInt());
        double f = sb.get("summary").get(0).get("fraction").asDouble();
        assertTrue(f >= 0 && f <= 1, sb.toString());
        assertEquals(0, sb.get("skipped").size());
    }

    @Test
    void rerunRecomputesNothing() throws IOException {
        List<String> before = journal(outA);
        Map<String, FileTime> times = cellTimes(outA);
        String metrics = metrics(outA);
        assertEquals(0, sweep(outA));
        assertEquals(before, journal(outA));
        assertEquals(times, cellTimes(outA));
        assertEquals(metrics, metrics(outA));
    }

    @Test
    void crashThenRerunComputesOnlyTheMissingCell() throws IOException {
        Path outB = tmp.resolve("outB");
        copyTree(outA, outB);
        // the crash: the last cell was renamed but not journaled, then its folder lost; a later cell died mid-write
        List<String> lines = journal(outB);
        assertEquals(9, lines.size());
        String last = lines.getLast();
        Files.writeString(outB.resolve("journal.jsonl"), String.join("\n", lines.subList(0, 8)) + "\n"
                + last.substring(0, last.length() / 2), StandardCharsets.UTF_8);
        Sweep.deleteTree(outB.resolve("cells/unlearned_b/rtn-w4-g128"));
        Path stale = outB.resolve("cells/unlearned_a/int8.tmp-999999");
        Files.createDirectories(stale.resolve("knowmem_f"));
        Files.writeString(stale.resolve("knowmem_f/log.json"), "[{\"half", StandardCharsets.UTF_8);
        Files.delete(outB.resolve("results.json"));
        Map<String, FileTime> kept = cellTimes(outB);
        assertEquals(16, kept.size());

        assertEquals(0, sweep(outB));
        List<String> after = journal(outB);
        assertEquals(9, after.size(), "exactly one cell journaled again");
        assertEquals(lines.subList(0, 8), after.subList(0, 8));
        assertTrue(after.get(8).contains("\"model\":\"unlearned_b\",\"precision\":\"rtn-w4-g128\""), after.get(8));
        assertFalse(Files.exists(stale), "stale temp folder deleted");
        Map<String, FileTime> now = cellTimes(outB);
        now.keySet().removeIf(k -> k.startsWith("unlearned_b/rtn-w4-g128"));
        assertEquals(kept, now, "the eight journaled cells were not rewritten");
        assertEquals(metrics(outA), metrics(outB));
    }

    private static void copyTree(Path from, Path to) throws IOException {
        List<Path> all = new ArrayList<>();
        try (Stream<Path> s = Files.walk(from)) {
            s.forEach(all::add);
        }
        for (Path p : all) {
            Path q = to.resolve(from.relativize(p).toString());
            if (Files.isDirectory(p)) {
                Files.createDirectories(q);
            } else {
                Files.copy(p, q);
            }
        }
    }
}
