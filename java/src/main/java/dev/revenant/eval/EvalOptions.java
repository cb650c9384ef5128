package dev.revenant.eval;

import java.util.List;
import java.util.Set;

/**
 * What {@code revenant eval} runs. {@code preset} "muse" decodes VerbMem greedily (MUSE's code);
 * "paper" samples it with T = 0.9, top-k 50, top-p 1.0 and the recorded {@code seed} (the paper's code,
 * muse-spec §3.1). KnowMem is greedy in both. {@code limit} 0 = every item.
 */
public record EvalOptions(Set<String> metrics, Corpus corpus, String preset, long seed, int limit, int batch,
                          int verbmemMaxNew, int knowmemMaxNew) {

    public static final List<String> METRICS = List.of("verbmem_f", "knowmem_f", "knowmem_r", "privleak");

    public EvalOptions {
        metrics = Set.copyOf(metrics);
        for (String m : metrics) {
            if (!METRICS.contains(m)) {
                throw new IllegalArgumentException("unknown metric '" + m + "'; supported: " + String.join(", ", METRICS));
            }
        }
        if (!preset.equals("muse") && !preset.equals("paper")) {
            throw new IllegalArgumentException("unknown preset '" + preset + "'; supported: muse, paper");
        }
        if (limit < 0 || batch < 1 || verbmemMaxNew < 1 || knowmemMaxNew < 1) {
            throw new IllegalArgumentException("limit ≥ 0, batch ≥ 1 and max new tokens ≥ 1 required");
        }
    }

    public static EvalOptions defaults(Corpus corpus) {
        return new EvalOptions(Set.copyOf(METRICS), corpus, "muse", 0, 0, 1, 128, 32);
    }

    public EvalOptions withBatch(int b) {
        return new EvalOptions(metrics, corpus, preset, seed, limit, b, verbmemMaxNew, knowmemMaxNew);
    }

    <T> List<T> limited(List<T> items) {
        return limit > 0 && items.size() > limit ? items.subList(0, limit) : items;
    }
}
