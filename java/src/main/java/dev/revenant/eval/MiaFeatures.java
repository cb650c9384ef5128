package dev.revenant.eval;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.Deflater;

/**
 * The membership-inference features of MUSE's PrivLeak (muse-spec §3.3 step 2), from the per-token
 * log-probs of one text: {@code logp[i-1] = log_softmax(logits[i-1])[ids[i]]} for i = 1..n−1 (fp32).
 *
 * <p>Numerics, and what can be exact. MUSE takes {@code loss} from torch (the mean cross-entropy,
 * an fp32 tensor, {@code .item()} widens it to a Python float) and the log-probs one by one
 * ({@code .item()} of fp32 values). {@link #loss} sums in double and rounds the mean to fp32, i.e.
 * the correctly rounded fp32 mean; torch's own fp32 reduction order may land one fp32 ulp away, so
 * a PPL computed here from a model can differ from torch's in the 8th significant digit. Min-K%
 * follows numpy ({@code np.sort} then {@code np.mean}, float64 pairwise summation), so it is
 * bit-exact given the same fp32 log-probs. PPL/lower and PPL/zlib are single double divisions of
 * logged values and are bit-exact (PPL/zlib: 600/600 fixture items, see the tests).
 */
public final class MiaFeatures {
    /** The K values of Min-K%, in MUSE's order. */
    public static final List<Integer> MIN_K_PERCENTS = List.of(5, 10, 20, 30, 40, 50, 60);

    /** Feature names in MUSE's log.json order (the order of {@code auc.json} keys within a split pair). */
    public static final List<String> NAMES = List.of("PPL", "PPL/lower", "PPL/zlib",
            "Min-5%", "Min-10%", "Min-20%", "Min-30%", "Min-40%", "Min-50%", "Min-60%");

    private MiaFeatures() {
    }

    /**
     * The mean NLL over the n−1 scored tokens (MUSE's {@code PPL}, which is not an exponential),
     * rounded to fp32 like torch's loss.
     */
    public static double loss(float[] logp) {
        if (logp.length == 0) {
            throw new IllegalArgumentException("loss of a text with no scored token (a text must have at least 2 ids incl. BOS)");
        }
        double s = 0;
        for (float v : logp) {
            s += v;
        }
        return (float) (-s / logp.length);
    }

    /**
     * Min-K%: {@code k = int(len(logp) * (K/100))} as MUSE's float ratio product (equal to
     * {@code floor(len·K/100)} for every length below 2·10⁷), then {@code -np.mean(np.sort(logp)[:k])}.
     * When k = 0 (fewer than 100/K tokens) numpy's mean of an empty array is NaN, and MUSE logs NaN;
     * this returns NaN as well rather than inventing a value.
     */
    public static double minK(float[] logp, int percent) {
        if (percent <= 0 || percent > 100) {
            throw new IllegalArgumentException("Min-K% needs 0 < K <= 100, got " + percent);
        }
        double[] sorted = new double[logp.length];
        for (int i = 0; i < logp.length; i++) {
            sorted[i] = logp[i];
        }
        Arrays.sort(sorted);
        return minKSorted(sorted, percent);
    }

    private static double minKSorted(double[] sorted, int percent) {
        int k = (int) (sorted.length * (percent / 100.0));
        if (k == 0) {
            return Double.NaN;
        }
        return -NumpyMath.mean(sorted, 0, k);
    }

    /** PPL/lower = loss(text) / loss(text.lower()). */
    public static double pplLower(double loss, double lowerLoss) {
        return loss / lowerLoss;
    }

    /** PPL/zlib = loss / len(zlib.compress(text.encode('utf-8'))). */
    public static double pplZlib(double loss, String text) {
        return loss / zlibLength(text);
    }

    /**
     * {@code len(zlib.compress(utf8(text)))} at Python's default level (−1, i.e. 6), with the
     * 2-byte zlib header and Adler-32 trailer ({@code nowrap=false}), window 15, memLevel 8, the
     * default strategy: the same parameters as Python's {@code zlib.compress}.
     */
    public static int zlibLength(String text) {
        byte[] in = text.getBytes(StandardCharsets.UTF_8);
        Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, false);
        try {
            d.setInput(in);
            d.finish();
            byte[] buf = new byte[8192];
            int total = 0;
            while (!d.finished()) {
                total += d.deflate(buf);
            }
            return total;
        } finally {
            d.end();
        }
    }

    /**
     * The lowercasing MUSE applies before the second forward pass ({@code text.lower()}).
     * {@code toLowerCase(Locale.ROOT)} equals Python 3.11's {@code str.lower()} on every code point
     * except 27 letters added in Unicode 15–16 (Java 25 maps them, Python 3.11 leaves them).
     */
    public static String lower(String text) {
        return text.toLowerCase(Locale.ROOT);
    }

    /**
     * All ten features, keyed and ordered as in MUSE's log.json.
     *
     * @param text      the scored text (for PPL/zlib)
     * @param logp      per-token log-probs of {@code text}
     * @param lowerLogp per-token log-probs of {@link #lower lower(text)}
     */
    public static Map<String, Double> features(String text, float[] logp, float[] lowerLogp) {
        return features(text, loss(logp), loss(lowerLogp), logp);
    }

    /** All ten features from the two losses and the text's log-probs. */
    public static Map<String, Double> features(String text, double loss, double lowerLoss, float[] logp) {
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("PPL", loss);
        out.put("PPL/lower", pplLower(loss, lowerLoss));
        out.put("PPL/zlib", pplZlib(loss, text));
        double[] sorted = new double[logp.length];
        for (int i = 0; i < logp.length; i++) {
            sorted[i] = logp[i];
        }
        Arrays.sort(sorted);
        for (int k : MIN_K_PERCENTS) {
            out.put("Min-" + k + "%", minKSorted(sorted, k));
        }
        return out;
    }
}
