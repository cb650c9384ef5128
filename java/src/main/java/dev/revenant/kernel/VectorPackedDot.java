package dev.revenant.kernel;

import static dev.revenant.kernel.VectorLanes.F;
import static dev.revenant.kernel.VectorLanes.L;
import static dev.revenant.kernel.VectorLanes.X1;
import static dev.revenant.kernel.VectorLanes.X2;
import static dev.revenant.kernel.VectorLanes.X4;
import static dev.revenant.kernel.VectorLanes.X8;

import jdk.incubator.vector.FloatVector;

/**
 * Dot products of one decoded weight row {@code w[0, K)} with activation rows, for the packed matmuls
 * (VectorPacked). Reduction order, fixed by K alone: the order of VectorMatmulF32's row kernel
 * (four accumulators over blocks of L, whole vectors left to a0, {@code (a0 + a1) + (a2 + a3)}, the
 * lane fold of {@link VectorLanes#sum}, scalar tail in k order); the bias is added by the caller.
 * {@link #rows4} repeats exactly the operations of {@link #dot} for four rows sharing the weight loads,
 * so a row gives the same bits alone or in a batch. The folds are written out (see VectorLanes).
 */
final class VectorPackedDot {
    private VectorPackedDot() {
    }

    static float dot(float[] w, float[] x, int xo, int k) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (int end = k - 4 * L; i <= end; i += 4 * L) {
            a0 = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = FloatVector.fromArray(F, w, i + L).fma(FloatVector.fromArray(F, x, xo + i + L), a1);
            a2 = FloatVector.fromArray(F, w, i + 2 * L).fma(FloatVector.fromArray(F, x, xo + i + 2 * L), a2);
            a3 = FloatVector.fromArray(F, w, i + 3 * L).fma(FloatVector.fromArray(F, x, xo + i + 3 * L), a3);
        }
        for (int end = k - L; i <= end; i += L) {
            a0 = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, xo + i), a0);
        }
        FloatVector v = a0.add(a1).add(a2.add(a3));
        if (L > 8) {
            v = v.add(v.rearrange(X8));
        }
        if (L > 4) {
            v = v.add(v.rearrange(X4));
        }
        if (L > 2) {
            v = v.add(v.rearrange(X2));
        }
        if (L > 1) {
            v = v.add(v.rearrange(X1));
        }
        float s = v.lane(0);
        for (; i < k; i++) {
            s += x[xo + i] * w[i];
        }
        return s;
    }

    /** {@link #dot} of w with x rows at xo, xo + k, xo + 2k, xo + 3k into s[0..4). */
    static void rows4(float[] w, float[] x, int xo, int k, float[] s) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int x1 = xo + k, x2 = xo + 2 * k, x3 = xo + 3 * k;
        int i = 0;
        for (int end = k - 4 * L; i <= end; i += 4 * L) {
            FloatVector w0 = FloatVector.fromArray(F, w, i);
            FloatVector w1 = FloatVector.fromArray(F, w, i + L);
            FloatVector w2 = FloatVector.fromArray(F, w, i + 2 * L);
            FloatVector w3 = FloatVector.fromArray(F, w, i + 3 * L);
            a00 = w0.fma(FloatVector.fromArray(F, x, xo + i), a00);
            a10 = w0.fma(FloatVector.fromArray(F, x, x1 + i), a10);
            a20 = w0.fma(FloatVector.fromArray(F, x, x2 + i), a20);
            a30 = w0.fma(FloatVector.fromArray(F, x, x3 + i), a30);
            a01 = w1.fma(FloatVector.fromArray(F, x, xo + i + L), a01);
            a11 = w1.fma(FloatVector.fromArray(F, x, x1 + i + L), a11);
            a21 = w1.fma(FloatVector.fromArray(F, x, x2 + i + L), a21);
            a31 = w1.fma(FloatVector.fromArray(F, x, x3 + i + L), a31);
            a02 = w2.fma(FloatVector.fromArray(F, x, xo + i + 2 * L), a02);
            a12 = w2.fma(FloatVector.fromArray(F, x, x1 + i + 2 * L), a12);
            a22 = w2.fma(FloatVector.fromArray(F, x, x2 + i + 2 * L), a22);
            a32 = w2.fma(FloatVector.fromArray(F, x, x3 + i + 2 * L), a32);
            a03 = w3.fma(FloatVector.fromArray(F, x, xo + i + 3 * L), a03);
            a13 = w3.fma(FloatVector.fromArray(F, x, x1 + i + 3 * L), a13);
            a23 = w3.fma(FloatVector.fromArray(F, x, x2 + i + 3 * L), a23);
            a33 = w3.fma(FloatVector.fromArray(F, x, x3 + i + 3 * L), a33);
        }
        for (int end = k - L; i <= end; i += L) {
            FloatVector w0 = FloatVector.fromArray(F, w, i);
            a00 = w0.fma(FloatVector.fromArray(F, x, xo + i), a00);
            a10 = w0.fma(FloatVector.fromArray(F, x, x1 + i), a10);
            a20 = w0.fma(FloatVector.fromArray(F, x, x2 + i), a20);
            a30 = w0.fma(FloatVector.fromArray(F, x, x3 + i), a30);
        }
        FloatVector v0 = a00.add(a01).add(a02.add(a03));
        FloatVector v1 = a10.add(a11).add(a12.add(a13));
        FloatVector v2 = a20.add(a21).add(a22.add(a23));
        FloatVector v3 = a30.add(a31).add(a32.add(a33));
        if (L > 8) {
            v0 = v0.add(v0.rearrange(X8));
            v1 = v1.add(v1.rearrange(X8));
            v2 = v2.add(v2.rearrange(X8));
            v3 = v3.add(v3.rearrange(X8));
        }
        if (L > 4) {
            v0 = v0.add(v0.rearrange(X4));
            v1 = v1.add(v1.rearrange(X4));
            v2 = v2.add(v2.rearrange(X4));
            v3 = v3.add(v3.rearrange(X4));
        }
        if (L > 2) {
            v0 = v0.add(v0.rearrange(X2));
            v1 = v1.add(v1.rearrange(X2));
            v2 = v2.add(v2.rearrange(X2));
            v3 = v3.add(v3.rearrange(X2));
        }
        if (L > 1) {
            v0 = v0.add(v0.rearrange(X1));
            v1 = v1.add(v1.rearrange(X1));
            v2 = v2.add(v2.rearrange(X1));
            v3 = v3.add(v3.rearrange(X1));
        }
        float s0 = v0.lane(0), s1 = v1.lane(0), s2 = v2.lane(0), s3 = v3.lane(0);
        for (; i < k; i++) {
            float wi = w[i];
            s0 += x[xo + i] * wi;
            s1 += x[x1 + i] * wi;
            s2 += x[x2 + i] * wi;
            s3 += x[x3 + i] * wi;
        }
        s[0] = s0;
        s[1] = s1;
        s[2] = s2;
        s[3] = s3;
    }
}
