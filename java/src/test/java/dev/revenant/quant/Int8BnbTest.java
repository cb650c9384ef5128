package dev.revenant.quant;

import static dev.revenant.quant.RtnQuantizerTest.assertBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** LLM.int8 (muse-spec.md §2.3). */
class Int8BnbTest {

    private static final Tensor W = Tensor.ofFloats("w", new float[] {1, -2, 0.5f, 4, 0.25f, 0.25f, -0.25f, 0.125f}, 2, 4);

    @Test
    void weightCodesAreRowAbsmaxHalfEven() {
        Int8Packed p = Int8Bnb.quantize(W);
        assertArrayEquals(new float[] {4f, 0.25f}, p.scb());
        // 127/4 = 31.75: [31.75, -63.5, 15.875, 127] -> [32, -64 (tie to even), 16, 127]
        // 127/0.25 = 508: [127, 127, -127, 63.5 -> 64]
        assertArrayEquals(new byte[] {32, -64, 16, 127, 127, 127, -127, 64}, p.cb());
        assertEquals("int8", p.precision());
        assertEquals(8 + 8, p.packedBytes());
        try (Arena arena = Arena.ofConfined()) {
            Tensor d = p.dequantize(arena);
            assertEquals(DType.F32, d.dtype());
            assertBits((-64 * 4f) / 127f, d.getFloat(1), "(CB * SCB) / 127");
        }
    }

    @Test
    void weightsAreRoundedToFp16FirstAndZeroRowsGiveZeroCodes() {
        float v = 1.0001f; // fp16 rounds it to 1.0
        Int8Packed p = Int8Bnb.quantize(Tensor.ofFloats("w", new float[] {v, 0.5f, 0, 0}, 2, 2));
        assertEquals(1f, p.scb()[0]);
        assertEquals(127, p.code(0, 0));
        assertEquals(64, p.code(0, 1)); // 63.5 -> 64
        assertEquals(0f, p.scb()[1]);
        assertEquals(0, p.code(1, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Int8Bnb.quantize(Tensor.ofFloats("big", new float[] {1e6f, 0}, 1, 2)));
        assertTrue(e.getMessage().contains("big") && e.getMessage().contains("fp16"), e.getMessage());
    }

    @Test
    void handComputedMatmulWithoutOutliers() {
        // x = [1, 2, -1, 0.5]: SCA = 2, CA = rint(x * 63.5) = [64, 127, -64, 32]
        // acc0 = 64*32 - 127*64 - 64*16 + 32*127 = -3040 -> fp16(-3040 * 6.200012e-05 * 2 * 4) = -1.5078125 (exact: -1.5)
        // acc1 = 34433 -> fp16(34433 * 6.200012e-05 * 2 * 0.25) = 1.0673828 (exact: 1.0625)
        float[] out = new float[2];
        Int8Bnb.matmulReference(new float[] {1, 2, -1, 0.5f}, 1, 4, Int8Bnb.quantize(W), out);
        assertBits(-1.5078125f, out[0], "out0");
        assertBits(1.0673828f, out[1], "out1");
    }

    @Test
    void handComputedMatmulWithAnOutlierColumn() {
        // x = [1, 8, -1, 0.5]: column 1 is an outlier; SCA = 1 over the rest, CA = [127, 0, -127, 64]
        // int8 part: acc0 = 10160 -> fp16(0.6299 * 4) = 2.5195312; acc1 = 36354 -> 0.56347656
        // outlier part: subB = fp16((CB * SCB) / 127) = [fp16(-2.015748) = -2.015625, 0.25]; 8 * subB = [-16.125, 2]
        // out0 = fp16(2.5195312 - 16.125) = fp16(-13.60546875), a tie between fp16 neighbours -> -13.609375 (even)
        float[] out = new float[2];
        Int8Bnb.matmulReference(new float[] {1, 8, -1, 0.5f}, 1, 4, Int8Bnb.quantize(W), out);
        assertBits(-13.609375f, out[0], "out0");
        assertBits(2.5625f, out[1], "out1");
        float[] perRow = new float[2];
        Int8Bnb.matmulPerRow(new float[] {1, 8, -1, 0.5f}, 1, 4, Int8Bnb.quantize(W), perRow);
        assertArrayEquals(out, perRow, "one row: both variants agree");
    }

    @Test
    void activationsAreRoundedToFp16AndTheThresholdIsInclusive() {
        Int8Packed p = Int8Bnb.quantize(W);
        float[] a = new float[2];
        float[] b = new float[2];
        Int8Bnb.matmulReference(new float[] {1.0001f, 2, -1, 0.5f}, 1, 4, p, a);
        Int8Bnb.matmulReference(new float[] {1f, 2, -1, 0.5f}, 1, 4, p, b);
        assertArrayEquals(b, a, "1.0001 is 1.0 in fp16");
        // 5.99 (fp16 5.9921875) stays in the int8 path as the row stat; 6.0 is an outlier, and so is 5.999,
        // which fp16 rounds to 6.0
        float[] below = new float[2];
        float[] at = new float[2];
        float[] rounded = new float[2];
        Int8Bnb.matmulReference(new float[] {1, 5.99f, -1, 0.5f}, 1, 4, p, below);
        Int8Bnb.matmulReference(new float[] {1, 6f, -1, 0.5f}, 1, 4, p, at);
        Int8Bnb.matmulReference(new float[] {1, 5.999f, -1, 0.5f}, 1, 4, p, rounded);
        assertEquals(1 - 2 * 5.9921875f - 0.5f + 2, below[0], 0.1f);
        assertEquals(1 - 12f - 0.5f + 2, at[0], 0.1f);
        assertArrayEquals(at, rounded);
        // the outlier column goes through fp16 against the dequantized weights: 6 * fp16(-64 * 4 / 127) exactly
        float int8Part = Int8Bnb.fp16(10160 * Int8Bnb.MM_DEQUANT * 1f * 4f);
        assertBits(Int8Bnb.fp16(int8Part + 6f * -2.015625f), at[0], "int8 part + outlier part");
    }

    @Test
    void perRowVariantIsBatchInvariantAndTheBnbOneIsNot() {
        Random rnd = new Random(3);
        int out = 24;
        int in = 40;
        int rows = 7;
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.05f;
        }
        Int8Packed p = Int8Bnb.quantize(Tensor.ofFloats("w", w, out, in));
        float[] x = new float[rows * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        x[2 * in + 5] = 9.5f;   // an outlier in row 2 only
        x[4 * in + 17] = -7f;   // and one in row 4
        float[] batchPerRow = new float[rows * out];
        float[] batchBnb = new float[rows * out];
        Int8Bnb.matmulPerRow(x, rows, in, p, batchPerRow);
        Int8Bnb.matmulReference(x, rows, in, p, batchBnb);
        boolean bnbDiffers = false;
        for (int r = 0; r < rows; r++) {
            float[] xr = Arrays.copyOfRange(x, r * in, (r + 1) * in);
            float[] alone = new float[out];
            Int8Bnb.matmulPerRow(xr, 1, in, p, alone);
            assertArrayEquals(alone, Arrays.copyOfRange(batchPerRow, r * out, (r + 1) * out), "per-row variant, row " + r);
            float[] aloneBnb = new float[out];
            Int8Bnb.matmulReference(xr, 1, in, p, aloneBnb);
            assertArrayEquals(alone, aloneBnb, "a single row: both variants agree");
            bnbDiffers |= !Arrays.equals(aloneBnb, Arrays.copyOfRange(batchBnb, r * out, (r + 1) * out));
        }
        assertTrue(bnbDiffers, "bitsandbytes semantics: outlier columns of one row change the others' results");
        // and both stay close to the fp32 product
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int j = 0; j < in; j++) {
                    s += (double) x[r * in + j] * w[o * in + j];
                }
                assertEquals(s, batchPerRow[r * out + o], 0.03, "r" + r + " o" + o);
                assertEquals(s, batchBnb[r * out + o], 0.03, "r" + r + " o" + o);
            }
        }
    }

    @Test
    void badShapesAreRefused() {
        Int8Packed p = Int8Bnb.quantize(W);
        assertThrows(IllegalArgumentException.class, () -> Int8Bnb.matmulReference(new float[3], 1, 3, p, new float[2]));
        assertThrows(IllegalArgumentException.class, () -> Int8Bnb.matmulPerRow(new float[4], 1, 4, p, new float[1]));
    }
}
