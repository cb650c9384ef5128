package dev.revenant.bench;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.args.LogFormat;
import de.kherud.llama.ModelParameters;
import dev.revenant.engine.Forward;
import dev.revenant.engine.Generator;
import dev.revenant.engine.KvCache;
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.quant.GgufPacked;
import dev.revenant.quant.GgufWriter;
import dev.revenant.quant.Precision;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Greedy decode tokens/s of Revenant and llama.cpp ({@code de.kherud:llama}) on the same model at the same GGUF
 * precision with the same threads, in one process, one after the other: Revenant exports the GGUF file
 * ({@link GgufWriter}) that llama.cpp runs, and runs the same checkpoint at that precision itself.
 * Revenant: median decode step after an 18-token prompt (BOS + 17 bytes). llama.cpp: (N − 1) tokens over the difference of a
 * generation of N tokens and one of 1 token (so prompt processing cancels out), median of 3.
 * Both only choose printable byte tokens (so llama.cpp's text output counts its tokens) — the same
 * restriction, applied as a bias on the logits, in both.
 *
 * <p>Usage: {@code java -cp bench/target/benchmarks.jar dev.revenant.bench.PeerDecode MODEL_DIR q8_0|q4_0 THREADS TOKENS}
 */
public final class PeerDecode {
    private static final int LO = 3 + 32;   // byte ' '
    private static final int HI = 3 + 126;  // byte '~'

    public static void main(String[] a) throws Exception {
        Path dir = Path.of(a[0]);
        Precision p = Precision.parse(a[1]);
        int threads = Integer.parseInt(a[2]);
        int tokens = Integer.parseInt(a[3]);
        GgufPacked.Type type = GgufWriter.type(p);
        Path gguf = Files.createTempFile("peer-", "-" + p.name() + ".gguf");
        try {
            long t0 = System.nanoTime();
            GgufWriter.write(dir, type, gguf);
            System.out.printf(Locale.ROOT, "exported %s (%.2f GB) in %.1f s%n", gguf, Files.size(gguf) / 1e9, (System.nanoTime() - t0) / 1e9);
            String text = "The quick brown f";
            int[] prompt = new int[text.length() + 1];
            prompt[0] = 1;
            for (int i = 0; i < text.length(); i++) {
                prompt[i + 1] = 3 + text.charAt(i);
            }
            double rev = revenant(dir, p, threads, tokens, prompt);
            int vocab = dev.revenant.model.ConfigLoader.load(dir).vocabSize();
            double llama = llamaCpp(gguf, threads, tokens, text, vocab);
            System.out.printf(Locale.ROOT, "peer decode %s, %d threads, %d tokens: revenant %.2f tokens/s, llama.cpp %.2f tokens/s, "
                    + "ratio %.2f  [%s, %d cores]%n", p.name(), threads, tokens, rev, llama, rev / llama,
                    System.getProperty("os.arch"), Runtime.getRuntime().availableProcessors());
        } finally {
            Files.deleteIfExists(gguf);
        }
        System.exit(0); // llama.cpp's threads keep the JVM alive after close()
    }

    static double revenant(Path dir, Precision p, int threads, int tokens, int[] prompt) {
        try (Backend be = Backends.create("auto", threads); Model m = Model.load(dir, be, p)) {
            System.out.println(Backends.describe(be));
            Forward f = new Forward(m);
            double[] best = new double[3];
            for (int rep = 0; rep < 3; rep++) {
                KvCache cache = m.newCache(prompt.length + tokens + 1);
                float[] logits = f.run(List.of(cache), List.of(prompt), false)[0];
                long[] steps = new long[tokens];
                for (int i = 0; i < tokens; i++) {
                    int next = printableArgmax(logits);
                    long s = System.nanoTime();
                    logits = f.run(List.of(cache), List.of(new int[] {next}), false)[0];
                    steps[i] = System.nanoTime() - s;
                }
                Arrays.sort(steps);
                best[rep] = 1e9 / steps[tokens / 2];
            }
            Arrays.sort(best);
            System.out.printf(Locale.ROOT, "revenant %s: median step %.1f ms -> %.2f tokens/s (median of 3 runs)%n", p.name(),
                    1e3 / best[1], best[1]);
            return best[1];
        }
    }

    private static int printableArgmax(float[] logits) {
        int b = LO;
        for (int i = LO + 1; i <= HI; i++) {
            if (logits[i] > logits[b]) {
                b = i;
            }
        }
        return b;
    }

    static double llamaCpp(Path gguf, int threads, int tokens, String text, int vocab) {
        LlamaModel.setLogger(LogFormat.TEXT, (level, msg) -> { });
        List<Integer> banned = new ArrayList<>();
        for (int t = 0; t < vocab; t++) { // every id but the printable bytes, the unused padding ids included
            if (t < LO || t > HI) {
                banned.add(t);
            }
        }
        ModelParameters mp = new ModelParameters().setModel(gguf.toString()).setCtxSize(256).setBatchSize(64)
                .setUbatchSize(64).setThreads(threads).setThreadsBatch(threads);
        try (LlamaModel lm = new LlamaModel(mp)) {
            double[] rates = new double[3];
            for (int rep = 0; rep < 3; rep++) {
                double t1 = timed(lm, text, 1, banned);
                long s = System.nanoTime();
                String out = lm.complete(params(text, tokens + 1, banned));
                double tn = (System.nanoTime() - s) / 1e9;
                if (out.length() != tokens + 1) {
                    throw new IllegalStateException("llama.cpp generated " + out.length() + " tokens, expected " + (tokens + 1));
                }
                rates[rep] = tokens / (tn - t1);
            }
            Arrays.sort(rates);
            System.out.printf(Locale.ROOT, "llama.cpp: %.2f tokens/s (median of 3 runs)%n", rates[1]);
            return rates[1];
        }
    }

    private static double timed(LlamaModel lm, String text, int n, List<Integer> banned) {
        long s = System.nanoTime();
        lm.complete(params(text, n, banned));
        return (System.nanoTime() - s) / 1e9;
    }

    private static InferenceParameters params(String text, int n, List<Integer> banned) {
        return new InferenceParameters(text).setNPredict(n).setTemperature(0f).setTopK(1).setRepeatPenalty(1f).setSeed(1)
                .setCachePrompt(false).disableTokenIds(banned);
    }
}
