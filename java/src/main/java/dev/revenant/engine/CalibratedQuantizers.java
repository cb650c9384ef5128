package dev.revenant.engine;

import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.quant.AwqQuantizer;
import dev.revenant.quant.GptqFactor;
import dev.revenant.quant.GptqPacked;
import dev.revenant.quant.GptqQuantizer;
import dev.revenant.quant.Hessian;
import dev.revenant.quant.PackedRows;
import dev.revenant.quant.Precision;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The calibration-based quantizers (GPTQ, AWQ) behind their precision names. */
public final class CalibratedQuantizers {
    /** Tokens per forward chunk during calibration (activations scale with it). */
    static final int CHUNK_TOKENS = 4096;

    private CalibratedQuantizers() {
    }

    /** True for precisions made from calibration activations (GPTQ, AWQ). */
    public static boolean needsCalibration(Precision p) {
        return p.kind() == Precision.Kind.GPTQ || p.kind() == Precision.Kind.AWQ;
    }

    /** Runs GPTQ or AWQ over {@code model} (full precision, CPU backend) on the calibration samples. */
    static SequentialQuantizer.Result run(Model model, Precision p, Calibration cal, java.lang.foreign.Arena arena,
                                          SequentialQuantizer.Listener listener) {
        return switch (p.kind()) {
            case GPTQ -> SequentialQuantizer.run(model, cal.samples(), gptq(p), CHUNK_TOKENS, listener);
            case AWQ -> AwqCalibration.run(model, cal.samples(), AwqQuantizer.of(p), CHUNK_TOKENS, arena, listener);
            default -> throw new IllegalArgumentException("precision '" + p.name() + "' needs no calibration");
        };
    }

    /** GPTQ for a precision: one Cholesky factor per group of weights sharing an input, then each weight. */
    static SequentialQuantizer.WeightQuantizer<GptqFactor> gptq(Precision p) {
        GptqQuantizer g = GptqQuantizer.of(p);
        return new SequentialQuantizer.WeightQuantizer<>() {
            @Override
            public GptqFactor prepare(Hessian h) {
                return g.factor(h);
            }

            @Override
            public QuantizedWeight quantize(Tensor w, GptqFactor f) {
                return g.quantize(w.name(), w.toFloatArray(), (int) w.dim(0), (int) w.dim(1), f).packed();
            }
        };
    }

    /** What a calibrated quantization changed: the packed Linear weights and other tensors (AWQ's folded norms), by name. */
    public record Calibrated(Map<String, QuantizedWeight> linear, Map<String, Tensor> replaced) {
    }

    /**
     * Calibrates the float checkpoint {@code dir} at {@code p} on the CPU and returns each decoder Linear weight,
     * by checkpoint tensor name (row slices of fused tensors stacked back into one weight).
     */
    public static Calibrated calibrate(Path dir, Precision p, Calibration.Options calib,
                                       SequentialQuantizer.Listener listener) {
        try (Backend be = Backends.create("auto-cpu", dev.revenant.Settings.defaultThreads());
             Model m = Model.load(dir, be); java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            Calibration cal = Calibration.load(dir, m.config().vocabSize(), calib);
            SequentialQuantizer.Result r = run(m, p, cal, arena, listener);
            Map<String, List<QuantizedWeight>> byName = new LinkedHashMap<>();
            r.weights().forEach((t, q) -> {
                String n = t.name();
                int bracket = n.lastIndexOf('[');
                byName.computeIfAbsent(bracket < 0 ? n : n.substring(0, bracket), k -> new ArrayList<>()).add(q);
            });
            Map<String, QuantizedWeight> linear = new LinkedHashMap<>();
            byName.forEach((name, parts) -> {
                if (parts.size() == 1 && parts.get(0).name().equals(name)) {
                    linear.put(name, parts.get(0));
                } else { // row slices of a fused tensor, stacked back by their row offsets
                    List<GptqPacked> g = new ArrayList<>();
                    for (QuantizedWeight q : parts) {
                        g.add((GptqPacked) q);
                    }
                    g.sort(java.util.Comparator.comparingInt(q -> sliceStart(q.name())));
                    linear.put(name, PackedRows.stack(name, g));
                }
            });
            Map<String, Tensor> replaced = new LinkedHashMap<>();
            r.replaced().forEach((orig, now) -> replaced.put(orig.name(),
                    Tensor.ofFloats(orig.name(), now.toFloatArray(), orig.shape()))); // out of the arena closed below
            return new Calibrated(linear, replaced);
        }
    }

    // "name[a:b]" -> a
    private static int sliceStart(String n) {
        int i = n.lastIndexOf('[');
        return Integer.parseInt(n.substring(i + 1, n.indexOf(':', i)));
    }
}
