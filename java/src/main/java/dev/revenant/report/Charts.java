package dev.revenant.report;

import dev.revenant.eval.EvalRun;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.style.Styler;

/**
 * PNG charts of a sweep, drawn with XChart into memory (no window is opened, so no display is needed):
 * {@code metric_<metric>.png} per metric that was run (x = precision in sweep order, y = metric ×100, one
 * line per model) and {@code recovery.png} (grouped bars of VerbMem and KnowMem-forget retention per
 * unlearned model × precision) and, with same-bucket diagnostics, {@code buckets.png} (the same-bucket fraction
 * per decoder layer, one line per unlearned model × precision). A chart that would be empty is not drawn; the
 * reason is kept for the HTML.
 */
public final class Charts {
    public static final int WIDTH = 900;
    public static final int HEIGHT = 540;

    /** A drawn chart: its file name in {@code out}, title and PNG bytes. */
    public record Chart(String file, String title, byte[] png) {
    }

    /** A chart not drawn, and why. */
    public record Skipped(String file, String reason) {
    }

    /** What {@link #render} produced. */
    public record Result(List<Chart> charts, List<Skipped> skipped) {
    }

    /** A metric: its id (as in results.json), label and how to read it from a summary. */
    record Metric(String id, String label, String unit, ToDoubleFunction<EvalRun.Summary> value) {
    }

    static final List<Metric> METRICS = List.of(
            new Metric("verbmem_f", "VerbMem", "×100", EvalRun.Summary::verbmemF),
            new Metric("knowmem_f", "KnowMem-forget", "×100", EvalRun.Summary::knowmemF),
            new Metric("privleak", "PrivLeak", "%", EvalRun.Summary::privleak),
            new Metric("knowmem_r", "KnowMem-retain", "×100", EvalRun.Summary::knowmemR));

    private Charts() {
    }

    /** Renders the charts and writes each atomically into {@code out}; stale files of skipped charts are removed. */
    public static Result write(Path out, Map<String, Object> manifest, List<String> precisions, List<CellRow> cells)
            throws IOException {
        return write(out, manifest, precisions, cells, null);
    }

    /** As {@link #write(Path, Map, List, List)}, plus {@code buckets.png} when {@code buckets} is not null. */
    public static Result write(Path out, Map<String, Object> manifest, List<String> precisions, List<CellRow> cells,
                               SameBucket.Data buckets) throws IOException {
        Result r = render(manifest, precisions, cells, buckets);
        for (Chart c : r.charts()) {
            Reports.atomicWrite(out.resolve(c.file()), c.png());
        }
        for (Skipped s : r.skipped()) {
            Files.deleteIfExists(out.resolve(s.file()));
        }
        return r;
    }

    /** Renders the charts in memory. */
    public static Result render(Map<String, Object> manifest, List<String> precisions, List<CellRow> cells)
            throws IOException {
        return render(manifest, precisions, cells, null);
    }

    /** Renders the charts in memory, {@code buckets.png} too when {@code buckets} is not null. */
    public static Result render(Map<String, Object> manifest, List<String> precisions, List<CellRow> cells,
                                SameBucket.Data buckets) throws IOException {
        List<Chart> charts = new ArrayList<>();
        List<Skipped> skipped = new ArrayList<>();
        Object listed = manifest == null ? null : manifest.get("metrics");
        for (Metric m : METRICS) {
            String file = "metric_" + m.id() + ".png";
            if (listed instanceof Collection<?> run && !run.contains(m.id())) {
                skipped.add(new Skipped(file, m.label() + " was not run"));
                continue;
            }
            CategoryChart chart = metricChart(m, precisions, cells);
            if (chart == null) {
                skipped.add(new Skipped(file, m.label() + " has no values (not run, or n/a in every cell)"));
            } else {
                charts.add(new Chart(file, chart.getTitle(), BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG)));
            }
        }
        List<Recovery.Row> rec = Recovery.rows(cells, precisions);
        CategoryChart chart = recoveryChart(rec);
        if (chart == null) {
            skipped.add(new Skipped("recovery.png", rec.isEmpty()
                    ? "no knowledge-recovery chart: the sweep has no target model or no unlearned model"
                    : "no knowledge-recovery chart: every retention is n/a"));
        } else {
            charts.add(new Chart("recovery.png", chart.getTitle(), BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG)));
        }
        if (buckets != null) {
            CategoryChart b = bucketChart(buckets);
            if (b == null) {
                skipped.add(new Skipped("buckets.png", "no same-bucket chart: no decoder weight differs between an unlearned "
                        + "model and the target at any quantized precision"));
            } else {
                charts.add(new Chart("buckets.png", b.getTitle(), BitmapEncoder.getBitmapBytes(b, BitmapEncoder.BitmapFormat.PNG)));
            }
        }
        return new Result(charts, skipped);
    }

    /**
     * Per decoder layer (x), the same-bucket fraction (%) of the weights unlearning changed in that layer's
     * Linear tensors together (Σ same / Σ changed), one line per unlearned model × precision; null when no
     * layer has a changed weight.
     */
    static CategoryChart bucketChart(SameBucket.Data d) {
        BucketSeries bs = bucketSeries(d);
        CategoryChart chart = base("Same bucket: unlearning-changed weights that quantize to the target's value",
                "Decoder layer", "Same-bucket fraction (%)");
        chart.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
        chart.getStyler().setMarkerSize(6);
        chart.getStyler().setOverlapped(true);
        if (bs.series().size() > 4) { // a horizontal legend under the plot would run off the image
            chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
            chart.getStyler().setLegendLayout(Styler.LegendLayout.Vertical);
        }
        int drawn = 0;
        for (Map.Entry<String, List<Double>> e : bs.series().entrySet()) {
            if (e.getValue().stream().anyMatch(java.util.Objects::nonNull)) {
                chart.addSeries(e.getKey(), bs.layers(), e.getValue());
                drawn++;
            }
        }
        return drawn == 0 ? null : chart;
    }

    /** The per-layer points of buckets.png: x = layer labels; per "model @ precision", % per layer (null: none changed). */
    record BucketSeries(List<String> layers, Map<String, List<Double>> series) {
    }

    static BucketSeries bucketSeries(SameBucket.Data d) {
        java.util.TreeSet<Integer> layers = new java.util.TreeSet<>();
        Map<String, Map<Integer, long[]>> acc = new java.util.LinkedHashMap<>();
        for (SameBucket.Row r : d.rows()) {
            if (r.layer() < 0) {
                continue;
            }
            layers.add(r.layer());
            long[] a = acc.computeIfAbsent(r.model() + " @ " + r.precision(), k -> new java.util.HashMap<>())
                    .computeIfAbsent(r.layer(), k -> new long[2]);
            a[0] += r.changed();
            a[1] += r.sameBucket();
        }
        Map<String, List<Double>> series = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, Map<Integer, long[]>> e : acc.entrySet()) {
            List<Double> ys = new ArrayList<>();
            for (int l : layers) {
                long[] v = e.getValue().get(l);
                ys.add(v != null && v[0] > 0 ? 100.0 * v[1] / v[0] : null);
            }
            series.put(e.getKey(), ys);
        }
        return new BucketSeries(layers.stream().map(String::valueOf).toList(), series);
    }

    /** One line per model over the precisions; null when no model has a value. */
    static CategoryChart metricChart(Metric m, List<String> precisions, List<CellRow> cells) {
        CategoryChart chart = base(m.label() + " by precision", "Precision", m.label() + " (" + m.unit() + ")");
        chart.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
        chart.getStyler().setMarkerSize(8);
        chart.getStyler().setOverlapped(true); // every model's point sits on its precision, not offset as in grouped bars
        List<String> models = cells.stream().map(CellRow::model).distinct().toList();
        int drawn = 0;
        for (String model : models) {
            List<Double> ys = new ArrayList<>();
            boolean any = false;
            for (String p : precisions) {
                double v = value(cells, model, p, m.value());
                ys.add(finite(v) ? v : null);
                any |= finite(v);
            }
            if (any) {
                chart.addSeries(seriesName(model, cells), precisions, ys);
                drawn++;
            }
        }
        return drawn == 0 ? null : chart;
    }

    /** Grouped bars of the two retentions (%) per unlearned model × precision; null when all are n/a. */
    static CategoryChart recoveryChart(List<Recovery.Row> rec) {
        if (rec.isEmpty()) {
            return null;
        }
        CategoryChart chart = base("Knowledge recovery: retention = unlearned / target at the same precision",
                "Unlearned model @ precision (n/a: no bar)", "Retention (%)");
        chart.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Bar);
        chart.getStyler().setXAxisLabelRotation(rec.size() > 6 ? 45 : 0);
        List<String> xs = new ArrayList<>();
        List<Double> verb = new ArrayList<>();
        List<Double> know = new ArrayList<>();
        boolean anyV = false;
        boolean anyK = false;
        for (Recovery.Row r : rec) {
            boolean v = finite(r.verbmemRatio());
            boolean k = finite(r.knowmemRatio());
            xs.add(r.model() + " @ " + r.precision() + (v && k ? "" : " (n/a)"));
            verb.add(v ? r.verbmemRatio() * 100 : null);
            know.add(k ? r.knowmemRatio() * 100 : null);
            anyV |= v;
            anyK |= k;
        }
        if (!anyV && !anyK) {
            return null;
        }
        // XChart needs at least one number per series; an all-n/a series is left out (and named so)
        chart.addSeries(anyV ? "VerbMem retention" : "VerbMem retention (all n/a)", xs, anyV ? verb : zeros(xs.size()));
        chart.addSeries(anyK ? "KnowMem-forget retention" : "KnowMem-forget retention (all n/a)", xs, anyK ? know : zeros(xs.size()));
        return chart;
    }

    private static CategoryChart base(String title, String x, String y) {
        CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(x).yAxisTitle(y).build();
        Styler s = chart.getStyler();
        s.setLegendPosition(Styler.LegendPosition.OutsideS);
        s.setLegendLayout(Styler.LegendLayout.Horizontal);
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotGridLinesColor(new Color(220, 220, 220));
        chart.getStyler().setAvailableSpaceFill(0.8);
        return chart;
    }

    private static List<Double> zeros(int n) {
        List<Double> z = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            z.add(0.0);
        }
        return z;
    }

    private static String seriesName(String model, List<CellRow> cells) {
        String role = cells.stream().filter(c -> c.model().equals(model)).map(CellRow::role).findFirst().orElse("");
        return role.isEmpty() ? model : model + " (" + role + ")";
    }

    private static double value(List<CellRow> cells, String model, String precision, ToDoubleFunction<EvalRun.Summary> f) {
        for (CellRow c : cells) {
            if (c.model().equals(model) && c.precision().equals(precision)) {
                return f.applyAsDouble(c.summary());
            }
        }
        return Double.NaN;
    }

    private static boolean finite(double v) {
        return !Double.isNaN(v) && !Double.isInfinite(v);
    }
}
