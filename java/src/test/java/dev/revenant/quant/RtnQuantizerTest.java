package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** RTN against the GPTQ authors' quantizer (fixtures quant/gptq_reference.safetensors, "rtn.&lt;cfg&gt;"): bit for bit. */
class RtnQuantizerTest {

    @ParameterizedTest
    @CsvSource({"b4_g128_asym, 4, 128, false", "b4_g128_sym, 4, 128, true", "b4_g64_asym_actorder, 4, 64, false",
            "b4_g64_asym_actorder_static, 4, 64, false", "b8_perchannel_asym, 8, -1, false", "b3_g32_asym, 3, 32, false",
            "b2_g64_asym, 2, 64, false"})
    void matchesTheFixtureBitForBit(String cfg, int bits, int group, boolean sym) {
        try (Checkpoint ck = Checkpoint.open(Fixtures.dir().resolve("quant/gptq_reference.safetensors"));
             Arena arena = Arena.ofConfined()) {
            Tensor w = ck.tensor("W");
            RtnPacked p = new RtnQuantizer(bits, group, sym).quantize(w);
            Tensor wantW = ck.tensor("rtn." + cfg);
            Tensor wantS = ck.tensor("rtn." + cfg + ".scale");
            Tensor wantZ = ck.tensor("rtn." + cfg + ".zero");
            int rows = 96;
            int cols = 256;
            assertEquals(wantS.dim(0), p.groups(), cfg + ": groups");
            for (int g = 0; g < p.groups(); g++) {
                for (int r = 0; r < rows; r++) {
                    assertBits(wantS.getFloat((long) g * rows + r), p.scale(g, r), cfg + " scale g" + g + " r" + r);
                    assertBits(wantZ.getFloat((long) g * rows + r), p.zero(g, r), cfg + " zero g" + g + " r" + r);
                }
            }
            Tensor deq = p.dequantize(arena);
            assertEquals(DType.F32, deq.dtype());
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    long i = (long) r * cols + c;
                    float want = wantW.getFloat(i);
                    assertBits(want, p.dequantize(r, c), cfg + " deq (" + r + "," + c + ")");
                    assertBits(want, deq.getFloat(i), cfg + " tensor (" + r + "," + c + ")");
                    // the codes: the integer that reproduces the fixture's weight, within 0..maxq
                    int g = p.group(c);
                    float q = (float) Math.rint(want / p.scale(g, r)) + p.zero(g, r);
                    assertEquals(q, p.code(r, c), cfg + " code (" + r + "," + c + ")");
                    assertTrue(p.code(r, c) <= (1 << bits) - 1);
                }
            }
        }
    }

    @Test
    void precisionNamesGiveTheConfig() {
        assertEquals(new RtnQuantizer(8, -1, false), RtnQuantizer.of(Precision.parse("rtn-w8")));
        assertEquals(new RtnQuantizer(4, 128, false), RtnQuantizer.of(Precision.parse("rtn-w4-g128")));
        assertEquals(new RtnQuantizer(4, 128, true), RtnQuantizer.of(Precision.parse("rtn-w4-g128-sym")));
        assertEquals(new RtnQuantizer(2, 64, false), RtnQuantizer.of(Precision.parse("rtn-w2-g64")));
        assertEquals("rtn-w3-g64-sym", RtnQuantizer.of(Precision.parse("RTN-W3-G64-SYM")).precisionName());
        assertThrows(IllegalArgumentException.class, () -> RtnQuantizer.of(Precision.parse("nf4")));
        assertThrows(IllegalArgumentException.class, () -> new RtnQuantizer(4, 0, false));
    }

    @Test
    void deadGroupsAndAllPositiveSymGroupsFollowQuantPy() {
        // row 0: all zero (dead group: xmin=-1, xmax=1); row 1: no negative weight, sym keeps xmin = 0
        Tensor w = Tensor.ofFloats("w", new float[] {0, 0, 0, 0, 0.5f, 1f, 2f, 3f}, 2, 4);
        RtnPacked a = new RtnQuantizer(4, -1, false).quantize(w);
        assertBits(2f / 15f, a.scale(0, 0), "dead scale");
        assertBits((float) Math.rint(1f / (2f / 15f)), a.zero(0, 0), "dead zero");
        for (int c = 0; c < 4; c++) {
            assertEquals(0f, a.dequantize(0, c), 0f);
        }
        RtnPacked s = new RtnQuantizer(4, -1, true).quantize(w);
        assertBits(3f / 15f, s.scale(0, 1), "sym scale of an all-positive row is xmax/maxq");
        assertEquals(8f, s.zero(0, 1));
        // w=3: rint(3/0.2)=15, +8 clamps to 15 -> deq 0.2*7: sym without negatives loses the top half
        assertEquals(15, s.code(1, 3));
        assertBits(3f / 15f * 7f, s.dequantize(1, 3), "clamped");
        assertBits(2f / 15f, s.scale(0, 0), "dead sym scale");
        assertEquals(8f, s.zero(0, 0));
    }

    @Test
    void halfEvenRoundingAndFp32DivisionNotReciprocal() {
        // row [-1.5, 0, 1.5, 13.5]: scale = 15/15 = 1, zero = rint(1.5) = 2 (half to even); 0.5-ties go to even
        Tensor w = Tensor.ofFloats("w", new float[] {-1.5f, 0.5f, 2.5f, 13.5f}, 1, 4);
        RtnPacked p = new RtnQuantizer(4, -1, false).quantize(w);
        assertEquals(1f, p.scale(0, 0));
        assertEquals(2f, p.zero(0, 0));
        assertEquals(0, p.code(0, 0)); // rint(-1.5) = -2, +2 = 0
        assertEquals(2, p.code(0, 1)); // rint(0.5) = 0
        assertEquals(4, p.code(0, 2)); // rint(2.5) = 2
        assertEquals(15, p.code(0, 3)); // rint(13.5) = 14, +2 = 16 -> clamp 15
        // row [0, 0.1, 1]: scale = 1/15 = 0.06666667f; 0.1f / scale = 1.5 exactly (-> 2, half to even), while
        // 0.1f * (1f / scale) = 1.4999999 (-> 1): the quantizer must divide
        RtnPacked d = new RtnQuantizer(4, -1, false).quantize(Tensor.ofFloats("w", new float[] {0f, 0.1f, 1f}, 1, 3));
        assertBits(1f / 15f, d.scale(0, 0), "scale");
        assertEquals(1f, (float) Math.rint(0.1f * (1f / d.scale(0, 0))), "the reciprocal route would give 1");
        assertEquals(2, d.code(0, 1));
        assertEquals(15, d.code(0, 2));
    }

    @Test
    void partialLastGroupUsesItsOwnColumnsAndBf16SourcesWork() {
        float[] v = new float[2 * 10];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(i * 1.7) * (i % 10 >= 8 ? 10 : 1);
        }
        RtnPacked p = new RtnQuantizer(4, 4, false).quantize(Tensor.ofFloats("w", v, 2, 10));
        assertEquals(3, p.groups());
        float[] last = {v[8], v[9]};
        RtnPacked alone = new RtnQuantizer(4, -1, false).quantize(Tensor.ofFloats("w", last, 1, 2));
        assertBits(alone.scale(0, 0), p.scale(2, 0), "last group scale");
        assertBits(alone.dequantize(0, 1), p.dequantize(0, 9), "last group deq");

        try (Arena arena = Arena.ofConfined()) {
            Tensor bf = Cast.to(Tensor.ofFloats("w", v, 2, 10), DType.BF16, arena);
            RtnPacked pb = new RtnQuantizer(4, 4, false).quantize(bf);
            RtnPacked pf = new RtnQuantizer(4, 4, false).quantize(Cast.to(bf, DType.F32, arena));
            for (int r = 0; r < 2; r++) {
                for (int c = 0; c < 10; c++) {
                    assertBits(pf.dequantize(r, c), pb.dequantize(r, c), "bf16 source");
                }
            }
        }
    }

    @Test
    void nonFiniteWeightsAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new RtnQuantizer(4, -1, false).quantize(Tensor.ofFloats("layers.0.q", new float[] {1, Float.NaN}, 1, 2)));
        assertTrue(e.getMessage().contains("layers.0.q") && e.getMessage().contains("index 1"), e.getMessage());
    }

    static void assertBits(float want, float got, String what) {
        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), what + ": want " + want + " got " + got);
    }
}
