package dev.revenant.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.eval.EvalOptions;
import dev.revenant.quant.Precision;
import dev.revenant.report.CellRow;
import dev.revenant.sweep.ModelSpec;
import dev.revenant.sweep.Sweep;
import dev.revenant.sweep.SweepPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bundled demo (models/demo in the repository): its plan loads with the eight models and seven precisions the
 * demo promises (GPTQ/AWQ calibrated on the retain1 text), every model folder and data file is there, and one small cell (the target at fp4, four items of
 * each file) runs through {@link Sweep} and shows a model that knows its facts.
 */
class DemoCommandTest {
    @Test
    void planListsTheEightModelsAndSevenPrecisions(@TempDir Path tmp) {
        Path demo = DemoCommand.locate(null);
        SweepPlan plan = DemoCommand.plan(demo, tmp, "auto", 2);
        assertEquals(List.of("target", "retrain", "ga", "ga_gdr", "ga_klr", "npo", "npo_gdr", "npo_klr"),
                plan.models().stream().map(ModelSpec::name).toList());
        assertEquals(List.of("target", "retrain", "unlearned", "unlearned", "unlearned", "unlearned", "unlearned",
                "unlearned"), plan.models().stream().map(ModelSpec::role).toList());
        assertEquals(List.of("bf16", "int8", "fp4", "nf4", "rtn-w4-g128", "gptq-w4-g128", "awq-w4-g128"),
                plan.precisions().stream().map(Precision::name).toList());
        assertEquals(new dev.revenant.engine.Calibration.Options(demo.resolve("data/raw/retain1.json").normalize(), 8, 128, 0),
                plan.calibration());
        assertEquals(Set.copyOf(EvalOptions.METRICS), plan.options().metrics());
        plan.checkInputs();
        for (ModelSpec m : plan.models()) {
            for (String f : List.of("model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
                assertTrue(Files.isRegularFile(m.dir().resolve(f)), m.dir().resolve(f).toString());
            }
        }
        for (String f : List.of("verbmem/forget.json", "knowmem/forget_qa.json", "knowmem/retain_qa.json",
                "knowmem/forget_qa_icl.json", "knowmem/retain_qa_icl.json", "privleak/forget.json",
                "privleak/retain.json", "privleak/holdout.json")) {
            assertTrue(Files.isRegularFile(plan.data().resolve(f)), f);
        }
        assertEquals(tmp.toAbsolutePath().normalize(), plan.out());
    }

    @Test
    void oneCellOfTheTargetRuns(@TempDir Path tmp) throws Exception {
        Path demo = DemoCommand.locate(null);
        SweepPlan full = DemoCommand.plan(demo, tmp, "vector", 2);
        EvalOptions o = full.options();
        EvalOptions small = new EvalOptions(o.metrics(), o.corpus(), o.preset(), o.seed(), 4, o.batch(),
                o.verbmemMaxNew(), o.knowmemMaxNew());
        SweepPlan one = new SweepPlan(List.of(full.models().getFirst()), List.of(Precision.parse("fp4")), full.data(),
                small, "vector", 2, tmp, 0);
        Sweep.Result r = Sweep.run(one, new Sweep.Listener() { });
        assertEquals(1, r.cells().size());
        CellRow c = r.cells().getFirst();
        assertEquals("target", c.model());
        // the target was trained on these biographies: it recites and answers them, even at 4 bits
        assertTrue(c.summary().verbmemF() > 50, "verbmem_f " + c.summary().verbmemF());
        assertTrue(c.summary().knowmemF() > 50, "knowmem_f " + c.summary().knowmemF());
        assertTrue(c.summary().knowmemR() > 50, "knowmem_r " + c.summary().knowmemR());
        assertTrue(Files.isRegularFile(tmp.resolve("table.md")));
    }
}
