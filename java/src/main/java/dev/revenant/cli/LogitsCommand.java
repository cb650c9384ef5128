package dev.revenant.cli;

import dev.revenant.engine.Forward;
import dev.revenant.engine.Generator;
import dev.revenant.tokenizer.Tokenizer;
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import dev.revenant.safetensors.SafetensorsWriter;
import dev.revenant.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code revenant logits}: logits of every position, written as F32 tensor {@code logits} [L, vocab]. */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Run one forward pass and write the logits of every position as F32 tensor 'logits' [L, vocab].")
final class LogitsCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "model folder")
    Path model;

    @Mixin
    TextInput input = new TextInput();

    @Option(names = "--out", required = true, description = "output .safetensors file")
    Path out;

    @Mixin
    BackendOptions backend = new BackendOptions();

    @Override
    public Integer call() {
        try (Tokenizer tok = input.tokenizer(model); Backend be = backend.create(); Model m = backend.load(model, be)) {
            int[] tokens = input.tokens(tok);
            backend.checkParity(m, tokens);
            float[] logits = new Forward(m).run(List.of(m.newCache(tokens.length)), List.of(tokens), true)[0];
            Tensor t = Tensor.ofFloats("logits", logits, tokens.length, m.config().vocabSize());
            SafetensorsWriter.write(out, List.of(t), Map.of("format", "pt", "revenant.ids", Ids.format(tokens),
                    "revenant.backend", be.name()));
            System.out.printf("wrote logits [%d, %d] to %s%n", tokens.length, m.config().vocabSize(), out);
            int vocab = m.config().vocabSize();
            int next = Generator.argmax(java.util.Arrays.copyOfRange(logits, (tokens.length - 1) * vocab, tokens.length * vocab));
            String piece = tok == null ? "" : tok.decode(new int[] {next}, false, false);
            System.out.printf("most likely next token: %d%s%n", next, piece.isEmpty() ? "" : " '" + piece + "'");
        }
        return 0;
    }
}
