package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.revenant.Fixtures;
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.model.Architecture;
import dev.revenant.model.ConfigLoader;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Model.load} on whole checkpoints in the bitsandbytes 4-bit and compressed-tensors layouts, laid out by this
 * test byte by byte (codes from Revenant's quantizers, packing from the format descriptions): the logits equal
 * the in-memory {@code --precision nf4} / {@code rtn-w4-g128-sym} model bit for bit, since the weights are the same.
 */
class ThirdPartyCheckpointModelTest {

    interface Linear {
        void add(RawCheckpoint raw, String prefix, Tensor w);
    }

    static Path build(Path src, Path out, String quantization, Linear linear) throws IOException {
        Set<String> names = new HashSet<>();
        for (Architecture.TensorSpec s : Architecture.tensors(ConfigLoader.load(src))) {
            if (s.role() == Architecture.Role.LINEAR) {
                names.add(s.name());
            }
        }
        RawCheckpoint raw = new RawCheckpoint();
        try (Checkpoint ck = Checkpoint.open(src)) {
            for (String n : ck.names()) {
                Tensor t = ck.tensor(n);
                if (names.contains(n)) {
                    linear.add(raw, n.substring(0, n.length() - ".weight".length()), t);
                } else {
                    raw.add(n, t.dtype().name(), t.shape(), t.data().toArray(ValueLayout.JAVA_BYTE));
                }
            }
        }
        String cfg = Files.readString(src.resolve("config.json")).trim();
        cfg = cfg.substring(0, cfg.lastIndexOf('}')) + ", \"quantization_config\": " + quantization + "}";
        return raw.writeConfig(out, cfg);
    }

    static float[] logits(Path dir, Backend be, Precision p) {
        try (Model m = Model.load(dir, be, p)) {
            return PackedCheckpointTest.logits(m);
        }
    }

    @Test
    void bitsandbytesNf4CheckpointRunsAsInMemoryNf4(@TempDir Path tmp) throws IOException {
        Path src = Fixtures.model("llama");
        float[] cb = BnbFormatTest.codebook("nf4");
        Path dir = build(src, tmp, BnbFormatTest.config("nf4").replace(", \"up_proj\"", ""), (raw, prefix, w) -> {
            Bnb4Packed b = Bnb4.quantize(w, Bnb4Packed.Kind.NF4);
            byte[] packed = new byte[(int) (b.n() / 2)];
            for (int i = 0; i < packed.length; i++) {
                packed[i] = (byte) (b.code(2L * i) << 4 | b.code(2L * i + 1));
            }
            byte[] state = ("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [" + w.shape()[0]
                    + ", " + w.shape()[1] + "]}").getBytes(StandardCharsets.UTF_8);
            raw.u8(prefix + ".weight", packed, packed.length, 1)
                    .f32(prefix + ".weight.absmax", b.absmax(), b.absmax().length)
                    .f32(prefix + ".weight.quant_map", cb, 16)
                    .u8(prefix + ".weight.quant_state.bitsandbytes__nf4", state, state.length);
        });
        assertEquals("nf4", QuantConfig.read(dir).orElseThrow().name());
        try (Backend be = Backends.create("vector", 2)) {
            assertArrayEquals(logits(src, be, Precision.parse("nf4")), logits(dir, be, null));
        }
    }

    @Test
    void compressedTensorsCheckpointRunsAsInMemoryRtnSym(@TempDir Path tmp) throws IOException {
        Path src = Fixtures.model("llama");
        Path dir = build(src, tmp, CompressedTensorsFormatTest.config(4, true, "group", 128, null)
                .replace(", \"re:.*up_proj$\"", ""), (raw, prefix, w) -> {
            RtnPacked r = new RtnQuantizer(4, 128, true).quantize(w);
            int rows = r.rows();
            int cols = r.cols();
            int[][] stored = new int[rows][cols]; // signed q = code − 8, stored q + 8: the code itself
            for (int i = 0; i < rows; i++) {
                for (int c = 0; c < cols; c++) {
                    stored[i][c] = r.code(i, c);
                }
            }
            int g = r.groups();
            float[] scale = new float[rows * g];
            for (int i = 0; i < rows; i++) {
                for (int k = 0; k < g; k++) {
                    scale[i * g + k] = r.scale(k, i);
                }
            }
            raw.i32(prefix + ".weight_packed", CompressedTensorsFormatTest.packRows(stored, 4), rows, cols / 8)
                    .f32(prefix + ".weight_scale", scale, rows, g)
                    .i64(prefix + ".weight_shape", new long[] {rows, cols}, 2);
        });
        assertEquals("gptq-w4-g128-sym", QuantConfig.read(dir).orElseThrow().name());
        try (Backend be = Backends.create("vector", 2)) {
            assertArrayEquals(logits(src, be, Precision.parse("rtn-w4-g128-sym")), logits(dir, be, null));
        }
    }

    @Test
    void ignoredModulesLoadAsStoredFloat(@TempDir Path tmp) throws IOException {
        Path src = Fixtures.model("llama");
        Path dir = build(src, tmp, CompressedTensorsFormatTest.config(4, true, "group", 128, null), (raw, prefix, w) -> {
            if (prefix.endsWith("up_proj")) { // "ignore": ["re:.*up_proj$"]: stored as the float weight
                raw.add(prefix + ".weight", w.dtype().name(), w.shape(), w.data().toArray(ValueLayout.JAVA_BYTE));
                return;
            }
            RtnPacked r = new RtnQuantizer(4, 128, true).quantize(w);
            int[][] stored = new int[r.rows()][r.cols()];
            float[] scale = new float[r.rows() * r.groups()];
            for (int i = 0; i < r.rows(); i++) {
                for (int c = 0; c < r.cols(); c++) {
                    stored[i][c] = r.code(i, c);
                }
                for (int k = 0; k < r.groups(); k++) {
                    scale[i * r.groups() + k] = r.scale(k, i);
                }
            }
            raw.i32(prefix + ".weight_packed", CompressedTensorsFormatTest.packRows(stored, 4), r.rows(), r.cols() / 8)
                    .f32(prefix + ".weight_scale", scale, r.rows(), r.groups())
                    .i64(prefix + ".weight_shape", new long[] {r.rows(), r.cols()}, 2);
        });
        try (Backend be = Backends.create("vector", 2); Model m = Model.load(dir, be)) {
            Tensor up = m.checkpoint().tensor("model.layers.1.mlp.up_proj.weight");
            assertEquals(dev.revenant.tensor.DType.F32, up.dtype());
            float[] l = PackedCheckpointTest.logits(m);
            float[] all = logits(src, be, Precision.parse("rtn-w4-g128-sym"));
            org.junit.jupiter.api.Assertions.assertFalse(java.util.Arrays.equals(l, all), "up_proj ran in float");
            for (float x : l) {
                org.junit.jupiter.api.Assertions.assertTrue(Float.isFinite(x));
            }
        }
    }
}
