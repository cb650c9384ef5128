package dev.revenant.eval;

import java.util.List;

/** The KnowMem prompt and answer post-processing of muse-spec §3.2 ([MB]/[FQ] {@code metrics/knowmem.py}). */
public final class KnowMemPrompt {
    private KnowMemPrompt() {
    }

    /**
     * Each ICL pair in file order as {@code "Question: {q}\nAnswer: {a}\n\n"}, then
     * {@code "Question: {question}\nAnswer: "}, whose trailing space encodes as a lone ▁ (id 29871).
     */
    public static String build(List<QA> icl, String question) {
        StringBuilder sb = new StringBuilder();
        for (QA qa : icl) {
            sb.append("Question: ").append(qa.question()).append("\nAnswer: ").append(qa.answer()).append("\n\n");
        }
        return sb.append("Question: ").append(question).append("\nAnswer: ").toString();
    }

    /**
     * The three cuts, in order, each keeping the part before the first occurrence (Python
     * {@code s.split(sep)[0]}): {@code "\n\n"}, then {@code "\nQuestion"}, then {@code "Question:"}.
     * No strip or lowercasing.
     */
    public static String truncate(String output) {
        String s = before(output, "\n\n");
        s = before(s, "\nQuestion");
        return before(s, "Question:");
    }

    private static String before(String s, String sep) {
        int i = s.indexOf(sep);
        return i < 0 ? s : s.substring(0, i);
    }
}
