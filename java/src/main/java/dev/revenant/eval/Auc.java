package dev.revenant.eval;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PrivLeak's AUC (muse-spec §3.3 step 3). For key {@code "{A}_{B}_{feat}"} split A is labelled 0
 * (non-member), split B 1 (member), and MUSE computes {@code auc(*roc_curve(y, -score))}: a member
 * is "predicted" by a LOW score. In the limit this is the Mann–Whitney statistic
 * {@code P(score_B < score_A) + ½·P(score_B = score_A)}.
 *
 * <p>{@link #of} follows sklearn's procedure (ROC points, then the trapezoid rule with numpy's
 * pairwise sum), which reproduces every fixture {@code auc.json} value bit for bit. The exact pair
 * count {@link #mannWhitney} is the same number mathematically but is a correctly rounded
 * {@code count/(n·m)}, whereas the trapezoid sum rounds along the way: it matches 128 of the 180
 * fixture values exactly (the others differ by up to 1.1e-16, e.g. 0.4577 vs sklearn's
 * 0.45770000000000005).
 */
public final class Auc {
    private Auc() {
    }

    /** sklearn's {@code auc(*roc_curve(y, -score))} with y = 0 for {@code nonMember}, 1 for {@code member}. */
    public static double of(double[] nonMember, double[] member) {
        return curve(nonMember, member).area();
    }

    /** The ROC curve behind {@link #of}, on the decision value −score. */
    public static RocCurve curve(double[] nonMember, double[] member) {
        int n = nonMember.length + member.length;
        boolean[] y = new boolean[n];
        double[] decision = new double[n];
        for (int i = 0; i < nonMember.length; i++) {
            decision[i] = -nonMember[i];
        }
        for (int j = 0; j < member.length; j++) {
            y[nonMember.length + j] = true;
            decision[nonMember.length + j] = -member[j];
        }
        return RocCurve.of(y, decision);
    }

    /**
     * The exact Mann–Whitney form, {@code (#{b < a} + ½·#{b = a}) / (n·m)} over all pairs
     * (a from {@code nonMember}, b from {@code member}), with the count held exactly (in halves).
     */
    public static double mannWhitney(double[] nonMember, double[] member) {
        if (nonMember.length == 0 || member.length == 0) {
            throw new IllegalArgumentException("AUC needs both splits non-empty");
        }
        long halves = 0;
        for (double a : nonMember) {
            for (double b : member) {
                if (Double.isNaN(a) || Double.isNaN(b)) {
                    throw new IllegalArgumentException("AUC of NaN scores");
                }
                if (b < a) {
                    halves += 2;
                } else if (b == a) {
                    halves += 1;
                }
            }
        }
        return halves / (2.0 * nonMember.length * member.length);
    }

    /**
     * Every key MUSE writes to {@code auc.json}: for split A, then split B (both over the log's
     * splits in order, A = B included), then each feature in log order, {@code "{A}_{B}_{feat}"}.
     * With the three splits and ten features this is MUSE's 90 keys in MUSE's order.
     */
    public static Map<String, Double> table(PrivLeakLog log) {
        Map<String, Double> out = new LinkedHashMap<>();
        List<String> splits = List.copyOf(log.splits().keySet());
        for (String a : splits) {
            for (String b : splits) {
                for (String feat : log.features()) {
                    out.put(key(a, b, feat), of(log.feature(a, feat), log.feature(b, feat)));
                }
            }
        }
        return out;
    }

    /** {@code "{nonMemberSplit}_{memberSplit}_{feature}"}. */
    public static String key(String nonMemberSplit, String memberSplit, String feature) {
        return nonMemberSplit + "_" + memberSplit + "_" + feature;
    }
}
