package dev.revenant.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.revenant.engine.Forward;
import dev.revenant.engine.Generator;
import dev.revenant.engine.KvCache;
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Bandwidth;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code revenant bench}: measurements with their floor, on this machine, in one run. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks that report their roofline floor.",
        subcommands = {BenchCommand.Decode.class, BenchEval.class, BenchMatmul.class})
final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** The CPU model name from /proc/cpuinfo, or os.arch where that is unavailable. */
    static String cpuModel() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim() + ", " + Runtime.getRuntime().availableProcessors() + " cores";
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return dev.revenant.Settings.osArch() + ", " + Runtime.getRuntime().availableProcessors() + " cores";
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * Greedy decode tokens/s against the memory-bandwidth floor: each decoded token streams every weight
     * once, so tokens/s ≤ read bandwidth / weight bytes per token. The bandwidth is measured in this run.
     */
    @Command(name = "decode", mixinStandardHelpOptions = true,
            description = "Greedy decode tokens/s, the memory-bandwidth floor (weight bytes per token over read "
                    + "bandwidth measured in the same run) and the ratio to it.")
    static final class Decode implements Callable<Integer> {
        @Option(names = "--model", required = true, description = "model folder")
        Path model;

        @Option(names = "--tokens", defaultValue = "32", description = "decode steps timed (default: ${DEFAULT-VALUE})")
        int tokens;

        @Option(names = "--prompt-len", defaultValue = "8", description = "prompt length before decoding (default: ${DEFAULT-VALUE})")
        int promptLen;

        @Option(names = "--json", description = "print JSON")
        boolean json;

        @Mixin
        BackendOptions backend = new BackendOptions();

        @Override
        public Integer call() throws Exception {
            if (tokens < 1 || promptLen < 1) {
                throw new IllegalArgumentException("--tokens and --prompt-len must be ≥ 1");
            }
            try (Backend be = backend.create(); Model m = backend.load(model, be)) {
                long weightBytes = m.weightBytesPerToken();
                int vocab = m.config().vocabSize();
                int[] prompt = new int[promptLen];
                for (int i = 0; i < promptLen; i++) {
                    prompt[i] = 3 + (i * 7919) % Math.max(1, vocab - 3);
                }
                // warm-up: JIT and page cache (a first pass over a mapped checkpoint reads it from disk)
                Generator.greedy(m, prompt, 4, -1);
                double readBw = Bandwidth.readBytesPerSecond(1L << 30, be.threads(), 5);
                Forward f = new Forward(m);
                KvCache cache = m.newCache(promptLen + tokens + 1);
                float[][] logits = f.run(List.of(cache), List.of(prompt), false);
                long[] stepNanos = new long[tokens];
                long t0 = System.nanoTime();
                for (int i = 0; i < tokens; i++) {
                    int next = Generator.argmax(logits[0]);
                    long s = System.nanoTime();
                    logits = f.run(List.of(cache), List.of(new int[] {next}), false);
                    stepNanos[i] = System.nanoTime() - s;
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                long[] sorted = stepNanos.clone();
                Arrays.sort(sorted);
                double medianMs = sorted[tokens / 2] / 1e6;
                double tokPerS = tokens / seconds;
                double tokPerSMedian = 1000.0 / medianMs;
                double floor = readBw / weightBytes;
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("model", model.toAbsolutePath().toString());
                out.put("backend", be.name());
                out.put("threads", be.threads());
                out.put("tokens", tokens);
                out.put("prompt_len", promptLen);
                out.put("tokens_per_s", tokPerS);
                out.put("median_ms_per_token", medianMs);
                out.put("tokens_per_s_median", tokPerSMedian);
                out.put("weight_bytes_per_token", weightBytes);
                out.put("read_bandwidth_gb_s", readBw / 1e9);
                out.put("floor_tokens_per_s", floor);
                out.put("ratio_to_floor", tokPerSMedian / floor);
                out.put("cpu", cpuModel());
                if (json) {
                    System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
                } else {
                    System.out.printf("decode %s: %d tokens, %s, %d threads%n", model, tokens, be.name(), be.threads());
                    System.out.printf("  %.2f tokens/s overall, median %.1f ms/token (%.2f tokens/s)%n", tokPerS, medianMs, tokPerSMedian);
                    System.out.printf("  floor: %.3f GB weights per token / %.2f GB/s read bandwidth = %.2f tokens/s%n",
                            weightBytes / 1e9, readBw / 1e9, floor);
                    System.out.printf("  ratio to floor (median): %.2f   [%s]%n", tokPerSMedian / floor, cpuModel());
                }
            }
            return 0;
        }
    }
}
