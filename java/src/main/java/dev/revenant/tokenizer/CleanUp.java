package dev.revenant.tokenizer;

/**
 * transformers' {@code PreTrainedTokenizerBase.clean_up_tokenization}: removes the space before punctuation
 * and English contractions. The Rust tokenizers library has no such step, so it is done here, with the same
 * replacements in the same order (the order matters: " ' " is handled before " 's").
 */
public final class CleanUp {
    private CleanUp() {
    }

    private static final String[][] RULES = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };

    /** The clean-up of {@code s}; each rule replaces every occurrence, left to right, like Python's str.replace. */
    public static String apply(String s) {
        String out = s;
        for (String[] r : RULES) {
            out = out.replace(r[0], r[1]);
        }
        return out;
    }
}
