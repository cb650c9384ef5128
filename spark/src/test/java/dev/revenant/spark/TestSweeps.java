package dev.revenant.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.model.Family;
import dev.revenant.model.Presets;
import dev.revenant.model.Synthesizer;
import dev.revenant.report.CellRow;
import dev.revenant.tensor.DType;
import dev.revenant.tokenizer.ByteTokenizerWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Shared by the Spark tests: a synthesized plan (as the sweep tests build theirs) and exact comparisons. */
final class TestSweeps {
    static final ObjectMapper JSON = new ObjectMapper();

    private TestSweeps() {
    }

    /** The bundled muse-mini corpus of the java module's tests. */
    static Path data() {
        String p = System.getProperty("revenant.museMini");
        if (p == null || !Files.isDirectory(Path.of(p))) {
            throw new IllegalStateException("-Drevenant.museMini must name java/src/test/resources/muse-mini, found " + p);
        }
        return Path.of(p);
    }

    /** Tiny synthesized llama models {@code names} under {@code root/models}, and a plan over them at {@code precisions}. */
    static Path plan(Path root, List<String> names, List<String> precisions, int limit) throws IOException {
        int seed = 31;
        StringBuilder models = new StringBuilder();
        for (String name : names) {
            Path dir = root.resolve("models").resolve(name);
            Synthesizer.synthesize(Presets.get("tiny"), Family.LLAMA, DType.F32, seed++, dir);
            ByteTokenizerWriter.write(dir);
            models.append("  - {name: ").append(name).append(", path: models/").append(name)
                    .append(name.equals("target") ? ", role: target}" : "}").append('\n');
        }
        return Files.writeString(root.resolve("plan.yaml"), """
                models:
                %sprecisions: [%s]
                data: %s
                corpus: news
                limit: %d
                backend: vector
                threads: 1
                """.formatted(models, String.join(", ", precisions), data(), limit));
    }

    /** Asserts the two sweeps' metrics are identical, bit for bit, cell by cell. */
    static void assertSameCells(List<CellRow> expected, List<CellRow> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            CellRow e = expected.get(i);
            CellRow a = actual.get(i);
            String cell = e.model() + "/" + e.precision();
            assertEquals(cell, a.model() + "/" + a.precision());
            assertEquals(Double.doubleToLongBits(e.summary().verbmemF()), Double.doubleToLongBits(a.summary().verbmemF()), cell + " verbmem_f");
            assertEquals(Double.doubleToLongBits(e.summary().knowmemF()), Double.doubleToLongBits(a.summary().knowmemF()), cell + " knowmem_f");
            assertEquals(Double.doubleToLongBits(e.summary().knowmemR()), Double.doubleToLongBits(a.summary().knowmemR()), cell + " knowmem_r");
            assertEquals(Double.doubleToLongBits(e.summary().privleak()), Double.doubleToLongBits(a.summary().privleak()), cell + " privleak");
        }
    }

    /** Asserts two output folders hold the same results (results.json cells and recovery, table.md, every cell file). */
    static void assertSameOutputs(Path expected, Path actual) throws IOException {
        JsonNode e = JSON.readTree(expected.resolve("results.json").toFile());
        JsonNode a = JSON.readTree(actual.resolve("results.json").toFile());
        assertEquals(e.get("cells"), a.get("cells"), "results.json cells");
        assertEquals(e.get("recovery"), a.get("recovery"), "results.json recovery");
        assertEquals(Files.readString(expected.resolve("table.md")), Files.readString(actual.resolve("table.md")));
        assertEquals(Files.readString(expected.resolve("results.csv")), Files.readString(actual.resolve("results.csv")));
        Map<String, String> ef = cellFiles(expected);
        Map<String, String> af = cellFiles(actual);
        assertTrue(ef.size() > 0);
        assertEquals(ef, af, "per-cell files (item logs, divergence)");
        for (String f : List.of("report.html")) {
            assertTrue(Files.isRegularFile(actual.resolve(f)), f);
        }
    }

    /** cells/&lt;model&gt;/&lt;precision&gt;/* but the Spark runner's own records, as relative path → content. */
    static Map<String, String> cellFiles(Path out) throws IOException {
        Map<String, String> m = new TreeMap<>();
        Path cells = out.resolve("cells");
        try (Stream<Path> s = Files.walk(cells)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                String n = p.getFileName().toString();
                if (!n.equals(CellTask.CELL_RECORD) && !n.equals(CellTask.EXECUTOR_RECORD)) {
                    m.put(cells.relativize(p).toString(), Files.readString(p));
                }
            }
        }
        return m;
    }

    /** journal.jsonl's model/precision keys, in order. */
    static List<String> journalKeys(Path out) throws IOException {
        return Files.readAllLines(out.resolve("journal.jsonl")).stream().filter(l -> !l.isBlank()).map(l -> {
            try {
                JsonNode n = JSON.readTree(l);
                return n.get("model").asText() + "/" + n.get("precision").asText();
            } catch (IOException x) {
                throw new IllegalStateException(l, x);
            }
        }).toList();
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path q = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(q);
                } else {
                    Files.copy(p, q);
                }
            }
        }
    }
}
