package dev.revenant.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The "same bucket" diagnostic of a sweep with a target model: for each unlearned model, packed precision and
 * quantized tensor (the Linear layers inside the decoder blocks), among the weights unlearning changed
 * ({@code unlearned != target} as floats), how many quantize to the same value as the target's weight at that
 * precision, i.e. how much of the unlearning update the quantizer rounds away. Written as {@code buckets.csv}
 * (one row per tensor) and as {@code "same_bucket"} in {@code results.json} (one weighted summary per model and
 * precision). Values are compared after dequantization (for {@code int8}: {@code CB * SCB / 127}, so a weight
 * whose row scale moved counts as a different bucket even when its int8 code did not).
 */
public final class SameBucket {
    public static final String DEFINITION = "among weights of the decoder Linear layers where unlearned != target (fp32 compare), "
            + "the fraction whose dequantized value at the precision equals the target's dequantized value "
            + "(int8: CB*SCB/127); fraction = same_bucket/changed, summary weighted by changed";

    /** One tensor at one precision of one unlearned model; {@code layer} is -1 outside the decoder blocks. */
    public record Row(String model, String precision, String tensor, int layer, long changed, long sameBucket) {
        /** {@code sameBucket / changed}; NaN when nothing changed. */
        public double fraction() {
            return changed == 0 ? Double.NaN : (double) sameBucket / changed;
        }
    }

    /** A (model, precision) pair, or a whole model ({@code precision} "*"), left out, with the reason. */
    public record Skip(String model, String precision, String reason) {
    }

    /** Every row (in model, precision, tensor order) and what was left out. */
    public record Data(String target, List<Row> rows, List<Skip> skipped) {
        public Data {
            rows = List.copyOf(rows);
            skipped = List.copyOf(skipped);
        }
    }

    /** One model × precision summed over its tensors. */
    public record Summary(String model, String precision, int tensors, long changed, long sameBucket) {
        public double fraction() {
            return changed == 0 ? Double.NaN : (double) sameBucket / changed;
        }
    }

    private SameBucket() {
    }

    public static final String CSV_HEADER = "model,precision,tensor,layer,changed,same_bucket,fraction";

    public static String csv(List<Row> rows) {
        StringBuilder sb = new StringBuilder(CSV_HEADER).append('\n');
        for (Row r : rows) {
            double f = r.fraction();
            sb.append(String.join(",", r.model(), r.precision(), r.tensor(), Integer.toString(r.layer()),
                    Long.toString(r.changed()), Long.toString(r.sameBucket()), Double.isNaN(f) ? "" : Double.toString(f)))
                    .append('\n');
        }
        return sb.toString();
    }

    /** Per model × precision, in first-seen order. */
    public static List<Summary> summaries(List<Row> rows) {
        Map<String, long[]> acc = new LinkedHashMap<>();
        Map<String, Row> first = new LinkedHashMap<>();
        for (Row r : rows) {
            String k = r.model() + "\u0000" + r.precision();
            first.putIfAbsent(k, r);
            long[] a = acc.computeIfAbsent(k, x -> new long[3]);
            a[0]++;
            a[1] += r.changed();
            a[2] += r.sameBucket();
        }
        List<Summary> out = new ArrayList<>();
        for (Map.Entry<String, long[]> e : acc.entrySet()) {
            Row r = first.get(e.getKey());
            long[] a = e.getValue();
            out.add(new Summary(r.model(), r.precision(), (int) a[0], a[1], a[2]));
        }
        return out;
    }

    /** The {@code "same_bucket"} object of results.json. */
    static Map<String, Object> json(Data d) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("definition", DEFINITION);
        root.put("target", d.target());
        List<Map<String, Object>> sums = new ArrayList<>();
        for (Summary s : summaries(d.rows())) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", s.model());
            m.put("precision", s.precision());
            m.put("tensors", s.tensors());
            m.put("changed", s.changed());
            m.put("same_bucket", s.sameBucket());
            double f = s.fraction();
            m.put("fraction", Double.isNaN(f) ? null : f);
            sums.add(m);
        }
        root.put("summary", sums);
        List<Map<String, Object>> skips = new ArrayList<>();
        for (Skip s : d.skipped()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", s.model());
            m.put("precision", s.precision());
            m.put("reason", s.reason());
            skips.add(m);
        }
        root.put("skipped", skips);
        return root;
    }
}
