package dev.revenant.eval;

import java.util.Objects;

/** One KnowMem item or ICL demonstration: {@code {"question": str, "answer": str}} (muse-spec §4). */
public record QA(String question, String answer) {
    public QA {
        Objects.requireNonNull(question, "question");
        Objects.requireNonNull(answer, "answer");
    }
}
