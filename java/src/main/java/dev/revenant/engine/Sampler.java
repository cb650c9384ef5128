package dev.revenant.engine;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Next-token choice. Greedy is argmax; sampling applies, in transformers' order, temperature, top-k
 * (keep the k largest logits, ties at the k-th kept) and top-p (keep the smallest set of most likely
 * tokens whose probability reaches p; p = 1 keeps all), then draws from the softmax with a seeded
 * generator. The paper's VerbMem preset is T = 0.9, top-k 50, top-p 1.0 (muse-spec §3.1).
 * One Sampler per sequence keeps a sequence's draws independent of its batch.
 */
public final class Sampler {
    private final double temperature;
    private final int topK;
    private final double topP;
    private final SplittableRandom rng;

    private Sampler(double temperature, int topK, double topP, long seed) {
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.rng = temperature > 0 ? new SplittableRandom(seed) : null;
    }

    public static Sampler greedy() {
        return new Sampler(0, 0, 1, 0);
    }

    /** @param topK 0 = no top-k filter */
    public static Sampler sampling(double temperature, int topK, double topP, long seed) {
        if (!(temperature > 0) || topK < 0 || !(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("sampling needs temperature > 0, top-k ≥ 0 and 0 < top-p ≤ 1; found "
                    + temperature + ", " + topK + ", " + topP);
        }
        return new Sampler(temperature, topK, topP, seed);
    }

    public boolean isGreedy() {
        return rng == null;
    }

    public int next(float[] logits) {
        if (rng == null) {
            return Generator.argmax(logits);
        }
        int n = logits.length;
        double[] z = new double[n];
        for (int i = 0; i < n; i++) {
            z[i] = logits[i] / temperature;
        }
        if (topK > 0 && topK < n) {
            double[] sorted = z.clone();
            Arrays.sort(sorted);
            double kth = sorted[n - topK];
            for (int i = 0; i < n; i++) {
                if (z[i] < kth) {
                    z[i] = Double.NEGATIVE_INFINITY;
                }
            }
        }
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) {
            max = Math.max(max, v);
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(z[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }
        if (topP < 1) {
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
            double cum = 0;
            boolean[] keep = new boolean[n];
            for (Integer i : order) {
                keep[i] = true;
                cum += p[i];
                if (cum >= topP) {
                    break;
                }
            }
            double s = 0;
            for (int i = 0; i < n; i++) {
                if (!keep[i]) {
                    p[i] = 0;
                }
                s += p[i];
            }
            for (int i = 0; i < n; i++) {
                p[i] /= s;
            }
        }
        double u = rng.nextDouble();
        double cum = 0;
        int last = 0;
        for (int i = 0; i < n; i++) {
            if (p[i] > 0) {
                cum += p[i];
                last = i;
                if (u < cum) {
                    return i;
                }
            }
        }
        return last;
    }
}
