package dev.revenant.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.revenant.eval.Auc;
import dev.revenant.eval.Corpus;
import dev.revenant.eval.PrivLeak;
import dev.revenant.eval.PrivLeakLog;
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
 * {@code revenant auc --log privleak/log.json}: every {@code {A}_{B}_{feature}} AUC of MUSE's
 * auc.json from the logged MIA features (sklearn's procedure, bit-exact), and PrivLeak for the
 * default key when a corpus (or a custom AUC_retrain) is given.
 */
@Command(name = "auc", mixinStandardHelpOptions = true,
        description = {"Compute MUSE's PrivLeak AUCs from a privleak log.json ({split: [{text, PPL, ..., Min-60%%}]}):",
                "every key {A}_{B}_{feature}, A labelled non-member (0), B member (1), roc_curve on -score.",
                "With --corpus (or --auc-retrain) also PrivLeak = (AUC - AUC_retrain) / AUC_retrain x 100 for "
                        + "forget_holdout_Min-40%%."})
public final class AucCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--log", required = true, paramLabel = "LOG.json", description = "a MUSE privleak/log.json")
    Path log;

    @Option(names = "--json", description = "print JSON instead of text")
    boolean json;

    @Option(names = "--corpus", paramLabel = "news|books",
            description = "report PrivLeak against this corpus's AUC_retrain (news 0.47719999999999996, books 0.5392999999999999)")
    String corpus;

    @Option(names = "--auc-retrain", paramLabel = "AUC",
            description = "report PrivLeak against this AUC_retrain for forget_holdout_Min-40%% instead of a corpus constant")
    Double aucRetrain;

    @Option(names = "--expect", paramLabel = "AUC.json",
            description = "a MUSE auc.json to compare with: counts keys reproduced exactly")
    Path expect;

    @Override
    public Integer call() throws Exception {
        if (corpus != null && aucRetrain != null) {
            throw new IllegalArgumentException("give --corpus or --auc-retrain, not both");
        }
        PrivLeakLog l = PrivLeakLog.load(log);
        Map<String, Double> table = Auc.table(l);
        Corpus c = aucRetrain != null ? Corpus.custom(aucRetrain) : corpus != null ? Corpus.parse(corpus) : null;

        Map<String, Object> o = new LinkedHashMap<>();
        o.put("log", log.toString());
        o.put("auc", table);
        if (c != null) {
            Double auc = table.get(PrivLeak.DEFAULT_KEY);
            if (auc == null) {
                throw new IllegalArgumentException(log + ": no " + PrivLeak.DEFAULT_KEY + " (the log needs forget and holdout splits and Min-40%)");
            }
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("key", PrivLeak.DEFAULT_KEY);
            p.put("corpus", c.name());
            p.put("auc", auc);
            p.put("auc_retrain", c.aucRetrain(PrivLeak.DEFAULT_FEATURE));
            p.put("privleak", PrivLeak.of(auc, c, PrivLeak.DEFAULT_FEATURE));
            o.put("privleak", p);
        }
        if (expect != null) {
            o.put("expect", compare(table, new ObjectMapper().readTree(expect.toFile())));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(o));
            out.flush();
            return 0;
        }
        out.printf("%s: splits %s, features %s%n", log, l.splits().keySet(), l.features());
        for (Map.Entry<String, Double> e : table.entrySet()) {
            out.printf("  %-32s %s%n", e.getKey(), e.getValue());
        }
        if (o.get("privleak") instanceof Map<?, ?> p) {
            out.printf("privleak %s (%s, AUC %s, AUC_retrain %s): %s%n", p.get("key"), p.get("corpus"), p.get("auc"),
                    p.get("auc_retrain"), p.get("privleak"));
        }
        if (o.get("expect") instanceof Map<?, ?> x) {
            out.printf("%s/%s keys of %s reproduced exactly; max |delta| %s%s%n", x.get("exact"), x.get("total"), expect,
                    x.get("max_abs_diff"), ((List<?>) x.get("missing")).isEmpty() ? "" : "; missing " + x.get("missing"));
        }
        out.flush();
        return 0;
    }

    private static Map<String, Object> compare(Map<String, Double> table, JsonNode expected) {
        int exact = 0;
        int total = 0;
        double maxDiff = 0;
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : expected.properties()) {
            total++;
            Double v = table.get(e.getKey());
            if (v == null) {
                missing.add(e.getKey());
                continue;
            }
            double want = e.getValue().asDouble();
            exact += Double.compare(v, want) == 0 ? 1 : 0;
            maxDiff = Math.max(maxDiff, Math.abs(v - want));
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("exact", exact);
        r.put("total", total);
        r.put("max_abs_diff", maxDiff);
        r.put("missing", missing);
        return r;
    }
}
