package dev.revenant.eval;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A ROC curve as scikit-learn's {@code roc_curve(y_true, y_score)} builds it with the default
 * {@code drop_intermediate=True} and {@code pos_label=1}: scores sorted descending, one point per
 * distinct score (cumulative true/false positives at the last index of each tie group), collinear
 * interior points dropped (both second differences zero), then a leading (0, 0) and
 * {@code fpr = fps / fps[-1]}, {@code tpr = tps / tps[-1]}. Counts are exact integers held in doubles,
 * so each rate is one correctly rounded division, as in numpy.
 *
 * @param fpr        false-positive rates, non-decreasing, starting at 0 and ending at 1
 * @param tpr        true-positive rates, same length
 * @param thresholds the score at each point; the first is +∞ (sklearn ≥ 1.3)
 */
public record RocCurve(double[] fpr, double[] tpr, double[] thresholds) {

    /**
     * @param positive {@code positive[i]} is true for the class labelled 1
     * @param score    decision values, higher meaning "more positive"; no NaN
     */
    public static RocCurve of(boolean[] positive, double[] score) {
        int n = score.length;
        if (positive.length != n) {
            throw new IllegalArgumentException(positive.length + " labels for " + n + " scores");
        }
        int pos = 0;
        for (int i = 0; i < n; i++) {
            if (Double.isNaN(score[i])) {
                throw new IllegalArgumentException("score " + i + " is NaN (sklearn rejects non-finite input)");
            }
            if (positive[i]) {
                pos++;
            }
        }
        if (pos == 0 || pos == n) {
            throw new IllegalArgumentException("a ROC curve needs both classes; got " + pos + " positive of " + n);
        }
        // Descending by score; ties stay together, and their inner order cannot matter because
        // only the last index of each tie group is read.
        Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> score[i]).reversed());

        double[] tps = new double[n];
        double[] fps = new double[n];
        double[] thr = new double[n];
        int points = 0;
        double cumPos = 0;
        for (int r = 0; r < n; r++) {
            int i = order[r];
            if (positive[i]) {
                cumPos += 1;
            }
            boolean lastOfGroup = r == n - 1 || score[order[r + 1]] != score[i];
            if (lastOfGroup) {
                tps[points] = cumPos;
                fps[points] = 1 + r - cumPos;
                thr[points] = score[i];
                points++;
            }
        }
        int[] keep = dropIntermediate(fps, tps, points);

        double[] f = new double[keep.length + 1];
        double[] t = new double[keep.length + 1];
        double[] th = new double[keep.length + 1];
        th[0] = Double.POSITIVE_INFINITY;
        for (int j = 0; j < keep.length; j++) {
            f[j + 1] = fps[keep[j]];
            t[j + 1] = tps[keep[j]];
            th[j + 1] = thr[keep[j]];
        }
        double fLast = f[f.length - 1];
        double tLast = t[t.length - 1];
        for (int j = 0; j < f.length; j++) {
            f[j] = f[j] / fLast;
            t[j] = t[j] / tLast;
        }
        return new RocCurve(f, t, th);
    }

    /** Indices kept by {@code drop_intermediate}: the ends, and every point where fps or tps bends. */
    private static int[] dropIntermediate(double[] fps, double[] tps, int points) {
        if (points <= 2) {
            return IntStream.range(0, points).toArray();
        }
        int[] keep = new int[points];
        int m = 0;
        keep[m++] = 0;
        for (int i = 1; i < points - 1; i++) {
            double d2f = fps[i + 1] - 2 * fps[i] + fps[i - 1];
            double d2t = tps[i + 1] - 2 * tps[i] + tps[i - 1];
            if (d2f != 0 || d2t != 0) {
                keep[m++] = i;
            }
        }
        keep[m++] = points - 1;
        return Arrays.copyOf(keep, m);
    }

    /**
     * sklearn's {@code auc(fpr, tpr)}: the trapezoid rule ({@link NumpyMath#trapezoid}) with the sign
     * flipped for a non-increasing x; a non-monotonic x is an error.
     */
    public double area() {
        return area(fpr, tpr);
    }

    /** sklearn's {@code auc(x, y)}. */
    public static double area(double[] x, double[] y) {
        boolean anyDecrease = false;
        boolean allNonIncreasing = true;
        for (int i = 0; i + 1 < x.length; i++) {
            double dx = x[i + 1] - x[i];
            anyDecrease |= dx < 0;
            allNonIncreasing &= dx <= 0;
        }
        int direction = 1;
        if (anyDecrease) {
            if (!allNonIncreasing) {
                throw new IllegalArgumentException("x is neither increasing nor decreasing");
            }
            direction = -1;
        }
        return direction * NumpyMath.trapezoid(y, x);
    }
}
