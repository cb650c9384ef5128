package dev.revenant.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-item re-emergence: for each model, each precision other than the first (the full-precision reference, as in
 * the recovery table) and each forget-side ROUGE metric ({@code verbmem_f}, {@code knowmem_f}) whose per-item log
 * exists in both cells ({@code cells/<model>/<precision>/<metric>/log.json}, a JSON array of objects with
 * {@code rougeL}, in item order), the items whose ROUGE-L F1 rises by strictly more than {@link #THRESHOLD}
 * (absolute) over the same model's first-precision cell. Written as {@code reemergence.csv} (one row per re-emerged
 * item, {@code item} being the 0-based index in the log) and as {@code "reemergence"} in {@code results.json}
 * (the threshold and, per model × precision × metric, the re-emerged count out of the items compared).
 */
public final class Reemergence {
    /** Absolute ROUGE-L F1 rise (quantized − full) an item must exceed to count as re-emerged; fixed, not in the plan. */
    public static final double THRESHOLD = 0.2;

    /** The forget-side metrics with per-item ROUGE-L logs, in report order. */
    public static final List<String> METRICS = List.of("verbmem_f", "knowmem_f");

    public static final String DEFINITION = "items whose rougeL (ROUGE-L F1, 0..1) at the precision exceeds the same model's "
            + "first-precision rougeL by more than the threshold; item = 0-based index in <metric>/log.json";

    public static final String CSV_HEADER = "model,precision,metric,item,score_full,score_quantized,delta";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One re-emerged item. */
    public record Row(String model, String precision, String metric, int item, double scoreFull, double scoreQuantized) {
        public double delta() {
            return scoreQuantized - scoreFull;
        }
    }

    /** One model × precision × metric compared: {@code reemerged} of {@code total} items. */
    public record Summary(String model, String precision, String metric, int reemerged, int total) {
    }

    public record Data(double threshold, List<Row> rows, List<Summary> summaries) {
        public Data {
            rows = List.copyOf(rows);
            summaries = List.copyOf(summaries);
        }
    }

    private Reemergence() {
    }

    /** Reads {@code cells/<model>/<precision>/<metric>/log.json} for every model and precision, with {@link #THRESHOLD}. */
    public static Data of(Path cells, List<String> models, List<String> precisions) throws IOException {
        return of(cells, models, precisions, THRESHOLD);
    }

    public static Data of(Path cells, List<String> models, List<String> precisions, double threshold) throws IOException {
        List<Row> rows = new ArrayList<>();
        List<Summary> sums = new ArrayList<>();
        if (precisions.isEmpty()) {
            return new Data(threshold, rows, sums);
        }
        String full = precisions.getFirst();
        for (String m : models) {
            for (String p : precisions.subList(1, precisions.size())) {
                for (String metric : METRICS) {
                    double[] ref = scores(cells.resolve(m).resolve(full).resolve(metric).resolve("log.json"));
                    double[] q = scores(cells.resolve(m).resolve(p).resolve(metric).resolve("log.json"));
                    if (ref == null || q == null) {
                        continue;
                    }
                    int n = Math.min(ref.length, q.length);
                    int count = 0;
                    for (int i = 0; i < n; i++) {
                        if (q[i] - ref[i] > threshold) {
                            rows.add(new Row(m, p, metric, i, ref[i], q[i]));
                            count++;
                        }
                    }
                    sums.add(new Summary(m, p, metric, count, n));
                }
            }
        }
        return new Data(threshold, rows, sums);
    }

    /** The {@code rougeL} of each item of a log, or null when the file is absent. */
    static double[] scores(Path log) throws IOException {
        if (!Files.isRegularFile(log)) {
            return null;
        }
        JsonNode arr = JSON.readTree(log.toFile());
        if (arr == null || !arr.isArray()) {
            throw new IOException(log + ": expected a JSON array of per-item objects");
        }
        double[] out = new double[arr.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = arr.get(i).get("rougeL");
            if (v == null || !v.isNumber()) {
                throw new IOException(log + ": item " + i + " has no numeric rougeL");
            }
            out[i] = v.asDouble();
        }
        return out;
    }

    public static String csv(List<Row> rows) {
        StringBuilder sb = new StringBuilder(CSV_HEADER).append('\n');
        for (Row r : rows) {
            sb.append(String.join(",", r.model(), r.precision(), r.metric(), Integer.toString(r.item()),
                    Double.toString(r.scoreFull()), Double.toString(r.scoreQuantized()), Double.toString(r.delta())))
                    .append('\n');
        }
        return sb.toString();
    }

    static Map<String, Object> json(Data d) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("definition", DEFINITION);
        root.put("threshold", d.threshold());
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Summary s : d.summaries()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", s.model());
            m.put("precision", s.precision());
            m.put("metric", s.metric());
            m.put("reemerged", s.reemerged());
            m.put("total", s.total());
            rows.add(m);
        }
        root.put("rows", rows);
        return root;
    }
}
