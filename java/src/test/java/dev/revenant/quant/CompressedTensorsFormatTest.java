package dev.revenant.quant;

import static dev.revenant.quant.GptqFormatTest.P;
import static dev.revenant.quant.GptqFormatTest.assertMessage;
import static dev.revenant.quant.GptqFormatTest.load;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * compressed-tensors {@code pack-quantized} conformance (compressed-tensors {@code pack_to_int32}): signed codes
 * stored with an offset of 2^(b−1), {@code 32/b} per int32 along the input dim (no straddling; 3 bits: 10 per word,
 * padded), asymmetric zero points packed the same way along dim 0, {@code weight_scale [out, G]}.
 */
class CompressedTensorsFormatTest {
    static String config(int bits, boolean sym, String strategy, Integer group, String actorder) {
        return "{\"quant_method\": \"compressed-tensors\", \"format\": \"pack-quantized\", \"quantization_status\": "
                + "\"compressed\", \"config_groups\": {\"group_0\": {\"targets\": [\"Linear\"], \"weights\": {\"num_bits\": "
                + bits + ", \"type\": \"int\", \"symmetric\": " + sym + ", \"strategy\": \"" + strategy + "\", \"group_size\": "
                + group + ", \"actorder\": " + (actorder == null ? "null" : "\"" + actorder + "\"") + ", \"dynamic\": false, "
                + "\"observer\": \"minmax\"}, \"input_activations\": null, \"output_activations\": null}}, "
                + "\"ignore\": [\"lm_head\", \"re:.*up_proj$\"], \"kv_cache_scheme\": null}";
    }

    /** Packs unsigned values {@code v[rows][cols]} along dim 1 ({@code f = 32/b} per word, zero padded). */
    static int[] packRows(int[][] v, int bits) {
        int f = 32 / bits;
        int words = (v[0].length + f - 1) / f;
        int[] out = new int[v.length * words];
        for (int r = 0; r < v.length; r++) {
            for (int c = 0; c < v[0].length; c++) {
                out[r * words + c / f] |= v[r][c] << (bits * (c % f));
            }
        }
        return out;
    }

    /** Packs {@code v[rows][cols]} along dim 0. */
    static int[] packCols(int[][] v, int bits) {
        int f = 32 / bits;
        int words = (v.length + f - 1) / f;
        int cols = v[0].length;
        int[] out = new int[words * cols];
        for (int r = 0; r < v.length; r++) {
            for (int k = 0; k < cols; k++) {
                out[(r / f) * cols + k] |= v[r][k] << (bits * (r % f));
            }
        }
        return out;
    }

    record Case(int out, int in, int bits, int group, int[][] qs, int[][] zp, float[][] scale, int[] gIdx) {
        static Case random(long seed, int out, int in, int bits, int group, boolean sym, boolean act) {
            Random rnd = new Random(seed);
            int half = 1 << (bits - 1);
            int g = group < 0 ? 1 : in / group;
            int[][] qs = new int[out][in];
            int[][] zp = new int[out][g];
            float[][] s = new float[out][g];
            for (int r = 0; r < out; r++) {
                for (int c = 0; c < in; c++) {
                    qs[r][c] = rnd.nextInt(2 * half) - half;
                }
                for (int k = 0; k < g; k++) {
                    zp[r][k] = sym ? 0 : rnd.nextInt(2 * half) - half;
                    s[r][k] = GptqFormatTest.SCALES[rnd.nextInt(GptqFormatTest.SCALES.length)];
                }
            }
            int[] gIdx = new int[in];
            for (int c = 0; c < in; c++) {
                gIdx[c] = group < 0 ? 0 : act ? (c * 7 % in) / group : c / group; // 7 is coprime to the sizes used
            }
            return new Case(out, in, bits, group, qs, zp, s, gIdx);
        }

        RawCheckpoint checkpoint(boolean packedZp, boolean withGIdx) {
            int half = 1 << (bits - 1);
            int[][] stored = new int[out][in];
            for (int r = 0; r < out; r++) {
                for (int c = 0; c < in; c++) {
                    stored[r][c] = qs[r][c] + half;
                }
            }
            int g = zp[0].length;
            float[] sc = new float[out * g];
            for (int r = 0; r < out; r++) {
                System.arraycopy(scale[r], 0, sc, r * g, g);
            }
            int f = 32 / bits;
            RawCheckpoint raw = new RawCheckpoint()
                    .i32(P + ".weight_packed", packRows(stored, bits), out, (in + f - 1) / f)
                    .f16(P + ".weight_scale", sc, out, g)
                    .i64(P + ".weight_shape", new long[] {out, in}, 2);
            if (packedZp) {
                int[][] zs = new int[out][g];
                for (int r = 0; r < out; r++) {
                    for (int k = 0; k < g; k++) {
                        zs[r][k] = zp[r][k] + half;
                    }
                }
                raw.i32(P + ".weight_zero_point", packCols(zs, bits), (out + f - 1) / f, g);
            } else {
                byte[] z = new byte[out * g];
                for (int r = 0; r < out; r++) {
                    for (int k = 0; k < g; k++) {
                        z[r * g + k] = (byte) zp[r][k];
                    }
                }
                raw.i8(P + ".weight_zero_point", z, out, g);
            }
            if (withGIdx) {
                raw.i32(P + ".weight_g_idx", gIdx, in);
            }
            return raw;
        }

        void check(GptqPacked w) {
            for (int r = 0; r < out; r++) {
                for (int c = 0; c < in; c++) {
                    int k = gIdx[c];
                    assertEquals(scale[r][k] * (float) (qs[r][c] - zp[r][k]), w.dequantize(r, c), "(" + r + ", " + c + ")");
                }
            }
        }
    }

    @Test
    void symmetricCodesCarryTheOffsetAndActOrderUsesGIdx(@TempDir Path tmp) throws IOException {
        Case c = Case.random(21, 16, 64, 4, 16, true, true);
        Path dir = c.checkpoint(false, true).write(tmp, config(4, true, "group", 16, "group"));
        GptqPacked w = (GptqPacked) load(dir, P, 16, 64);
        c.check(w);
        assertNotNull(w.perm());
        assertEquals("gptq-w4-g16-sym-act", w.precision());
        assertNull(load(dir, "model.layers.0.mlp.up_proj", 16, 64), "ignored by re:.*up_proj$: stays float");
    }

    @Test
    void asymmetricZeroPointsPackedAlongDimZero(@TempDir Path tmp) throws IOException {
        Case c = Case.random(22, 24, 64, 4, 32, false, false);
        c.check((GptqPacked) load(c.checkpoint(true, false).write(tmp.resolve("packed"), config(4, false, "group", 32, null)),
                P, 24, 64));
        // older files: zero points unpacked, signed I8 [out, G]
        c.check((GptqPacked) load(c.checkpoint(false, false).write(tmp.resolve("i8"), config(4, false, "group", 32, null)),
                P, 24, 64));
    }

    @Test
    void threeBitsTenPerWordAndChannelStrategy(@TempDir Path tmp) throws IOException {
        Case c = Case.random(23, 8, 64, 3, -1, true, false); // 7 words per row, the last holding 4 values
        GptqPacked w = (GptqPacked) load(c.checkpoint(false, false).write(tmp, config(3, true, "channel", null, null)), P, 8, 64);
        c.check(w);
        assertEquals("gptq-w3-sym", w.precision());
    }

    @Test
    void unreadableSchemesAndBadTensorsAreRefused(@TempDir Path tmp) throws IOException {
        Case c = Case.random(24, 16, 64, 4, 32, true, false);
        String ok = config(4, true, "group", 32, null);
        Path dir = c.checkpoint(false, false).write(tmp, ok.replace("\"format\": \"pack-quantized\"", "\"format\": \"naive-quantized\""));
        assertMessage(() -> CheckpointFormat.read(dir), "quantization_config.format: expected pack-quantized");
        c.checkpoint(false, false).write(dir, ok.replace("\"input_activations\": null", "\"input_activations\": {\"num_bits\": 8}"));
        assertMessage(() -> CheckpointFormat.read(dir), "quantization_config.config_groups.group_0.input_activations");
        c.checkpoint(false, false).write(dir, ok.replace("\"strategy\": \"group\"", "\"strategy\": \"tensor\""));
        assertMessage(() -> CheckpointFormat.read(dir), "config_groups.group_0.weights.strategy: expected group or channel");
        c.checkpoint(false, false).write(dir, ok.replace("\"format\": \"pack-quantized\"", "\"format\": \"mixed-precision\""));
        assertMessage(() -> CheckpointFormat.read(dir), "config_groups.group_0.format: expected pack-quantized, found null");
        c.checkpoint(false, false).write(dir, ok.replace("\"format\": \"pack-quantized\"", "\"format\": \"mixed-precision\"")
                .replace("\"output_activations\": null}", "\"output_activations\": null, \"format\": \"pack-quantized\"}"));
        assertEquals("gptq-w4-g32-sym", QuantConfig.read(dir).orElseThrow().name());
        c.checkpoint(false, false).write(dir, ok);
        assertMessage(() -> load(dir, P, 32, 64), P + ".weight_shape: holds [16, 64], the architecture expects [32, 64]");
        Case asym = Case.random(25, 16, 64, 4, 32, false, false);
        asym.checkpoint(false, false).write(dir, ok);
        assertMessage(() -> load(dir, P, 16, 64), P + ".weight_zero_point: symmetric (symmetric: true) but row");
    }
}
