package dev.revenant.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Greedy generation over a KV cache: prefill the prompts, then one token per sequence per step. */
public final class Generator {
    private Generator() {
    }

    /** Index of the largest value; ties go to the lowest index (as torch.argmax). */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The prompt followed by {@code maxNew} greedy tokens (stops early at {@code eos} when eos ≥ 0). */
    public static int[] greedy(Model model, int[] prompt, int maxNew, int eos) {
        return greedy(model, List.of(prompt), maxNew, eos).get(0);
    }

    /** Greedy continuation of several prompts decoded together; each result equals its run alone. */
    public static List<int[]> greedy(Model model, List<int[]> prompts, int maxNew, int eos) {
        List<Sampler> samplers = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            samplers.add(Sampler.greedy());
        }
        return generate(model, prompts, maxNew, eos, samplers);
    }

    /**
     * Continues several prompts together, sequence i choosing its tokens with {@code samplers.get(i)};
     * a sequence leaves the batch at {@code eos} (when ≥ 0). Each result equals its run alone.
     *
     * @return per prompt, the prompt followed by its new tokens (eos included when hit)
     */
    public static List<int[]> generate(Model model, List<int[]> prompts, int maxNew, int eos, List<Sampler> samplers) {
        if (samplers.size() != prompts.size()) {
            throw new IllegalArgumentException(samplers.size() + " samplers for " + prompts.size() + " prompts");
        }
        Forward f = new Forward(model);
        List<KvCache> caches = new ArrayList<>();
        List<int[]> out = new ArrayList<>();
        for (int[] p : prompts) {
            caches.add(model.newCache(p.length + maxNew));
            out.add(Arrays.copyOf(p, p.length));
        }
        List<KvCache> active = new ArrayList<>(caches);
        List<Integer> index = new ArrayList<>();
        List<int[]> step = new ArrayList<>(prompts);
        for (int i = 0; i < prompts.size(); i++) {
            index.add(i);
        }
        for (int n = 0; n < maxNew && !active.isEmpty(); n++) {
            float[][] logits = f.run(active, step, false);
            List<KvCache> nextCaches = new ArrayList<>();
            List<Integer> nextIndex = new ArrayList<>();
            List<int[]> nextStep = new ArrayList<>();
            for (int s = 0; s < active.size(); s++) {
                int i = index.get(s);
                int tok = samplers.get(i).next(logits[s]);
                int[] seq = out.get(i);
                seq = Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = tok;
                out.set(i, seq);
                if (tok != eos) {
                    nextCaches.add(active.get(s));
                    nextIndex.add(i);
                    nextStep.add(new int[] {tok});
                }
            }
            active = nextCaches;
            index = nextIndex;
            step = nextStep;
        }
        return out;
    }
}
