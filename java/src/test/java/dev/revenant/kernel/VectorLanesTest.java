package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The lane helpers: fixed-order sums and the softmax's e^x. */
class VectorLanesTest {

    @Test
    void sumPairEqualsTwoSums() {
        java.util.Random rnd = new java.util.Random(5);
        float[] a = new float[VectorLanes.L];
        float[] b = new float[VectorLanes.L];
        for (int rep = 0; rep < 1000; rep++) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(8)));
                b[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(8)));
            }
            FloatVector va = FloatVector.fromArray(VectorLanes.F, a, 0);
            FloatVector vb = FloatVector.fromArray(VectorLanes.F, b, 0);
            FloatVector p = VectorLanes.sumPair(va, vb);
            assertEquals(Float.floatToRawIntBits(VectorLanes.sum(va)), Float.floatToRawIntBits(p.lane(0)));
            assertEquals(Float.floatToRawIntBits(VectorLanes.sum(vb)), Float.floatToRawIntBits(p.lane(VectorLanes.H)));
        }
    }

    /** The softmax's e^x: within 3 ulp of Math.exp over the range softmax sees (and 0 below −87). */
    @Test
    void expIsAccurate() {
        float[] x = new float[VectorLanes.L];
        float[] e = new float[VectorLanes.L];
        double worst = 0;
        for (int i = 0; i < 200_000; i += VectorLanes.L) {
            for (int l = 0; l < x.length; l++) {
                x[l] = -90f + 100f * (i + l) / 200_000f;
            }
            VectorLanes.exp(FloatVector.fromArray(VectorLanes.F, x, 0)).intoArray(e, 0);
            for (int l = 0; l < x.length; l++) {
                double want = Math.exp(x[l]);
                if (x[l] < -87f) {
                    assertEquals(0f, e[l]);
                } else if (want >= Float.MIN_NORMAL) {
                    worst = Math.max(worst, Math.abs(e[l] - want) / Math.ulp((float) want));
                }
            }
        }
        assertTrue(worst <= 3, "worst error " + worst + " ulp");
        VectorLanes.exp(FloatVector.zero(VectorLanes.F)).intoArray(e, 0);
        assertEquals(1f, e[0]);
    }

    @Test
    void foldSumIsExactOnIntegers() {
        float[] a = new float[VectorLanes.L];
        for (int i = 0; i < a.length; i++) {
            a[i] = i + 1;
        }
        assertEquals(a.length * (a.length + 1) / 2f, VectorLanes.sum(FloatVector.fromArray(VectorLanes.F, a, 0)));
    }
}
