package dev.revenant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Expected values were computed with numpy 2.4 ({@code float.hex()}), the library MUSE's numbers come from. */
class NumpyMathTest {

    @Test
    void pairwiseSumMatchesNumpyBitForBit() {
        double[] a = new double[1000];
        double sequential = 0;
        for (int i = 0; i < a.length; i++) {
            a[i] = 1.0 / (i + 1);
            sequential += a[i];
        }
        assertEquals(Double.parseDouble("0x1.df11f45f4e61ap+2"), NumpyMath.sum(a), 0.0);
        assertEquals(Double.parseDouble("0x1.ea915c8a8db3dp-8"), NumpyMath.mean(a), 0.0);
        // The plain left-to-right sum differs in the last bits: the test would catch a naive sum.
        assertEquals(Double.parseDouble("0x1.df11f45f4e618p+2"), sequential, 0.0);
        assertNotEquals(sequential, NumpyMath.sum(a));
    }

    @Test
    void smallAndEmptyRanges() {
        assertEquals(0.0, NumpyMath.sum(new double[0]), 0.0);
        assertTrue(Double.isNaN(NumpyMath.mean(new double[0])), "np.mean([]) is nan");
        double[] sevenTenths = new double[7];
        Arrays.fill(sevenTenths, 0.1);
        assertEquals(Double.parseDouble("0x1.9999999999999p-4"), NumpyMath.mean(sevenTenths), 0.0);
        double[] many = new double[300];
        Arrays.fill(many, 0.1);
        assertEquals(Double.parseDouble("0x1.9999999999999p-4"), NumpyMath.mean(many), 0.0);
        assertEquals(6.0, NumpyMath.sum(new double[] {1, 2, 3, 4}, 0, 3), 0.0);
    }

    @Test
    void trapezoidMatchesNumpy() {
        double[] y = new double[37];
        double[] x = new double[37];
        for (int i = 0; i < 37; i++) {
            y[i] = 0.1 * i;
            x[i] = 0.01 * i * i;
        }
        assertEquals(Double.parseDouble("0x1.f1916872b020cp+4"), NumpyMath.trapezoid(y, x), 0.0);
    }

    @Test
    void percentileMatchesNumpyLinear() {
        double[] x = new double[9999];
        for (int i = 0; i < x.length; i++) {
            x[i] = ((i * 7919) % 1000) / 997.0 + i * 1e-7;
        }
        Arrays.sort(x);
        double alpha = (1 - 0.95) / 2;
        assertEquals(Double.parseDouble("0x1.9c4a38c6654d0p-6"), NumpyMath.percentileSorted(x, alpha * 100), 0.0);
        assertEquals(Double.parseDouble("0x1.f4ab3cc77ec5cp-1"), NumpyMath.percentileSorted(x, (1 - alpha) * 100), 0.0);
        assertEquals(x[0], NumpyMath.percentileSorted(x, 0), 0.0);
        assertEquals(x[x.length - 1], NumpyMath.percentileSorted(x, 100), 0.0);
        assertEquals(2.5, NumpyMath.percentileSorted(new double[] {1, 2, 3, 4}, 50), 0.0);
    }
}
