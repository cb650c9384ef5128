package dev.revenant.quant;

import static dev.revenant.quant.GptqFormatTest.P;
import static dev.revenant.quant.GptqFormatTest.assertMessage;
import static dev.revenant.quant.GptqFormatTest.load;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bitsandbytes 4-bit serialized conformance ({@code QuantState.as_dict(packed=True)}): {@code weight} U8
 * {@code [n/2, 1]} high nibble first, {@code weight.absmax}, {@code weight.quant_map}, the JSON
 * {@code weight.quant_state.bitsandbytes__nf4|fp4}, and with double quantization U8 absmax codes resolved through
 * {@code nested_quant_map · nested_absmax + nested_offset}. Codebooks here are bitsandbytes' {@code get_4bit_type}
 * lists normalized as it does ({@code data / data.abs().max()} in fp32), not Revenant's tables.
 */
class BnbFormatTest {
    static final double[] NF4 = {-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
        0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0};
    static final double[] FP4 = {0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0, -0.0, -0.0625, -8.0, -12.0, -4.0, -6.0, -2.0, -3.0};

    static float[] codebook(String type) {
        double[] d = type.equals("nf4") ? NF4 : FP4;
        float max = 0f;
        for (double x : d) {
            max = Math.max(max, Math.abs((float) x));
        }
        float[] out = new float[16];
        for (int i = 0; i < 16; i++) {
            out[i] = (float) d[i] / max;
        }
        return out;
    }

    static String config(String type) {
        return "{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": true, \"load_in_8bit\": false, \"bnb_4bit_quant_type\": \""
                + type + "\", \"bnb_4bit_use_double_quant\": false, \"bnb_4bit_compute_dtype\": \"bfloat16\", "
                + "\"bnb_4bit_quant_storage\": \"uint8\", \"llm_int8_skip_modules\": [\"lm_head\", \"up_proj\"]}";
    }

    static final int ROWS = 4;
    static final int COLS = 64;

    record Known(int[] codes, float[] absmax) {
        static Known random(long seed) {
            Random rnd = new Random(seed);
            int[] c = new int[ROWS * COLS];
            for (int i = 0; i < c.length; i++) {
                c[i] = rnd.nextInt(16);
            }
            float[] a = new float[ROWS * COLS / 64];
            for (int b = 0; b < a.length; b++) {
                a[b] = 0.01f + rnd.nextFloat();
            }
            return new Known(c, a);
        }

        byte[] packed() {
            byte[] b = new byte[codes.length / 2];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) (codes[2 * i] << 4 | codes[2 * i + 1]); // even element in the high nibble
            }
            return b;
        }
    }

    static byte[] state(String json) {
        return json.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void nf4WithoutDoubleQuant(@TempDir Path tmp) throws IOException {
        Known k = Known.random(31);
        byte[] qs = state("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [4, 64]}");
        Path dir = new RawCheckpoint().u8(P + ".weight", k.packed(), ROWS * COLS / 2, 1)
                .f32(P + ".weight.absmax", k.absmax, k.absmax.length).f32(P + ".weight.quant_map", codebook("nf4"), 16)
                .u8(P + ".weight.quant_state.bitsandbytes__nf4", qs, qs.length).write(tmp, config("nf4"));
        Bnb4Packed w = (Bnb4Packed) load(dir, P, ROWS, COLS);
        float[] cb = codebook("nf4");
        for (int i = 0; i < ROWS * COLS; i++) {
            assertEquals(cb[k.codes[i]] * k.absmax[i / 64], w.dequantize(i), "element " + i);
        }
        assertEquals("nf4", w.precision());
        assertNull(load(dir, "model.layers.0.mlp.up_proj", ROWS, COLS), "llm_int8_skip_modules: stays float");
    }

    @Test
    void fp4WithDoubleQuantResolvesAbsmaxAsBitsandbytes(@TempDir Path tmp) throws IOException {
        Known k = Known.random(32);
        Random rnd = new Random(33);
        byte[] qabs = new byte[4];
        rnd.nextBytes(qabs);
        float[] map = new float[256]; // any 8-bit map: bitsandbytes stores its dynamic map; the reader must use the stored one
        for (int i = 0; i < 256; i++) {
            map[i] = (i - 127.5f) / 127.5f;
        }
        float[] nabs = {0.75f, 1.25f};
        float offset = 0.4375f;
        byte[] qs = state("{\"quant_type\": \"fp4\", \"blocksize\": 64, \"dtype\": \"float16\", \"shape\": [4, 64], "
                + "\"nested_blocksize\": 2, \"nested_dtype\": \"float32\", \"nested_offset\": " + offset + "}");
        Path dir = new RawCheckpoint().u8(P + ".weight", k.packed(), ROWS * COLS / 2, 1)
                .u8(P + ".weight.absmax", qabs, 4).f32(P + ".weight.quant_map", codebook("fp4"), 16)
                .f32(P + ".weight.nested_absmax", nabs, 2).f32(P + ".weight.nested_quant_map", map, 256)
                .u8(P + ".weight.quant_state.bitsandbytes__fp4", qs, qs.length).write(tmp, config("fp4"));
        Bnb4Packed w = (Bnb4Packed) load(dir, P, ROWS, COLS);
        float[] cb = codebook("fp4");
        for (int b = 0; b < 4; b++) {
            float absmax = map[qabs[b] & 0xFF] * nabs[b / 2];
            absmax += offset;
            assertEquals(absmax, w.absmax()[b], "block " + b);
            for (int j = 0; j < 64; j++) {
                int i = b * 64 + j;
                assertEquals(cb[k.codes[i]] * absmax, w.dequantize(i), "element " + i);
            }
        }
        assertEquals("fp4", w.precision());
    }

    @Test
    void inconsistentStatesAreRefused(@TempDir Path tmp) throws IOException {
        Known k = Known.random(34);
        byte[] qs = state("{\"quant_type\": \"nf4\", \"blocksize\": 128, \"dtype\": \"bfloat16\", \"shape\": [4, 64]}");
        RawCheckpoint base = new RawCheckpoint().u8(P + ".weight", k.packed(), ROWS * COLS / 2, 1)
                .f32(P + ".weight.absmax", k.absmax, k.absmax.length).f32(P + ".weight.quant_map", codebook("nf4"), 16)
                .u8(P + ".weight.quant_state.bitsandbytes__nf4", qs, qs.length);
        Path dir = base.write(tmp, config("nf4"));
        assertMessage(() -> load(dir, P, ROWS, COLS), P + ".weight.quant_state.bitsandbytes__nf4: expected blocksize 64, found 128");
        base.write(dir, config("fp4"));
        assertMessage(() -> load(dir, P, ROWS, COLS), "bitsandbytes__nf4 contradicts quantization_config.bnb_4bit_quant_type 'fp4'");
        base.write(dir, config("nf4").replace("\"load_in_4bit\": true", "\"load_in_4bit\": false"));
        assertMessage(() -> CheckpointFormat.read(dir), "config.json: quantization_config.load_in_4bit: expected true");
        byte[] good = state("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [4, 64]}");
        new RawCheckpoint().u8(P + ".weight", k.packed(), ROWS * COLS / 2, 1)
                .f32(P + ".weight.absmax", k.absmax, k.absmax.length).f32(P + ".weight.quant_map", codebook("fp4"), 16)
                .u8(P + ".weight.quant_state.bitsandbytes__nf4", good, good.length).write(dir, config("nf4"));
        assertMessage(() -> load(dir, P, ROWS, COLS), P + ".weight.quant_map[0] = 0.0 is not the nf4 codebook value -1.0");
    }
}
