package dev.revenant.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.engine.Generator;
import dev.revenant.tokenizer.Tokenizer;
import java.util.LinkedHashMap;
import java.util.Map;
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

    @Mixin
    TextInput input = new TextInput();

    @Option(names = "--max-new-tokens", defaultValue = "32", description = "tokens to generate (default: ${DEFAULT-VALUE})")
    int maxNew;

    @Option(names = "--stop-at-eos", description = "stop at the config's eos_token_id")
    boolean stopAtEos;

    @Option(names = "--json", description = "print JSON {prompt, generated, output}")
    boolean json;

    @Mixin
    BackendOptions backend = new BackendOptions();

    @Override
    public Integer call() throws Exception {
        if (maxNew < 0) {
            throw new IllegalArgumentException("--max-new-tokens: expected ≥ 0, found " + maxNew);
        }
        try (Tokenizer tok = input.tokenizer(model); Backend be = backend.create(); Model m = backend.load(model, be)) {
            int[] prompt = input.tokens(tok);
            backend.checkParity(m, prompt);
            int[] out = Generator.greedy(m, prompt, maxNew, stopAtEos ? m.config().eosTokenId() : -1);
            int[] gen = Arrays.copyOfRange(out, prompt.length, out.length);
            String text = tok == null ? null : tok.decode(gen, true, tok.cleanUpDefault());
            if (json) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("prompt", prompt);
                j.put("generated", gen);
                j.put("output", out);
                if (text != null) {
                    j.put("text", text);
                }
                System.out.println(new ObjectMapper().writeValueAsString(j));
            } else if (text != null) {
                System.out.println(text);
            } else {
                System.out.println(Ids.format(gen));
            }
        }
        return 0;
    }
}
