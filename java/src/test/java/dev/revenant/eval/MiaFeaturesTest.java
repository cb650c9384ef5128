package dev.revenant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MiaFeaturesTest {

    /** 2047 fp32 log-probs (a 2048-token text); expected values from numpy, as MUSE computes them. */
    private static float[] longText() {
        float[] lp = new float[2047];
        for (int i = 0; i < lp.length; i++) {
            lp[i] = (float) (-((i * 37) % 101) / 7.0 - 0.001 * i);
        }
        return lp;
    }

    @Test
    void minKMatchesNumpyOnALongText() {
        float[] lp = longText();
        String[] want = {"0x1.e810e67878788p+3", "0x1.d8d53ba0a0a0ap+3", "0x1.bfcae4c489b3ap+3", "0x1.a8070be6265bcp+3",
            "0x1.90b1a26d89136p+3", "0x1.79633de3f8fe4p+3", "0x1.6223c077dea52p+3"};
        for (int j = 0; j < want.length; j++) {
            int k = MiaFeatures.MIN_K_PERCENTS.get(j);
            assertEquals(Double.parseDouble(want[j]), MiaFeatures.minK(lp, k), 0.0, "Min-" + k + "%");
        }
    }

    @Test
    void lossIsTheCorrectlyRoundedFp32MeanNll() {
        // numpy's own fp32 mean lands one fp32 ulp lower (0x1.052188p+3): torch's fp32 reduction can
        // differ from this in the last fp32 bit too, which is why PPL from a model is not a bit-exact target.
        assertEquals(Double.parseDouble("0x1.05218ap+3"), MiaFeatures.loss(longText()), 0.0);
        assertEquals(2.0, MiaFeatures.loss(new float[] {-1, -3}), 0.0);
        assertThrows(IllegalArgumentException.class, () -> MiaFeatures.loss(new float[0]));
    }

    @Test
    void minKOnShortInputs() {
        // k = int(n * K/100); k = 0 gives numpy's mean of an empty array, NaN.
        for (int n = 1; n < 20; n++) {
            assertTrue(Double.isNaN(MiaFeatures.minK(new float[n], 5)), "Min-5% of " + n + " tokens");
        }
        assertEquals(3.0, MiaFeatures.minK(new float[] {-1, -2, -3, -0.5f, -0.25f, -0.1f, -0.2f, -0.3f, -0.4f, -0.6f,
            -0.7f, -0.8f, -0.9f, -1.1f, -1.2f, -1.3f, -1.4f, -1.5f, -1.6f, -1.7f}, 5), 0.0);
        assertTrue(Double.isNaN(MiaFeatures.minK(new float[] {-1, -2, -3, -4, -5, -6, -7, -8, -9}, 10)));
        assertEquals(10.0, MiaFeatures.minK(new float[] {-1, -2, -3, -4, -5, -6, -7, -8, -9, -10}, 10), 0.0);
        assertEquals(3.5, MiaFeatures.minK(new float[] {-1, -2, -3, -4}, 50), 0.0);
        // k = int(4 * 0.6) = 2: the two smallest are -4 and -3, whatever the input order.
        assertEquals(3.5, MiaFeatures.minK(new float[] {-1, -4, -2, -3}, 60), 0.0);
    }

    @Test
    void featuresInMuseOrder() {
        float[] lp = longText();
        float[] lower = new float[lp.length];
        for (int i = 0; i < lp.length; i++) {
            lower[i] = lp[i] * 0.5f;
        }
        Map<String, Double> f = MiaFeatures.features("Some text.", lp, lower);
        assertEquals(MiaFeatures.NAMES, List.copyOf(f.keySet()));
        double loss = MiaFeatures.loss(lp);
        assertEquals(loss, f.get("PPL"), 0.0);
        assertEquals(loss / MiaFeatures.loss(lower), f.get("PPL/lower"), 0.0);
        assertEquals(loss / MiaFeatures.zlibLength("Some text."), f.get("PPL/zlib"), 0.0);
        assertEquals(MiaFeatures.minK(lp, 40), f.get("Min-40%"), 0.0);
    }

    @Test
    void zlibLengthIncludesHeaderAndTrailer() {
        // Python: len(zlib.compress(b"")) == 8, len(zlib.compress(b"a")) == 9.
        assertEquals(8, MiaFeatures.zlibLength(""));
        assertEquals(9, MiaFeatures.zlibLength("a"));
        // UTF-8, not UTF-16: "é" is two bytes; compare with the incompressible ASCII "ab".
        assertEquals(MiaFeatures.zlibLength("ab"), MiaFeatures.zlibLength("é"));
    }
}
