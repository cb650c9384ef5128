package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GPTQ v1/v2 conformance: checkpoints packed by this test from the format description (AutoGPTQ's {@code pack}:
 * qweight along the input dim, low bits first, the 3-bit straddle spelled out word by word; qzeros along the output
 * dim; v1 stores zero − 1) dequantize to {@code scale · (q − zero)} exactly; the writer reproduces the same words.
 */
class GptqFormatTest {
    static final String P = "model.layers.0.mlp.down_proj";
    static final float[] SCALES = {0.015625f, 0.03125f, 0.0078125f, 0.25f, 0.5f, 0.0625f, 0.125f, 0.046875f};

    /** A known weight: codes {@code q [out, in]}, zeros and scales {@code [G, out]}, each column's group. */
    record Known(int out, int in, int bits, int group, int[][] q, int[][] zero, float[][] scale, int[] gIdx) {
        static Known random(long seed, int out, int in, int bits, int group, boolean actOrder, int minZero) {
            Random rnd = new Random(seed);
            int g = (in + group - 1) / group;
            int[][] q = new int[out][in];
            int[][] z = new int[g][out];
            float[][] s = new float[g][out];
            for (int r = 0; r < out; r++) {
                for (int c = 0; c < in; c++) {
                    q[r][c] = rnd.nextInt(1 << bits);
                }
            }
            for (int k = 0; k < g; k++) {
                for (int r = 0; r < out; r++) {
                    z[k][r] = minZero + rnd.nextInt((1 << bits) - minZero);
                    s[k][r] = SCALES[rnd.nextInt(SCALES.length)];
                }
            }
            int[] gIdx = new int[in];
            int[] perm = new int[in];
            for (int c = 0; c < in; c++) {
                perm[c] = c;
            }
            if (actOrder) { // GPTQ act-order: groups formed in a shuffled column order, g_idx[perm[k]] = k / group
                for (int c = in - 1; c > 0; c--) {
                    int j = rnd.nextInt(c + 1);
                    int t = perm[c];
                    perm[c] = perm[j];
                    perm[j] = t;
                }
            }
            for (int k = 0; k < in; k++) {
                gIdx[perm[k]] = k / group;
            }
            return new Known(out, in, bits, group, q, z, s, gIdx);
        }

        float expected(int r, int c) {
            int k = gIdx[c];
            return scale[k][r] * ((float) q[r][c] - zero[k][r]);
        }

        /** One column (fixed output r) or one qzeros row as GPTQ packs it: 32/b values per word, 3 bits as AutoGPTQ. */
        static int[] pack(int[] v, int bits) {
            int[] w = new int[v.length * bits / 32];
            if (bits == 3) {
                for (int b = 0; b < v.length / 32; b++) {
                    int i = 32 * b;
                    int o = 3 * b;
                    for (int j = 0; j < 10; j++) {
                        w[o] |= v[i + j] << (3 * j);
                    }
                    w[o] |= v[i + 10] << 30;              // low two bits of value 10
                    w[o + 1] |= (v[i + 10] >> 2) & 1;     // its high bit
                    for (int j = 0; j < 10; j++) {
                        w[o + 1] |= v[i + 11 + j] << (3 * j + 1);
                    }
                    w[o + 1] |= v[i + 21] << 31;          // low bit of value 21
                    w[o + 2] |= (v[i + 21] >> 1) & 3;     // its two high bits
                    for (int j = 0; j < 10; j++) {
                        w[o + 2] |= v[i + 22 + j] << (3 * j + 2);
                    }
                }
                return w;
            }
            int per = 32 / bits;
            for (int i = 0; i < v.length; i++) {
                w[i / per] |= v[i] << (bits * (i % per));
            }
            return w;
        }

        int[] qweight() {
            int words = in * bits / 32;
            int[] out2 = new int[words * out];
            for (int r = 0; r < out; r++) {
                int[] col = pack(q[r], bits);
                for (int w = 0; w < words; w++) {
                    out2[w * out + r] = col[w];
                }
            }
            return out2;
        }

        int[] qzeros(int minus) {
            int g = zero.length;
            int words = out * bits / 32;
            int[] z = new int[g * words];
            for (int k = 0; k < g; k++) {
                int[] v = zero[k].clone();
                for (int r = 0; r < out; r++) {
                    v[r] -= minus;
                }
                System.arraycopy(pack(v, bits), 0, z, k * words, words);
            }
            return z;
        }

        float[] scales() {
            float[] s = new float[scale.length * out];
            for (int k = 0; k < scale.length; k++) {
                System.arraycopy(scale[k], 0, s, k * out, out);
            }
            return s;
        }

        RawCheckpoint checkpoint(boolean v1) {
            int g = zero.length;
            return new RawCheckpoint()
                    .i32(P + ".qweight", qweight(), in * bits / 32, out)
                    .i32(P + ".qzeros", qzeros(v1 ? 1 : 0), g, out * bits / 32)
                    .f16(P + ".scales", scales(), g, out)
                    .i32(P + ".g_idx", gIdx, in);
        }

        String config(boolean v1, boolean act) {
            return "{\"quant_method\": \"gptq\", \"bits\": " + bits + ", \"group_size\": " + group + ", \"desc_act\": " + act
                    + ", \"sym\": false, \"static_groups\": false, \"checkpoint_format\": \"" + (v1 ? "gptq" : "gptq_v2") + "\"}";
        }
    }

    static QuantizedWeight load(Path dir, String prefix, int rows, int cols) {
        CheckpointFormat f = CheckpointFormat.read(dir).orElseThrow();
        try (Checkpoint ck = Checkpoint.open(dir)) {
            return f.read(ck, prefix, new long[] {rows, cols}).orElse(null);
        }
    }

    static void assertDequantizes(Known k, GptqPacked w) {
        for (int r = 0; r < k.out; r++) {
            for (int c = 0; c < k.in; c++) {
                assertEquals(k.q[r][c], w.code(r, c), "code (" + r + ", " + c + ")");
                assertEquals(k.expected(r, c), w.dequantize(r, c), "(" + r + ", " + c + ")");
            }
        }
        assertArrayEquals(k.gIdx, w.gIdx());
    }

    @Test
    void v1StoresZeroMinusOneAndV2TrueZeros(@TempDir Path tmp) throws IOException {
        Known k = Known.random(1, 16, 64, 4, 32, false, 1);
        Path v1 = k.checkpoint(true).write(tmp.resolve("v1"), k.config(true, false));
        Path v2 = k.checkpoint(false).write(tmp.resolve("v2"), k.config(false, false));
        GptqPacked a = (GptqPacked) load(v1, P, 16, 64);
        GptqPacked b = (GptqPacked) load(v2, P, 16, 64);
        assertDequantizes(k, a);
        assertDequantizes(k, b);
        assertEquals("gptq-w4-g32", a.precision());
        assertNull(a.perm());
        // the v2 file read as v1 is off by exactly one zero step: the quirk is applied, once
        Path wrong = k.checkpoint(false).write(tmp.resolve("v2-as-v1"), k.config(true, false));
        GptqPacked c = (GptqPacked) load(wrong, P, 16, 64);
        assertEquals(k.expected(3, 5) - k.scale[0][3], c.dequantize(3, 5));
        // the writer reproduces the words this test packed
        List<Tensor> t = GptqLayout.tensors(a, P, true);
        assertArrayEquals(k.qweight(), t.get(0).data().toArray(Tensor.I32_LE));
        assertArrayEquals(k.qzeros(1), t.get(1).data().toArray(Tensor.I32_LE));
        assertArrayEquals(k.qzeros(0), GptqLayout.tensors(a, P, false).get(1).data().toArray(Tensor.I32_LE));
    }

    @Test
    void threeBitValuesStraddleWords(@TempDir Path tmp) throws IOException {
        Known k = Known.random(2, 64, 96, 3, 32, false, 1); // qweight [9, 64]: 3 words per 32 inputs; qzeros [3, 6]
        Path dir = k.checkpoint(true).write(tmp, k.config(true, false));
        GptqPacked w = (GptqPacked) load(dir, P, 64, 96);
        assertDequantizes(k, w);
        assertEquals("gptq-w3-g32", w.precision());
        List<Tensor> t = GptqLayout.tensors(w, P, true);
        assertArrayEquals(k.qweight(), t.get(0).data().toArray(Tensor.I32_LE));
        assertArrayEquals(k.qzeros(1), t.get(1).data().toArray(Tensor.I32_LE));
    }

    @Test
    void twoAndEightBits(@TempDir Path tmp) throws IOException {
        for (int bits : new int[] {2, 8}) {
            Known k = Known.random(3 + bits, 16, 64, bits, 64, false, 1);
            Path dir = k.checkpoint(false).write(tmp.resolve("b" + bits), k.config(false, false));
            assertDequantizes(k, (GptqPacked) load(dir, P, 16, 64));
        }
    }

    @Test
    void actOrderGIdxIsAPermutationOfGroups(@TempDir Path tmp) throws IOException {
        Known k = Known.random(4, 16, 128, 4, 32, true, 1);
        Path dir = k.checkpoint(true).write(tmp, k.config(true, true));
        GptqPacked w = (GptqPacked) load(dir, P, 16, 128);
        assertNotNull(w.perm(), "act-order columns are regrouped");
        assertDequantizes(k, w);
        assertEquals("gptq-w4-g32-act", w.precision());
        assertEquals(Precision.parse("gptq-w4-g32-act"), QuantConfig.read(dir).orElseThrow());
        assertArrayEquals(k.gIdx, GptqLayout.tensors(w, P, true).get(3).data().toArray(Tensor.I32_LE));
    }

    @Test
    void writeReadRoundTripIsExact(@TempDir Path tmp) throws IOException {
        for (boolean v1 : new boolean[] {true, false}) {
            Known k = Known.random(5, 32, 128, 4, 32, true, 1);
            GptqPacked w = (GptqPacked) load(k.checkpoint(true).write(tmp.resolve("src" + v1), k.config(true, true)), P, 32, 128);
            RawCheckpoint raw = new RawCheckpoint();
            for (Tensor t : GptqLayout.tensors(w, P, v1)) {
                raw.add(t.name(), t.dtype().name(), t.shape(), t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
            GptqPacked back = (GptqPacked) load(raw.write(tmp.resolve("rt" + v1), k.config(v1, true)), P, 32, 128);
            assertDequantizes(k, back);
            assertArrayEquals(w.perm(), back.perm());
        }
    }

    @Test
    void aLayerStoredAsFloatOrListedAsNotConvertedStaysFloat(@TempDir Path tmp) throws IOException {
        Known k = Known.random(7, 16, 64, 4, 32, false, 1);
        Path dir = k.checkpoint(true).f32("model.layers.0.mlp.up_proj.weight", new float[16 * 64], 16, 64)
                .write(tmp, k.config(true, false));
        assertNull(load(dir, "model.layers.0.mlp.up_proj", 16, 64), "float weight without qweight: bound as stored");
        k.checkpoint(true).write(dir, k.config(true, false).replace("}", ", \"modules_to_not_convert\": [\"mlp.down_proj\"]}"));
        assertNull(load(dir, P, 16, 64), "listed: not read even though packed parts exist");
    }

    @Test
    void v1CannotHoldAZeroPointOfZero() {
        float[] z = new float[8];
        RtnPacked r = new RtnPacked("w", 8, 32, 4, 32, false, new byte[8 * 32], new float[8], z);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GptqLayout.tensors(new GptqPacked("w", "rtn-w4-g32", r, null), P, true));
        assertTrue(e.getMessage().contains("cannot hold 0"), e.getMessage());
        assertEquals(4, GptqLayout.tensors(new GptqPacked("w", "rtn-w4-g32", r, null), P, false).size());
    }

    @Test
    void badInputsNameTheFileTensorOrKey(@TempDir Path tmp) throws IOException {
        Known k = Known.random(6, 16, 64, 4, 32, false, 1);
        String cfg = k.config(true, false);
        Path f32 = new RawCheckpoint().f32(P + ".qweight", new float[8 * 16], 8, 16).i32(P + ".qzeros", k.qzeros(1), 2, 2)
                .f16(P + ".scales", k.scales(), 2, 16).write(tmp.resolve("dtype"), cfg);
        assertMessage(() -> load(f32, P, 16, 64), "model.safetensors", P + ".qweight: expected [8, 16] I32, found [8, 16] F32");
        Path shape = new RawCheckpoint().i32(P + ".qweight", new int[16 * 16], 16, 16).i32(P + ".qzeros", k.qzeros(1), 2, 2)
                .f16(P + ".scales", k.scales(), 2, 16).write(tmp.resolve("shape"), cfg);
        assertMessage(() -> load(shape, P, 16, 64), P + ".qweight: expected [8, 16] I32, found [16, 16] I32");
        int[] g = k.gIdx.clone();
        g[3] = 9;
        Path gidx = new RawCheckpoint().i32(P + ".qweight", k.qweight(), 8, 16).i32(P + ".qzeros", k.qzeros(1), 2, 2)
                .f16(P + ".scales", k.scales(), 2, 16).i32(P + ".g_idx", g, 64).write(tmp.resolve("gidx"), cfg);
        assertMessage(() -> load(gidx, P, 16, 64), P + ".g_idx[3] = 9 is outside [0, 2)");
        Path missing = new RawCheckpoint().i32(P + ".qweight", k.qweight(), 8, 16).write(tmp.resolve("missing"), cfg);
        assertMessage(() -> load(missing, P, 16, 64), "tensor '" + P + ".qzeros' missing");
        Path ok = k.checkpoint(true).write(tmp.resolve("ok"), "{\"quant_method\": \"hqq\"}");
        assertMessage(() -> CheckpointFormat.read(ok), "config.json: quantization_config.quant_method 'hqq' is not supported");
        k.checkpoint(true).write(ok, cfg.replace("\"gptq\"}", "\"marlin\"}"));
        assertMessage(() -> CheckpointFormat.read(ok), "quantization_config.checkpoint_format: expected gptq or gptq_v2");
        k.checkpoint(true).write(ok, cfg.replace("\"bits\": 4", "\"bits\": 5"));
        assertMessage(() -> CheckpointFormat.read(ok), "quantization_config.bits: expected 2, 3, 4 or 8, found 5");
        k.checkpoint(true).write(ok, cfg.replace("\"group_size\": 32, ", ""));
        assertMessage(() -> CheckpointFormat.read(ok), "quantization_config.group_size: expected an integer, found null");
    }

    static void assertMessage(org.junit.jupiter.api.function.Executable e, String... parts) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        for (String part : parts) {
            assertTrue(x.getMessage().contains(part), "expected '" + part + "' in: " + x.getMessage());
        }
    }
}
