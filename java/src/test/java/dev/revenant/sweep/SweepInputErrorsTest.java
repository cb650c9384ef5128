package dev.revenant.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.cli.Main;
import dev.revenant.eval.Corpus;
import dev.revenant.eval.EvalOptions;
import dev.revenant.quant.Precision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each bad input of {@code revenant sweep} fails with a message that names it. */
class SweepInputErrorsTest {
    @TempDir
    Path tmp;

    SweepPlan plan(List<ModelSpec> models, Path out) {
        return new SweepPlan(models, List.of(Precision.parse("fp32")), tmp, EvalOptions.defaults(Corpus.NEWS), "vector", 1, out);
    }

    static String message(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void unknownPrecisionListsTheValidNames() {
        String m = message(() -> SweepPlan.parsePrecisions(List.of("fp32", "int3")));
        assertTrue(m.contains("'int3'") && m.contains("nf4") && m.contains("rtn-wB"), m);
        m = message(() -> SweepPlan.parsePrecisions(List.of("gptq-w4-g1024x")));
        assertTrue(m.contains("'gptq-w4-g1024x'") && m.contains("gptq-wB"), m);
        assertEquals(List.of(Precision.parse("gptq-w4-g128"), Precision.parse("awq-w4-g128")),
                SweepPlan.parsePrecisions(List.of("gptq-w4-g128", "awq-w4-g128")), "GPTQ and AWQ sweep like any precision");
    }

    @Test
    void missingModelFolderOrConfigIsNamed() throws IOException {
        Path none = tmp.resolve("no-such-model");
        String m = message(() -> plan(List.of(new ModelSpec("target", "target", none)), tmp.resolve("out")).checkInputs());
        assertTrue(m.contains("'target'") && m.contains(none.toString()) && m.contains("does not exist"), m);
        Path empty = Files.createDirectories(tmp.resolve("empty-model"));
        m = message(() -> plan(List.of(new ModelSpec("u1", "unlearned", empty)), tmp.resolve("out")).checkInputs());
        assertTrue(m.contains("'u1'") && m.contains(empty.resolve("config.json").toString()) && m.contains("not found"), m);
    }

    @Test
    void unwritableOutIsAClearError() throws Exception {
        Path model = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(model.resolve("config.json"), "{}");
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        Path out = file.resolve("out");
        String m = assertThrows(IllegalArgumentException.class,
                () -> Sweep.run(plan(List.of(new ModelSpec("target", "target", model)), out), new Sweep.Listener() { }))
                .getMessage();
        assertTrue(m.startsWith("--out " + out) && m.contains("cannot create or write"), m);
        assertTrue(Files.isRegularFile(file), "nothing clobbered");
    }

    @Test
    void duplicateAndMalformedModelsAreRejected() {
        String m = message(() -> SweepPlan.parseModels(List.of("a=/x", "a=/y"), List.of()));
        assertTrue(m.contains("'a' given twice"), m);
        m = message(() -> plan(List.of(new ModelSpec("a", "unlearned", tmp), new ModelSpec("a", "retrain", tmp)), tmp));
        assertTrue(m.contains("'a' given twice"), m);
        m = message(() -> SweepPlan.parseModels(List.of("nodir"), List.of()));
        assertTrue(m.contains("--models") && m.contains("'nodir'"), m);
        m = message(() -> SweepPlan.parseModels(List.of("a=/x"), List.of("b=retrain")));
        assertTrue(m.contains("'b'"), m);
        m = message(() -> SweepPlan.parseModels(List.of("a=/x"), List.of("a=forgotten")));
        assertTrue(m.contains("unknown role 'forgotten'") && m.contains("retrain"), m);
        m = message(() -> plan(SweepPlan.parseModels(List.of("target=/x", "b=/y"), List.of("b=target")), tmp));
        assertTrue(m.contains("role target"), m);
        m = message(() -> new SweepPlan(List.of(new ModelSpec("a", "unlearned", tmp)), SweepPlan.parsePrecisions(List.of("int8", "INT8")),
                tmp, EvalOptions.defaults(Corpus.NEWS), "vector", 1, tmp));
        assertTrue(m.contains("precision 'int8' given twice"), m);
        m = message(() -> plan(List.of(), tmp));
        assertTrue(m.contains("at least one model"), m);
    }

    @Test
    void rolesDefaultByName() {
        List<ModelSpec> ms = SweepPlan.parseModels(List.of("target=/t", "ga=/g", "re=/r", "base=/b"),
                List.of("re=retrain", "base=TARGET", "target=unlearned"));
        assertEquals(List.of("unlearned", "unlearned", "retrain", "target"), ms.stream().map(ModelSpec::role).toList());
        assertEquals(List.of("target", "unlearned"),
                SweepPlan.parseModels(List.of("target=/t", "ga=/g"), null).stream().map(ModelSpec::role).toList());
    }

    @Test
    void cliReportsErrorsWithExitCodeOne() {
        assertEquals(1, Main.run("sweep", "--models", "target=" + tmp.resolve("none"), "--precisions", "fp32,int3",
                "--data", tmp.toString(), "--out", tmp.resolve("o").toString()));
        assertEquals(1, Main.run("sweep", "--models", "target=" + tmp.resolve("none"), "--precisions", "fp32",
                "--data", tmp.toString(), "--out", tmp.resolve("o").toString()));
        assertEquals(1, Main.run("sweep", "--models", "target=" + tmp, "--precisions", "fp32",
                "--data", tmp.toString(), "--corpus", "custom", "--out", tmp.resolve("o").toString()));
    }
}
