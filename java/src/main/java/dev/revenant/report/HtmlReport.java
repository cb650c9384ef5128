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

    /** Renders the charts, writes them and {@code report.html} into {@code out} (each atomically). */
    public static void write(Path out, Map<String, Object> manifest, List<String> precisions, List<CellRow> cells)
            throws IOException {
        Charts.Result charts = Charts.write(out, manifest, precisions, cells);
        Reports.atomicWrite(out.resolve("report.html"), html(manifest, precisions, cells, charts));
    }

    static String html(Map<String, Object> manifest, List<String> precisions, List<CellRow> cells, Charts.Result charts) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Revenant sweep report</title>\n");
        sb.append("<style>\n")
                .append("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}\n")
                .append("h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}\n")
                .append("table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.25em .6em}\n")
                .append("th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\n")
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
