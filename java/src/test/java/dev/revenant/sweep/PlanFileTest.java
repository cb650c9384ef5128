package dev.revenant.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.cli.Main;
import dev.revenant.eval.EvalOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code revenant sweep --plan}: the YAML plan's fields, defaults, and errors that name the file, line and field. */
class PlanFileTest {
    @TempDir
    Path tmp;

    Path write(String yaml) throws IOException {
        return Files.writeString(tmp.resolve("plan.yaml"), yaml);
    }

    String fails(String yaml) throws IOException {
        Path f = write(yaml);
        String m = assertThrows(IllegalArgumentException.class, () -> PlanFile.load(f, tmp.resolve("out"))).getMessage();
        assertTrue(m.startsWith(f.toString()), m);
        return m;
    }

    static void has(String m, String... parts) {
        for (String p : parts) {
            assertTrue(m.contains(p), "'" + p + "' missing from: " + m);
        }
    }

    @Test
    void fullPlanBuildsTheSamePlanAsTheFlags() throws IOException {
        Path f = write("""
                # a comment
                models:
                  - {name: target, path: /m/target, role: target}
                  - {name: ga_gdr, path: models/ga_gdr}
                  - name: re
                    path: ../re
                    role: Retrain
                precisions: [bf16, int8, fp4, nf4, rtn-w4-g128]
                data: data/news
                corpus: books
                metrics: [knowmem_f, privleak]
                preset: paper
                batch: 8
                limit: 3
                seed: 7
                backend: vector
                threads: 2
                """);
        SweepPlan p = PlanFile.load(f, tmp.resolve("out"));
        assertEquals(List.of(new ModelSpec("target", "target", Path.of("/m/target")),
                new ModelSpec("ga_gdr", "unlearned", tmp.resolve("models/ga_gdr")),
                new ModelSpec("re", "retrain", tmp.getParent().resolve("re"))), p.models());
        assertEquals(List.of("bf16", "int8", "fp4", "nf4", "rtn-w4-g128"), p.precisions().stream().map(x -> x.name()).toList());
        assertEquals(tmp.resolve("data/news").toAbsolutePath().normalize(), p.data());
        EvalOptions o = p.options();
        assertEquals("books", o.corpus().name());
        assertEquals(Set.of("knowmem_f", "privleak"), o.metrics());
        assertEquals("paper", o.preset());
        assertEquals(8, o.batch());
        assertEquals(3, o.limit());
        assertEquals(7, o.seed());
        assertEquals("vector", p.backend());
        assertEquals(2, p.threads());
        assertEquals(tmp.resolve("out").toAbsolutePath().normalize(), p.out());
    }

    @Test
    void optionalFieldsDefaultLikeTheFlags() throws IOException {
        SweepPlan p = PlanFile.load(write("models: [{name: target, path: /m/t}]\nprecisions: [fp32]\ndata: /d\n"),
                tmp.resolve("out"));
        assertEquals("target", p.models().getFirst().role(), "role defaults to unlearned, but a plan sets it");
        assertEquals(Set.copyOf(EvalOptions.METRICS), p.options().metrics());
        assertEquals("news", p.options().corpus().name());
        assertEquals("muse", p.options().preset());
        assertEquals(1, p.options().batch());
        assertEquals(0, p.options().limit());
        assertEquals("auto", p.backend());
        SweepPlan c = PlanFile.load(write("models: [{name: a, path: /m/a}]\nprecisions: [fp32]\ndata: /d\n"
                + "corpus: custom\nauc_retrain: 0.5\n"), tmp.resolve("out"));
        assertEquals("unlearned", c.models().getFirst().role());
        assertEquals("custom", c.options().corpus().name());
    }

    @Test
    void yamlSyntaxErrorNamesTheLine() throws IOException {
        String m = fails("models:\n  - {name: a, path: /m/a}\nprecisions: [fp32, int8\ndata: /d\n");
        has(m, "YAML syntax error", " line ");
        m = fails("models:\n  - {name: a, path: /m/a}\nprecisions: [fp32]\n data: /d\n");
        has(m, "YAML syntax error", "line 4");
    }

    @Test
    void unknownKeysNameTheLineAndTheAllowedKeys() throws IOException {
        String m = fails("models: [{name: a, path: /m/a}]\nprecisions: [fp32]\ndata: /d\nbatchsize: 8\n");
        has(m, "line 4", "'batchsize'", "unknown key", "allowed: models, precisions, data, corpus");
        m = fails("models:\n  - {name: a, path: /m/a}\n  - name: b\n    pth: /m/b\nprecisions: [fp32]\ndata: /d\n");
        has(m, "line 4", "models[1]", "'pth'", "allowed: name, path, role");
        m = fails("models: [{name: a, path: /m/a}]\nprecisions: [fp32]\ndata: /d\ndata: /e\n");
        has(m, "line 4", "data", "given twice");
    }

    @Test
    void wrongTypesNameTheLineAndTheField() throws IOException {
        has(fails("models: [{name: a, path: /m/a}]\nprecisions: [fp32]\ndata: /d\nbatch: eight\n"),
                "line 4", "batch", "expected an integer", "'eight'");
        has(fails("models: [{name: a, path: /m/a}]\nprecisions: fp32\ndata: /d\n"),
                "line 2", "precisions", "expected a list");
        has(fails("models: /m/a\nprecisions: [fp32]\ndata: /d\n"), "line 1", "models", "expected a list");
        has(fails("models:\n  - name: a\n    path: [x, y]\nprecisions: [fp32]\ndata: /d\n"),
                "line 3", "models[0] (a).path", "expected a string");
        has(fails("models: [{name: a, path: /m/a}]\nprecisions: [fp32]\ndata: 5\n"), "line 3", "data", "expected a string");
        has(fails("models: [{name: a, path: /m/a}]\nprecisions: [fp32]\ndata: /d\nthreads: 0\n"), "line 4", "threads", "≥ 1");
        has(fails("- a\n- b\n"), "line 1", "expected a mapping");
    }

    @Test
    void missingRequiredFieldsAreNamed() throws IOException {
        has(fails("models: [{name: a, path: /m/a}]\nprecisions: [fp32]\n"), "missing required field 'data'");
        has(fails("precisions: [fp32]\ndata: /d\n"), "missing required field 'models'");
        has(fails("models: [{name: a, path: /m/a}]\ndata: /d\n"), "missing required field 'precisions'");
        has(fails("models:\n  - {name: a}\nprecisions: [fp32]\ndata: /d\n"), "line 2", "models[0]",
                "missing required field 'path'");
        has(fails("models: []\nprecisions: [fp32]\ndata: /d\n"), "line 1", "at least one model");
        has(fails("models: [{name: a, path: /m/a}]\nprecisions: [fp32]\ndata: /d\ncorpus: custom\n"),
                "line 4", "auc_retrain");
    }

    @Test
    void unknownPrecisionRoleMetricAndCorpusAreNamed() throws IOException {
        has(fails("models: [{name: a, path: /m/a}]\n\nprecisions: [fp32, int3]\ndata: /d\n"),
                "line 3", "precisions", "'int3'", "nf4");
        has(fails("models:\n  - {name: a, path: /m/a}\n  - {name: b, path: /m/b, role: forgetter}\nprecisions: [fp32]\ndata: /d\n"),
                "line 3", "models[1] (b).role", "'forgetter'", "valid: target, retrain, unlearned");
        has(fails("models: [{name: a, path: /m/a}]\nprecisions: [fp32]\ndata: /d\nmetrics: [verbmem]\n"),
                "line 4", "metrics", "'verbmem'");
        has(fails("models: [{name: a, path: /m/a}]\nprecisions: [fp32]\ndata: /d\ncorpus: poems\n"),
                "line 4", "corpus", "'poems'");
        has(fails("models: [{name: a, path: /m/a}, {name: a, path: /m/b}]\nprecisions: [fp32]\ndata: /d\n"),
                "line 1", "'a' given twice");
    }

    @Test
    void cliTakesExactlyOneOfPlanOrFlags() throws IOException {
        Path f = write("models: [{name: a, path: /m/a}]\nprecisions: [fp32]\ndata: /d\n");
        assertEquals(1, Main.run("sweep", "--plan", f.toString(), "--models", "a=/m/a", "--out", tmp.resolve("o").toString()));
        assertEquals(1, Main.run("sweep", "--out", tmp.resolve("o").toString()));
        assertEquals(1, Main.run("sweep", "--plan", tmp.resolve("none.yaml").toString(), "--out", tmp.resolve("o").toString()));
    }
}
