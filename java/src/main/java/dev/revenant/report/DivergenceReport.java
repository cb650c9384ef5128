package dev.revenant.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-cell divergence from the same checkpoint loaded as stored, read from each cell's {@link #FILE}
 * ({@code cells/<model>/<precision>/divergence.json}, written by the sweep):
 * <pre>
 * {"reference": "as stored", "max_text_tokens": 512, "token_budget": 2048,
 *  "splits": {"forget": {"kl_mean": .., "kl_max": .., "top1_agreement": .., "positions": .., "texts": ..},
 *             "retain": {"absent": "privleak/retain.json not found"}}}
 * </pre>
 * Reported as {@code divergence.csv} ({@link #CSV_HEADER}, one row per model × precision × measured split), as
 * {@code "divergence"} in {@code results.json} ({@link #DEFINITION}, the rows, and what is absent) and as a section of
 * {@code table.md}. A cell without the file (computed before this measurement existed, or with it turned off) and a
 * split without data are listed as absent, never an error.
 */
public final class DivergenceReport {
    /** The per-cell file name. */
    public static final String FILE = "divergence.json";

    /** The {@code "reference"} value of {@link #FILE}. */
    public static final String REFERENCE = "as stored";

    public static final String DEFINITION = "KL(P_full || P_quantized) per position in nats, P_full = next-token "
            + "distribution of the same checkpoint as stored (the reference), P_quantized = the cell's; kl_mean = mean over "
            + "positions, kl_max = largest position; top1_agreement = fraction of positions whose argmax tokens agree; "
            + "positions = every position of the texts (privleak/<split>.json with BOS, each cut to 512 tokens, taken in "
            + "order up to the token budget)";

    public static final String CSV_HEADER = "model,precision,split,kl_mean,kl_max,top1_agreement,positions,texts";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One split's results; the doubles are NaN when there were no positions. */
    public record Stats(double klMean, double klMax, double top1Agreement, long positions, int texts) {
    }

    /** One model × precision × split measured. */
    public record Row(String model, String precision, String split, Stats stats) {
    }

    /**
     * Every row (model order, then precision order, then split order) and what is absent: {@code "model/precision"}
     * for a cell without {@link #FILE}, {@code "model/precision/split"} for a split recorded as absent.
     */
    public record Data(List<Row> rows, List<String> absent) {
        public Data {
            rows = List.copyOf(rows);
            absent = List.copyOf(absent);
        }
    }

    private DivergenceReport() {
    }

    /** Reads {@code cells/<model>/<precision>/divergence.json} for every model and precision. */
    public static Data of(Path cells, List<String> models, List<String> precisions) throws IOException {
        List<Row> rows = new ArrayList<>();
        List<String> absent = new ArrayList<>();
        for (String m : models) {
            for (String p : precisions) {
                Path f = cells.resolve(m).resolve(p).resolve(FILE);
                if (!Files.isRegularFile(f)) {
                    absent.add(m + "/" + p);
                    continue;
                }
                JsonNode splits = JSON.readTree(f.toFile()).path("splits");
                if (!splits.isObject()) {
                    throw new IOException(f + ": expected an object 'splits'");
                }
                for (Iterator<Map.Entry<String, JsonNode>> it = splits.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    JsonNode s = e.getValue();
                    if (s == null || s.isNull() || s.has("absent")) {
                        absent.add(m + "/" + p + "/" + e.getKey());
                        continue;
                    }
                    rows.add(new Row(m, p, e.getKey(), parse(s, f, e.getKey())));
                }
            }
        }
        return new Data(rows, absent);
    }

    private static Stats parse(JsonNode s, Path f, String split) throws IOException {
        for (String k : List.of("positions", "texts")) {
            if (!s.path(k).isIntegralNumber()) {
                throw new IOException(f + ": split " + split + ": missing integer '" + k + "'");
            }
        }
        return new Stats(dbl(s, "kl_mean"), dbl(s, "kl_max"), dbl(s, "top1_agreement"), s.get("positions").asLong(),
                s.get("texts").asInt());
    }

    private static double dbl(JsonNode s, String k) {
        JsonNode v = s.get(k);
        return v == null || !v.isNumber() ? Double.NaN : v.asDouble();
    }

    /** One split's object as in {@link #FILE} and results.json (NaN written as null). */
    public static Map<String, Object> statsJson(Stats s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kl_mean", num(s.klMean()));
        m.put("kl_max", num(s.klMax()));
        m.put("top1_agreement", num(s.top1Agreement()));
        m.put("positions", s.positions());
        m.put("texts", s.texts());
        return m;
    }

    public static String csv(List<Row> rows) {
        StringBuilder sb = new StringBuilder(CSV_HEADER).append('\n');
        for (Row r : rows) {
            Stats s = r.stats();
            sb.append(String.join(",", r.model(), r.precision(), r.split(), csvNum(s.klMean()), csvNum(s.klMax()),
                    csvNum(s.top1Agreement()), Long.toString(s.positions()), Integer.toString(s.texts()))).append('\n');
        }
        return sb.toString();
    }

    /** The {@code "divergence"} object of results.json. */
    public static Map<String, Object> json(Data d) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("definition", DEFINITION);
        root.put("reference", "the checkpoint as stored");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Row r : d.rows()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", r.model());
            m.put("precision", r.precision());
            m.put("split", r.split());
            m.putAll(statsJson(r.stats()));
            rows.add(m);
        }
        root.put("rows", rows);
        root.put("absent", d.absent());
        return root;
    }

    /** Header of the divergence table (table.md; the HTML report can use it with {@link #tableRows}). */
    public static final List<String> TABLE_HEADER = List.of("Model", "Precision", "Split", "KL mean (nats)", "KL max (nats)",
            "Top-1 agreement", "Positions");

    /** The rows formatted as in table.md. */
    public static List<List<String>> tableRows(Data d) {
        List<List<String>> out = new ArrayList<>();
        for (Row r : d.rows()) {
            Stats s = r.stats();
            out.add(List.of(r.model(), r.precision(), r.split(), sci(s.klMean()), sci(s.klMax()),
                    Reports.pct(s.top1Agreement()), Long.toString(s.positions())));
        }
        return out;
    }

    /** The table.md section. */
    static String markdown(Data d) {
        StringBuilder sb = new StringBuilder("\n## Divergence from the checkpoint as stored\n\n").append(DEFINITION).append(".\n");
        if (d.rows().isEmpty()) {
            sb.append("\nn/a: no cell has ").append(FILE).append(".\n");
            return sb.toString();
        }
        sb.append('\n');
        sb.append("| ").append(String.join(" | ", TABLE_HEADER)).append(" |\n");
        sb.append("|---|---|---|---:|---:|---:|---:|\n");
        for (List<String> row : tableRows(d)) {
            sb.append("| ").append(String.join(" | ", row)).append(" |\n");
        }
        if (!d.absent().isEmpty()) {
            sb.append("\nAbsent: ").append(String.join(", ", d.absent())).append(".\n");
        }
        return sb.toString();
    }

    /** A KL value: 0 as "0", else 4 significant digits. */
    static String sci(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        return v == 0 ? "0" : String.format(Locale.ROOT, "%.4g", v);
    }

    private static Double num(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? null : v;
    }

    private static String csvNum(double v) {
        return Double.isNaN(v) ? "" : Double.toString(v);
    }
}
