package dev.revenant.eval;

import java.util.Objects;

/** One VerbMem item: {@code {"prompt": str, "gt": str}} (muse-spec §4; extra fields are ignored). */
public record VerbMemItem(String prompt, String gt) {
    public VerbMemItem {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(gt, "gt");
    }
}
