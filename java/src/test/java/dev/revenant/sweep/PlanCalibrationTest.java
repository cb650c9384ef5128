package dev.revenant.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.engine.Calibration;
import dev.revenant.model.Family;
import dev.revenant.model.Presets;
import dev.revenant.model.Synthesizer;
import dev.revenant.quant.Precision;
import dev.revenant.tensor.DType;
import dev.revenant.tokenizer.ByteTokenizerWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plan's {@code calibration:} key: its parsing and errors, the cache folder and journal key it changes for
 * GPTQ/AWQ precisions (and only for them), and a sweep that recomputes a GPTQ cell when the calibration changed.
 */
class PlanCalibrationTest {
    static final String HEAD = "models: [{name: a, path: /m/a}]\nprecisions: [fp32, gptq-w4-g128]\ndata: /d\n";

    @TempDir
    Path tmp;

    SweepPlan load(String yaml) throws IOException {
        return PlanFile.load(Files.writeString(tmp.resolve("plan.yaml"), yaml), tmp.resolve("out"));
    }

    String fails(String yaml) throws IOException {
        Path f = Files.writeString(tmp.resolve("plan.yaml"), yaml);
        String m = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> PlanFile.load(f, tmp.resolve("out"))).getMessage();
        assertTrue(m.startsWith(f.toString()), m);
        return m;
    }

    @Test
    void absentOrEmptyGivesTheDefaults() throws IOException {
        assertEquals(Calibration.Options.DEFAULT, load(HEAD).calibration());
        assertEquals(Calibration.Options.DEFAULT, load(HEAD + "calibration: {}\n").calibration());
    }

    @Test
    void everySubKeyIsReadAndTheFileResolvesAgainstThePlan() throws IOException {
        Files.createDirectories(tmp.resolve("cal"));
        Files.writeString(tmp.resolve("cal/text.txt"), "some calibration text");
        SweepPlan p = load(HEAD + "calibration:\n  samples: 8\n  seqlen: 64\n  seed: -3\n  file: cal/text.txt\n");
        assertEquals(new Calibration.Options(tmp.resolve("cal/text.txt").toAbsolutePath().normalize(), 8, 64, -3),
                p.calibration());
        SweepPlan q = load(HEAD + "calibration: {seqlen: 32}\n");
        assertEquals(new Calibration.Options(null, Calibration.DEFAULT_SAMPLES, 32, 0), q.calibration());
        assertNull(q.calibration().file());
    }

    @Test
    void errorsNameTheLineTheKeyAndWhatWasExpected() throws IOException {
        String m = fails(HEAD + "calibration: 32\n");
        PlanFileTest.has(m, "line 4", "calibration", "expected a mapping of samples, seqlen, seed, file", "a number");
        m = fails(HEAD + "calibration:\n  samples: 8\n  tokens: 64\n");
        PlanFileTest.has(m, "line 6", "calibration.'tokens'", "unknown key; allowed: samples, seqlen, seed, file");
        m = fails(HEAD + "calibration:\n  samples: eight\n");
        PlanFileTest.has(m, "line 5", "calibration.samples", "expected an integer", "'eight'");
        m = fails(HEAD + "calibration:\n  samples: 0\n");
        PlanFileTest.has(m, "line 5", "calibration.samples", "≥ 1", "found 0");
        m = fails(HEAD + "calibration: {seqlen: 1}\n");
        PlanFileTest.has(m, "line 4", "calibration.seqlen", "≥ 2");
        m = fails(HEAD + "calibration:\n  file: [a]\n");
        PlanFileTest.has(m, "line 5", "calibration.file", "expected a string");
        m = fails(HEAD + "calibration:\n  file: none.txt\n");
        PlanFileTest.has(m, "line 5", "calibration.file", "none.txt", "file not found");
        m = fails(HEAD + "calibration:\n  seed: 1\n  seed: 2\n");
        PlanFileTest.has(m, "line 6", "calibration.seed", "given twice (first on line 5)");
        m = fails(HEAD + "calibration: {samples: 2}\ncalibration: {samples: 3}\n");
        PlanFileTest.has(m, "line 5", "calibration", "given twice");
    }

    @Test
    void theCacheFolderOfCalibratedPrecisionsNamesTheCalibration() throws IOException {
        Precision gptq = Precision.parse("gptq-w4-g128");
        Precision awq = Precision.parse("awq-w4-g128");
        Precision rtn = Precision.parse("rtn-w4-g128");
        Calibration.Options d = Calibration.Options.DEFAULT;
        String h = "ab".repeat(32);
        assertEquals(h + "-rtn-w4-g128", QuantCache.entryName(h, rtn, d));
        assertEquals(h + "-rtn-w4-g128", QuantCache.entryName(h, rtn, new Calibration.Options(null, 2, 16, 1)),
                "precisions without calibration keep their folder");
        String base = QuantCache.entryName(h, gptq, d);
        assertTrue(base.matches(h + "-gptq-w4-g128-c[0-9a-f]{12}"), base);
        assertEquals(base, QuantCache.entryName(h, gptq, new Calibration.Options(null, 128, 512, 0)), "deterministic");
        assertEquals(base.substring(base.length() - 12), QuantCache.entryName(h, awq, d).substring(
                QuantCache.entryName(h, awq, d).length() - 12), "the key is the calibration's, not the precision's");
        Path f1 = Files.writeString(tmp.resolve("one.txt"), "calibration text one");
        Path f2 = Files.writeString(tmp.resolve("two.txt"), "calibration text two");
        Path f1copy = Files.writeString(tmp.resolve("one-copy.txt"), "calibration text one");
        List<Calibration.Options> different = List.of(d, new Calibration.Options(null, 127, 512, 0),
                new Calibration.Options(null, 128, 511, 0), new Calibration.Options(null, 128, 512, 1),
                new Calibration.Options(f1, 128, 512, 0), new Calibration.Options(f2, 128, 512, 0));
        assertEquals(different.size(), different.stream().map(o -> QuantCache.entryName(h, gptq, o)).distinct().count());
        assertEquals(QuantCache.entryName(h, gptq, new Calibration.Options(f1, 128, 512, 0)),
                QuantCache.entryName(h, gptq, new Calibration.Options(f1copy, 128, 512, 0)), "content, not path");
        String before = QuantCache.entryName(h, gptq, new Calibration.Options(f1, 128, 512, 0));
        Files.writeString(f1, "calibration text one, edited");
        assertNotEquals(before, QuantCache.entryName(h, gptq, new Calibration.Options(f1, 128, 512, 0)),
                "an edited calibration file is a new entry");
    }

    @Test
    void theJournalKeyChangesForCalibratedPrecisionsOnly() throws IOException {
        SweepPlan a = load(HEAD + "calibration: {samples: 4}\n");
        SweepPlan b = load(HEAD + "calibration: {samples: 5}\n");
        Precision fp32 = a.precisions().get(0);
        Precision gptq = a.precisions().get(1);
        assertEquals(a.evalKey(fp32), b.evalKey(fp32));
        assertEquals(a.evalKey(), a.evalKey(fp32));
        assertNotEquals(a.evalKey(gptq), b.evalKey(gptq));
        assertTrue(a.evalKey(gptq).startsWith(a.evalKey() + ";calibration="), a.evalKey(gptq));
    }

    @Test
    void theSweepFlagsGiveTheSameCalibrationAndNotWithAPlan() throws Exception {
        Path model = tmp.resolve("ga");
        Synthesizer.synthesize(Presets.get("tiny"), Family.LLAMA, DType.F32, 5, model);
        ByteTokenizerWriter.write(model);
        Path data = Path.of(PlanCalibrationTest.class.getResource("/muse-mini/verbmem/forget.json").toURI())
                .getParent().getParent();
        Path text = Files.writeString(tmp.resolve("calib.txt"), "Some calibration text, long enough for a few windows. "
                .repeat(20));
        Path out = tmp.resolve("flags");
        assertEquals(0, dev.revenant.cli.Main.run("sweep", "--models", "ga=" + model, "--precisions", "gptq-w4-g128",
                "--data", data.toString(), "--metrics", "knowmem_f", "--limit", "1", "--backend", "vector", "--threads", "2",
                "--calib", text.toString(), "--calib-samples", "3", "--calib-seqlen", "20", "--calib-seed", "4",
                "--out", out.toString()));
        String entry = QuantCache.entryName(QuantCache.contentHash(model), Precision.parse("gptq-w4-g128"),
                new Calibration.Options(text, 3, 20, 4));
        assertTrue(Files.isRegularFile(out.resolve("cache").resolve(entry).resolve("config.json")), entry);
        Path plan = Files.writeString(tmp.resolve("plan.yaml"), HEAD);
        assertEquals(1, dev.revenant.cli.Main.run("sweep", "--plan", plan.toString(), "--calib-samples", "3",
                "--out", out.toString()), "--plan with a --calib flag");
        assertEquals(1, dev.revenant.cli.Main.run("sweep", "--models", "ga=" + model, "--precisions", "gptq-w4-g128",
                "--data", data.toString(), "--calib", tmp.resolve("none.txt").toString(), "--out", out.toString()));
    }

    @Test
    void aSweepRecomputesTheGptqCellWhenTheCalibrationChanges() throws Exception {
        Path model = tmp.resolve("ga");
        Synthesizer.synthesize(Presets.get("tiny"), Family.LLAMA, DType.F32, 5, model);
        ByteTokenizerWriter.write(model);
        Path data = Path.of(PlanCalibrationTest.class.getResource("/muse-mini/verbmem/forget.json").toURI())
                .getParent().getParent();
        String plan = """
                models: [{name: ga, path: ga}]
                precisions: [fp32, gptq-w4-g128]
                data: %s
                metrics: [knowmem_f]
                limit: 1
                backend: vector
                threads: 2
                divergence_tokens: 0
                calibration: {samples: 2, seqlen: %d}
                """;
        Path out = tmp.resolve("sweep");
        Path f = tmp.resolve("plan.yaml");
        Files.writeString(f, plan.formatted(data, 16));
        Sweep.Result r1 = Sweep.run(PlanFile.load(f, out), new Sweep.Listener() { });
        assertEquals(2, r1.computed());
        Sweep.Result same = Sweep.run(PlanFile.load(f, out), new Sweep.Listener() { });
        assertEquals(0, same.computed(), "same calibration: every cell reused");
        Files.writeString(f, plan.formatted(data, 24));
        Sweep.Result r2 = Sweep.run(PlanFile.load(f, out), new Sweep.Listener() { });
        assertEquals(1, r2.computed(), "the GPTQ cell was recomputed");
        assertEquals(1, r2.reused(), "the fp32 cell does not depend on the calibration");
        List<String> entries;
        try (Stream<Path> s = Files.list(out.resolve("cache"))) {
            entries = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertEquals(2, entries.size(), "one cache entry per calibration: " + entries);
        for (int seqlen : List.of(16, 24)) {
            String name = QuantCache.entryName(QuantCache.contentHash(model), Precision.parse("gptq-w4-g128"),
                    new Calibration.Options(null, 2, seqlen, 0));
            assertTrue(entries.contains(name), name + " not in " + entries);
        }
        List<String> journal = Files.readAllLines(out.resolve("journal.jsonl"));
        assertEquals(3, journal.size());
        assertTrue(journal.getLast().contains("\"precision\":\"gptq-w4-g128\""), journal.getLast());
        assertTrue(journal.getLast().contains(";calibration=" + new Calibration.Options(null, 2, 24, 0).key()),
                journal.getLast());
    }
}
