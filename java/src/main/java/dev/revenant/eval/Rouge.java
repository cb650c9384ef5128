package dev.revenant.eval;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * ROUGE-L and ROUGE-1 as Google's {@code rouge_score} 0.1.x computes them with
 * {@code use_stemmer=False}, called as {@code score(target=gt, prediction=output)} (muse-spec §3.5).
 *
 * <p>Every division and the F-measure are written in the same order as rouge_score's
 * ({@code lcs / len(pred)}, {@code 2 * p * r / (p + r)}), so the doubles are bit-identical to
 * the logged Python floats.
 */
public final class Rouge {
    /** One ROUGE score triple, as rouge_score's {@code Score(precision, recall, fmeasure)}. */
    public record Score(double precision, double recall, double fmeasure) {
        static final Score ZERO = new Score(0, 0, 0);

        static Score of(double precision, double recall) {
            return new Score(precision, recall, Rouge.fmeasure(precision, recall));
        }
    }

    private Rouge() {
    }

    /**
     * rouge_score's tokenizer without stemming: lowercase, turn every run of {@code [^a-z0-9]} into a
     * space, split on whitespace, keep tokens matching {@code ^[a-z0-9]+$}. After the substitution the
     * string holds only {@code [a-z0-9]} and spaces, so the tokens are exactly the maximal
     * {@code [a-z0-9]} runs of the lowercased text, which is what this scan returns.
     *
     * <p>Lowercasing: Python's {@code str.lower()} and Java's {@code toLowerCase(Locale.ROOT)} both
     * apply the full Unicode mappings (U+0130 'İ' becomes "i" + U+0307 in both; final sigma in both).
     * Only code points whose lowercase contains an ASCII letter or digit can change the tokens: besides
     * A–Z these are U+0130 (→ "i̇") and U+212A KELVIN SIGN (→ "k"), mapped the same by both (checked
     * over all code points against Python 3.11 / Unicode 14; the 27 single-code-point differences with
     * Java 25's Unicode 16 tables are letters added after Unicode 14, none of which maps to ASCII).
     * Any other non-ASCII character is a separator: "café" gives ["caf"].
     */
    public static List<String> tokenize(String text) {
        String lower = text.toLowerCase(Locale.ROOT);
        List<String> tokens = new ArrayList<>();
        int start = -1;
        for (int i = 0; i < lower.length(); i++) {
            char c = lower.charAt(i);
            boolean alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if (alnum && start < 0) {
                start = i;
            } else if (!alnum && start >= 0) {
                tokens.add(lower.substring(start, i));
                start = -1;
            }
        }
        if (start >= 0) {
            tokens.add(lower.substring(start));
        }
        return tokens;
    }

    /** Sentence-level ROUGE-L ("rougeL", not "rougeLsum"): P = LCS/|pred|, R = LCS/|target|. */
    public static Score rougeL(String target, String prediction) {
        return rougeL(tokenize(target), tokenize(prediction));
    }

    /** ROUGE-L on already tokenized text; either side empty gives (0, 0, 0). */
    public static Score rougeL(List<String> target, List<String> prediction) {
        if (target.isEmpty() || prediction.isEmpty()) {
            return Score.ZERO;
        }
        int lcs = lcsLength(target, prediction);
        double precision = (double) lcs / prediction.size();
        double recall = (double) lcs / target.size();
        return Score.of(precision, recall);
    }

    /** ROUGE-1: clipped unigram hits, P = hits/max(|pred|,1), R = hits/max(|target|,1). */
    public static Score rouge1(String target, String prediction) {
        return rouge1(tokenize(target), tokenize(prediction));
    }

    /** ROUGE-1 on already tokenized text. */
    public static Score rouge1(List<String> target, List<String> prediction) {
        Map<String, Integer> targetCounts = counts(target);
        Map<String, Integer> predictionCounts = counts(prediction);
        long hits = 0;
        for (Map.Entry<String, Integer> e : targetCounts.entrySet()) {
            hits += Math.min(e.getValue(), predictionCounts.getOrDefault(e.getKey(), 0));
        }
        double precision = (double) hits / Math.max(prediction.size(), 1);
        double recall = (double) hits / Math.max(target.size(), 1);
        return Score.of(precision, recall);
    }

    /** rouge_score's {@code scoring.fmeasure}: {@code 2 * p * r / (p + r)}, or 0 when p + r is not positive. */
    public static double fmeasure(double precision, double recall) {
        if (precision + recall > 0) {
            return 2 * precision * recall / (precision + recall);
        }
        return 0.0;
    }

    /** Length of the longest common subsequence of two token lists (the standard DP, two rows). */
    static int lcsLength(List<String> a, List<String> b) {
        // Intern tokens to ints so the O(|a|·|b|) inner loop compares ints, not strings.
        Map<String, Integer> ids = new HashMap<>();
        int[] x = intern(a, ids);
        int[] y = intern(b, ids);
        int[] prev = new int[y.length + 1];
        int[] cur = new int[y.length + 1];
        for (int i = 1; i <= x.length; i++) {
            for (int j = 1; j <= y.length; j++) {
                cur[j] = x[i - 1] == y[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[y.length];
    }

    private static int[] intern(List<String> tokens, Map<String, Integer> ids) {
        int[] out = new int[tokens.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.computeIfAbsent(tokens.get(i), k -> ids.size());
        }
        return out;
    }

    private static Map<String, Integer> counts(List<String> tokens) {
        Map<String, Integer> m = new HashMap<>();
        for (String t : tokens) {
            m.merge(t, 1, Integer::sum);
        }
        return m;
    }
}
