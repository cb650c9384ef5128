package dev.revenant.quant;

import static dev.revenant.quant.RtnQuantizerTest.assertBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.quant.Bnb4Packed.Kind;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** bitsandbytes FP4/NF4 (muse-spec.md §2.2). */
class Bnb4Test {

    /** FP4: threshold, code when x equals it, code just above it (the spec's table). */
    private static final float[][] FP4_TABLE = {
        {0.8333333f, 0b0010, 0b0011}, {0.583333f, 0b0101, 0b0010}, {0.4166667f, 0b0100, 0b0101},
        {0.29166667f, 0b0111, 0b0100}, {0.20833333f, 0b0110, 0b0111}, {0.0859375f, 0b0001, 0b0110},
        {0.00260417f, 0b0000, 0b0001}};

    /** NF4 thresholds ascending as bitsandbytes' fp32 literals; threshold k separates code k from k + 1. */
    private static final float[] NF4_T = {-0.8480964f, -0.6106329f, -0.45999527f, -0.33967942f, -0.2346074f, -0.13791174f,
        -0.045525018f, 0.03979015f, 0.12025525f, 0.20352125f, 0.29201376f, 0.38931254f, 0.50166345f, 0.6427869f, 0.86147845f};
    /** The spec's printed thresholds (8 digits), same order. */
    private static final double[] NF4_SPEC = {-0.84809640, -0.61063293, -0.45999527, -0.33967943, -0.23460741, -0.13791173,
        -0.04552502, 0.03979015, 0.12025525, 0.20352125, 0.29201377, 0.38931254, 0.50166342, 0.64278692, 0.86147842};
    private static final double[] NF4_CODEBOOK = {-1, -0.6961928, -0.5250731, -0.3949175, -0.2844414, -0.1847734,
        -0.0910500, 0, 0.0795803, 0.1609302, 0.2461123, 0.3379152, 0.4407098, 0.5626170, 0.7229568, 1.0};

    @Test
    void fp4ThresholdsAreStrict() {
        // block [1.0, t, up(t), -t, -up(t), ...]: absmax 1 so inv = 1 and x = w exactly
        float[] w = new float[64];
        w[0] = 1f;
        int k = 1;
        for (float[] row : FP4_TABLE) {
            w[k++] = row[0];
            w[k++] = Math.nextUp(row[0]);
            w[k++] = -row[0];
            w[k++] = -Math.nextUp(row[0]);
        }
        Bnb4Packed p = Bnb4.quantize(Tensor.ofFloats("w", w, 1, 64), Kind.FP4);
        assertEquals(1f, p.absmax()[0]);
        assertEquals(0b0011, p.code(0));
        k = 1;
        for (float[] row : FP4_TABLE) {
            String t = "threshold " + row[0];
            assertEquals((int) row[1], p.code(k++), t);
            assertEquals((int) row[2], p.code(k++), t + " + 1ulp");
            assertEquals((int) row[1] | 0b1000, p.code(k++), "-" + t);
            assertEquals((int) row[2] | 0b1000, p.code(k++), "-" + t + " - 1ulp");
        }
    }

    @Test
    void nf4ThresholdsAreStrictAndAreTheSpecsMidpoints() {
        float[] w = new float[64];
        w[0] = 1f;
        for (int k = 0; k < NF4_T.length; k++) {
            assertEquals(NF4_SPEC[k], NF4_T[k], 6e-8, "the spec's threshold " + k);
            assertEquals((NF4_CODEBOOK[k] + NF4_CODEBOOK[k + 1]) / 2, NF4_T[k], 2e-7, "midpoint " + k);
            w[1 + 2 * k] = NF4_T[k];
            w[2 + 2 * k] = Math.nextUp(NF4_T[k]);
        }
        w[31] = -1f;
        Bnb4Packed p = Bnb4.quantize(Tensor.ofFloats("w", w, 1, 64), Kind.NF4);
        for (int k = 0; k < NF4_T.length; k++) {
            assertEquals(k, p.code(1 + 2 * k), "x == threshold " + NF4_T[k]);
            assertEquals(k + 1, p.code(2 + 2 * k), "x just above threshold " + NF4_T[k]);
            assertEquals(NF4_CODEBOOK[k], Bnb4.codeValue(Kind.NF4, k), 1e-7, "codebook " + k);
        }
        assertEquals(15, p.code(0));
        assertEquals(0, p.code(31));
        assertEquals(7, p.code(32), "0 is code 0b0111");
        assertEquals(0f, Bnb4.codeValue(Kind.NF4, 7));
    }

    @Test
    void fp4ValuesAndSigns() {
        float[] want = {0f, 0.005208333f, 0.66666667f, 1.0f, 0.33333333f, 0.5f, 0.16666667f, 0.25f};
        for (int c = 0; c < 8; c++) {
            assertEquals(want[c], Bnb4.codeValue(Kind.FP4, c), 1e-8f, "code " + c);
            assertEquals(-want[c], Bnb4.codeValue(Kind.FP4, c | 0b1000), 1e-8f, "code -" + c);
            assertBits(Bnb4.codeValue(Kind.FP4, c) * 3f, Bnb4.dequantizeFp4(c, 3f), "value * absmax");
        }
        // +0 and -0 both get the positive code 0; a tiny negative keeps its sign bit and dequantizes to -0.0
        Bnb4Packed p = Bnb4.quantize(Tensor.ofFloats("w", new float[] {2f, 0f, -0f, -1e-4f}, 1, 4), Kind.FP4);
        assertEquals(0, p.code(1));
        assertEquals(0, p.code(2));
        assertEquals(0b1000, p.code(3));
        assertBits(0f, p.dequantize(1), "+0");
        assertBits(0f, p.dequantize(2), "-0 is positive");
        assertBits(-0f, p.dequantize(3), "signed zero code");
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void allZeroBlockGivesCodeZeroAndZeros(Kind kind) {
        float[] w = new float[128];
        for (int i = 0; i < 64; i++) {
            w[i] = (i - 30) * 0.01f;
        }
        Bnb4Packed p = Bnb4.quantize(Tensor.ofFloats("w", w, 2, 64), kind);
        assertEquals(0f, p.absmax()[1]);
        for (int i = 64; i < 128; i++) {
            assertEquals(0, p.code(i), "bitsandbytes' NaN path: no comparison holds");
            assertEquals(0f, p.dequantize(i), 0f);
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void nonFiniteWeightsAreRefusedNamingTensorAndIndex(Kind kind) {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] w = new float[70];
            w[67] = bad;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Bnb4.quantize(Tensor.ofFloats("model.layers.2.mlp.up_proj.weight", w, 2, 35), kind));
            assertTrue(e.getMessage().contains("model.layers.2.mlp.up_proj.weight") && e.getMessage().contains("index 67"),
                    e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void partialLastBlockUsesItsOwnAbsmaxAndOddSizesPad(Kind kind) {
        float[] w = new float[3 * 29]; // 87 = 64 + 23
        Random rnd = new Random(5);
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * (i < 64 ? 10 : 0.1f);
        }
        Bnb4Packed p = Bnb4.quantize(Tensor.ofFloats("w", w, 3, 29), kind);
        assertEquals(2, p.absmax().length);
        assertEquals(44, p.packed().length);
        float amax = 0;
        for (int i = 64; i < w.length; i++) {
            amax = Math.max(amax, Math.abs(w[i]));
        }
        assertBits(amax, p.absmax()[1], "absmax of the short block");
        // the same 23 values alone quantize the same
        float[] tail = java.util.Arrays.copyOfRange(w, 64, w.length);
        Bnb4Packed alone = Bnb4.quantize(Tensor.ofFloats("t", tail, 1, 23), kind);
        for (int i = 0; i < 23; i++) {
            assertEquals(alone.code(i), p.code(64 + i));
        }
        // the unused low nibble of the last byte holds the code of a padded 0
        assertEquals(Bnb4.quantize(kind, 0f), p.packed()[43] & 0xF);
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void evenElementInTheHighNibble(Kind kind) {
        float[] w = new float[64];
        w[0] = 1f;   // FP4 0b0011, NF4 15
        w[1] = -1f;  // FP4 0b1011, NF4 0
        w[2] = 0f;
        w[3] = 0.5f;
        Bnb4Packed p = Bnb4.quantize(Tensor.ofFloats("w", w, 1, 64), kind);
        int b0 = p.packed()[0] & 0xFF;
        int b1 = p.packed()[1] & 0xFF;
        if (kind == Kind.FP4) {
            assertEquals(0b0011_1011, b0);
            assertEquals(0b0000_0101, b1);
        } else {
            assertEquals(0xF0, b0);
            assertEquals(0x7C, b1);
        }
        assertEquals(1f, p.dequantize(0));
        assertEquals(-1f, p.dequantize(1));
        assertEquals(0.5f, p.dequantize(3), kind == Kind.FP4 ? 0 : 0.07f);
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void roundTripIsIdempotentAndBf16SourcesWork(Kind kind) {
        Random rnd = new Random(11);
        float[] w = new float[48 * 40];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * (i % 97 == 0 ? 8 : 0.05));
        }
        for (int i = 640; i < 704; i++) {
            w[i] = 0f; // one all-zero block
        }
        try (Arena arena = Arena.ofConfined()) {
            Bnb4Packed p = Bnb4.quantize(Tensor.ofFloats("w", w, 48, 40), kind);
            Tensor deq = p.dequantize(arena);
            assertEquals(DType.F32, deq.dtype());
            assertArrayEquals(new long[] {48, 40}, deq.shape());
            Bnb4Packed again = Bnb4.quantize(deq, kind);
            // same codes, except FP4's "-0" code 0b1000: it dequantizes to -0.0, which requantizes as +0 (code 0)
            for (int i = 0; i < w.length; i++) {
                int want = kind == Kind.FP4 && p.code(i) == 0b1000 ? 0 : p.code(i);
                assertEquals(want, again.code(i), "quantize(dequantize(q)) == q at " + i);
                assertEquals(p.dequantize(i), again.dequantize(i), 0f);
            }
            if (kind == Kind.NF4) {
                assertArrayEquals(p.packed(), again.packed());
            }
            assertArrayEquals(p.absmax(), again.absmax());
            for (int i = 0; i < w.length; i++) {
                assertEquals(w[i], deq.getFloat(i), p.absmax()[i / 64] * (kind == Kind.FP4 ? 0.17f : 0.14f));
            }
            Tensor bf = Cast.to(Tensor.ofFloats("w", w, 48, 40), DType.BF16, arena);
            assertArrayEquals(Bnb4.quantize(Cast.to(bf, DType.F32, arena), kind).packed(), Bnb4.quantize(bf, kind).packed());
            assertEquals(p.packed().length + 4L * p.absmax().length, p.packedBytes());
            assertEquals(kind == Kind.FP4 ? "fp4" : "nf4", p.precision());
        }
    }
}
