package dev.revenant.cli;

import dev.revenant.engine.CalibratedQuantizers;
import dev.revenant.engine.SequentialQuantizer;
import dev.revenant.quant.Precision;
import java.io.PrintStream;

/** One line per calibrated layer: where the time went (forward passes, Hessian accumulation, the quantizer). */
final class CalibrationLog {
    private CalibrationLog() {
    }

    /** A listener printing to {@code out}, or null when {@code p} needs no calibration. */
    static SequentialQuantizer.Listener to(PrintStream out, Precision p) {
        if (p == null || !CalibratedQuantizers.needsCalibration(p)) {
            return null;
        }
        return (layer, layers, t) -> out.printf("%s: layer %d/%d in %.1f s (forward %.1f s, Hessian %.1f s, factor %.1f s, "
                + "quantization %.1f s)%n", p.name(), layer + 1, layers, t.total(), t.forward(), t.hessian(), t.prepare(),
                t.quantize());
    }
}
