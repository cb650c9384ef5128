package dev.revenant.spark;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.engine.Calibration;
import dev.revenant.eval.Corpus;
import dev.revenant.eval.EvalOptions;
import dev.revenant.eval.EvalRun;
import dev.revenant.quant.Precision;
import dev.revenant.sweep.Journal;
import dev.revenant.sweep.ModelSpec;
import dev.revenant.sweep.SweepPlan;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The driver reuses a journaled GPTQ/AWQ cell only when it was computed with the plan's calibration. */
class OutputFolderReuseTest {
    static final Map<String, Object> ID = Map.of("config_sha256", "x");

    static SweepPlan plan(Calibration.Options cal) {
        return new SweepPlan(List.of(new ModelSpec("ga", "unlearned", Path.of("/m/ga"))),
                SweepPlan.parsePrecisions(List.of("fp32", "gptq-w4-g128")), Path.of("/d"), EvalOptions.defaults(Corpus.NEWS),
                "auto", 2, Path.of("/o"), 0, cal);
    }

    static Journal.Entry entry(SweepPlan computedWith, String precision) {
        Precision p = Precision.parse(precision);
        return new Journal.Entry("ga", precision, computedWith.evalKey(p) + ";backend=native", ID,
                new EvalRun.Summary("ga", 1, 2, 3, 4), 1.0);
    }

    @Test
    void aChangedCalibrationInvalidatesOnlyCalibratedCells() {
        SweepPlan a = plan(new Calibration.Options(null, 8, 64, 0));
        SweepPlan b = plan(new Calibration.Options(null, 8, 128, 0));
        assertTrue(OutputFolder.reusable(entry(a, "gptq-w4-g128"), a, ID));
        assertFalse(OutputFolder.reusable(entry(a, "gptq-w4-g128"), b, ID), "other calibration");
        assertTrue(OutputFolder.reusable(entry(a, "fp32"), b, ID), "fp32 does not depend on the calibration");
        assertFalse(OutputFolder.reusable(entry(a, "int8"), a, ID), "a precision the plan lacks");
    }
}
