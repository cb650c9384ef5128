package dev.revenant.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * Teacher-forced scoring: for ids {@code x_0..x_{L-1}}, the log-probabilities {@code log p(x_t | x_<t)} for
 * t = 1..L−1, from one prefill (no generation). Log-softmax is computed in double from fp32 logits.
 */
public final class Scorer {
    private Scorer() {
    }

    public static float[] logProbs(Model model, int[] ids) {
        return logProbs(model, List.of(ids)).get(0);
    }

    /** Scores several sequences in one batch; each result equals scoring it alone. */
    public static List<float[]> logProbs(Model model, List<int[]> seqs) {
        List<KvCache> caches = new ArrayList<>();
        for (int[] s : seqs) {
            if (s.length < 2) {
                throw new IllegalArgumentException("scoring needs at least 2 tokens, found " + s.length);
            }
            caches.add(model.newCache(s.length));
        }
        Forward f = new Forward(model);
        if (f.onDevice()) {
            Forward.countTokens(seqs);
            return f.deviceLogProbs(seqs);
        }
        float[][] logits = f.run(caches, seqs, true);
        int vocab = model.config().vocabSize();
        List<float[]> out = new ArrayList<>();
        for (int s = 0; s < seqs.size(); s++) {
            int[] ids = seqs.get(s);
            float[] lp = new float[ids.length - 1];
            for (int t = 0; t + 1 < ids.length; t++) {
                lp[t] = (float) logSoftmaxAt(logits[s], t * vocab, vocab, ids[t + 1]);
            }
            out.add(lp);
        }
        return out;
    }

    /** log softmax(row)[target] with the max subtracted, summed in double. */
    static double logSoftmaxAt(float[] logits, int off, int vocab, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[off + i] - max);
        }
        return logits[off + target] - max - Math.log(sum);
    }
}
