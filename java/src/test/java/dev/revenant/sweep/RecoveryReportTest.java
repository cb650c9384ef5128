package dev.revenant.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.eval.EvalRun;
import dev.revenant.report.CellRow;
import dev.revenant.report.Recovery;
import dev.revenant.report.Reports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The recovery ratio (muse-spec §3.7) and the report files, on hand-set numbers. */
class RecoveryReportTest {
    static final double NAN = Double.NaN;

    static CellRow row(String model, String role, String precision, double verbmem, double knowF) {
        return new CellRow(model, role, precision, new EvalRun.Summary(model, verbmem, -50.0, knowF, 40.0));
    }

    // the spec's worked example (GA_KLR on BOOKS, [T1-v1]): 13.0/99.8 at full precision, 75.6/85.3 after 4-bit
    static final List<CellRow> CELLS = List.of(
            row("target", "target", "fp32", 99.8, 50.0),
            row("target", "target", "nf4", 85.3, 0.0),
            row("ga_klr", "unlearned", "fp32", 13.0, 10.0),
            row("ga_klr", "unlearned", "nf4", 75.6, 20.0),
            row("retrain", "retrain", "fp32", 20.0, 30.0),
            row("retrain", "retrain", "nf4", 21.0, 31.0));

    @Test
    void ratioIsUnlearnedOverTargetAtTheSamePrecision() {
        List<Recovery.Row> rows = Recovery.rows(CELLS, List.of("fp32", "nf4"));
        assertEquals(2, rows.size(), "one row per unlearned model × precision; retrain and target get none");
        Recovery.Row full = rows.get(0);
        Recovery.Row q4 = rows.get(1);
        assertEquals("ga_klr", full.model());
        assertEquals(13.0 / 99.8, full.verbmemRatio(), 1e-15);
        assertEquals(0.0, full.verbmemDelta(), 0);
        assertEquals(75.6 / 85.3, q4.verbmemRatio(), 1e-15);
        assertEquals(75.6 / 85.3 - 13.0 / 99.8, q4.verbmemDelta(), 1e-15);
        assertEquals(0.2, full.knowmemRatio(), 1e-15);
        assertTrue(Double.isNaN(q4.knowmemRatio()), "target KnowMem 0 → n/a");
        assertTrue(Double.isNaN(q4.knowmemDelta()));
        assertTrue(Double.isNaN(Recovery.ratio(NAN, 3)));
        assertTrue(Double.isNaN(Recovery.ratio(1, NAN)));
        assertTrue(Recovery.rows(CELLS.subList(2, 6), List.of("fp32", "nf4")).isEmpty(), "no target, no rows");
    }

    @Test
    void writesTableOneLayoutAndRecoverySection(@TempDir Path out) throws IOException {
        Reports.write(out, Map.of("seed", 0), List.of("fp32", "nf4"), CELLS);
        String md = Files.readString(out.resolve("table.md"));
        assertTrue(md.contains("| Model | VerbMem | KnowMem-forget | PrivLeak | KnowMem-retain |"), md);
        assertTrue(md.contains("| target | 99.8 | 50.0 | -50.0 | 40.0 |"), md);
        assertTrue(md.contains("| ga_klr + nf4 | 75.6 | 20.0 | -50.0 | 40.0 |"), md);
        assertTrue(md.contains(Recovery.DEFINITION), md);
        assertTrue(md.contains("| ga_klr | fp32 | 13.0% | +0.0 pp | 20.0% | +0.0 pp |"), md);
        assertTrue(md.contains("| ga_klr | nf4 | 88.6% | +75.6 pp | n/a | n/a |"), md);
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertEquals(7, csv.size());
        assertEquals("ga_klr,unlearned,nf4,75.6,20.0,-50.0,40.0", csv.get(4));
        JsonNode json = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertEquals(0, json.get("manifest").get("seed").asInt());
        assertEquals(6, json.get("cells").size());
        JsonNode r = json.get("recovery").get("rows").get(1);
        assertEquals(75.6 / 85.3, r.get("verbmem_retention").asDouble(), 1e-15);
        assertTrue(r.get("knowmem_f_retention").isNull());
        try (var files = Files.list(out)) {
            assertEquals(3, files.count(), "no temporary files left");
        }
    }
}
