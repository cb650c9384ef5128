package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
import dev.revenant.cli.Main;
import dev.revenant.engine.Forward;
import dev.revenant.engine.KvCache;
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GGUF file loads in llama.cpp (through de.kherud:llama's JNI build, CPU) and llama.cpp's greedy continuation
 * equals Revenant's at the same precision. Both sides choose only among the printable ASCII byte tokens (llama.cpp
 * through logit biases of -inf, Revenant by masking the argmax), so that llama.cpp's text output maps back to token
 * ids one to one; the prompt has no spaces, so SentencePiece's whitespace escaping does not apply.
 */
class GgufLlamaCppTest {
    static final String[] PROMPTS = {"Revenant,quantized!", "Hello,llama.cpp?", "(1+2)*3=9;"};
    /** A divergence is accepted only where Revenant's top-2 logit margin is below this (a near tie). */
    static final float TIE = 0.02f;
    static final int NEW = 8;
    static final int LO = 3 + 0x20;
    static final int HI = 3 + 0x7E;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void llamaCppGreedyEqualsRevenant(@TempDir Path tmp) throws Exception {
        for (String precision : new String[] {"q8_0", "q4_0"}) {
            for (String prompt : PROMPTS) {
                check(tmp, precision, prompt);
            }
        }
    }

    private static void check(Path tmp, String precision, String text) throws Exception {
        Path model = tmp.resolve("m");
        if (!model.resolve("config.json").toFile().exists()) {
            assertEquals(0, Main.run("synth", "--preset", "tiny", "--dtype", "f32", "--seed", "11", "--out", model.toString()));
        }
        Path gguf = tmp.resolve("m-" + precision + ".gguf");
        if (!gguf.toFile().exists()) {
            assertEquals(0, Main.run("quantize", "--model", model.toString(), "--precision", precision, "--format", "gguf",
                "--out", gguf.toString()));
        }

        byte[] promptBytes = text.getBytes(StandardCharsets.US_ASCII);
        int[] prompt = new int[promptBytes.length + 1];
        prompt[0] = 1;
        for (int i = 0; i < promptBytes.length; i++) {
            prompt[i + 1] = 3 + promptBytes[i];
        }

        // Revenant: masked greedy, with the top-2 margin of each step
        StringBuilder rev = new StringBuilder();
        List<String> margins = new ArrayList<>();
        float[] margin = new float[NEW];
        int vocab;
        try (Backend be = Backends.create("vector", 2); Model m = Model.load(model, be, Precision.parse(precision))) {
            vocab = m.config().vocabSize();
            Forward f = new Forward(m);
            KvCache cache = m.newCache(prompt.length + NEW);
            float[] logits = f.run(List.of(cache), List.of(prompt), false)[0];
            for (int n = 0; n < NEW; n++) {
                int best = -1;
                int second = -1;
                for (int t = LO; t <= HI; t++) {
                    if (best < 0 || logits[t] > logits[best]) {
                        second = best;
                        best = t;
                    } else if (second < 0 || logits[t] > logits[second]) {
                        second = t;
                    }
                }
                margin[n] = logits[best] - logits[second];
                margins.add(String.format(Locale.ROOT, "%.4f", logits[best] - logits[second]));
                rev.append((char) (best - 3));
                logits = f.run(List.of(cache), List.of(new int[] {best}), false)[0];
            }
        }

        // llama.cpp
        StringBuilder log = new StringBuilder();
        LlamaModel.setLogger(LogFormat.TEXT, (level, msg) -> {
            synchronized (log) {
                log.append(level).append(' ').append(msg);
            }
        });
        List<Integer> banned = new ArrayList<>();
        for (int t = 0; t < vocab; t++) {
            if (t < LO || t > HI) {
                banned.add(t);
            }
        }
        String llama;
        int[] encoded;
        ModelParameters mp = new ModelParameters().setModel(gguf.toString()).setCtxSize(64).setBatchSize(64)
                .setUbatchSize(64).setThreads(2).setThreadsBatch(2).skipWarmup();
        try (LlamaModel lm = new LlamaModel(mp)) {
            encoded = lm.encode(text);
            InferenceParameters ip = new InferenceParameters(text).setNPredict(NEW).setTemperature(0f).setTopK(1)
                    .setRepeatPenalty(1f).setSeed(1).setCachePrompt(false).disableTokenIds(banned);
            llama = lm.complete(ip);
        } catch (RuntimeException | Error e) {
            throw new AssertionError("llama.cpp refused " + gguf + ": " + e + "\nllama.cpp log:\n" + log, e);
        }
        System.out.println("[gguf " + precision + "] prompt '" + text + "' llama.cpp tokens "
                + Arrays.toString(encoded) + "; revenant '" + rev + "' llama.cpp '" + llama + "' top-2 margins " + margins);
        int[] noBos = encoded.length > 0 && encoded[0] == 1 ? Arrays.copyOfRange(encoded, 1, encoded.length) : encoded;
        assertArrayEquals(Arrays.copyOfRange(prompt, 1, prompt.length), noBos,
                "llama.cpp tokenizes the prompt to our byte ids");
        assertEquals(NEW, llama.length(), "llama.cpp generated " + NEW + " tokens: '" + llama + "'");
        for (int k = 0; k < NEW; k++) {
            if (rev.charAt(k) != llama.charAt(k)) {
                assertTrue(margin[k] < TIE, precision + " '" + text + "': llama.cpp greedy '" + llama + "' vs Revenant '"
                        + rev + "' differ at new token " + k + " where Revenant's top-2 margin " + margin[k]
                        + " is no near tie (< " + TIE + "); margins " + margins);
                System.out.println("[gguf " + precision + "] near tie at new token " + k + " (margin " + margin[k] + "): "
                        + "the rest is not compared");
                break;
            }
        }
    }
}
