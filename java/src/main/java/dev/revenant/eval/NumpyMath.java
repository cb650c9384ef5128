package dev.revenant.eval;

/**
 * The few numpy reductions whose rounding MUSE's numbers depend on, reproduced bit for bit.
 *
 * <p>numpy sums float64 arrays (in {@code np.sum}, {@code np.mean}, {@code np.trapz}) by pairwise
 * summation: blocks of at most 128 elements are summed with eight interleaved accumulators, larger
 * ranges are split in two at a multiple of 8. A plain left-to-right sum differs from it in the last
 * bits, which is enough to break exact equality with MUSE's {@code agg.json} means and sklearn's AUCs.
 * The reduction starts from the additive identity 0.0, so the result is {@code 0.0 + pairwise(a)}.
 */
public final class NumpyMath {
    /** numpy's {@code PW_BLOCKSIZE}. */
    private static final int BLOCK = 128;

    private NumpyMath() {
    }

    /** {@code np.sum(a)} for a contiguous float64 array. */
    public static double sum(double[] a) {
        return sum(a, 0, a.length);
    }

    /** {@code np.sum(a[from:to])}. */
    public static double sum(double[] a, int from, int to) {
        if (from < 0 || to > a.length || from > to) {
            throw new IndexOutOfBoundsException("range [" + from + ", " + to + ") of length " + a.length);
        }
        return 0.0 + pairwise(a, from, to - from);
    }

    /** {@code np.mean(a)}: the pairwise sum divided by the count; NaN for an empty array (numpy warns and returns nan). */
    public static double mean(double[] a) {
        return mean(a, 0, a.length);
    }

    /** {@code np.mean(a[from:to])}. */
    public static double mean(double[] a, int from, int to) {
        return sum(a, from, to) / (to - from);
    }

    private static double pairwise(double[] a, int off, int n) {
        if (n < 8) {
            double res = 0.0;
            for (int i = 0; i < n; i++) {
                res += a[off + i];
            }
            return res;
        }
        if (n <= BLOCK) {
            double r0 = a[off], r1 = a[off + 1], r2 = a[off + 2], r3 = a[off + 3];
            double r4 = a[off + 4], r5 = a[off + 5], r6 = a[off + 6], r7 = a[off + 7];
            int i = 8;
            int whole = n - n % 8;
            for (; i < whole; i += 8) {
                r0 += a[off + i];
                r1 += a[off + i + 1];
                r2 += a[off + i + 2];
                r3 += a[off + i + 3];
                r4 += a[off + i + 4];
                r5 += a[off + i + 5];
                r6 += a[off + i + 6];
                r7 += a[off + i + 7];
            }
            double res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
            for (; i < n; i++) {
                res += a[off + i];
            }
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return pairwise(a, off, n2) + pairwise(a, off + n2, n - n2);
    }

    /**
     * {@code np.trapz(y, x)} (numpy 2: {@code np.trapezoid}): the elementwise terms
     * {@code (x[i+1]-x[i]) * (y[i+1]+y[i]) / 2.0}, then a pairwise sum of those terms.
     */
    public static double trapezoid(double[] y, double[] x) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("x has " + x.length + " points, y has " + y.length);
        }
        if (x.length < 2) {
            return 0.0;
        }
        double[] terms = new double[x.length - 1];
        for (int i = 0; i < terms.length; i++) {
            terms[i] = (x[i + 1] - x[i]) * (y[i + 1] + y[i]) / 2.0;
        }
        return sum(terms);
    }

    /**
     * {@code np.percentile(a, q)} with the default "linear" method on an already sorted array:
     * virtual index {@code (n-1)·q/100}, then numpy's two-sided lerp (from below when the fraction
     * is under 0.5, from above otherwise).
     */
    public static double percentileSorted(double[] sorted, double q) {
        int n = sorted.length;
        if (n == 0) {
            throw new IllegalArgumentException("percentile of an empty array");
        }
        if (!(q >= 0 && q <= 100)) {
            throw new IllegalArgumentException("percentile must be in [0, 100], got " + q);
        }
        double virtual = (n - 1) * (q / 100.0);
        double lowIndex = Math.floor(virtual);
        int lo = (int) Math.min(Math.max(lowIndex, 0), n - 1);
        int hi = Math.min(lo + 1, n - 1);
        double t = virtual - lowIndex;
        double a = sorted[lo];
        double b = sorted[hi];
        double diff = b - a;
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
    }
}
