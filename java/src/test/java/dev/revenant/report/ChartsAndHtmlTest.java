package dev.revenant.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.eval.EvalRun;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PNG charts and report.html, from hand-set cells. */
class ChartsAndHtmlTest {
    static final double NAN = Double.NaN;
    static final String ODD = "ga<&>\"klr";
    static final List<String> PRECISIONS = List.of("fp32", "int8", "nf4");

    static CellRow row(String model, String role, String precision, double verbmem, double privleak, double knowF, double knowR) {
        return new CellRow(model, role, precision, new EvalRun.Summary(model, verbmem, privleak, knowF, knowR));
    }

    static List<CellRow> cells() {
        return List.of(
                row("target", "target", "fp32", 99.8, -100.0, 50.0, 60.0),
                row("target", "target", "int8", 98.0, -99.0, 49.0, 59.0),
                row("target", "target", "nf4", 85.3, -95.0, 0.0, 55.0),
                row(ODD, "unlearned", "fp32", 13.0, 20.0, 10.0, 45.0),
                row(ODD, "unlearned", "int8", 15.0, 10.0, 12.0, 44.0),
                row(ODD, "unlearned", "nf4", 75.6, -40.0, 20.0, 40.0),
                row("retrain", "retrain", "fp32", 20.0, 0.0, 30.0, 58.0),
                row("retrain", "retrain", "int8", 21.0, 1.0, 31.0, 57.0),
                row("retrain", "retrain", "nf4", 21.5, 2.0, 30.5, 55.0));
    }

    static Map<String, Object> manifest(List<String> metrics) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("revenant_version", "0.test");
        m.put("jvm", "25");
        m.put("cpu", "Test CPU <fast>");
        m.put("backend", "java");
        m.put("threads", 2);
        m.put("corpus", "books");
        m.put("preset", "smoke");
        m.put("seed", 7);
        m.put("metrics", metrics);
        m.put("precisions", PRECISIONS);
        m.put("started", "2026-01-01T00:00:00Z");
        m.put("ended", "2026-01-01T00:01:00Z");
        List<Map<String, Object>> models = new ArrayList<>();
        for (String[] nr : new String[][] {{"target", "target"}, {ODD, "unlearned"}, {"retrain", "retrain"}}) {
            Map<String, Object> mm = new LinkedHashMap<>();
            mm.put("name", nr[0]);
            mm.put("role", nr[1]);
            mm.put("path", "/models/" + nr[0]);
            mm.put("identity", Map.of("config_sha256", "abc123"));
            models.add(mm);
        }
        m.put("models", models);
        return m;
    }

    static final List<String> ALL = List.of("verbmem_f", "knowmem_f", "knowmem_r", "privleak");

    @Test
    void writesEveryChartAsAValidPngAndASelfContainedHtml(@TempDir Path out) throws IOException {
        HtmlReport.write(out, manifest(ALL), PRECISIONS, cells());
        List<String> files = List.of("metric_verbmem_f.png", "metric_knowmem_f.png", "metric_privleak.png",
                "metric_knowmem_r.png", "recovery.png");
        for (String f : files) {
            Path p = out.resolve(f);
            assertTrue(Files.isRegularFile(p), f);
            BufferedImage img = ImageIO.read(p.toFile());
            assertNotNull(img, f + " is a readable PNG");
            assertEquals(Charts.WIDTH, img.getWidth(), f);
            assertEquals(Charts.HEIGHT, img.getHeight(), f);
        }
        try (var list = Files.list(out)) {
            assertEquals(files.size() + 1, list.count(), "5 charts + report.html, no temporary files");
        }

        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.startsWith("<!DOCTYPE html>"));
        assertEquals(files.size(), count(html, "data:image/png;base64,"), "one embedded image per chart");
        assertFalse(html.contains(ODD), "the raw model name never appears unescaped");
        assertTrue(html.contains("ga&lt;&amp;&gt;&quot;klr"), "escaped model name");
        assertTrue(html.contains("Test CPU &lt;fast&gt;"), "manifest text is escaped");
        assertFalse(Pattern.compile("(src|href)=\"(https?:|//)").matcher(html).find(), "no external resources");
        // the same rows as table.md: same code, same numbers
        String esc = "ga&lt;&amp;&gt;&quot;klr";
        assertTrue(html.contains("<tr><td>" + esc + " + nf4</td><td class=\"n\">75.6</td><td class=\"n\">20.0</td>"
                + "<td class=\"n\">-40.0</td><td class=\"n\">40.0</td></tr>"), html);
        assertTrue(html.contains("<tr><td>target</td><td class=\"n\">99.8</td>"), html);
        assertTrue(html.contains("<tr><td>" + esc + "</td><td>nf4</td><td class=\"n\">88.6%</td><td class=\"n\">+75.6 pp</td>"
                + "<td class=\"n\">n/a</td><td class=\"n\">n/a</td></tr>"), html);
        assertTrue(html.contains(HtmlReport.esc(Recovery.DEFINITION)), "retention labelled as in table.md");

        // each formatted number in the HTML tables also sits in table.md's rows
        List<Recovery.Row> rec = Recovery.rows(cells(), PRECISIONS);
        String md = Reports.markdown(PRECISIONS, cells(), rec);
        for (List<String> r : Reports.recoveryRows(rec)) {
            assertTrue(md.contains("| " + String.join(" | ", r) + " |"), r.toString());
        }
    }

    @Test
    void noChartFilesForMetricsNotRunAndNoRecoveryWithoutTarget(@TempDir Path out) throws IOException {
        // stale files from an earlier run in the same folder are removed with the chart
        Files.writeString(out.resolve("metric_privleak.png"), "stale");
        Files.writeString(out.resolve("recovery.png"), "stale");
        List<CellRow> noTarget = new ArrayList<>();
        for (CellRow c : cells()) {
            if (!c.role().equals("target")) {
                EvalRun.Summary s = c.summary();
                noTarget.add(new CellRow(c.model(), c.role(), c.precision(),
                        new EvalRun.Summary(s.name(), s.verbmemF(), NAN, s.knowmemF(), NAN)));
            }
        }
        HtmlReport.write(out, manifest(List.of("verbmem_f", "knowmem_f")), PRECISIONS, noTarget);
        assertTrue(Files.exists(out.resolve("metric_verbmem_f.png")));
        assertTrue(Files.exists(out.resolve("metric_knowmem_f.png")));
        assertFalse(Files.exists(out.resolve("metric_privleak.png")), "not run → no chart");
        assertFalse(Files.exists(out.resolve("metric_knowmem_r.png")), "not run → no chart");
        assertFalse(Files.exists(out.resolve("recovery.png")), "no target → no recovery chart");
        String html = Files.readString(out.resolve("report.html"));
        assertEquals(2, count(html, "data:image/png;base64,"));
        assertTrue(html.contains("recovery.png: no knowledge-recovery chart: the sweep has no target model"), html);
        assertTrue(html.contains("metric_privleak.png: PrivLeak was not run"), html);
        assertTrue(html.contains(HtmlReport.esc(Reports.NO_RECOVERY)), html);
    }

    @Test
    void metricWithNoValuesIsSkippedEvenWithoutAMetricsList() throws IOException {
        List<CellRow> cs = List.of(row("a", "target", "fp32", 1, NAN, NAN, NAN), row("a", "target", "nf4", NAN, NAN, NAN, NAN));
        Charts.Result r = Charts.render(Map.of(), List.of("fp32", "nf4"), cs);
        assertEquals(List.of("metric_verbmem_f.png"), r.charts().stream().map(Charts.Chart::file).toList());
        assertEquals(4, r.skipped().size(), "three empty metrics + recovery");
    }

    @Test
    void recoveryChartDrawnWhenOneRetentionIsAllNa() throws IOException {
        List<CellRow> cs = List.of(row("t", "target", "fp32", 50, 0, 0, 0), row("u", "unlearned", "fp32", 10, 0, 5, 0));
        Charts.Result r = Charts.render(Map.of(), List.of("fp32"), cs);
        assertTrue(r.charts().stream().anyMatch(c -> c.file().equals("recovery.png")), r.skipped().toString());
    }

    private static int count(String s, String needle) {
        Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(s);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    @Test
    void bucketChartPerLayerAndDiagnosticSectionsInTheHtml(@TempDir Path out) throws IOException {
        // layer 0: 3 of 4 changed weights in the same bucket at nf4 (75%), layer 1: 1 of 4 (25%); int8: none changed in layer 1
        List<SameBucket.Row> rows = List.of(
                new SameBucket.Row(ODD, "nf4", "model.layers.0.self_attn.q_proj.weight", 0, 2, 2),
                new SameBucket.Row(ODD, "nf4", "model.layers.0.mlp.up_proj.weight", 0, 2, 1),
                new SameBucket.Row(ODD, "nf4", "model.layers.1.self_attn.q_proj.weight", 1, 4, 1),
                new SameBucket.Row(ODD, "int8", "model.layers.0.self_attn.q_proj.weight", 0, 5, 5),
                new SameBucket.Row(ODD, "int8", "model.layers.1.self_attn.q_proj.weight", 1, 0, 0));
        SameBucket.Data buckets = new SameBucket.Data("target", rows, List.of());
        assertNotNull(Charts.bucketChart(buckets));
        Charts.BucketSeries bs = Charts.bucketSeries(buckets);
        assertEquals(List.of("0", "1"), bs.layers());
        List<Double> nf4 = bs.series().get(ODD + " @ nf4");
        assertEquals(75.0, nf4.get(0), 1e-12);
        assertEquals(25.0, nf4.get(1), 1e-12);
        List<Double> int8 = bs.series().get(ODD + " @ int8");
        assertEquals(100.0, int8.get(0), 1e-12);
        assertEquals(null, int8.get(1), "no changed weight in layer 1: no point, not 0");

        Reemergence.Data re = new Reemergence.Data(0.2, List.of(), List.of(new Reemergence.Summary(ODD, "nf4", "verbmem_f", 3, 10)));
        HtmlReport.write(out, manifest(ALL), PRECISIONS, cells(), new HtmlReport.Extras(buckets, re, null));
        BufferedImage img = ImageIO.read(out.resolve("buckets.png").toFile());
        assertNotNull(img, "buckets.png is a readable PNG");
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("<h2>Same-bucket diagnostics</h2>"), html);
        assertTrue(html.contains("<td class=\"n\">50.0%</td>"), "nf4 overall: 4 of 8 changed weights"); 
        assertTrue(html.contains("<h2>Per-item re-emergence</h2>"), html);
        assertTrue(html.contains(">buckets.png</figcaption>"), "the per-layer chart is embedded");

        SameBucket.Data none = new SameBucket.Data("target", List.of(new SameBucket.Row(ODD, "nf4", "t", 0, 0, 0)), List.of());
        Charts.Result r = Charts.render(Map.of(), PRECISIONS, cells(), none);
        assertTrue(r.skipped().stream().anyMatch(sk -> sk.file().equals("buckets.png")), "nothing changed: no chart, with the reason");
    }
}
