package dev.revenant.eval;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A MUSE {@code log.json} of verbmem_f, knowmem_f or knowmem_r (muse-spec §3.4): a list of
 * {@code {prompt, gt, response, rougeL, rougeL_recall, rouge1, rouge1_recall[, question]}}. The
 * target is {@code gt}, or {@code answer} where a log names it so; the logged scores are kept so a
 * rescoring can be compared against them.
 *
 * @param file    where it was read from
 * @param entries the items, in file order
 */
public record RougeLog(Path file, List<Entry> entries) {
    /** One logged item. */
    public record Entry(int index, String target, String response, RougeScores logged) {
    }

    public RougeLog {
        entries = List.copyOf(entries);
    }

    public static RougeLog load(Path file) throws IOException {
        List<Entry> entries = JsonItems.readArrayFile(file, file.toString(), RougeLog::entry);
        return new RougeLog(file, entries);
    }

    private static Entry entry(int index, JsonNode n) throws JsonItems.Bad {
        JsonItems.requireObject(n);
        String target = n.has("gt") || !n.has("answer") ? JsonItems.string(n, "gt") : JsonItems.string(n, "answer");
        String response = JsonItems.string(n, "response");
        double[] s = new double[RougeScores.NAMES.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = JsonItems.number(n, RougeScores.NAMES.get(i));
        }
        return new Entry(index, target, response, new RougeScores(s[0], s[1], s[2], s[3]));
    }

    /** Scores every entry again from its target and response. */
    public List<RougeScores> rescore() {
        List<RougeScores> out = new ArrayList<>(entries.size());
        for (Entry e : entries) {
            out.add(RougeScores.of(e.target(), e.response()));
        }
        return out;
    }

    /** The logged scores, in entry order. */
    public List<RougeScores> logged() {
        return entries.stream().map(Entry::logged).toList();
    }

    /** {@link #agg(List, long)} with {@link Bootstrap#DEFAULT_SEED}. */
    public static Map<String, Double> agg(List<RougeScores> scores) {
        return agg(scores, Bootstrap.DEFAULT_SEED);
    }

    /**
     * MUSE's {@code agg.json}, same key names, order and scale (fractions, not ×100): for each of
     * {@link RougeScores#NAMES} {@code max_<s>} (Python {@code max}), {@code mean_<s>}
     * ({@link #mean}: Python's {@code sum(v)/len(v)}, bit-exact), {@code <s>_ci_lo}, {@code <s>_ci_hi}
     * (a seeded {@link Bootstrap}, not reproducing MUSE's unseeded CIs bit for bit).
     */
    public static Map<String, Double> agg(List<RougeScores> scores, long seed) {
        if (scores.isEmpty()) {
            throw new IllegalArgumentException("agg of an empty log");
        }
        Map<String, Double> out = new LinkedHashMap<>();
        for (int k = 0; k < RougeScores.NAMES.size(); k++) {
            String name = RougeScores.NAMES.get(k);
            double[] v = column(scores, k);
            double max = v[0];
            for (double x : v) {
                if (x > max) {
                    max = x;
                }
            }
            Bootstrap.Interval ci = Bootstrap.meanCi(v, Bootstrap.DEFAULT_LEVEL, Bootstrap.DEFAULT_RESAMPLES, seed);
            out.put("max_" + name, max);
            out.put("mean_" + name, mean(v));
            out.put(name + "_ci_lo", ci.low());
            out.put(name + "_ci_hi", ci.high());
        }
        return out;
    }

    /**
     * The mean as MUSE's agg.json has it: a left-to-right sum divided by the count (Python
     * {@code sum(v) / len(v)} before 3.12, whose {@code sum} is not compensated). Measured on the
     * fixtures: this reproduces all 24 {@code mean_*} values, while numpy's pairwise {@code np.mean}
     * misses 9 of them by an ulp or two, and a correctly rounded mean ({@code math.fsum}) misses 10.
     */
    public static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    /** Score {@code k} of {@link RougeScores#NAMES} over all items. */
    public static double[] column(List<RougeScores> scores, int k) {
        double[] v = new double[scores.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = scores.get(i).get(k);
        }
        return v;
    }
}
