package dev.revenant.cli;

import dev.revenant.model.Family;
import dev.revenant.model.Presets;
import dev.revenant.model.Synthesizer;
import dev.revenant.tensor.DType;
import dev.revenant.tokenizer.ByteTokenizerWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code revenant synth}: a random model folder of a given family and shape, for tests and benchmarks. */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = {
            "Writes a random checkpoint (config.json, generation_config.json, model.safetensors) of any supported "
                    + "architecture at the shape of a real model, deterministic in the seed.",
            "Presets: tiny (any arch; default llama), smollm-135m, tinyllama-1.1b, llama-3.2-1b, llama-2-7b (llama), "
                    + "qwen2.5-0.5b (qwen2).",
            "Linear and embedding weights ~ U(-a, a) with std 0.02 (tiny: 0.08); norm weights 1 (gemma 0); biases 0."
        })
public final class SynthCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--arch", paramLabel = "ARCH",
            description = "llama, mistral, qwen2, qwen3, gemma, phi3 or phi (default: the preset's own family)")
    String arch;

    @Option(names = "--preset", paramLabel = "NAME", required = true,
            description = "tiny, smollm-135m, tinyllama-1.1b, llama-3.2-1b, qwen2.5-0.5b or llama-2-7b")
    String preset;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "bf16",
            description = "f32, bf16 or f16 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "output folder (created)")
    Path out;

    @Option(names = "--no-tokenizer", description = "do not write the byte-level tokenizer.json (written by default when vocab ≥ 259)")
    boolean noTokenizer;

    @Override
    public Integer call() {
        Presets.Preset p;
        Family family;
        DType type;
        try {
            p = Presets.get(preset);
            family = arch == null ? null : parseArch(arch);
            type = Synthesizer.parseDType(dtype);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        Synthesizer.Result r = Synthesizer.synthesize(p, family, type, seed, out);
        String tokenizerNote = "";
        if (!noTokenizer && r.config().vocabSize() >= ByteTokenizerWriter.VOCAB) {
            ByteTokenizerWriter.write(out);
            tokenizerNote = " + byte-level tokenizer.json";
        }
        spec.commandLine().getOut().println(r.summary() + tokenizerNote);
        spec.commandLine().getOut().flush();
        return 0;
    }

    private static Family parseArch(String name) {
        try {
            return Family.of(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown --arch '" + name + "'; valid: " + Family.supported(), e);
        }
    }
}
