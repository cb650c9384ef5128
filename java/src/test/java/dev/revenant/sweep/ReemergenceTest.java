package dev.revenant.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.eval.EvalRun;
import dev.revenant.report.CellRow;
import dev.revenant.report.Reemergence;
import dev.revenant.report.Reports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Per-item re-emergence on hand-made cell folders. */
class ReemergenceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static void log(Path cells, String model, String precision, String metric, double... rougeL) throws IOException {
        Path dir = cells.resolve(model).resolve(precision).resolve(metric);
        Files.createDirectories(dir);
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < rougeL.length; i++) {
            sb.append(i == 0 ? "" : ",").append("{\"response\":\"r").append(i).append("\",\"rougeL\":").append(rougeL[i])
                    .append(",\"rouge1\":0.0}");
        }
        Files.writeString(dir.resolve("log.json"), sb.append("]").toString());
    }

    @Test
    void listsItemsRisingMoreThanTheThreshold(@TempDir Path tmp) throws IOException {
        Path cells = tmp.resolve("cells");
        // model m: item 0 rises 0.1 (not listed), item 1 rises 0.5 (listed), item 2 falls (not listed)
        log(cells, "m", "fp32", "knowmem_f", 0.25, 0.25, 0.75);
        log(cells, "m", "int8", "knowmem_f", 0.375, 0.5, 0.25);
        log(cells, "m", "rtn4", "knowmem_f", 0.25, 0.75, 0.75);
        log(cells, "m", "fp32", "verbmem_f", 0.0, 0.5);
        log(cells, "m", "int8", "verbmem_f", 0.0, 0.5);
        // rtn4 has no verbmem_f log: left out
        // model n: no logs at all
        Files.createDirectories(cells.resolve("n").resolve("fp32"));

        Reemergence.Data d = Reemergence.of(cells, List.of("m", "n"), List.of("fp32", "int8", "rtn4"));
        assertEquals(Reemergence.THRESHOLD, d.threshold());
        assertEquals(List.of(
                Reemergence.CSV_HEADER,
                "m,int8,knowmem_f,1,0.25,0.5,0.25",
                "m,rtn4,knowmem_f,1,0.25,0.75,0.5"), List.of(Reemergence.csv(d.rows()).split("\n")));
        assertEquals(List.of(
                new Reemergence.Summary("m", "int8", "verbmem_f", 0, 2),
                new Reemergence.Summary("m", "int8", "knowmem_f", 1, 3),
                new Reemergence.Summary("m", "rtn4", "knowmem_f", 1, 3)), d.summaries());

        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        List<CellRow> rows = List.of(new CellRow("m", "target", "fp32",
                new EvalRun.Summary("m", Double.NaN, Double.NaN, 25, Double.NaN)));
        Reports.write(out, Map.of(), List.of("fp32", "int8", "rtn4"), rows, null, d);
        assertEquals(Reemergence.csv(d.rows()), Files.readString(out.resolve("reemergence.csv")));
        JsonNode re = JSON.readTree(out.resolve("results.json").toFile()).get("reemergence");
        assertEquals(0.2, re.get("threshold").asDouble());
        assertEquals(3, re.get("rows").size());
        JsonNode k = re.get("rows").get(1);
        assertEquals("m", k.get("model").asText());
        assertEquals("int8", k.get("precision").asText());
        assertEquals("knowmem_f", k.get("metric").asText());
        assertEquals(1, k.get("reemerged").asInt());
        assertEquals(3, k.get("total").asInt());
        assertEquals(0, re.get("rows").get(0).get("reemerged").asInt());
        assertEquals(2, re.get("rows").get(0).get("total").asInt());
        try (var s = Files.list(out)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().contains(".tmp")), "no temporary left");
        }
        assertTrue(Files.isRegularFile(out.resolve("table.md")));
    }
}
