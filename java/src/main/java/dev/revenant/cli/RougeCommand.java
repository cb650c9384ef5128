package dev.revenant.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.revenant.eval.Bootstrap;
import dev.revenant.eval.RougeLog;
import dev.revenant.eval.RougeScores;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code revenant rouge --log LOG.json}: rescores a MUSE verbmem/knowmem log with ROUGE
 * (rouge_score semantics, muse-spec §3.5) and says how many items reproduce the logged values.
 */
@Command(name = "rouge", mixinStandardHelpOptions = true,
        description = {"Rescore a MUSE verbmem_f/knowmem_f/knowmem_r log.json with ROUGE-L and ROUGE-1",
                "(Google rouge_score 0.1.x, no stemming) and compare with the logged scores.",
                "Prints rougeL, rougeL_recall, rouge1, rouge1_recall per item and their means (fractions, not x100)."})
public final class RougeCommand implements Callable<Integer> {
    /** Largest |difference| for an item to count as reproducing its logged value. */
    static final double TOLERANCE = 1e-12;

    @Spec
    CommandSpec spec;

    @Option(names = "--log", required = true, paramLabel = "LOG.json",
            description = "a MUSE log.json: a list of {gt|answer, response, rougeL, rougeL_recall, rouge1, rouge1_recall}")
    Path log;

    @Option(names = "--json", description = "print JSON instead of text")
    boolean json;

    @Option(names = "--seed", defaultValue = "" + Bootstrap.DEFAULT_SEED, paramLabel = "N",
            description = "seed of the bootstrap CIs in the JSON agg (MUSE's are unseeded; default: ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() throws Exception {
        RougeLog l = RougeLog.load(log);
        List<RougeScores> scores = l.rescore();
        PrintWriter out = spec.commandLine().getOut();
        int matched = 0;
        double maxDiff = 0;
        List<Map<String, Object>> items = new ArrayList<>();
        for (int i = 0; i < scores.size(); i++) {
            RougeScores s = scores.get(i);
            RougeScores logged = l.entries().get(i).logged();
            double d = s.maxAbsDiff(logged);
            boolean match = d <= TOLERANCE;
            matched += match ? 1 : 0;
            maxDiff = Math.max(maxDiff, d);
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("index", i);
            for (int k = 0; k < RougeScores.NAMES.size(); k++) {
                e.put(RougeScores.NAMES.get(k), s.get(k));
            }
            e.put("matches_log", match);
            if (!match) {
                e.put("logged", logged);
            }
            items.add(e);
        }
        Map<String, Double> mean = new LinkedHashMap<>();
        for (int k = 0; k < RougeScores.NAMES.size(); k++) {
            mean.put(RougeScores.NAMES.get(k), RougeLog.mean(RougeLog.column(scores, k)));
        }
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("log", log.toString());
            o.put("items", items);
            o.put("mean", mean);
            o.put("agg", RougeLog.agg(scores, seed));
            o.put("matched", matched);
            o.put("total", scores.size());
            o.put("tolerance", TOLERANCE);
            o.put("max_abs_diff", maxDiff);
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(o));
            out.flush();
            return 0;
        }
        out.printf("%s: %d items%n", log, scores.size());
        out.printf("%6s  %-10s %-14s %-10s %-14s %s%n", "item", "rougeL", "rougeL_recall", "rouge1", "rouge1_recall", "logged");
        for (Map<String, Object> e : items) {
            out.printf("%6d  %-10.6f %-14.6f %-10.6f %-14.6f %s%n", e.get("index"), e.get("rougeL"), e.get("rougeL_recall"),
                    e.get("rouge1"), e.get("rouge1_recall"), (Boolean) e.get("matches_log") ? "=" : "DIFFERS " + e.get("logged"));
        }
        out.printf("mean    rougeL %s  rougeL_recall %s  rouge1 %s  rouge1_recall %s%n",
                mean.get("rougeL"), mean.get("rougeL_recall"), mean.get("rouge1"), mean.get("rouge1_recall"));
        out.printf("%d/%d items equal the logged values (|delta| <= %s); max |delta| %s%n", matched, scores.size(), TOLERANCE, maxDiff);
        out.flush();
        return 0;
    }
}
