package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Every precision name maps to its quantizer, or to a clear refusal. */
class QuantizersTest {

    /** Max |deq - w| / max|w| allowed per precision on Gaussian weights. */
    private static final Map<String, Double> TOL = Map.ofEntries(Map.entry("int8", 0.005), Map.entry("fp4", 0.17),
            Map.entry("nf4", 0.14), Map.entry("q8_0", 0.005), Map.entry("q4_0", 0.13), Map.entry("rtn-w8", 0.005),
            Map.entry("rtn-w4-g128", 0.1), Map.entry("rtn-w4-g128-sym", 0.1), Map.entry("rtn-w3-g64", 0.2),
            Map.entry("rtn-w2-g64", 0.4), Map.entry("rtn-w4", 0.1), Map.entry("rtn-w8-g32-sym", 0.005));

    @Test
    void everyNameQuantizesOrIsRefusedClearly() {
        Random rnd = new Random(23);
        int out = 24;
        int in = 256;
        float[] v = new float[out * in];
        float amax = 0;
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian() * 0.05f;
            amax = Math.max(amax, Math.abs(v[i]));
        }
        Tensor w = Tensor.ofFloats("model.layers.0.self_attn.q_proj.weight", v, out, in);
        List<String> names = new ArrayList<>(Precision.FIXED);
        names.addAll(List.of("rtn-w8", "rtn-w4-g128", "rtn-w4-g128-sym", "rtn-w3-g64", "rtn-w2-g64", "rtn-w4", "rtn-w8-g32-sym"));
        int quantized = 0;
        for (String n : names) {
            Precision p = Precision.parse(n);
            switch (p.kind()) {
                case FLOAT -> assertThrows(IllegalArgumentException.class, () -> Quantizers.quantize(p, w), n);
                case GPTQ, AWQ -> {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Quantizers.quantize(p, w));
                    assertTrue(e.getMessage().contains("needs calibration (GPTQ/AWQ issue)") && e.getMessage().contains(n),
                            e.getMessage());
                }
                case RTN, BNB, GGUF -> {
                    QuantizedWeight q = Quantizers.quantize(p, w);
                    quantized++;
                    assertEquals(n, q.precision());
                    assertEquals(w.name(), q.name());
                    assertArrayEquals(new long[] {out, in}, q.shape());
                    assertTrue(q.packedBytes() > 0 && q.packedBytes() < 4L * out * in + 4L * out * in / 4, n + " size");
                    switch (p.kind()) {
                        case RTN -> assertInstanceOf(RtnPacked.class, q);
                        case GGUF -> assertInstanceOf(GgufPacked.class, q);
                        default -> assertTrue(q instanceof Bnb4Packed || q instanceof Int8Packed, n);
                    }
                    try (Arena arena = Arena.ofConfined()) {
                        Tensor d = q.dequantize(arena);
                        assertEquals(DType.F32, d.dtype());
                        assertArrayEquals(new long[] {out, in}, d.shape());
                        double err = 0;
                        for (int i = 0; i < v.length; i++) {
                            err = Math.max(err, Math.abs(d.getFloat(i) - v[i]));
                        }
                        assertTrue(err / amax <= TOL.get(n), n + ": max error " + err / amax + " of max|w|");
                    }
                }
                default -> throw new AssertionError(n);
            }
        }
        assertEquals(12, quantized);
    }

    @Test
    void packedSizesAreWhatTheFormatsPromise() {
        Tensor w = Tensor.ofFloats("w", new float[64 * 128], 64, 128);
        long n = 64 * 128;
        assertEquals(n / 32 * 34, Quantizers.quantize(Precision.parse("q8_0"), w).packedBytes());
        assertEquals(n / 32 * 18, Quantizers.quantize(Precision.parse("q4_0"), w).packedBytes());
        assertEquals(n / 2 + n / 64 * 4, Quantizers.quantize(Precision.parse("nf4"), w).packedBytes());
        assertEquals(n + 64 * 4, Quantizers.quantize(Precision.parse("int8"), w).packedBytes());
        assertEquals(n + 64 * 8, Quantizers.quantize(Precision.parse("rtn-w4-g128"), w).packedBytes(), "one byte per code");
    }

    @Test
    void badWeightsAreRefusedNamingTheTensor() {
        Tensor rank1 = Tensor.ofFloats("norm.weight", new float[8], 8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Quantizers.quantize(Precision.parse("nf4"), rank1));
        assertTrue(e.getMessage().contains("norm.weight") && e.getMessage().contains("rank 2"), e.getMessage());
        Tensor ints = new Tensor("ids", DType.I32, new long[] {2, 2}, java.lang.foreign.MemorySegment.ofArray(new byte[16]));
        assertThrows(IllegalArgumentException.class, () -> Quantizers.quantize(Precision.parse("rtn-w8"), ints));
    }
}
