package dev.revenant.sweep;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.revenant.engine.Forward;
import dev.revenant.engine.KvCache;
import dev.revenant.engine.Model;
import dev.revenant.eval.EvalOptions;
import dev.revenant.eval.MuseData;
import dev.revenant.kernel.Backend;
import dev.revenant.report.DivergenceReport;
import dev.revenant.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How far a cell's next-token distributions are from the same checkpoint loaded as stored (the "full precision"
 * reference): for every position t of a few forget and retain texts (MUSE's {@code privleak/forget.json} and
 * {@code privleak/retain.json}, encoded as PrivLeak encodes them: BOS prepended, then cut to {@link #MAX_TEXT_TOKENS}),
 * both models run teacher-forced and, in double from the fp32 logits,
 * {@code KL(P_ref || Q_cell) = Σ_v p_v (log p_v − log q_v)} (nats, log-softmax with the max subtracted) and whether the
 * two argmaxes agree (ties to the lowest index, as {@code Generator.argmax}). Texts are taken in order, after the
 * plan's item limit, until the split's token budget is used (the last text is cut to fit). Written per cell as
 * {@link DivergenceReport#FILE}; a split whose file is missing is recorded as absent.
 */
public final class Divergence {
    /** Each text is cut to its first this many tokens (BOS included). */
    public static final int MAX_TEXT_TOKENS = 512;
    /** Default positions per split (plan key {@code divergence_tokens}; 0 turns the measurement off). */
    public static final int DEFAULT_TOKEN_BUDGET = 2048;
    /** The privleak splits measured, in report order. */
    public static final List<String> SPLITS = List.of("forget", "retain");
    /** Bumped when the computation changes, so journaled cells are recomputed (part of the plan's eval key). */
    static final String VERSION = "1";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Divergence() {
    }

    /** Running totals of one split: Σ KL, max KL, argmax agreements, positions and texts. */
    public static final class Accumulator {
        private double klSum;
        private double klMax;
        private long agree;
        private long positions;
        private int texts;

        /**
         * Adds {@code rows} positions: row r of {@code ref} and {@code cell} starts at {@code r * vocab}; only the
         * first {@code vocab} logits of a row are read (both models share the embedding rows).
         */
        public void add(float[] ref, float[] cell, int rows, int vocab) {
            for (int r = 0; r < rows; r++) {
                int off = r * vocab;
                double kl = kl(ref, off, cell, off, vocab);
                klSum += kl;
                klMax = Math.max(klMax, kl);
                if (argmax(ref, off, vocab) == argmax(cell, off, vocab)) {
                    agree++;
                }
            }
            positions += rows;
            texts++;
        }

        public DivergenceReport.Stats stats() {
            return positions == 0 ? new DivergenceReport.Stats(Double.NaN, Double.NaN, Double.NaN, 0, texts)
                    : new DivergenceReport.Stats(klSum / positions, klMax, (double) agree / positions, positions, texts);
        }
    }

    /**
     * {@code KL(softmax(p) || softmax(q))} in nats for the rows {@code p[po .. po+vocab)} and {@code q[qo .. qo+vocab)},
     * in double with the max subtracted. Identical rows give exactly 0; a result below 0 (rounding, when the rows
     * nearly agree) is clamped to 0, as KL is never negative.
     */
    public static double kl(float[] p, int po, float[] q, int qo, int vocab) {
        double lseP = logSumExp(p, po, vocab);
        double lseQ = logSumExp(q, qo, vocab);
        double sum = 0;
        for (int v = 0; v < vocab; v++) {
            double lp = p[po + v] - lseP;
            double lq = q[qo + v] - lseQ;
            double pv = Math.exp(lp);
            if (pv > 0) {
                sum += pv * (lp - lq);
            }
        }
        return Math.max(0, sum);
    }

    /** {@code log Σ_v exp(x_v)} over {@code x[off .. off+n)}, with the max subtracted. */
    static double logSumExp(float[] x, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(x[off + i] - max);
        }
        return max + Math.log(sum);
    }

    /** Index of the largest of {@code x[off .. off+n)}, relative to {@code off}; ties go to the lowest index. */
    public static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[off + i] > x[off + best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * The token sequences of one split: each text encoded with BOS, cut to {@link #MAX_TEXT_TOKENS}, taken in order
     * until {@code budget} tokens are used (the last one cut to fit); texts that encode to nothing are skipped.
     */
    static List<int[]> select(List<String> texts, Tokenizer tok, int budget) {
        List<int[]> out = new ArrayList<>();
        int used = 0;
        for (String t : texts) {
            if (used >= budget) {
                break;
            }
            int[] ids = tok.encode(t, true);
            int n = Math.min(ids.length, Math.min(MAX_TEXT_TOKENS, budget - used));
            if (n == 0) {
                continue;
            }
            out.add(n == ids.length ? ids : Arrays.copyOf(ids, n));
            used += n;
        }
        return out;
    }

    /** Runs both models over each sequence (one at a time, so only one sequence's logits are held) and accumulates. */
    static DivergenceReport.Stats measure(Model ref, Model cell, List<int[]> seqs) {
        int vocab = Math.min(ref.config().vocabSize(), cell.config().vocabSize());
        if (ref.config().vocabSize() != cell.config().vocabSize()) {
            throw new IllegalArgumentException("reference vocabulary " + ref.config().vocabSize() + " ≠ cell vocabulary "
                    + cell.config().vocabSize());
        }
        Accumulator acc = new Accumulator();
        Forward fr = new Forward(ref);
        Forward fc = new Forward(cell);
        for (int[] s : seqs) {
            float[] lr = logits(fr, ref, s);
            float[] lc = logits(fc, cell, s);
            acc.add(lr, lc, s.length, vocab);
        }
        return acc.stats();
    }

    private static float[] logits(Forward f, Model m, int[] ids) {
        List<KvCache> caches = List.of(m.newCache(ids.length));
        return f.run(caches, List.of(ids), true)[0]; // (ids.length, vocab)
    }

    /**
     * Measures {@code cell} against {@code refDir} loaded as stored (loaded here, closed before returning) and writes
     * {@code <cellDir>/divergence.json}. Returns the per-split results (absent splits omitted).
     */
    static Map<String, DivergenceReport.Stats> write(Path cellDir, Model cell, Path refDir, Backend be, Tokenizer tok,
                                                     MuseData data, EvalOptions opt, int budget) throws IOException {
        Map<String, List<int[]>> seqs = new LinkedHashMap<>();
        Map<String, Object> splits = new LinkedHashMap<>();
        for (String split : SPLITS) {
            Path file = data.root().resolve("privleak").resolve(split + ".json");
            if (!Files.isRegularFile(file)) {
                Map<String, Object> a = new LinkedHashMap<>();
                a.put("absent", "privleak/" + split + ".json not found");
                splits.put(split, a);
                continue;
            }
            List<String> texts = data.privleak(split);
            if (opt.limit() > 0 && texts.size() > opt.limit()) {
                texts = texts.subList(0, opt.limit()); // as EvalOptions.limited
            }
            seqs.put(split, select(texts, tok, budget));
        }
        Map<String, DivergenceReport.Stats> stats = new LinkedHashMap<>();
        if (!seqs.isEmpty()) {
            try (Model ref = Model.load(refDir, be, null)) {
                for (Map.Entry<String, List<int[]>> e : seqs.entrySet()) {
                    stats.put(e.getKey(), measure(ref, cell, e.getValue()));
                }
            }
        }
        for (Map.Entry<String, DivergenceReport.Stats> e : stats.entrySet()) {
            splits.put(e.getKey(), DivergenceReport.statsJson(e.getValue()));
        }
        Map<String, Object> ordered = new LinkedHashMap<>();
        for (String split : SPLITS) {
            ordered.put(split, splits.get(split));
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("reference", DivergenceReport.REFERENCE);
        root.put("max_text_tokens", MAX_TEXT_TOKENS);
        root.put("token_budget", budget);
        root.put("splits", ordered);
        Files.createDirectories(cellDir);
        Files.write(cellDir.resolve(DivergenceReport.FILE),
                (JSON.writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8));
        return stats;
    }
}
