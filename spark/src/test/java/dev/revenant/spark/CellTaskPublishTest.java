package dev.revenant.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two attempts at one cell: the first rename wins, the second attempt's copy is discarded, nothing is mixed. */
class CellTaskPublishTest {
    @TempDir
    Path tmp;

    Path attempt(String name, String text) throws IOException {
        Path d = Files.createDirectories(tmp.resolve("cells/m").resolve(name));
        Files.writeString(d.resolve("items.jsonl"), text);
        Files.writeString(d.resolve(CellTask.CELL_RECORD), text);
        return d;
    }

    @Test
    void firstFinishedAttemptWins() throws IOException {
        Path dir = tmp.resolve("cells/m/int8");
        Path a = attempt("int8.tmp-h-1-1", "first");
        Path b = attempt("int8.tmp-h-2-9", "second");
        assertTrue(CellTask.publish(a, dir));
        assertFalse(CellTask.publish(b, dir));
        assertFalse(Files.exists(a));
        assertFalse(Files.exists(b), "the losing copy is deleted");
        assertEquals("first", Files.readString(dir.resolve("items.jsonl")));
        assertEquals("first", Files.readString(dir.resolve(CellTask.CELL_RECORD)));
    }

    @Test
    void optionsNameTheFlagInErrors() {
        assertEquals("--plan PLAN.yaml is required", firstLine(assertThrows(IllegalArgumentException.class,
                () -> SparkSweepOptions.parse("--out", "/tmp/x")).getMessage()));
        assertEquals("--cells-per-task: expected a count, found 'two'", assertThrows(IllegalArgumentException.class,
                () -> SparkSweepOptions.parse("--plan", "p.yaml", "--out", "o", "--cells-per-task", "two")).getMessage());
        assertEquals("unknown argument '--models'", firstLine(assertThrows(IllegalArgumentException.class,
                () -> SparkSweepOptions.parse("--models", "a=b")).getMessage()));
        assertEquals("--out: missing value", firstLine(assertThrows(IllegalArgumentException.class,
                () -> SparkSweepOptions.parse("--plan", "p.yaml", "--out")).getMessage()));
        SparkSweepOptions o = SparkSweepOptions.parse("--plan", "p.yaml", "--out", "o", "--cells-per-task", "3");
        assertEquals(Path.of("p.yaml"), o.plan());
        assertEquals(3, o.cellsPerTask());
    }

    private static String firstLine(String s) {
        return s.lines().findFirst().orElse("");
    }
}
