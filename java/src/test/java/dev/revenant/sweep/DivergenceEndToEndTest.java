package dev.revenant.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.engine.Model;
import dev.revenant.eval.Corpus;
import dev.revenant.eval.EvalOptions;
import dev.revenant.eval.MuseData;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.model.Family;
import dev.revenant.model.Presets;
import dev.revenant.model.Synthesizer;
import dev.revenant.report.DivergenceReport;
import dev.revenant.tensor.DType;
import dev.revenant.tokenizer.ByteTokenizerWriter;
import dev.revenant.tokenizer.HfTokenizer;
import dev.revenant.tokenizer.Tokenizer;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-cell divergence from the checkpoint as stored, end to end: one tiny synthetic fp32 model swept at fp32 (its
 * stored dtype), rtn-w4-g128 and nf4 on muse-mini (PrivLeak only, 2 items, a 300-token budget per split).
 */
class DivergenceEndToEndTest {
    static final List<String> PRECISIONS = List.of("fp32", "rtn-w4-g128", "nf4");
    static final int BUDGET = 300;
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path data;
    static Path model;
    static Path out;
    static SweepPlan plan;
    static Sweep.Result result;

    @BeforeAll
    static void sweep() throws Exception {
        model = tmp.resolve("models").resolve("ga");
        Synthesizer.synthesize(Presets.get("tiny"), Family.LLAMA, DType.F32, 31, model);
        ByteTokenizerWriter.write(model);
        data = Path.of(DivergenceEndToEndTest.class.getResource("/muse-mini/verbmem/forget.json").toURI())
                .getParent().getParent();
        out = tmp.resolve("out");
        EvalOptions opt = new EvalOptions(Set.of("privleak"), Corpus.NEWS, "muse", 0, 2, 1, 128, 32);
        plan = new SweepPlan(List.of(new ModelSpec("ga", "unlearned", model)), SweepPlan.parsePrecisions(PRECISIONS),
                data, opt, "vector", 2, out, BUDGET);
        result = Sweep.run(plan, new Sweep.Listener() { });
    }

    static JsonNode cell(String precision) throws IOException {
        return JSON.readTree(out.resolve("cells/ga").resolve(precision).resolve(DivergenceReport.FILE).toFile());
    }

    @Test
    void storedPrecisionCellIsExactlyTheReference() throws IOException {
        JsonNode c = cell("fp32");
        assertEquals("as stored", c.get("reference").asText());
        assertEquals(BUDGET, c.get("token_budget").asInt());
        for (String split : List.of("forget", "retain")) {
            JsonNode s = c.get("splits").get(split);
            assertEquals(0.0, s.get("kl_mean").asDouble(), split);
            assertEquals(0.0, s.get("kl_max").asDouble(), split);
            assertEquals(1.0, s.get("top1_agreement").asDouble(), split);
            // muse-mini texts are ~200 bytes: the first whole, the second cut at the budget
            assertEquals(BUDGET, s.get("positions").asInt(), split);
            assertEquals(2, s.get("texts").asInt(), split);
        }
    }

    @Test
    void quantizedCellsDiverge() throws IOException {
        for (String p : List.of("rtn-w4-g128", "nf4")) {
            for (String split : List.of("forget", "retain")) {
                JsonNode s = cell(p).get("splits").get(split);
                double mean = s.get("kl_mean").asDouble();
                assertTrue(mean > 0, p + "/" + split + ": " + s);
                assertTrue(s.get("kl_max").asDouble() >= mean, p + "/" + split);
                double top1 = s.get("top1_agreement").asDouble();
                assertTrue(top1 >= 0 && top1 <= 1, p + "/" + split);
                assertEquals(BUDGET, s.get("positions").asInt());
            }
        }
    }

    @Test
    void reportsHoldEveryRow() throws IOException {
        List<String> csv = Files.readAllLines(out.resolve("divergence.csv"));
        assertEquals(DivergenceReport.CSV_HEADER, csv.getFirst());
        assertEquals(1 + PRECISIONS.size() * 2, csv.size());
        assertEquals("ga,fp32,forget,0.0,0.0,1.0,300,2", csv.get(1));
        assertEquals("ga,fp32,retain,0.0,0.0,1.0,300,2", csv.get(2));
        assertTrue(csv.get(3).startsWith("ga,rtn-w4-g128,forget,"), csv.get(3));
        assertTrue(csv.get(6).startsWith("ga,nf4,retain,"), csv.get(6));

        JsonNode d = JSON.readTree(out.resolve("results.json").toFile()).get("divergence");
        assertTrue(d.get("definition").asText().startsWith("KL(P_full || P_quantized) per position in nats"));
        assertEquals(6, d.get("rows").size());
        assertEquals(0, d.get("absent").size());
        JsonNode nf4 = d.get("rows").get(4);
        assertEquals("nf4", nf4.get("precision").asText());
        assertEquals("forget", nf4.get("split").asText());
        assertEquals(cell("nf4").get("splits").get("forget"), ((com.fasterxml.jackson.databind.node.ObjectNode) nf4.deepCopy())
                .without(List.of("model", "precision", "split")));

        String md = Files.readString(out.resolve("table.md"));
        assertTrue(md.contains("## Divergence from the checkpoint as stored"), md);
        assertTrue(md.contains("| ga | fp32 | forget | 0 | 0 | 100.0% | 300 |"), md);
        assertTrue(plan.evalKey().contains(";divergence=v1/300/512"), plan.evalKey());
    }

    @Test
    void rerunRecomputesCellsJournaledWithoutDivergence() throws Exception {
        Path o = tmp.resolve("old");
        SweepPlan off = new SweepPlan(plan.models(), plan.precisions().subList(0, 2), data, plan.options(), "vector", 2, o, 0);
        assertEquals(2, Sweep.run(off, new Sweep.Listener() { }).computed());
        assertFalse(Files.exists(o.resolve("cells/ga/fp32").resolve(DivergenceReport.FILE)));
        // a cell without the file is reported as absent, not an error
        DivergenceReport.Data d = DivergenceReport.of(o.resolve("cells"), List.of("ga"), List.of("fp32", "rtn-w4-g128"));
        assertEquals(List.of(), d.rows());
        assertEquals(List.of("ga/fp32", "ga/rtn-w4-g128"), d.absent());
        assertTrue(Files.readString(o.resolve("table.md")).contains("n/a: no cell has divergence.json"));

        SweepPlan on = new SweepPlan(plan.models(), plan.precisions().subList(0, 2), data, plan.options(), "vector", 2, o,
                BUDGET);
        Sweep.Result r = Sweep.run(on, new Sweep.Listener() { });
        assertEquals(2, r.computed(), "a changed eval key recomputes the cells");
        assertEquals(Files.readString(out.resolve("cells/ga/rtn-w4-g128").resolve(DivergenceReport.FILE)),
                Files.readString(o.resolve("cells/ga/rtn-w4-g128").resolve(DivergenceReport.FILE)), "deterministic");
        assertEquals(0, Sweep.run(on, new Sweep.Listener() { }).computed());
    }

    @Test
    void planKeySetsTheBudget() throws IOException {
        String base = "models: [{name: ga, path: models/ga}]\nprecisions: [fp32]\ndata: %s\n".formatted(data);
        Path f = Files.writeString(tmp.resolve("p1.yaml"), base);
        assertEquals(Divergence.DEFAULT_TOKEN_BUDGET, PlanFile.load(f, out).divergenceTokens());
        Files.writeString(f, base + "divergence_tokens: 0\n");
        SweepPlan off = PlanFile.load(f, out);
        assertEquals(0, off.divergenceTokens());
        assertTrue(off.evalKey().endsWith(";divergence=off"), off.evalKey());
        Files.writeString(f, base + "divergence_tokens: -1\n");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> PlanFile.load(f, out));
        assertTrue(e.getMessage().contains("line 4: divergence_tokens: must be ≥ 0"), e.getMessage());
    }

    @Test
    void aMissingSplitIsRecordedAsAbsent() throws Exception {
        Path partial = tmp.resolve("partial");
        Files.createDirectories(partial.resolve("privleak"));
        Files.copy(data.resolve("privleak/forget.json"), partial.resolve("privleak/forget.json"));
        Path cellDir = tmp.resolve("partialCell");
        EvalOptions opt = new EvalOptions(Set.of(), Corpus.NEWS, "muse", 0, 1, 1, 128, 32);
        try (Backend be = Backends.create("vector", 2); Tokenizer tok = HfTokenizer.load(model);
             Model m = Model.load(model, be, null)) {
            Map<String, DivergenceReport.Stats> st = Divergence.write(cellDir, m, model, be, tok, MuseData.at(partial), opt,
                    Divergence.DEFAULT_TOKEN_BUDGET);
            assertEquals(Set.of("forget"), st.keySet());
            assertEquals(1, st.get("forget").texts(), "the item limit applies");
            assertEquals(0.0, st.get("forget").klMean());
        }
        JsonNode c = JSON.readTree(cellDir.resolve(DivergenceReport.FILE).toFile());
        assertEquals("privleak/retain.json not found", c.get("splits").get("retain").get("absent").asText());
        Path cells = tmp.resolve("partialCells");
        Files.createDirectories(cells.resolve("m/fp32"));
        Files.copy(cellDir.resolve(DivergenceReport.FILE), cells.resolve("m/fp32").resolve(DivergenceReport.FILE));
        DivergenceReport.Data d = DivergenceReport.of(cells, List.of("m"), List.of("fp32"));
        assertEquals(1, d.rows().size());
        assertEquals(List.of("m/fp32/retain"), d.absent());
    }
}
