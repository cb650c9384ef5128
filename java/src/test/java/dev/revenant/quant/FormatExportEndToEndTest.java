package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.cli.Main;
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.model.Architecture;
import dev.revenant.model.ConfigLoader;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.safetensors.SafetensorsWriter;
import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code revenant quantize --precision rtn-w4-g128 --format gptq|awq} on the llama fixture: every Linear weight of
 * both checkpoints dequantizes to RTN's values with the scale rounded to fp16 (the one rounding those layouts add),
 * the two checkpoints give bit-identical logits, each matches a float model built from its own dequantized weights,
 * and both stay within a stated tolerance of the in-memory {@code --precision rtn-w4-g128} model (fp32 scales).
 */
class FormatExportEndToEndTest {
    /** |logit difference| allowed against the in-memory RTN model: fp16 scales move each weight by ≤ 2^-11 relative. */
    static final float VS_RTN = 5e-3f;
    /** Against a dense F32 model of the same dequantized values: only the matmul kernels' summation order differs. */
    static final float VS_OWN_DEQUANT = 1e-4f;

    static float maxAbsDiff(float[] a, float[] b) {
        float m = 0f;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    @Test
    void rtnWrittenAsGptqAndAwqLoadsWithTheSameWeightsAndLogits(@TempDir Path tmp) throws IOException {
        Path src = Fixtures.model("llama");
        Path gptq = tmp.resolve("gptq");
        Path awq = tmp.resolve("awq");
        assertEquals(0, Main.run("quantize", "--model", src.toString(), "--precision", "rtn-w4-g128", "--format", "gptq",
                "--out", gptq.toString()));
        assertEquals(0, Main.run("quantize", "--model", src.toString(), "--precision", "rtn-w4-g128", "--format", "awq",
                "--out", awq.toString()));
        assertEquals("gptq-w4-g128", QuantConfig.read(gptq).orElseThrow().name());
        assertEquals("awq-w4-g128", QuantConfig.read(awq).orElseThrow().name());

        RtnQuantizer rtn = new RtnQuantizer(4, 128, false);
        CheckpointFormat gf = CheckpointFormat.read(gptq).orElseThrow();
        CheckpointFormat af = CheckpointFormat.read(awq).orElseThrow();
        Map<String, Tensor> awqDequant = new HashMap<>();
        int layers = 0;
        try (Checkpoint s = Checkpoint.open(src); Checkpoint gc = Checkpoint.open(gptq); Checkpoint ac = Checkpoint.open(awq);
             Arena arena = Arena.ofConfined()) {
            for (Architecture.TensorSpec spec : Architecture.tensors(ConfigLoader.load(src))) {
                if (spec.role() != Architecture.Role.LINEAR) {
                    continue;
                }
                String prefix = spec.name().substring(0, spec.name().length() - ".weight".length());
                RtnPacked r = rtn.quantize(s.tensor(spec.name()));
                GptqPacked g = (GptqPacked) gf.read(gc, prefix, spec.shape()).orElseThrow();
                GptqPacked a = (GptqPacked) af.read(ac, prefix, spec.shape()).orElseThrow();
                for (int row = 0; row < r.rows(); row++) {
                    for (int col = 0; col < r.cols(); col++) {
                        int k = r.group(col);
                        float expected = PackedBits.roundF16(r.scale(k, row)) * ((float) r.code(row, col) - r.zero(k, row));
                        assertEquals(expected, g.dequantize(row, col), spec.name() + " gptq (" + row + ", " + col + ")");
                        assertEquals(expected, a.dequantize(row, col), spec.name() + " awq (" + row + ", " + col + ")");
                    }
                }
                Tensor d = a.dequantize(arena);
                awqDequant.put(spec.name(), Tensor.ofFloats(spec.name(), d.toFloatArray(), d.shape()));
                layers++;
            }
            // a float checkpoint holding the AWQ checkpoint's own dequantized weights
            List<Tensor> dense = new ArrayList<>();
            for (String n : s.names()) {
                dense.add(awqDequant.getOrDefault(n, s.tensor(n)));
            }
            Files.createDirectories(tmp.resolve("dense"));
            SafetensorsWriter.write(tmp.resolve("dense/model.safetensors"), dense, Map.of("format", "pt"));
            Files.copy(src.resolve("config.json"), tmp.resolve("dense/config.json"));
        }
        assertEquals(14, layers);

        try (Backend be = Backends.create("vector", 2);
             Model mem = Model.load(src, be, Precision.parse("rtn-w4-g128"));
             Model g = Model.load(gptq, be);
             Model a = Model.load(awq, be);
             Model d = Model.load(tmp.resolve("dense"), be)) {
            float[] lm = PackedCheckpointTest.logits(mem);
            float[] lg = PackedCheckpointTest.logits(g);
            float[] la = PackedCheckpointTest.logits(a);
            float[] ld = PackedCheckpointTest.logits(d);
            assertArrayEquals(lg, la, "gptq and awq checkpoints hold the same dequantized values");
            float vsRtn = maxAbsDiff(lm, lg);
            float vsOwn = maxAbsDiff(ld, la);
            System.out.printf("rtn-w4-g128 as gptq/awq on llama: %d logits, max |diff| vs in-memory RTN %.3g, "
                    + "vs dense F32 of its own dequantized weights %.3g, gptq vs awq 0%n", lm.length, vsRtn, vsOwn);
            assertTrue(vsRtn < VS_RTN, "vs in-memory rtn-w4-g128: " + vsRtn);
            assertTrue(vsOwn < VS_OWN_DEQUANT, "vs its own dequantized weights: " + vsOwn);
            assertNotEquals(0f, vsRtn, "fp16 scales do change the weights a little");
        }
    }

    @Test
    void formatsRefusePrecisionsTheyCannotHold(@TempDir Path tmp) {
        String src = Fixtures.model("llama").toString();
        for (String[] bad : new String[][] {{"nf4", "gptq"}, {"q4_0", "awq"}, {"rtn-w3-g64", "awq"}, {"rtn-w4", "awq"},
            {"int8", "gptq"}}) {
            assertNotEquals(0, Main.run("quantize", "--model", src, "--precision", bad[0], "--format", bad[1],
                    "--out", tmp.resolve(bad[0]).toString()), bad[0] + " as " + bad[1]);
            assertTrue(!Files.exists(tmp.resolve(bad[0]).resolve("model.safetensors")));
        }
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> CheckpointExport.config(Precision.parse("nf4"), CheckpointExport.Format.GPTQ));
        assertTrue(e.getMessage().contains("--precision nf4 cannot be written as --format gptq"), e.getMessage());
    }
}
