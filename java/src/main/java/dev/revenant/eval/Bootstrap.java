package dev.revenant.eval;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The percentile bootstrap CI of a mean, as {@code scipy.stats.bootstrap((vals,), np.mean,
 * confidence_level=0.95, method='percentile')} computes it (9999 resamples, each the numpy mean of
 * n draws with replacement; bounds at the {@code alpha·100} and {@code (1−alpha)·100} percentiles,
 * {@code alpha = (1 − level)/2}, numpy linear interpolation).
 *
 * <p>scipy's call in MUSE is unseeded, so its CIs are not reproducible: only means and maxima of
 * {@code agg.json} are exact targets. This one draws from {@link SplittableRandom} with a fixed seed,
 * so it is reproducible run to run, and agrees with the logged CIs to sampling error only.
 */
public final class Bootstrap {
    public static final int DEFAULT_RESAMPLES = 9999;
    public static final double DEFAULT_LEVEL = 0.95;
    public static final long DEFAULT_SEED = 20241021L;

    /** A confidence interval. */
    public record Interval(double low, double high) {
    }

    private Bootstrap() {
    }

    /** 95% CI, 9999 resamples, {@link #DEFAULT_SEED}. */
    public static Interval meanCi(double[] values) {
        return meanCi(values, DEFAULT_LEVEL, DEFAULT_RESAMPLES, DEFAULT_SEED);
    }

    public static Interval meanCi(double[] values, double level, int resamples, long seed) {
        int n = values.length;
        if (n == 0) {
            throw new IllegalArgumentException("bootstrap of an empty sample");
        }
        if (!(level > 0 && level < 1) || resamples < 1) {
            throw new IllegalArgumentException("need 0 < level < 1 and resamples >= 1, got " + level + ", " + resamples);
        }
        SplittableRandom rng = new SplittableRandom(seed);
        double[] means = new double[resamples];
        double[] draw = new double[n];
        for (int b = 0; b < resamples; b++) {
            for (int i = 0; i < n; i++) {
                draw[i] = values[rng.nextInt(n)];
            }
            means[b] = NumpyMath.mean(draw);
        }
        Arrays.sort(means);
        double alpha = (1 - level) / 2;
        return new Interval(NumpyMath.percentileSorted(means, alpha * 100),
                NumpyMath.percentileSorted(means, (1 - alpha) * 100));
    }
}
