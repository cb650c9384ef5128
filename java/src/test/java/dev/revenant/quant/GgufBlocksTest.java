package dev.revenant.quant;

import static dev.revenant.quant.RtnQuantizerTest.assertBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.quant.GgufPacked.Type;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** ggml Q8_0 / Q4_0 blocks (formats.md, "GGUF / ggml blocks in detail"). */
class GgufBlocksTest {

    @Test
    void q8BlockBytesRoundHalfAwayFromZero() {
        float[] x = new float[32];
        x[0] = 127f;      // amax 127: d = 1.0 (fp16 0x3C00), id = 1
        x[1] = 2.5f;      // roundf 3 (rint would give 2)
        x[2] = -2.5f;     // -3
        x[3] = 3.5f;      // 4
        x[4] = -0.5f;     // -1 (rint: -0)
        x[5] = 0.5f;      // 1
        x[6] = 1.4999999f; // 1
        x[7] = -127f;     // -127
        x[8] = 64.49f;    // 64
        byte[] blk = new byte[34];
        GgufBlocks.encodeQ8_0(x, blk, 0);
        byte[] want = new byte[34];
        want[0] = 0x00;
        want[1] = 0x3C;
        byte[] qs = {127, 3, -3, 4, -1, 1, 1, -127, 64};
        System.arraycopy(qs, 0, want, 2, qs.length);
        assertArrayEquals(want, blk);
        assertEquals(3f, GgufBlocks.roundHalfAway(2.5f));
        assertEquals(2f, (float) Math.rint(2.5f), "the rint difference case");
        assertBits(-0f, GgufBlocks.roundHalfAway(-0.4f), "roundf keeps the sign of zero");
    }

    @Test
    void q8ScalesByTheReciprocalOfD() {
        // amax 1: d = 1/127, id = 127.0f. x = 0.03543307f: x * id = 4.4999995 -> 4, while x / d = 4.5 -> 5
        float[] x = new float[32];
        x[0] = 1f;
        x[1] = 0.03543307f;
        byte[] blk = new byte[34];
        GgufBlocks.encodeQ8_0(x, blk, 0);
        assertEquals(127, blk[2]);
        assertEquals(4, blk[3]);
        assertEquals(5f, GgufBlocks.roundHalfAway(x[1] / (1f / 127f)), "x / d would give 5");
    }

    @Test
    void q4BlockBytesNibblesAndTheExtremeValue() {
        float[] x = new float[32];
        x[0] = -3f;        // largest |x|, negative: d = -3 / -8 = 0.375 (fp16 0x3600), q = (int)(-8 + 8.5) = 0
        x[1] = 3f;         // 8 + 8.5 = 16.5 -> 16 -> min(15, 16) = 15
        x[2] = 0.1875f;    // 0.5 + 8.5 = 9.0 -> 9
        x[3] = -0.1875f;   // -0.5 + 8.5 = 8.0 -> 8 (truncation = round half up)
        x[16] = 1.5f;      // 4 + 8.5 -> 12, high nibble of byte 0
        x[17] = -1.5f;     // -4 + 8.5 -> 4, high nibble of byte 1
        x[31] = 0.375f;    // 1 + 8.5 -> 9, high nibble of byte 15
        byte[] blk = new byte[18];
        GgufBlocks.encodeQ4_0(x, blk, 0);
        assertEquals(0x00, blk[0] & 0xFF);
        assertEquals(0x36, blk[1] & 0xFF);
        assertEquals(0xC0, blk[2] & 0xFF); // low: element 0 -> 0, high: element 16 -> 12
        assertEquals(0x4F, blk[3] & 0xFF); // low: element 1 -> 15, high: element 17 -> 4
        assertEquals(0x89, blk[4] & 0xFF); // element 2 -> 9, element 18 (0) -> 8
        assertEquals(0x88, blk[5] & 0xFF); // element 3 -> 8
        assertEquals(0x98, blk[17] & 0xFF); // element 15 (0) -> 8, element 31 -> 9
        assertEquals(-3f, GgufBlocks.dequantizeQ4_0(blk, 0, 0), "the extreme value comes back exactly");
        assertEquals(7 * 0.375f, GgufBlocks.dequantizeQ4_0(blk, 0, 1), "+3 clips to 7·d");
        assertEquals(1.5f, GgufBlocks.dequantizeQ4_0(blk, 0, 16));
        // a positive extreme: d = 2 / -8 = -0.25; the first of equal |x| wins
        float[] y = new float[32];
        y[3] = 2f;
        y[9] = -2f;
        GgufBlocks.encodeQ4_0(y, blk, 0);
        assertEquals(-0.25f, GgufBlocks.d(blk, 0));
        assertEquals(0, blk[2 + 3] & 0xF);
        assertEquals(2f, GgufBlocks.dequantizeQ4_0(blk, 0, 3));
        assertEquals(-1.75f, GgufBlocks.dequantizeQ4_0(blk, 0, 9), "-2 clips to q = 15: (15 - 8) * -0.25");
    }

    @Test
    void zeroBlocksAndDequantizeUsesTheFp16D() {
        byte[] blk = new byte[34];
        GgufBlocks.encodeQ8_0(new float[32], blk, 0);
        assertArrayEquals(new byte[34], blk, "all zero: d = 0, id = 0, qs = 0");
        byte[] b4 = new byte[18];
        GgufBlocks.encodeQ4_0(new float[32], b4, 0);
        assertEquals(0x00, b4[0] & 0xFF);
        assertEquals(0x80, b4[1] & 0xFF, "d = 0 / -8 = -0.0, stored as fp16 -0 (as ggml does)");
        assertEquals(0x88, b4[2] & 0xFF, "q = 8 stands for 0");
        assertBits(-0f, GgufBlocks.dequantizeQ4_0(b4, 0, 5), "0 * -0.0");

        float[] x = new float[32];
        x[0] = 1f; // d = 1/127 is not an fp16 value
        GgufBlocks.encodeQ8_0(x, blk, 0);
        float dh = Float.float16ToFloat(Float.floatToFloat16(1f / 127f));
        assertTrue(dh != 1f / 127f);
        assertBits(127 * dh, GgufBlocks.dequantizeQ8_0(blk, 0, 0), "127 * fp16(d)");
    }

    @ParameterizedTest
    @EnumSource(Type.class)
    void weightsRoundTripAndLayOutRowByRow(Type type) {
        Random rnd = new Random(17);
        int rows = 5;
        int cols = 96;
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.02f * (1 + i % 7);
        }
        try (Arena arena = Arena.ofConfined()) {
            GgufPacked p = GgufBlocks.quantize(Tensor.ofFloats("blk.0.attn_q.weight", w, rows, cols), type);
            assertEquals(rows * 3L * type.blockBytes(), p.packedBytes());
            assertEquals(type.precision(), p.precision());
            // block (r, b) is the block of the row's 32 values, stored at (r * 3 + b) * blockBytes
            float[] chunk = new float[32];
            byte[] blk = new byte[type.blockBytes()];
            System.arraycopy(w, 3 * cols + 64, chunk, 0, 32);
            if (type == Type.Q8_0) {
                GgufBlocks.encodeQ8_0(chunk, blk, 0);
            } else {
                GgufBlocks.encodeQ4_0(chunk, blk, 0);
            }
            byte[] stored = new byte[type.blockBytes()];
            System.arraycopy(p.blocks(), (3 * 3 + 2) * type.blockBytes(), stored, 0, stored.length);
            assertArrayEquals(blk, stored);

            Tensor deq = p.dequantize(arena);
            assertEquals(DType.F32, deq.dtype());
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    // half a step, or a whole one where Q4_0 clips at +7·d; plus d's fp16 rounding (2^-11 relative)
                    float tol = Math.abs(p.d(r, c)) * (type == Type.Q8_0 ? 0.5f + 127f / 2048 : 1f + 8f / 2048);
                    assertEquals(w[r * cols + c], deq.getFloat((long) r * cols + c), tol, "(" + r + "," + c + ")");
                    assertBits(p.dequantize(r, c), deq.getFloat((long) r * cols + c), "tensor");
                }
            }
            GgufPacked again = GgufBlocks.quantize(deq, type);
            assertArrayEquals(p.blocks(), again.blocks(), "quantize(dequantize(q)) == q");
        }
    }

    @Test
    void rowsNotAMultipleOf32AndNonFiniteWeightsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GgufBlocks.quantize(Tensor.ofFloats("odd", new float[40], 1, 40), Type.Q4_0));
        assertTrue(e.getMessage().contains("odd") && e.getMessage().contains("multiple of 32"), e.getMessage());
        float[] w = new float[64];
        w[40] = Float.NEGATIVE_INFINITY;
        e = assertThrows(IllegalArgumentException.class, () -> GgufBlocks.quantize(Tensor.ofFloats("inf", w, 2, 32), Type.Q8_0));
        assertTrue(e.getMessage().contains("inf") && e.getMessage().contains("index 40"), e.getMessage());
    }
}
