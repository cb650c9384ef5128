package dev.revenant.eval;

/**
 * PrivLeak = (AUC_model − AUC_retrain) / AUC_retrain × 100 (muse-spec §3.3 step 4), in that order of
 * operations. ≈ −100: strongly under-unlearned; 0: ideal; large positive: over-unlearned.
 */
public final class PrivLeak {
    /** MUSE's {@code privleak_auc_key} feature. */
    public static final String DEFAULT_FEATURE = "Min-40%";
    /** MUSE's {@code privleak_auc_key}: A = forget (non-member), B = holdout (member). */
    public static final String DEFAULT_KEY = Auc.key("forget", "holdout", DEFAULT_FEATURE);

    private PrivLeak() {
    }

    /** PrivLeak from a model's AUC and the retrained model's AUC. */
    public static double of(double auc, double aucRetrain) {
        return (auc - aucRetrain) / aucRetrain * 100;
    }

    /** PrivLeak for {@code forget_holdout_<feature>} against the corpus's retrain constant. */
    public static double of(double auc, Corpus corpus, String feature) {
        return of(auc, corpus.aucRetrain(feature));
    }
}
