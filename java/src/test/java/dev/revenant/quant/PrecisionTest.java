package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.engine.Forward;
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.ReferenceBackend;
import dev.revenant.model.LayerWeights;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class PrecisionTest {

    @Test
    void namesParseAndUnknownOnesListTheValid() {
        for (String n : new String[] {"fp32", "bf16", "fp16", "int8", "fp4", "nf4", "q8_0", "q4_0", "rtn-w8", "rtn-w4-g128",
                "rtn-w4-g128-sym", "rtn-w3-g64", "rtn-w2-g64", "gptq-w4-g128", "gptq-w4-g128-act", "awq-w4-g128"}) {
            assertEquals(n, Precision.parse(n).name());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Precision.parse("int3"));
        assertTrue(e.getMessage().contains("'int3'") && e.getMessage().contains("nf4") && e.getMessage().contains("rtn-w4-g128"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Precision.parse("rtn-w9"));
        assertThrows(IllegalArgumentException.class, () -> Precision.parse("gptq-w9-g128"));
        assertThrows(IllegalArgumentException.class, () -> Precision.parse("gptq-w4-g128-static"), "static groups need -act");
        assertThrows(IllegalArgumentException.class, () -> Precision.parse("awq-w4"), "AWQ needs a group size");
        assertEquals(new Precision.IntSpec(4, 128, false, true, false), Precision.parse("gptq-w4-g128-act").intSpec());
        assertEquals(new Precision.IntSpec(8, -1, false, false, false), Precision.parse("gptq-w8").intSpec());
        assertEquals(new Precision.IntSpec(4, 64, true, true, true), Precision.parse("gptq-w4-g64-sym-act-static").intSpec());
        assertEquals(new Precision.IntSpec(4, 128, false, false, false), Precision.parse("awq-w4-g128").intSpec());
        assertEquals(new Precision.IntSpec(3, 64, true, false, false), Precision.parse("rtn-w3-g64-sym").intSpec());
    }

    @Test
    void bf16PrecisionRoundsOnlyTheDecoderLinearLayers() {
        try (Backend be = new ReferenceBackend(); Model full = Model.load(Fixtures.model("llama"), be);
             Model half = Model.load(Fixtures.model("llama"), be, Precision.parse("bf16"))) {
            LayerWeights a = full.weights().layers().get(1);
            LayerWeights b = half.weights().layers().get(1);
            assertEquals(DType.BF16, b.wq().dtype());
            assertEquals(DType.BF16, b.wDown().dtype());
            for (long i = 0; i < a.wq().numel(); i += 97) {
                assertEquals(Tensor.bf16ToFloat(Tensor.floatToBf16(a.wq().getFloat(i))), b.wq().getFloat(i), 0f);
            }
            assertSame(full.weights().embed().dtype(), half.weights().embed().dtype());
            assertEquals(DType.F32, half.weights().lmHead().dtype(), "lm_head stays as loaded");
            assertEquals(DType.F32, b.attnNorm().dtype(), "norms stay as loaded");
        }
    }

    @Test
    void fp32PrecisionOfABf16CheckpointGivesTheSameLogitsOnTheReference() {
        int[] ids = {5, 17, 300, 42, 7};
        try (Backend be = new ReferenceBackend(); Model stored = Model.load(Fixtures.model("llama-bf16"), be);
             Model widened = Model.load(Fixtures.model("llama-bf16"), be, Precision.parse("fp32"))) {
            assertEquals(DType.F32, widened.weights().layers().get(0).wq().dtype());
            float[] a = new Forward(stored).run(List.of(stored.newCache(5)), List.of(ids), true)[0];
            float[] b = new Forward(widened).run(List.of(widened.newCache(5)), List.of(ids), true)[0];
            assertArrayEquals(a, b, "bf16 → fp32 is exact, and the reference kernel widens the same way");
        }
    }
}
