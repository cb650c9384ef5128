package dev.revenant.engine;

import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/**
 * Run-time parity ({@code --check-parity N}): the first N tokens of a run go through the model as loaded
 * (the GPU) and through the same checkpoint on a CPU backend, and every hidden state (embeddings, each
 * layer, after the final norm) and the logits are compared. The error of each is {@code max|Δ| / max|x_cpu|};
 * past the tolerance of the math mode ({@link #tolerance}) the run fails, naming the first layer over it.
 */
public final class ParityCheck {
    private ParityCheck() {
    }

    /**
     * Relative tolerance: exact fp32 math differs from the CPU only in summation order (errors ~1e-6 seen
     * on the fixtures, so 1e-4 leaves a wide margin); bf16 activations on tensor cores carry 2⁻⁸
     * relative rounding per matmul input, so 5e-2.
     */
    public static double tolerance(boolean tensorMath) {
        return tensorMath ? 5e-2 : 1e-4;
    }

    /** Compares {@code model} with a CPU copy over {@code ids}; prints a line per layer; throws past the tolerance. */
    public static void run(Model model, int[] ids, int threads, boolean tensorMath, PrintStream log) {
        int[] first = Arrays.copyOf(ids, Math.min(ids.length, Math.max(1, ids.length)));
        int layers = model.config().numLayers();
        float[][] gpu = new float[layers + 3][];
        float[][] cpu = new float[layers + 3][];
        gpu[layers + 2] = tapped(model, first, gpu);
        try (Backend be = Backends.create("auto-cpu", threads); Model ref = Model.load(model.dir(), be, model.precision())) {
            cpu[layers + 2] = tapped(ref, first, cpu);
        }
        double tol = tolerance(tensorMath);
        String failed = null;
        for (int i = 0; i < gpu.length; i++) {
            String what = i == 0 ? "embeddings" : i <= layers ? "layer " + (i - 1) : i == layers + 1 ? "final norm" : "logits";
            double maxRef = 0;
            double maxErr = 0;
            for (int j = 0; j < cpu[i].length; j++) {
                maxRef = Math.max(maxRef, Math.abs(cpu[i][j]));
                maxErr = Math.max(maxErr, Math.abs((double) gpu[i][j] - cpu[i][j]));
            }
            double rel = maxErr / Math.max(maxRef, 1e-30);
            log.printf("parity %-12s max|d| %.3g  max|x| %.3g  rel %.3g%s%n", what, maxErr, maxRef, rel, rel > tol ? "  OVER " + tol : "");
            if (rel > tol && failed == null || Double.isNaN(rel) && failed == null) {
                failed = what + " (relative error " + rel + " > " + tol + ")";
            }
        }
        if (failed != null) {
            throw new IllegalStateException("parity check over " + first.length + " tokens failed at " + failed
                    + ": the " + model.backend().name() + " backend disagrees with the CPU");
        }
        log.printf("parity: %d tokens, every layer within %.0e of the CPU%n", first.length, tol);
    }

    private static float[] tapped(Model m, int[] ids, float[][] into) {
        return new Forward(m).tap((index, seq, x, off, rows, dim) -> into[index] = Arrays.copyOfRange(x, off, off + rows * dim))
                .run(List.of(m.newCache(ids.length)), List.of(ids), true)[0];
    }
}
