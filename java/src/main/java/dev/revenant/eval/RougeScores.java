package dev.revenant.eval;

import java.util.List;

/**
 * The four per-item scores MUSE logs ({@code metrics/logger.py} {@code RougeEvalLogger}, muse-spec §3.4):
 * ROUGE-L F1 and recall, ROUGE-1 F1 and recall, in that order.
 */
public record RougeScores(double rougeL, double rougeLRecall, double rouge1, double rouge1Recall) {
    /** The log.json / agg.json names, in MUSE's order. */
    public static final List<String> NAMES = List.of("rougeL", "rougeL_recall", "rouge1", "rouge1_recall");

    /** Scores one item as MUSE does: {@code score(target=gt, prediction=response)}. */
    public static RougeScores of(String target, String prediction) {
        List<String> t = Rouge.tokenize(target);
        List<String> p = Rouge.tokenize(prediction);
        Rouge.Score l = Rouge.rougeL(t, p);
        Rouge.Score u = Rouge.rouge1(t, p);
        return new RougeScores(l.fmeasure(), l.recall(), u.fmeasure(), u.recall());
    }

    /** The score at position {@code i} of {@link #NAMES}. */
    public double get(int i) {
        return switch (i) {
            case 0 -> rougeL;
            case 1 -> rougeLRecall;
            case 2 -> rouge1;
            case 3 -> rouge1Recall;
            default -> throw new IndexOutOfBoundsException("score " + i + " of " + NAMES);
        };
    }

    /** The largest |difference| over the four scores. */
    public double maxAbsDiff(RougeScores other) {
        double m = 0;
        for (int i = 0; i < NAMES.size(); i++) {
            m = Math.max(m, Math.abs(get(i) - other.get(i)));
        }
        return m;
    }
}
