package dev.revenant.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.revenant.eval.EvalRun;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The sweep's reports in {@code out}: {@code results.json} (manifest + every cell + recovery),
 * {@code results.csv} and {@code table.md} (the paper's Table 1 layout plus the recovery table), and, when given,
 * the same-bucket, re-emergence and divergence parts.
 * Each file goes through a temporary sibling and an atomic move.
 */
public final class Reports {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Reports() {
    }

    /** Writes the three files; {@code precisions} in sweep order, the first being full precision. */
    public static void write(Path out, Map<String, Object> manifest, List<String> precisions, List<CellRow> cells)
            throws IOException {
        write(out, manifest, precisions, cells, null);
    }

    /**
     * As {@link #write(Path, Map, List, List)}, plus, when {@code buckets} is not null, {@code buckets.csv} and a
     * {@code "same_bucket"} object in results.json ({@link SameBucket}).
     */
    public static void write(Path out, Map<String, Object> manifest, List<String> precisions, List<CellRow> cells,
                             SameBucket.Data buckets) throws IOException {
        write(out, manifest, precisions, cells, buckets, null);
    }

    /**
     * As {@link #write(Path, Map, List, List, SameBucket.Data)}, plus, when {@code reemergence} is not null,
     * {@code reemergence.csv} and a {@code "reemergence"} object in results.json ({@link Reemergence}).
     */
    public static void write(Path out, Map<String, Object> manifest, List<String> precisions, List<CellRow> cells,
                             SameBucket.Data buckets, Reemergence.Data reemergence) throws IOException {
        write(out, manifest, precisions, cells, buckets, reemergence, null);
    }

    /**
     * As {@link #write(Path, Map, List, List, SameBucket.Data, Reemergence.Data)}, plus, when {@code divergence} is not
     * null, {@code divergence.csv}, a {@code "divergence"} object in results.json and a section in table.md
     * ({@link DivergenceReport}).
     */
    public static void write(Path out, Map<String, Object> manifest, List<String> precisions, List<CellRow> cells,
                             SameBucket.Data buckets, Reemergence.Data reemergence, DivergenceReport.Data divergence)
            throws IOException {
        List<Recovery.Row> rec = Recovery.rows(cells, precisions);
        if (buckets != null) {
            atomicWrite(out.resolve("buckets.csv"), SameBucket.csv(buckets.rows()));
        }
        if (reemergence != null) {
            atomicWrite(out.resolve("reemergence.csv"), Reemergence.csv(reemergence.rows()));
        }
        if (divergence != null) {
            atomicWrite(out.resolve("divergence.csv"), DivergenceReport.csv(divergence.rows()));
        }
        atomicWrite(out.resolve("results.json"), json(manifest, cells, rec, buckets, reemergence, divergence));
        atomicWrite(out.resolve("results.csv"), csv(cells));
        atomicWrite(out.resolve("table.md"), markdown(precisions, cells, rec)
                + (divergence == null ? "" : DivergenceReport.markdown(divergence)));
    }

    static String json(Map<String, Object> manifest, List<CellRow> cells, List<Recovery.Row> rec) throws IOException {
        return json(manifest, cells, rec, null);
    }

    static String json(Map<String, Object> manifest, List<CellRow> cells, List<Recovery.Row> rec, SameBucket.Data buckets)
            throws IOException {
        return json(manifest, cells, rec, buckets, null);
    }

    static String json(Map<String, Object> manifest, List<CellRow> cells, List<Recovery.Row> rec, SameBucket.Data buckets,
                       Reemergence.Data reemergence) throws IOException {
        return json(manifest, cells, rec, buckets, reemergence, null);
    }

    static String json(Map<String, Object> manifest, List<CellRow> cells, List<Recovery.Row> rec, SameBucket.Data buckets,
                       Reemergence.Data reemergence, DivergenceReport.Data divergence) throws IOException {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("manifest", manifest);
        List<Map<String, Object>> cs = new ArrayList<>();
        for (CellRow c : cells) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", c.model());
            m.put("role", c.role());
            m.put("precision", c.precision());
            m.put("verbmem_f", num(c.summary().verbmemF()));
            m.put("knowmem_f", num(c.summary().knowmemF()));
            m.put("privleak", num(c.summary().privleak()));
            m.put("knowmem_r", num(c.summary().knowmemR()));
            cs.add(m);
        }
        root.put("cells", cs);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("definition", Recovery.DEFINITION);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Recovery.Row row : rec) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", row.model());
            m.put("precision", row.precision());
            m.put("verbmem_retention", num(row.verbmemRatio()));
            m.put("verbmem_retention_change_vs_full", num(row.verbmemDelta()));
            m.put("knowmem_f_retention", num(row.knowmemRatio()));
            m.put("knowmem_f_retention_change_vs_full", num(row.knowmemDelta()));
            rows.add(m);
        }
        r.put("rows", rows);
        root.put("recovery", r);
        if (buckets != null) {
            root.put("same_bucket", SameBucket.json(buckets));
        }
        if (reemergence != null) {
            root.put("reemergence", Reemergence.json(reemergence));
        }
        if (divergence != null) {
            root.put("divergence", DivergenceReport.json(divergence));
        }
        return JSON.writeValueAsString(root) + "\n";
    }

    static String csv(List<CellRow> cells) {
        StringBuilder sb = new StringBuilder("model,role,precision,verbmem_f,knowmem_f,privleak,knowmem_r\n");
        for (CellRow c : cells) {
            EvalRun.Summary s = c.summary();
            sb.append(String.join(",", c.model(), c.role(), c.precision(), csvNum(s.verbmemF()), csvNum(s.knowmemF()),
                    csvNum(s.privleak()), csvNum(s.knowmemR()))).append('\n');
        }
        return sb.toString();
    }

    /** Header of the Table-1-style table (shared by table.md and report.html). */
    static final List<String> TABLE_ONE_HEADER = List.of("Model", "VerbMem", "KnowMem-forget", "PrivLeak", "KnowMem-retain");

    /** The precision rows without a suffix are at: the first of the sweep's order. */
    static String fullPrecision(List<String> precisions) {
        return precisions.isEmpty() ? "" : precisions.getFirst();
    }

    /** Rows "model" (first precision) and "model + precision" (the others), as in the paper's Table 1; formatted cells. */
    static List<List<String>> tableOneRows(List<String> precisions, List<CellRow> cells) {
        String full = fullPrecision(precisions);
        List<List<String>> rows = new ArrayList<>();
        for (CellRow c : cells) {
            String label = c.precision().equals(full) ? c.model() : c.model() + " + " + c.precision();
            EvalRun.Summary s = c.summary();
            rows.add(List.of(label, one(s.verbmemF()), one(s.knowmemF()), one(s.privleak()), one(s.knowmemR())));
        }
        return rows;
    }

    /** Header of the knowledge-recovery table. */
    static List<String> recoveryHeader(List<String> precisions) {
        String full = fullPrecision(precisions);
        return List.of("Model", "Precision", "VerbMem retention", "Change vs " + full, "KnowMem-forget retention",
                "Change vs " + full);
    }

    /** The knowledge-recovery rows, formatted. */
    static List<List<String>> recoveryRows(List<Recovery.Row> rec) {
        List<List<String>> rows = new ArrayList<>();
        for (Recovery.Row r : rec) {
            rows.add(List.of(r.model(), r.precision(), pct(r.verbmemRatio()), pp(r.verbmemDelta()), pct(r.knowmemRatio()),
                    pp(r.knowmemDelta())));
        }
        return rows;
    }

    static final String NO_RECOVERY = "n/a: the sweep has no target model or no unlearned model.";

    static String changeNote(List<String> precisions) {
        return "Change = retention minus the same model's retention at " + fullPrecision(precisions)
                + ", in percentage points. n/a where the target's metric is 0 or a metric was not run.";
    }

    static String tableOneNote(List<String> precisions) {
        return "Rows without a precision are at " + fullPrecision(precisions) + ". Values ×100; PrivLeak in %.";
    }

    static String markdown(List<String> precisions, List<CellRow> cells, List<Recovery.Row> rec) {
        StringBuilder sb = new StringBuilder("# Sweep results\n\n");
        sb.append(tableOneNote(precisions)).append("\n\n");
        mdRow(sb, TABLE_ONE_HEADER);
        sb.append("|---|---:|---:|---:|---:|\n");
        for (List<String> row : tableOneRows(precisions, cells)) {
            mdRow(sb, row);
        }
        sb.append("\n## Knowledge recovery\n\n").append(Recovery.DEFINITION).append(".\n");
        if (rec.isEmpty()) {
            sb.append("\n").append(NO_RECOVERY).append("\n");
            return sb.toString();
        }
        sb.append(changeNote(precisions)).append("\n\n");
        mdRow(sb, recoveryHeader(precisions));
        sb.append("|---|---|---:|---:|---:|---:|\n");
        for (List<String> row : recoveryRows(rec)) {
            mdRow(sb, row);
        }
        return sb.toString();
    }

    private static void mdRow(StringBuilder sb, List<String> cells) {
        sb.append("| ").append(String.join(" | ", cells)).append(" |\n");
    }

    static String one(double v) {
        return Double.isNaN(v) ? "—" : String.format(Locale.ROOT, "%.1f", v);
    }

    static String pct(double ratio) {
        return Double.isNaN(ratio) ? "n/a" : String.format(Locale.ROOT, "%.1f%%", ratio * 100);
    }

    static String pp(double delta) {
        return Double.isNaN(delta) ? "n/a" : String.format(Locale.ROOT, "%+.1f pp", delta * 100);
    }

    private static Double num(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? null : v;
    }

    private static String csvNum(double v) {
        return Double.isNaN(v) ? "" : Double.toString(v);
    }

    /** Writes {@code file} through a temporary sibling and an atomic move. */
    public static void atomicWrite(Path file, String content) throws IOException {
        atomicWrite(file, content.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes {@code bytes} to {@code file} through a temporary sibling and an atomic move. */
    public static void atomicWrite(Path file, byte[] bytes) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, bytes);
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
