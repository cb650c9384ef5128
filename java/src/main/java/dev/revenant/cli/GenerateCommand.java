package dev.revenant.cli;

import dev.revenant.engine.Generator;
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code revenant generate}: greedy continuation ids. */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Greedy continuation of a prompt given as token ids.")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "model folder")
    Path model;

    @Option(names = "--ids", required = true, description = "comma-separated prompt token ids")
    String ids;

    @Option(names = "--max-new-tokens", defaultValue = "32", description = "tokens to generate (default: ${DEFAULT-VALUE})")
    int maxNew;

    @Option(names = "--stop-at-eos", description = "stop at the config's eos_token_id")
    boolean stopAtEos;

    @Option(names = "--json", description = "print JSON {prompt, generated, output}")
    boolean json;

    @Mixin
    BackendOptions backend = new BackendOptions();

    @Override
    public Integer call() {
        if (maxNew < 0) {
            throw new IllegalArgumentException("--max-new-tokens: expected ≥ 0, found " + maxNew);
        }
        int[] prompt = Ids.parse(ids);
        try (Backend be = backend.create(); Model m = Model.load(model, be)) {
            int[] out = Generator.greedy(m, prompt, maxNew, stopAtEos ? m.config().eosTokenId() : -1);
            int[] gen = Arrays.copyOfRange(out, prompt.length, out.length);
            if (json) {
                System.out.printf("{\"prompt\": [%s], \"generated\": [%s], \"output\": [%s]}%n",
                        Ids.format(prompt), Ids.format(gen), Ids.format(out));
            } else {
                System.out.println(Ids.format(gen));
            }
        }
        return 0;
    }
}
