package dev.revenant.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.revenant.model.RopeConfig;
import org.junit.jupiter.api.Test;

/** RoPE frequency variants (transformers modeling_rope_utils, v4.44); llama3 is also covered by the llama3 fixture. */
class RopeTest {

    @Test
    void defaultFrequenciesAreInverseThetaPowers() {
        float[] f = new Rope(RopeConfig.plain(10000, 8), 2048).inverseFrequencies(1);
        for (int i = 0; i < 4; i++) {
            assertEquals(1.0 / Math.pow(10000, 2.0 * i / 8), f[i], 1e-7);
        }
    }

    @Test
    void linearDividesByTheFactor() {
        float[] plain = new Rope(RopeConfig.plain(10000, 8), 2048).inverseFrequencies(1);
        float[] lin = new Rope(new RopeConfig(RopeConfig.Type.LINEAR, 10000, 8, 4.0, 1, 4, 2048), 2048).inverseFrequencies(1);
        for (int i = 0; i < 4; i++) {
            assertEquals(plain[i] / 4f, lin[i], 0f);
        }
    }

    @Test
    void dynamicRescalesThetaOnlyBeyondTheOriginalContext() {
        RopeConfig cfg = new RopeConfig(RopeConfig.Type.DYNAMIC, 10000, 8, 2.0, 1, 4, 16);
        Rope rope = new Rope(cfg, 16);
        float[] plain = new Rope(RopeConfig.plain(10000, 8), 16).inverseFrequencies(1);
        assertArrayEquals(plain, rope.inverseFrequencies(16));
        float[] longer = rope.inverseFrequencies(32);
        double base = 10000 * Math.pow(2.0 * 32 / 16 - 1, 8.0 / 6);
        assertEquals(1.0 / Math.pow(base, 2.0 / 8), longer[1], 1e-7);
        assertNotEquals(plain[1], longer[1]);
    }

    @Test
    void llama3KeepsHighFrequenciesAndDividesLowOnes() {
        RopeConfig cfg = new RopeConfig(RopeConfig.Type.LLAMA3, 500000, 64, 8.0, 1, 4, 32);
        float[] f = new Rope(cfg, 256).inverseFrequencies(1);
        float[] plain = new Rope(RopeConfig.plain(500000, 64), 256).inverseFrequencies(1);
        // wavelength 2π/f < 32/4 = 8: unchanged; > 32: divided by 8
        assertEquals(plain[0], f[0], 0f);
        assertEquals(plain[31] / 8f, f[31], 0f);
    }

    @Test
    void applyRotatesPairsHalfApart() {
        Rope rope = new Rope(RopeConfig.plain(10000, 4), 16);
        float[] x = {1, 2, 3, 4};
        rope.apply(x, 0, 1, 4, 1, rope.inverseFrequencies(2), new float[2], new float[2]);
        // dim 0 pairs with dim 2 at angle 1 (inv freq 1), dim 1 with dim 3 at angle 0.01
        assertEquals((float) (1 * Math.cos(1) - 3 * Math.sin(1)), x[0], 1e-6);
        assertEquals((float) (3 * Math.cos(1) + 1 * Math.sin(1)), x[2], 1e-6);
        assertEquals((float) (2 * Math.cos(0.01) - 4 * Math.sin(0.01)), x[1], 1e-6);
    }
}
