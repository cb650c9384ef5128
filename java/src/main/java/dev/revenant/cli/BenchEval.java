package dev.revenant.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.revenant.engine.Generator;
import dev.revenant.engine.Model;
import dev.revenant.engine.Scorer;
import dev.revenant.kernel.Backend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code revenant bench eval}: the two workloads of a MUSE evaluation, teacher-forced scoring (PrivLeak)
 * and generation (VerbMem, KnowMem), at batch 1 and batch B in the same run, with a check that both
 * batchings give identical results.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Scoring tokens/s and generation tokens/s at batch 1 and --batch B (same run, results checked equal).")
final class BenchEval implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "model folder")
    Path model;

    @Option(names = "--sequences", defaultValue = "8", description = "sequences per workload (default: ${DEFAULT-VALUE})")
    int sequences;

    @Option(names = "--score-len", defaultValue = "64", description = "tokens per scored sequence (default: ${DEFAULT-VALUE})")
    int scoreLen;

    @Option(names = "--prompt-len", defaultValue = "16", description = "prompt tokens for generation (default: ${DEFAULT-VALUE})")
    int promptLen;

    @Option(names = "--new-tokens", defaultValue = "16", description = "generated tokens per sequence (default: ${DEFAULT-VALUE})")
    int newTokens;

    @Option(names = "--batch", defaultValue = "8", description = "the batched size compared with batch 1 (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Mixin
    BackendOptions backend = new BackendOptions();

    @Override
    public Integer call() throws Exception {
        try (Backend be = backend.create(); Model m = backend.load(model, be)) {
            int vocab = m.config().vocabSize();
            List<int[]> scored = seqs(sequences, scoreLen, vocab, 1);
            List<int[]> prompts = seqs(sequences, promptLen, vocab, 2);
            Generator.greedy(m, prompts.subList(0, 1), 2, -1); // warm-up (JIT, page cache)
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", model.toAbsolutePath().toString());
            out.put("backend", be.name());
            out.put("threads", be.threads());
            out.put("cpu", BenchCommand.cpuModel());
            List<float[]> score1 = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int[] s : scored) {
                score1.add(Scorer.logProbs(m, s));
            }
            double s1 = (System.nanoTime() - t0) / 1e9;
            List<float[]> scoreB = new ArrayList<>();
            t0 = System.nanoTime();
            for (int i = 0; i < scored.size(); i += batch) {
                scoreB.addAll(Scorer.logProbs(m, scored.subList(i, Math.min(scored.size(), i + batch))));
            }
            double sB = (System.nanoTime() - t0) / 1e9;
            List<int[]> gen1 = new ArrayList<>();
            t0 = System.nanoTime();
            for (int[] p : prompts) {
                gen1.add(Generator.greedy(m, p, newTokens, -1));
            }
            double g1 = (System.nanoTime() - t0) / 1e9;
            List<int[]> genB = new ArrayList<>();
            t0 = System.nanoTime();
            for (int i = 0; i < prompts.size(); i += batch) {
                genB.addAll(Generator.greedy(m, prompts.subList(i, Math.min(prompts.size(), i + batch)), newTokens, -1));
            }
            double gB = (System.nanoTime() - t0) / 1e9;
            long scoreTokens = (long) sequences * scoreLen;
            long genTokens = (long) sequences * newTokens;
            out.put("score_tokens_per_s_batch1", scoreTokens / s1);
            out.put("score_tokens_per_s_batch" + batch, scoreTokens / sB);
            out.put("generate_tokens_per_s_batch1", genTokens / g1);
            out.put("generate_tokens_per_s_batch" + batch, genTokens / gB);
            boolean same = equalF(score1, scoreB) && equalI(gen1, genB);
            out.put("batched_equals_batch1", same);
            if (json) {
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
            } else {
                System.out.printf("bench eval %s (%s, %d threads, %s)%n", model, be.name(), be.threads(), BenchCommand.cpuModel());
                System.out.printf("  scoring    %d × %d tokens: batch 1 %.1f tokens/s, batch %d %.1f tokens/s (×%.2f)%n",
                        sequences, scoreLen, scoreTokens / s1, batch, scoreTokens / sB, s1 / sB);
                System.out.printf("  generation %d × %d new tokens: batch 1 %.2f tokens/s, batch %d %.2f tokens/s (×%.2f)%n",
                        sequences, newTokens, genTokens / g1, batch, genTokens / gB, g1 / gB);
                System.out.println("  batch " + batch + " results identical to batch 1: " + same);
            }
            return same ? 0 : 1;
        }
    }

    private static List<int[]> seqs(int n, int len, int vocab, int salt) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] s = new int[len];
            for (int t = 0; t < len; t++) {
                s[t] = 3 + (int) Math.floorMod((long) (i * 7919 + t * 104729 + salt * 31) * 2654435761L, (long) Math.max(1, vocab - 3));
            }
            out.add(s);
        }
        return out;
    }

    private static boolean equalF(List<float[]> a, List<float[]> b) {
        for (int i = 0; i < a.size(); i++) {
            if (!Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return a.size() == b.size();
    }

    private static boolean equalI(List<int[]> a, List<int[]> b) {
        for (int i = 0; i < a.size(); i++) {
            if (!Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return a.size() == b.size();
    }
}
