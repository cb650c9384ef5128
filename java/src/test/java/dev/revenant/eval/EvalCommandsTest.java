package dev.revenant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.cli.AucCommand;
import dev.revenant.cli.RougeCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class EvalCommandsTest {
    private record Run(int exit, String out, String err) {
    }

    private static Run run(Callable<Integer> command, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(command);
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void rougeTextReport() {
        Path log = MuseLogs.root().resolve("ga_klr/knowmem_f/log.json");
        Run r = run(new RougeCommand(), "--log", log.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("100/100 items equal the logged values"), r.out());
        assertTrue(r.out().contains("mean    rougeL 0.10101569956817631 "), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("\\s+0\\s+0\\.666667 .*=")), r.out());
    }

    @Test
    void rougeJsonReport() throws Exception {
        Path dir = MuseLogs.root().resolve("ga_klr/verbmem_f");
        Run r = run(new RougeCommand(), "--log", dir.resolve("log.json").toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        JsonNode agg = new ObjectMapper().readTree(dir.resolve("agg.json").toFile());
        assertEquals(100, j.get("matched").asInt());
        assertEquals(0.0, j.get("max_abs_diff").asDouble(), 0.0);
        assertEquals(agg.get("mean_rougeL").asDouble(), j.get("mean").get("rougeL").asDouble(), 0.0);
        assertEquals(agg.get("max_rouge1").asDouble(), j.get("agg").get("max_rouge1").asDouble(), 0.0);
        assertEquals(100, j.get("items").size());
    }

    @Test
    void aucTextReportWithPrivLeakAndExpectation() {
        Path dir = MuseLogs.root().resolve("ga_klr/privleak");
        Run r = run(new AucCommand(), "--log", dir.resolve("log.json").toString(), "--corpus", "books",
                "--expect", dir.resolve("auc.json").toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("forget_holdout_Min-40%"), r.out());
        assertEquals(90, r.out().lines().filter(l -> l.startsWith("  ")).count(), r.out());
        assertTrue(r.out().contains("privleak forget_holdout_Min-40% (books, AUC 0.3349, AUC_retrain 0.5392999999999999): -37.9"), r.out());
        assertTrue(r.out().contains("90/90 keys of "), r.out());
    }

    @Test
    void aucJsonReport() throws Exception {
        Path dir = MuseLogs.root().resolve("npo_gdr/privleak");
        Run r = run(new AucCommand(), "--log", dir.resolve("log.json").toString(), "--json", "--auc-retrain", "0.5");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        JsonNode want = new ObjectMapper().readTree(dir.resolve("auc.json").toFile());
        assertEquals(90, j.get("auc").size());
        want.properties().forEach(e -> assertEquals(e.getValue().asDouble(), j.get("auc").get(e.getKey()).asDouble(), 0.0, e.getKey()));
        assertEquals("custom", j.get("privleak").get("corpus").asText());
        assertEquals((0.4028 - 0.5) / 0.5 * 100, j.get("privleak").get("privleak").asDouble(), 0.0);
    }

    @Test
    void errorsAreReportedWithTheFile() {
        Run r = run(new AucCommand(), "--log", "/nonexistent/privleak/log.json");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("/nonexistent/privleak/log.json: file not found"), r.err());
        Run bad = run(new AucCommand(), "--log", MuseLogs.root().resolve("ga_klr/privleak/log.json").toString(), "--corpus", "wiki");
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("unknown corpus 'wiki'"), bad.err());
        Run missing = run(new RougeCommand());
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("Missing required option: '--log=LOG.json'"), missing.err());
    }
}
