package dev.revenant.engine;

import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.kernel.PackedRouter;
import dev.revenant.quant.GptqPacked;
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

    /** The per-weight quantizer of a GPTQ precision. */
    static SequentialQuantizer.WeightQuantizer forPrecision(Precision p) {
        throw new IllegalArgumentException("precision '" + p.name() + "': quantizer not in this build yet");
    }

    /**
     * Calibrates the float checkpoint {@code dir} at {@code p} on the CPU and returns each decoder Linear weight,
     * by checkpoint tensor name (row slices of fused tensors stacked back into one weight).
     */
    public static Map<String, QuantizedWeight> calibrate(Path dir, Precision p, Calibration.Options calib,
                                                         SequentialQuantizer.Listener listener) {
        try (Backend be = Backends.create("auto-cpu", dev.revenant.Settings.defaultThreads());
             Model m = Model.load(dir, be, p, calib, listener)) {
            PackedRouter router = (PackedRouter) m.backend();
            Map<String, List<QuantizedWeight>> byName = new LinkedHashMap<>();
            m.weights().mapLinear(t -> {
                QuantizedWeight q = router.packedFor(t);
                String n = t.name();
                int bracket = n.lastIndexOf('[');
                byName.computeIfAbsent(bracket < 0 ? n : n.substring(0, bracket), k -> new ArrayList<>()).add(q);
                return t;
            });
            Map<String, QuantizedWeight> out = new LinkedHashMap<>();
            byName.forEach((name, parts) -> {
                if (parts.size() == 1 && parts.get(0).name().equals(name)) {
                    out.put(name, parts.get(0));
                } else {
                    List<GptqPacked> g = new ArrayList<>();
                    for (QuantizedWeight q : parts) {
                        g.add((GptqPacked) q);
                    }
                    out.put(name, PackedRows.stack(name, g));
                }
            });
            return out;
        }
    }
}
