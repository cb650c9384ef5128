package dev.revenant.report;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * {@code report.html}: one self-contained page (inline CSS, charts as base64 PNG data URIs, no external
 * resources) with the manifest summary, the Table-1-style and knowledge-recovery tables (built by the
 * same code as {@code table.md}) and the charts. Every piece of text is HTML-escaped.
 */
public final class HtmlReport {
    private static final List<String> SUMMARY_KEYS = List.of("revenant_version", "jvm", "os_arch", "cpu", "backend",
            "threads", "corpus", "preset", "seed", "metrics", "limit", "batch", "data", "precisions", "started", "ended");

    private HtmlReport() {
    }

    /** The optional diagnostics of a sweep (each may be null). */
    public record Extras(SameBucket.Data buckets, Reemergence.Data reemergence, DivergenceReport.Data divergence) {
        static final Extras NONE = new Extras(null, null, null);
    }

    /** Renders the charts, writes them and {@code report.html} into {@code out} (each atomically). */
    public static void write(Path out, Map<String, Object> manifest, List<String> precisions, List<CellRow> cells)
            throws IOException {
        write(out, manifest, precisions, cells, Extras.NONE);
    }

    /** As {@link #write(Path, Map, List, List)}, with sections and charts for the diagnostics in {@code extras}. */
    public static void write(Path out, Map<String, Object> manifest, List<String> precisions, List<CellRow> cells,
                             Extras extras) throws IOException {
        Charts.Result charts = Charts.write(out, manifest, precisions, cells, extras.buckets());
        Reports.atomicWrite(out.resolve("report.html"), html(manifest, precisions, cells, charts, extras));
    }

    static String html(Map<String, Object> manifest, List<String> precisions, List<CellRow> cells, Charts.Result charts) {
        return html(manifest, precisions, cells, charts, Extras.NONE);
    }

    static String html(Map<String, Object> manifest, List<String> precisions, List<CellRow> cells, Charts.Result charts,
                       Extras extras) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Revenant sweep report</title>\n");
        sb.append("<style>\n")
                .append("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}\n")
                .append("h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}\n")
                .append("table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.25em .6em}\n")
                .append("th{background:#f3f3f3}td{overflow-wrap:anywhere}td.n{text-align:right;font-variant-numeric:tabular-nums}\n")
                .append("dl.m{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dl.m dt{font-weight:600}dl.m dd{margin:0}\n")
                .append("figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}.note{color:#555}\n")
                .append("</style>\n</head>\n<body>\n<h1>Revenant sweep report</h1>\n");

        sb.append("<h2>Run</h2>\n<dl class=\"m\">\n");
        if (manifest != null) {
            for (String k : SUMMARY_KEYS) {
                if (manifest.containsKey(k)) {
                    sb.append("<dt>").append(esc(k)).append("</dt><dd>").append(esc(text(manifest.get(k)))).append("</dd>\n");
                }
            }
        }
        sb.append("</dl>\n");
        Object models = manifest == null ? null : manifest.get("models");
        if (models instanceof Collection<?> ms && !ms.isEmpty()) {
            sb.append("<h3>Models</h3>\n<table>\n<tr><th>Name</th><th>Role</th><th>Path</th><th>Identity</th></tr>\n");
            for (Object o : ms) {
                if (o instanceof Map<?, ?> m) {
                    sb.append("<tr><td>").append(esc(text(m.get("name")))).append("</td><td>").append(esc(text(m.get("role"))))
                            .append("</td><td>").append(esc(text(m.get("path")))).append("</td><td>")
                            .append(esc(text(m.get("identity")))).append("</td></tr>\n");
                }
            }
            sb.append("</table>\n");
            if (manifest.get("identity_note") != null) {
                sb.append("<p class=\"note\">").append(esc(text(manifest.get("identity_note")))).append("</p>\n");
            }
        }

        sb.append("<h2>Results</h2>\n<p>").append(esc(Reports.tableOneNote(precisions))).append("</p>\n");
        table(sb, Reports.TABLE_ONE_HEADER, Reports.tableOneRows(precisions, cells), 1);

        List<Recovery.Row> rec = Recovery.rows(cells, precisions);
        sb.append("<h2>Knowledge recovery</h2>\n<p>").append(esc(Recovery.DEFINITION)).append(".</p>\n");
        if (rec.isEmpty()) {
            sb.append("<p>").append(esc(Reports.NO_RECOVERY)).append("</p>\n");
        } else {
            sb.append("<p>").append(esc(Reports.changeNote(precisions))).append("</p>\n");
            table(sb, Reports.recoveryHeader(precisions), Reports.recoveryRows(rec), 2);
        }

        if (extras.buckets() != null) {
            sb.append("<h2>Same-bucket diagnostics</h2>\n<p>").append(esc(sentence(SameBucket.DEFINITION))).append(" Target: ")
                    .append(esc(extras.buckets().target())).append(". Per layer: buckets.png below; per tensor: buckets.csv.</p>\n");
            List<List<String>> rows = new java.util.ArrayList<>();
            for (SameBucket.Summary su : SameBucket.summaries(extras.buckets().rows())) {
                double f = su.fraction();
                rows.add(List.of(su.model(), su.precision(), String.valueOf(su.tensors()), String.valueOf(su.changed()),
                        String.valueOf(su.sameBucket()), Double.isNaN(f) ? "n/a" : String.format(java.util.Locale.ROOT, "%.1f%%", 100 * f)));
            }
            table(sb, List.of("Model", "Precision", "Tensors", "Changed weights", "Same bucket", "Fraction"), rows, 2);
            for (SameBucket.Skip sk : extras.buckets().skipped()) {
                sb.append("<p class=\"note\">").append(esc(sk.model() + " @ " + sk.precision() + ": " + sk.reason())).append("</p>\n");
            }
        }
        if (extras.reemergence() != null) {
            sb.append("<h2>Per-item re-emergence</h2>\n<p>").append(esc(sentence(Reemergence.DEFINITION)))
                    .append(" Every item: reemergence.csv.</p>\n");
            List<List<String>> rows = new java.util.ArrayList<>();
            int quiet = 0;
            for (Reemergence.Summary su : extras.reemergence().summaries()) {
                if (su.reemerged() == 0) {
                    quiet++;
                    continue;
                }
                rows.add(List.of(su.model(), su.precision(), su.metric(), String.valueOf(su.total()), String.valueOf(su.reemerged())));
            }
            if (!rows.isEmpty()) {
                table(sb, List.of("Model", "Precision", "Metric", "Items", "Re-emerged"), rows, 3);
            }
            if (quiet > 0) {
                sb.append("<p class=\"note\">").append(rows.isEmpty() ? "No item re-emerged in any of the " : "No item re-emerged in the other ")
                        .append(quiet).append(" model × precision × metric combinations.</p>\n");
            }
        }

        if (extras.divergence() != null) {
            sb.append("<h2>Divergence from the checkpoint as stored</h2>\n<p>").append(esc(sentence(DivergenceReport.DEFINITION)))
                    .append(" Every row: divergence.csv.</p>\n");
            table(sb, DivergenceReport.TABLE_HEADER, DivergenceReport.tableRows(extras.divergence()), 3);
            if (!extras.divergence().absent().isEmpty()) {
                sb.append("<p class=\"note\">Not measured: ").append(esc(String.join(", ", extras.divergence().absent())))
                        .append("</p>\n");
            }
        }

        sb.append("<h2>Charts</h2>\n");
        for (Charts.Chart c : charts.charts()) {
            sb.append("<figure><img alt=\"").append(esc(c.title())).append("\" width=\"").append(Charts.WIDTH)
                    .append("\" height=\"").append(Charts.HEIGHT).append("\" src=\"data:image/png;base64,")
                    .append(Base64.getEncoder().encodeToString(c.png())).append("\"><figcaption>").append(esc(c.file()))
                    .append("</figcaption></figure>\n");
        }
        if (!charts.skipped().isEmpty()) {
            sb.append("<p class=\"note\">Not drawn:</p>\n<ul class=\"note\">\n");
            for (Charts.Skipped s : charts.skipped()) {
                sb.append("<li>").append(esc(s.file())).append(": ").append(esc(s.reason())).append("</li>\n");
            }
            sb.append("</ul>\n");
        }
        sb.append("</body>\n</html>\n");
        return sb.toString();
    }

    /** A definition as a sentence: capitalised, ending with a full stop. */
    private static String sentence(String s) {
        String t = s.strip();
        if (t.isEmpty()) {
            return t;
        }
        t = Character.toUpperCase(t.charAt(0)) + t.substring(1);
        return t.endsWith(".") ? t : t + ".";
    }

    /** Cells from index {@code firstNumeric} on are right-aligned. */
    private static void table(StringBuilder sb, List<String> header, List<List<String>> rows, int firstNumeric) {
        sb.append("<table>\n<tr>");
        for (String h : header) {
            sb.append("<th>").append(esc(h)).append("</th>");
        }
        sb.append("</tr>\n");
        for (List<String> row : rows) {
            sb.append("<tr>");
            for (int i = 0; i < row.size(); i++) {
                sb.append(i >= firstNumeric ? "<td class=\"n\">" : "<td>").append(esc(row.get(i))).append("</td>");
            }
            sb.append("</tr>\n");
        }
        sb.append("</table>\n");
    }

    private static String text(Object o) {
        if (o == null) {
            return "";
        }
        if (o instanceof Collection<?> c) {
            return String.join(", ", c.stream().map(HtmlReport::text).toList());
        }
        if (o instanceof Map<?, ?> m) {
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!sb.isEmpty()) {
                    sb.append("; ");
                }
                sb.append(e.getKey()).append(": ").append(text(e.getValue()));
            }
            return sb.toString();
        }
        return o.toString();
    }

    /** HTML-escapes text for element content and double-quoted attributes. */
    static String esc(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(ch);
            }
        }
        return sb.toString();
    }
}
