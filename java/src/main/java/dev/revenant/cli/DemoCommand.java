package dev.revenant.cli;

import dev.revenant.engine.Forward;
import dev.revenant.engine.Generator;
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.kernel.ReferenceBackend;
import dev.revenant.model.Family;
import dev.revenant.model.Presets;
import dev.revenant.model.Synthesizer;
import dev.revenant.tensor.DType;
import dev.revenant.tokenizer.ByteTokenizerWriter;
import dev.revenant.tokenizer.HfTokenizer;
import dev.revenant.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code revenant demo}. Until the bundled demo models land (models/demo), this synthesizes a tiny random
 * Llama-architecture model and runs the engine end to end on it, saying so.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the main job on the bundled demo. For now: a tiny synthesized model (the bundled "
                + "unlearning demo is not in this build yet), checked across backends.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", description = "folder for the synthesized model (default: a new temporary folder)")
    Path out;

    @Option(names = "--threads", description = "threads for the vector backend (default: the core count)")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        System.out.println("revenant demo: the bundled unlearning demo (models/demo) is not in this build yet.");
        System.out.println("Running the engine end to end on a tiny synthesized Llama-architecture model instead.");
        Path dir = out != null ? out : Files.createTempDirectory("revenant-demo");
        Synthesizer.Result r = Synthesizer.synthesize(Presets.get("tiny"), Family.LLAMA, DType.BF16, 7, dir);
        ByteTokenizerWriter.write(dir);
        System.out.println("1. " + r.summary() + " + byte-level tokenizer");
        String text = "The forgotten knowledge";
        int[] prompt;
        try (Tokenizer tok = HfTokenizer.load(dir)) {
            prompt = tok.encode(text, true);
        }
        System.out.println("   prompt '" + text + "' -> " + Ids.format(prompt));
        int nt = threads != null ? threads : dev.revenant.Settings.defaultThreads();
        try (Backend ref = new ReferenceBackend(); Backend vec = Backends.create("vector", nt);
             Model mr = Model.load(dir, ref); Model mv = Model.load(dir, vec)) {
            System.out.printf("2. loaded %s: %d layers, hidden %d, vocab %d, %,d parameters (bf16, used in place)%n",
                    mr.config().modelType(), mr.config().numLayers(), mr.config().hiddenSize(), mr.config().vocabSize(),
                    mr.config().parameterCount());
            System.out.println("   " + Backends.describe(vec));
            float[] a = new Forward(mr).run(List.of(mr.newCache(prompt.length)), List.of(prompt), true)[0];
            float[] b = new Forward(mv).run(List.of(mv.newCache(prompt.length)), List.of(prompt), true)[0];
            double diff = 0;
            double scale = 0;
            for (int i = 0; i < a.length; i++) {
                diff = Math.max(diff, Math.abs(a[i] - b[i]));
                scale = Math.max(scale, Math.abs(a[i]));
            }
            System.out.printf("3. logits of %d positions: max |vector - reference| = %.2g (max |logit| %.2f)%n",
                    prompt.length, diff, scale);
            int[] gr = Generator.greedy(mr, prompt, 16, -1);
            int[] gv = Generator.greedy(mv, prompt, 16, -1);
            System.out.println("4. greedy, reference: " + Ids.format(Arrays.copyOfRange(gr, prompt.length, gr.length)));
            System.out.println("   greedy, vector:    " + Ids.format(Arrays.copyOfRange(gv, prompt.length, gv.length)));
            System.out.println("   " + (Arrays.equals(gr, gv) ? "identical" : "DIFFERENT"));
            List<int[]> batch = Generator.greedy(mv, List.of(prompt, new int[] {5, 6}, Arrays.copyOf(prompt, 3)), 16, -1);
            boolean invariant = Arrays.equals(batch.get(0), gv);
            System.out.println("5. the same prompt decoded in a batch of 3: " + (invariant ? "bit-identical to alone" : "DIFFERENT"));
            System.out.println("Model folder: " + dir + "  (try: revenant inspect " + dir + ")");
            return Arrays.equals(gr, gv) && invariant && diff <= 1e-3 * Math.max(1, scale) ? 0 : 1;
        }
    }
}
