package dev.revenant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BootstrapTest {

    @Test
    void seededAndReproducible() {
        double[] v = new double[100];
        for (int i = 0; i < v.length; i++) {
            v[i] = (i * 37 % 100) / 100.0;
        }
        Bootstrap.Interval a = Bootstrap.meanCi(v);
        assertEquals(a, Bootstrap.meanCi(v));
        double mean = RougeLog.mean(v);
        assertTrue(a.low() < mean && mean < a.high(), a + " around " + mean);
        // Normal approximation: mean 0.495, sd 0.29, so the 95% CI is about ±0.057.
        assertEquals(mean - 0.0566, a.low(), 0.01);
        assertEquals(mean + 0.0566, a.high(), 0.01);
    }

    @Test
    void constantSampleGivesADegenerateInterval() {
        assertEquals(new Bootstrap.Interval(0.0, 0.0), Bootstrap.meanCi(new double[100]));
        assertEquals(new Bootstrap.Interval(1.0, 1.0), Bootstrap.meanCi(new double[] {1.0}));
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> Bootstrap.meanCi(new double[0]));
        assertThrows(IllegalArgumentException.class, () -> Bootstrap.meanCi(new double[] {1}, 1.0, 10, 1));
    }
}
