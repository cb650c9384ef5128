package dev.revenant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.VectorBackend;
import dev.revenant.model.Family;
import dev.revenant.model.Presets;
import dev.revenant.model.Synthesizer;
import dev.revenant.tensor.DType;
import dev.revenant.tokenizer.ByteTokenizerWriter;
import dev.revenant.tokenizer.HfTokenizer;
import dev.revenant.tokenizer.Tokenizer;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code revenant eval} end to end on the test corpus (src/test/resources/muse-mini: made-up facts, not
 * MUSE's data) and a synthesized tiny model with the byte-level tokenizer. Batch 8 must write exactly
 * the files batch 1 writes.
 */
class EvalEndToEndTest {
    @TempDir
    static Path tmp;
    static Path model;
    static MuseData data;

    @BeforeAll
    static void setUp() throws URISyntaxException {
        model = tmp.resolve("tiny");
        Synthesizer.synthesize(Presets.get("tiny"), Family.LLAMA, DType.F32, 11, model);
        ByteTokenizerWriter.write(model);
        data = MuseData.at(Path.of(EvalEndToEndTest.class.getResource("/muse-mini/verbmem/forget.json").toURI())
                .getParent().getParent());
    }

    static EvalRun.Summary run(EvalOptions opt, Path out) throws IOException {
        try (Backend be = new VectorBackend(2); Model m = Model.load(model, be); Tokenizer tok = HfTokenizer.load(model)) {
            return EvalRun.run("tiny", m, tok, data, opt, out, n -> { });
        }
    }

    @Test
    void batchEightWritesWhatBatchOneWrites() throws IOException {
        EvalOptions one = EvalOptions.defaults(Corpus.NEWS);
        EvalRun.Summary a = run(one, tmp.resolve("b1"));
        EvalRun.Summary b = run(one.withBatch(8), tmp.resolve("b8"));
        assertEquals(a, b);
        List<Path> files;
        try (Stream<Path> s = Files.walk(tmp.resolve("b1"))) {
            files = s.filter(Files::isRegularFile).map(tmp.resolve("b1")::relativize).sorted().toList();
        }
        assertEquals(List.of(Path.of("knowmem_f/agg.json"), Path.of("knowmem_f/log.json"), Path.of("knowmem_r/agg.json"),
                Path.of("knowmem_r/log.json"), Path.of("privleak/auc.json"), Path.of("privleak/log.json"),
                Path.of("results.csv"), Path.of("verbmem_f/agg.json"), Path.of("verbmem_f/log.json")), files);
        for (Path f : files) {
            assertEquals(Files.readString(tmp.resolve("b1").resolve(f)), Files.readString(tmp.resolve("b8").resolve(f)),
                    f + ": batch 8 vs batch 1");
        }
        // the written numbers are consistent with each other
        ObjectMapper json = new ObjectMapper();
        JsonNode auc = json.readTree(tmp.resolve("b1/privleak/auc.json").toFile());
        assertEquals(90, auc.size());
        double expectLeak = PrivLeak.of(auc.get(PrivLeak.DEFAULT_KEY).asDouble(), Corpus.NEWS, "Min-40%");
        assertEquals(expectLeak, a.privleak(), 0);
        JsonNode log = json.readTree(tmp.resolve("b1/knowmem_f/log.json").toFile());
        assertEquals(6, log.size());
        double sum = 0;
        for (JsonNode it : log) {
            assertTrue(it.get("prompt").asText().endsWith("Answer: "), "10-shot-style prompt ends with the trailing space");
            RougeScores s = RougeScores.of(it.get("gt").asText(), it.get("response").asText());
            assertEquals(s.rougeL(), it.get("rougeL").asDouble(), 0);
            sum += s.rougeL();
        }
        assertEquals(sum / 6 * 100, a.knowmemF(), 1e-9);
        JsonNode agg = json.readTree(tmp.resolve("b1/knowmem_f/agg.json").toFile());
        assertEquals(agg.get("mean_rougeL").asDouble() * 100, agg.get("mean_rougeL_x100").asDouble(), 0);
        String csv = Files.readString(tmp.resolve("b1/results.csv"));
        assertTrue(csv.startsWith("name,verbmem_f,privleak,knowmem_f,knowmem_r\ntiny,"), csv);
    }

    @Test
    void paperPresetSamplesReproduciblyInAnyBatch() throws IOException {
        EvalOptions paper = new EvalOptions(Set.of("verbmem_f"), Corpus.NEWS, "paper", 1234, 0, 1, 24, 32);
        run(paper, tmp.resolve("p1"));
        run(paper.withBatch(3), tmp.resolve("p3"));
        EvalOptions greedy = new EvalOptions(Set.of("verbmem_f"), Corpus.NEWS, "muse", 1234, 0, 1, 24, 32);
        run(greedy, tmp.resolve("g1"));
        String p1 = Files.readString(tmp.resolve("p1/verbmem_f/log.json"));
        assertEquals(p1, Files.readString(tmp.resolve("p3/verbmem_f/log.json")));
        assertTrue(!p1.equals(Files.readString(tmp.resolve("g1/verbmem_f/log.json"))), "sampling differs from greedy");
    }

    @Test
    void cliWithACustomCorpusAndTheSameModelAsRetrainGivesZeroPrivLeak() throws IOException {
        Path out = tmp.resolve("cli");
        java.io.PrintStream old = System.out;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
            code = dev.revenant.cli.Main.run("eval", "--model", model.toString(), "--data", data.root().toString(),
                    "--corpus", "custom", "--retrain-model", model.toString(), "--metrics", "privleak", "--batch", "4",
                    "--out", out.toString());
        } finally {
            System.setOut(old);
        }
        assertEquals(0, code, buf.toString());
        String csv = Files.readString(out.resolve("results.csv"));
        assertEquals("name,verbmem_f,privleak,knowmem_f,knowmem_r\ntiny,,0.0,,\n", csv);
    }
}
