package dev.revenant.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.revenant.sweep.PlanFile;
import dev.revenant.sweep.Sweep;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SparkSweep} in {@code local[2]} against {@link Sweep#run} of the same plan: 2 models × 3 precisions (a
 * float cast and two packed ones, so the executor-side quantized cache is on the path), every metric.
 */
class SparkSweepLocalTest {
    static final List<String> PRECISIONS = List.of("fp32", "int8", "rtn-w4-g128");

    @TempDir
    static Path tmp;
    static Path plan;
    static Path outLocal;
    static Path outSpark;
    static Sweep.Result local;
    static SparkSweep.Result spark;
    static JavaSparkContext sc;
    static final List<String> driverLog = new ArrayList<>();

    static final Sweep.Listener LOG = new Sweep.Listener() {
        @Override
        public void log(String line) {
            synchronized (driverLog) {
                driverLog.add(line);
            }
        }
    };

    @BeforeAll
    static void sweepBoth() throws Exception {
        plan = TestSweeps.plan(tmp, List.of("target", "ga"), PRECISIONS, 2);
        outLocal = tmp.resolve("outLocal");
        local = Sweep.run(PlanFile.load(plan, outLocal), LOG);
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("SparkSweepLocalTest")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1"));
        outSpark = tmp.resolve("outSpark");
        spark = SparkSweep.run(sc, options(outSpark), LOG);
    }

    static SparkSweepOptions options(Path out) {
        return new SparkSweepOptions(plan, out, tmp.resolve("executor-cache"), 0);
    }

    @AfterAll
    static void stop() {
        if (sc != null) {
            sc.close();
        }
    }

    @Test
    void sameMetricsAsTheLocalSweep() throws IOException {
        assertEquals(6, local.computed());
        assertEquals(6, spark.computed());
        assertEquals(2, spark.tasks(), "6 cells over 2 cores: one task per model");
        TestSweeps.assertSameCells(local.cells(), spark.cells());
        TestSweeps.assertSameOutputs(outLocal, outSpark);
    }

    @Test
    void journalHoldsEachCellOnceInPlanOrder() throws IOException {
        List<String> expected = new ArrayList<>();
        for (String m : List.of("target", "ga")) {
            for (String p : PRECISIONS) {
                expected.add(m + "/" + p);
            }
        }
        assertEquals(expected, TestSweeps.journalKeys(outSpark));
        assertEquals(TestSweeps.journalKeys(outLocal), TestSweeps.journalKeys(outSpark));
    }

    @Test
    void manifestListsExecutorsAndCellCosts() throws IOException {
        JsonNode m = TestSweeps.JSON.readTree(outSpark.resolve("results.json").toFile()).get("manifest");
        assertEquals("vector", m.get("backend").asText());
        JsonNode ex = m.get("executors");
        assertEquals(1, ex.size(), "local[2] has one executor (the driver): " + ex);
        assertEquals("driver", ex.get(0).get("executor_id").asText());
        for (String k : List.of("host", "backend_kernels", "revenant_version", "spark_version", "jvm", "cpu")) {
            assertFalse(ex.get(0).get(k).asText().isBlank(), k);
        }
        assertTrue(ex.get(0).get("gpu").isNull());
        JsonNode cells = m.get("spark").get("cells");
        assertEquals(6, cells.size());
        int quantized = 0;
        for (JsonNode c : cells) {
            quantized += c.get("quantize_seconds").asDouble() > 0 ? 1 : 0;
            assertTrue(c.get("eval_seconds").asDouble() > 0);
        }
        assertEquals(4, quantized, "2 models × 2 packed precisions quantized into the executor cache");
        assertEquals(4, Files.list(tmp.resolve("executor-cache")).count());
        for (JsonNode mm : m.get("models")) {
            assertNotNull(mm.get("identity").get("content_sha256"), mm.toString());
        }
    }

    @Test
    void rerunSkipsEveryFinishedCell() throws Exception {
        Path out = tmp.resolve("outRerun");
        TestSweeps.copyTree(outSpark, out);
        List<String> before = Files.readAllLines(out.resolve("journal.jsonl"));
        SparkSweep.Result r = SparkSweep.run(sc, options(out), LOG);
        assertEquals(0, r.computed());
        assertEquals(6, r.reused());
        assertEquals(0, r.tasks());
        assertEquals(before, Files.readAllLines(out.resolve("journal.jsonl")));
        TestSweeps.assertSameCells(local.cells(), r.cells());
        TestSweeps.assertSameOutputs(outLocal, out);
    }

    @Test
    void cellsADeadDriverDidNotJournalAreJournaledNotRecomputed() throws Exception {
        Path out = tmp.resolve("outDeadDriver");
        TestSweeps.copyTree(outSpark, out);
        List<String> lines = Files.readAllLines(out.resolve("journal.jsonl"));
        Files.write(out.resolve("journal.jsonl"), lines.subList(0, 2)); // the driver died after journaling 2 of 6
        Files.createDirectories(out.resolve("cells/ga/int8.tmp-host-1-7")); // and an attempt died mid-cell
        Sweep.deleteTree(out.resolve("cells/ga/fp32")); // and this cell never finished
        SparkSweep.Result r = SparkSweep.run(sc, options(out), LOG);
        assertEquals(1, r.computed(), "only ga/fp32 is computed again");
        assertEquals(5, r.reused());
        List<String> keys = TestSweeps.journalKeys(out);
        assertEquals(6, keys.size());
        assertEquals(6, new HashSet<>(keys).size(), "no cell journaled twice: " + keys);
        assertFalse(Files.exists(out.resolve("cells/ga/int8.tmp-host-1-7")));
        TestSweeps.assertSameCells(local.cells(), r.cells());
        TestSweeps.assertSameOutputs(outLocal, out);
    }

    @Test
    void theLocalSweepResumesASparkOutputFolder() throws Exception {
        Path out = tmp.resolve("outSparkThenLocal");
        TestSweeps.copyTree(outSpark, out);
        Sweep.Result r = Sweep.run(PlanFile.load(plan, out), LOG);
        assertEquals(0, r.computed(), "the journal's cells are the local sweep's too (same evaluation key)");
        TestSweeps.assertSameCells(local.cells(), r.cells());
    }
}
