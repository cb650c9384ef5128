package dev.revenant.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.model.Family;
import dev.revenant.model.Presets;
import dev.revenant.model.Synthesizer;
import dev.revenant.quant.Precision;
import dev.revenant.quant.Quantizers;
import dev.revenant.quant.RtnPacked;
import dev.revenant.report.SameBucket;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.safetensors.SafetensorsWriter;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same-bucket diagnostic on a pair of checkpoints whose answer is known by construction: the "unlearned" model
 * is the target with {@link #TINY} weights of one Linear tensor moved by one ulp (about 1e-7 relative; each chosen
 * in its own row, neither the row's min nor max, and away from a rounding boundary, so at rtn-w4-g128 it stays in
 * the target's bucket) and {@link #LARGE} weights moved by +0.5 (each in a row of its own, which leaves the bucket).
 */
class BucketDiagnosticsTest {
    static final String TENSOR = "model.layers.1.self_attn.q_proj.weight";
    static final int TINY = 10;
    static final int LARGE = 5;
    static final Precision RTN = Precision.parse("rtn-w4-g128");

    @TempDir
    static Path tmp;
    static Path target;
    static Path unlearned;

    @BeforeAll
    static void craft() throws IOException {
        target = tmp.resolve("target");
        unlearned = tmp.resolve("unlearned");
        Synthesizer.synthesize(Presets.get("tiny"), Family.LLAMA, DType.F32, 7, target);
        Files.createDirectories(unlearned);
        Files.copy(target.resolve("config.json"), unlearned.resolve("config.json"));
        try (Checkpoint ck = Checkpoint.open(target)) {
            List<Tensor> out = new ArrayList<>();
            for (String n : ck.names()) {
                Tensor t = ck.tensor(n);
                out.add(n.equals(TENSOR) ? perturb(t) : t);
            }
            SafetensorsWriter.write(unlearned.resolve("model.safetensors"), out, Map.of("format", "pt"));
        }
    }

    /** Row r < TINY: one element +1 ulp; rows 20..20+LARGE: one element +0.5. */
    static Tensor perturb(Tensor t) {
        int rows = (int) t.dim(0);
        int cols = (int) t.dim(1);
        assertTrue(cols <= 128, "one rtn-w4-g128 group per row");
        assertTrue(rows >= 20 + LARGE);
        float[] w = t.toFloatArray();
        RtnPacked q = (RtnPacked) Quantizers.quantize(RTN, t);
        for (int r = 0; r < TINY; r++) {
            int c = safeColumn(w, r, cols, q);
            float v = w[r * cols + c];
            w[r * cols + c] = Math.nextUp(v);
            assertNotEquals(v, w[r * cols + c]);
        }
        for (int r = 20; r < 20 + LARGE; r++) {
            w[r * cols + 3] += 0.5f;
        }
        return Tensor.ofFloats(t.name(), w, rows, cols);
    }

    /** A column of row r that is neither the row's min nor max and whose w/scale is far from a .5 boundary. */
    static int safeColumn(float[] w, int r, int cols, RtnPacked q) {
        float mn = Float.POSITIVE_INFINITY;
        float mx = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < cols; c++) {
            mn = Math.min(mn, w[r * cols + c]);
            mx = Math.max(mx, w[r * cols + c]);
        }
        for (int c = 0; c < cols; c++) {
            float v = w[r * cols + c];
            double x = v / q.scale(0, r);
            double frac = x - Math.floor(x);
            if (v != mn && v != mx && Math.abs(frac - 0.5) > 0.05) {
                return c;
            }
        }
        throw new AssertionError("no safe column in row " + r);
    }

    @Test
    void countsAsConstructed() {
        SameBucket.Data d = BucketDiagnostics.compare("target", target,
                List.of(new BucketDiagnostics.Named("unl", unlearned)), List.of(RTN, Precision.parse("int8")), s -> {
                });
        assertTrue(d.skipped().isEmpty(), d.skipped().toString());
        assertEquals(2 * 2 * 7, d.rows().size(), "2 precisions x 2 layers x 7 Linear tensors");
        for (SameBucket.Row r : d.rows()) {
            assertEquals("unl", r.model());
            assertTrue(r.tensor().startsWith("model.layers."), r.tensor());
            if (r.tensor().equals(TENSOR)) {
                assertEquals(1, r.layer());
                assertEquals(TINY + LARGE, r.changed(), r.precision());
                if (r.precision().equals(RTN.name())) {
                    assertEquals(TINY, r.sameBucket());
                    assertEquals((double) TINY / (TINY + LARGE), r.fraction());
                } else {
                    // int8: the +0.5 rows get a new absmax, so each of those weights leaves the bucket
                    assertTrue(r.sameBucket() <= TINY, r.toString());
                }
            } else {
                assertEquals(0, r.changed(), r.tensor());
                assertEquals(0, r.sameBucket(), r.tensor());
                assertTrue(Double.isNaN(r.fraction()));
            }
        }
        List<SameBucket.Summary> s = SameBucket.summaries(d.rows());
        assertEquals(2, s.size());
        assertEquals(new SameBucket.Summary("unl", RTN.name(), 14, TINY + LARGE, TINY), s.getFirst());
        String csv = SameBucket.csv(d.rows());
        assertTrue(csv.startsWith(SameBucket.CSV_HEADER + "\n"));
        assertTrue(csv.contains("unl,rtn-w4-g128," + TENSOR + ",1,15,10," + (10.0 / 15) + "\n"), csv);
        assertTrue(csv.contains("unl,rtn-w4-g128,model.layers.0.mlp.up_proj.weight,0,0,0,\n"), csv);
    }

    @Test
    void targetAgainstItselfChangesNothing() {
        SameBucket.Data d = BucketDiagnostics.compare("target", target,
                List.of(new BucketDiagnostics.Named("same", target)), List.of(RTN), s -> {
                });
        assertEquals(14, d.rows().size());
        assertTrue(d.rows().stream().allMatch(r -> r.changed() == 0));
    }

    @Test
    void differentArchitectureIsSkippedWithAReason() {
        Path other = tmp.resolve("qwen");
        Synthesizer.synthesize(Presets.get("tiny"), Family.QWEN3, DType.F32, 7, other);
        List<String> logs = new ArrayList<>();
        SameBucket.Data d = BucketDiagnostics.compare("target", target,
                List.of(new BucketDiagnostics.Named("qwen", other), new BucketDiagnostics.Named("unl", unlearned)),
                List.of(RTN), logs::add);
        assertEquals(1, d.skipped().size());
        assertEquals("qwen", d.skipped().getFirst().model());
        assertTrue(d.skipped().getFirst().reason().contains("QWEN3"), d.skipped().getFirst().reason());
        assertEquals(1, logs.size());
        assertTrue(d.rows().stream().allMatch(r -> r.model().equals("unl")));
        assertEquals(14, d.rows().size());
    }

    @Test
    void calibratedPrecisionsAreSkippedWithAReasonNotQuantizedAlone() {
        SweepPlan plan = new SweepPlan(List.of(new ModelSpec("target", "target", target),
                new ModelSpec("unl", "unlearned", unlearned)), SweepPlan.parsePrecisions(List.of("fp32", "rtn-w4-g128",
                "gptq-w4-g128", "awq-w4-g128")), tmp, dev.revenant.eval.EvalOptions.defaults(dev.revenant.eval.Corpus.NEWS),
                "vector", 1, tmp.resolve("out"));
        SameBucket.Data d = BucketDiagnostics.of(plan, s -> {
        });
        assertEquals(14, d.rows().size(), "rtn-w4-g128 only");
        assertTrue(d.rows().stream().allMatch(r -> r.precision().equals(RTN.name())));
        assertEquals(List.of("gptq-w4-g128", "awq-w4-g128"), d.skipped().stream().map(SameBucket.Skip::precision).toList());
        for (SameBucket.Skip sk : d.skipped()) {
            assertEquals("*", sk.model());
            assertTrue(sk.reason().contains("calibrated precision"), sk.reason());
        }
    }

    @Test
    void layerIndex() {
        assertEquals(12, BucketDiagnostics.layerOf("model.layers.12.mlp.up_proj.weight"));
        assertEquals(-1, BucketDiagnostics.layerOf("lm_head.weight"));
    }
}
