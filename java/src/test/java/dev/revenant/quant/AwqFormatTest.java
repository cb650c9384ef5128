package dev.revenant.quant;

import static dev.revenant.quant.GptqFormatTest.P;
import static dev.revenant.quant.GptqFormatTest.assertMessage;
import static dev.revenant.quant.GptqFormatTest.load;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AutoAWQ GEMM conformance: qweight {@code [in, out/8]} packed along the output dim with nibble {@code i} holding
 * channel {@code ORDER[i]}, {@code ORDER = [0, 2, 4, 6, 1, 3, 5, 7]} (AutoAWQ {@code WQLinear_GEMM.from_linear}),
 * true zero points, fp16 scales {@code [in/group, out]}; packed here by the test from that description.
 */
class AwqFormatTest {
    static final int[] ORDER = {0, 2, 4, 6, 1, 3, 5, 7};
    static final String CONFIG = "{\"quant_method\": \"awq\", \"version\": \"gemm\", \"bits\": 4, \"group_size\": 32, "
            + "\"zero_point\": true, \"modules_to_not_convert\": null}";

    /** A [rows, 8·words] matrix of nibbles packed AWQ's way: word w holds columns 8w + ORDER[i] at bits 4i. */
    static int[] pack(int[][] v) {
        int rows = v.length;
        int words = v[0].length / 8;
        int[] out = new int[rows * words];
        for (int r = 0; r < rows; r++) {
            for (int w = 0; w < words; w++) {
                for (int i = 0; i < 8; i++) {
                    out[r * words + w] |= v[r][8 * w + ORDER[i]] << (4 * i);
                }
            }
        }
        return out;
    }

    static RawCheckpoint checkpoint(GptqFormatTest.Known k) {
        int[][] qt = new int[k.in()][k.out()]; // AWQ stores the codes transposed: [in, out]
        for (int r = 0; r < k.out(); r++) {
            for (int c = 0; c < k.in(); c++) {
                qt[c][r] = k.q()[r][c];
            }
        }
        int g = k.zero().length;
        return new RawCheckpoint()
                .i32(P + ".qweight", pack(qt), k.in(), k.out() / 8)
                .i32(P + ".qzeros", pack(k.zero()), g, k.out() / 8)
                .f16(P + ".scales", k.scales(), g, k.out());
    }

    @Test
    void interleavedNibbleOrder(@TempDir Path tmp) throws IOException {
        // one word 0x76543210: nibble i holds value i, so channel ORDER[i] reads i
        int[] qweight = new int[32];
        qweight[0] = 0x76543210;
        float[] scales = new float[8];
        java.util.Arrays.fill(scales, 1f);
        Path dir = new RawCheckpoint().i32(P + ".qweight", qweight, 32, 1).i32(P + ".qzeros", new int[1], 1, 1)
                .f16(P + ".scales", scales, 1, 8).write(tmp, CONFIG);
        GptqPacked w = (GptqPacked) load(dir, P, 8, 32);
        int[] expected = {0, 4, 1, 5, 2, 6, 3, 7}; // channel j holds the nibble at position NIBBLE[j]
        for (int j = 0; j < 8; j++) {
            assertEquals(expected[j], w.code(j, 0), "channel " + j);
            assertEquals(expected[j], w.dequantize(j, 0));
        }
    }

    @Test
    void knownWeightsDequantizeExactlyAndTheWriterPacksTheSameWords(@TempDir Path tmp) throws IOException {
        GptqFormatTest.Known k = GptqFormatTest.Known.random(11, 24, 96, 4, 32, false, 0);
        Path dir = checkpoint(k).write(tmp, CONFIG);
        GptqPacked w = (GptqPacked) load(dir, P, 24, 96);
        GptqFormatTest.assertDequantizes(k, w);
        assertEquals("awq-w4-g32", w.precision());
        List<Tensor> t = AwqLayout.tensors(w, P);
        int[][] qt = new int[96][24];
        for (int r = 0; r < 24; r++) {
            for (int c = 0; c < 96; c++) {
                qt[c][r] = k.q()[r][c];
            }
        }
        assertArrayEquals(pack(qt), t.get(0).data().toArray(Tensor.I32_LE));
        assertArrayEquals(pack(k.zero()), t.get(1).data().toArray(Tensor.I32_LE));
        // write -> read round trip
        RawCheckpoint raw = new RawCheckpoint();
        for (Tensor x : t) {
            raw.add(x.name(), x.dtype().name(), x.shape(), x.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
        GptqFormatTest.assertDequantizes(k, (GptqPacked) load(raw.write(tmp.resolve("rt"), CONFIG), P, 24, 96));
    }

    @Test
    void otherKernelsLayoutsAndBadTensorsAreRefused(@TempDir Path tmp) throws IOException {
        GptqFormatTest.Known k = GptqFormatTest.Known.random(12, 16, 64, 4, 32, false, 0);
        Path dir = checkpoint(k).write(tmp, CONFIG.replace("\"gemm\"", "\"gemv\""));
        assertMessage(() -> CheckpointFormat.read(dir), "config.json: quantization_config.version: expected gemm", "\"gemv\"");
        checkpoint(k).write(dir, CONFIG.replace("\"zero_point\": true", "\"zero_point\": false"));
        assertMessage(() -> CheckpointFormat.read(dir), "quantization_config.zero_point: expected true");
        checkpoint(k).write(dir, CONFIG.replace("\"bits\": 4", "\"bits\": 3"));
        assertMessage(() -> CheckpointFormat.read(dir), "quantization_config.bits: expected 4");
        checkpoint(k).write(dir, CONFIG);
        assertMessage(() -> load(dir, P, 16, 128), P + ".qweight: expected [128, 2] I32, found [64, 2] I32");
        assertMessage(() -> load(dir, "model.layers.0.mlp.up_proj", 16, 64), "model.safetensors: tensor '"
                + "model.layers.0.mlp.up_proj.qweight' missing");
        // a module listed as not converted is left to the caller to bind as stored
        checkpoint(k).write(dir, CONFIG.replace("null}", "[\"down_proj\"]}"));
        assertEquals(null, load(dir, P, 16, 64));
    }
}
