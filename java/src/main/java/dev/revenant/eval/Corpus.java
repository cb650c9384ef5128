package dev.revenant.eval;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The AUC of the retrained model per MIA feature, the reference PrivLeak is measured against
 * ([FQ] {@code constants.py} {@code AUC_RETRAIN}, key {@code forget_holdout_<feature>}; muse-spec §3.3
 * step 4). Min-40% uses the full-precision literals; the others are given to 4 digits in the source.
 *
 * @param name       "news", "books" or "custom"
 * @param aucRetrain feature name (e.g. {@code "Min-40%"}) to AUC_retrain for {@code forget_holdout_<feature>}
 */
public record Corpus(String name, Map<String, Double> aucRetrain) {
    public static final Corpus NEWS = new Corpus("news", table(
            0.4652, 0.2755, 0.3542, 0.4328, 0.5116, 0.5021, 0.4931, 0.4840, 0.47719999999999996, 0.4711, 0.4671));
    public static final Corpus BOOKS = new Corpus("books", table(
            0.4746, 0.3403, 0.3957, 0.2773, 0.5325, 0.5424, 0.5582, 0.5570, 0.5392999999999999, 0.5167, 0.4841));

    public Corpus {
        aucRetrain = Map.copyOf(aucRetrain);
        for (Map.Entry<String, Double> e : aucRetrain.entrySet()) {
            if (!(e.getValue() > 0 && e.getValue() <= 1)) {
                throw new IllegalArgumentException(name + ": AUC_retrain for " + e.getKey() + " must be in (0, 1], got " + e.getValue());
            }
        }
    }

    /** A user-supplied AUC_retrain for the default key (forget_holdout_Min-40%). */
    public static Corpus custom(double aucRetrainMin40) {
        return new Corpus("custom", Map.of(PrivLeak.DEFAULT_FEATURE, aucRetrainMin40));
    }

    /** {@code news} or {@code books}, any case. */
    public static Corpus parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "news" -> NEWS;
            case "books" -> BOOKS;
            default -> throw new IllegalArgumentException("unknown corpus '" + s + "'; supported: news, books");
        };
    }

    /** AUC_retrain for {@code forget_holdout_<feature>}. */
    public double aucRetrain(String feature) {
        Double v = aucRetrain.get(feature);
        if (v == null) {
            throw new IllegalArgumentException(name + ": no AUC_retrain for feature '" + feature + "'; known: "
                    + new java.util.TreeSet<>(aucRetrain.keySet()));
        }
        return v;
    }

    private static Map<String, Double> table(double ppl, double pplRef, double pplLower, double pplZlib,
            double min5, double min10, double min20, double min30, double min40, double min50, double min60) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("PPL", ppl);
        m.put("PPL/ref", pplRef);
        m.put("PPL/lower", pplLower);
        m.put("PPL/zlib", pplZlib);
        m.put("Min-5%", min5);
        m.put("Min-10%", min10);
        m.put("Min-20%", min20);
        m.put("Min-30%", min30);
        m.put("Min-40%", min40);
        m.put("Min-50%", min50);
        m.put("Min-60%", min60);
        return m;
    }
}
