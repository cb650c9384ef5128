package dev.revenant.engine;

import dev.revenant.quant.Precision;

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
}
