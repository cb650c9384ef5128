package dev.revenant.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.revenant.engine.CudaModelCheck;
import dev.revenant.engine.Generator;
import dev.revenant.engine.Model;
import dev.revenant.engine.Scorer;
import dev.revenant.kernel.cuda.CudaBackend;
import dev.revenant.kernel.cuda.CudaBench;
import dev.revenant.kernel.cuda.CudaRuntime;
import dev.revenant.kernel.cuda.CudaSelfCheck;
import dev.revenant.quant.Precision;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code revenant cuda}: the GPU's self-check against the CPU reference, and its benchmarks. */
@Command(name = "cuda", mixinStandardHelpOptions = true, description = "CUDA backend: check every kernel and the fixture "
        + "models against the CPU reference; benchmark kernels and whole models.",
        subcommands = {CudaCommand.Check.class, CudaCommand.Bench.class})
final class CudaCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static CudaRuntime runtime() {
        String why = CudaRuntime.probe();
        if (why != null) {
            throw new IllegalStateException(why);
        }
        CudaRuntime rt = CudaRuntime.get();
        System.out.println("device: " + rt.describe());
        return rt;
    }

    @Command(name = "check", mixinStandardHelpOptions = true, description = "Every kernel against the reference backend "
            + "(odd sizes, rigorous fp32 bounds, batch invariance), then the fixture models end to end against HF "
            + "transformers' outputs. Exit status 1 when any check fails.")
    static final class Check implements Callable<Integer> {
        @Option(names = "--fixtures", description = "folder holding the fixture models (shared/fixtures/models); "
                + "without it only the kernels are checked")
        Path fixtures;

        @Override
        public Integer call() {
            runtime();
            PrintStream out = System.out;
            List<CudaSelfCheck.Result> all = new ArrayList<>();
            try (CudaBackend be = new CudaBackend(false)) {
                all.addAll(new CudaSelfCheck(be, out).run());
            }
            if (fixtures != null) {
                all.addAll(new CudaModelCheck(out).run(fixtures));
            }
            long failed = all.stream().filter(r -> !r.pass()).count();
            out.printf("cuda check: %d checks, %d failed%n", all.size(), failed);
            return failed == 0 ? 0 : 1;
        }
    }

    @Command(name = "bench", mixinStandardHelpOptions = true, description = "Copy bandwidth, GEMV at batch 1 as a fraction "
            + "of it, tensor-core GEMM TFLOP/s; with --model, scoring and greedy generation tokens/s of a whole model.")
    static final class Bench implements Callable<Integer> {
        @Option(names = "--model", description = "model folder for the end-to-end runs")
        Path model;

        @Option(names = "--precisions", split = ",", defaultValue = "bf16",
                description = "precisions of the end-to-end runs (default: ${DEFAULT-VALUE})")
        List<String> precisions;

        @Option(names = "--gemv", split = ",", defaultValue = "bf16,rtn-w4-g128,rtn-w8,q4_0,q8_0,nf4",
                description = "weight formats of the GEMV benchmark (default: ${DEFAULT-VALUE})")
        List<String> gemv;

        @Option(names = "--kernels", negatable = true, defaultValue = "true", description = "run the kernel benchmarks")
        boolean kernels;

        @Option(names = "--out", description = "write the figures as JSON here")
        Path out;

        @Override
        public Integer call() throws Exception {
            CudaRuntime rt = runtime();
            Map<String, Object> res = new LinkedHashMap<>();
            res.put("device", rt.describe());
            if (kernels) {
                try (CudaBackend be = new CudaBackend(false)) {
                    CudaBench b = new CudaBench(be, System.out);
                    double copy = b.copyBandwidth();
                    b.gemv(copy, gemv, false);
                    b.gemv(copy, List.of("bf16", "rtn-w4-g128"), true);
                    b.gemm(new int[] {16, 128, 512, 2048}, "bf16");
                    b.gemm(new int[] {16, 128, 512, 2048}, "rtn-w4-g128");
                    res.putAll(b.results());
                }
            }
            if (model != null) {
                for (String p : precisions) {
                    for (boolean tc : new boolean[] {true, false}) {
                        try {
                            endToEnd(p, tc, res);
                        } catch (RuntimeException e) {
                            System.out.println("bench e2e " + p + (tc ? " tensor" : " exact") + " FAILED: " + e);
                        }
                    }
                }
            }
            if (out != null) {
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), res);
            }
            return 0;
        }

        private void endToEnd(String precision, boolean tc, Map<String, Object> res) {
            String tag = precision + (tc ? " tensor" : " exact");
            long t0 = System.nanoTime();
            Precision p = precision.equals("as-stored") ? null : Precision.parse(precision).requireAvailable();
            try (CudaBackend be = new CudaBackend(tc); Model m = Model.load(model, be, p)) {
                int vocab = m.config().vocabSize();
                Random r = new Random(5);
                List<int[]> score = new ArrayList<>();
                for (int s = 0; s < 16; s++) {
                    score.add(randomIds(r, 512, vocab));
                }
                Scorer.logProbs(m, List.of(score.get(0))); // warm-up: uploads the weights
                double load = (System.nanoTime() - t0) / 1e9;
                System.out.printf("bench e2e %s: load + upload + first scoring %.1f s, %.1f GB resident%n", tag, load,
                        be.residentBytes() / 1e9);
                double sec = median(tc ? 3 : 1, () -> Scorer.logProbs(m, score));
                double tps = 16 * 512 / sec;
                System.out.printf("bench e2e %-22s scoring 16x512: %.3f s, %.0f tokens/s%n", tag, sec, tps);
                res.put("e2e " + tag + " score tok/s", tps);
                for (int batch : new int[] {1, 32}) {
                    List<int[]> prompts = new ArrayList<>();
                    for (int s = 0; s < batch; s++) {
                        prompts.add(randomIds(r, 32, vocab));
                    }
                    Generator.greedy(m, prompts, 4, -1);
                    double g = median(batch == 1 ? 3 : 2, () -> Generator.greedy(m, prompts, 128, -1));
                    double gt = batch * 128 / g;
                    System.out.printf("bench e2e %-22s greedy 128 tokens batch %d: %.3f s, %.1f new tokens/s%n", tag, batch, g, gt);
                    res.put("e2e " + tag + " greedy b" + batch + " tok/s", gt);
                }
            }
        }

        private static int[] randomIds(Random r, int n, int vocab) {
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) {
                ids[i] = 3 + r.nextInt(vocab - 3);
            }
            return ids;
        }

        private static double median(int n, Runnable op) {
            double[] t = new double[n];
            for (int i = 0; i < n; i++) {
                long a = System.nanoTime();
                op.run();
                t[i] = (System.nanoTime() - a) / 1e9;
            }
            Arrays.sort(t);
            return t[n / 2];
        }
    }

    static boolean exists(Path p) {
        return p != null && Files.exists(p);
    }
}
