package dev.revenant.kernel;

import static dev.revenant.kernel.VectorLanes.F;
import static dev.revenant.kernel.VectorLanes.H;
import static dev.revenant.kernel.VectorLanes.I;
import static dev.revenant.kernel.VectorLanes.L;
import static dev.revenant.kernel.VectorLanes.LE;
import static dev.revenant.kernel.VectorLanes.UPPER;
import static dev.revenant.kernel.VectorLanes.X1;
import static dev.revenant.kernel.VectorLanes.X2;
import static dev.revenant.kernel.VectorLanes.X4;
import static dev.revenant.kernel.VectorLanes.X8;
import static dev.revenant.kernel.VectorLanes.XH;
import static jdk.incubator.vector.VectorOperators.LSHL;

import dev.revenant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * matmul kernels of {@link VectorBackend} for BF16 weights {@code [N, K]}, the decode hot path.
 *
 * <p>One 32-bit lane holds two bf16 weights, k = 2l (low half) and 2l + 1 (high half); a float is
 * a bf16 in the high half, so {@code lane << 16} widens the even weights and {@code lane & 0xFFFF0000}
 * the odd ones: two ALU ops per 2L weights, against a widening shuffle and a shift per L with a
 * short load (measured on this Xeon: +30 % when L2-resident, +7 % from DRAM). The activations are
 * laid out to match once per call ({@link #permuteBf16}), outside the loop over N.
 *
 * <p>Reduction order of each output element, fixed by K alone: per block of 4L weights at i,
 * a0 ← even weights of [i, i + 2L), a1 ← odd ones, a2, a3 ← the same for [i + 2L, i + 4L); a block of
 * 2L left after that goes to a0, a1; then {@code (a0 + a1) + (a2 + a3)}, the lane fold of
 * {@link VectorLanes#sum}, the scalar tail (K mod 2L weights) in k order, and the bias last.
 * {@code pair} and {@code rows4} repeat exactly these operations per output (see {@link VectorMatmulF32}).
 * On this Xeon (one core, weights streamed from DRAM) the kernel reaches about 90 % of the
 * {@link Bandwidth#readBytesPerSecond read bandwidth}; bench/RESULTS.md has the numbers.
 */
final class VectorMatmulBf16 {
    private VectorMatmulBf16() {
    }

    private static final int HIGH = 0xFFFF0000;

    /**
     * Copies x {@code [rows, K]} to {@code xp} re-laid for the kernels: in each whole block of 2L
     * elements, the L even-indexed ones then the L odd-indexed ones; the K mod 2L tail unchanged.
     */
    static void permuteBf16(float[] x, int rows, int k, float[] xp) {
        for (int r = 0; r < rows; r++) {
            int base = r * k;
            int b = 0;
            for (; b + 2 * L <= k; b += 2 * L) {
                int o = base + b;
                for (int l = 0; l < L; l++) {
                    xp[o + l] = x[o + 2 * l];
                    xp[o + L + l] = x[o + 2 * l + 1];
                }
            }
            for (; b < k; b++) {
                xp[base + b] = x[base + b];
            }
        }
    }

    /** {@code out[r, n0..n1) = x[r] · w[n0..n1)ᵀ (+ bias)} for every row; BF16 weights {@code [N, K]}, x permuted by permuteBf16. */
    static void matmulBf16(MemorySegment w, int k, float[] x, int rows, float[] out, int n, int n0, int n1, Tensor bias) {
        int r = 0;
        for (; r + 4 <= rows; r += 4) {
            for (int j = n0; j < n1; j++) {
                rows4Bf16(w, j * 2L * k, x, r * k, k, out, r * n + j, n, bias, j);
            }
        }
        for (; r < rows; r++) {
            int j = n0;
            for (; j + 2 <= n1; j += 2) {
                pairBf16(w, j * 2L * k, x, r * k, k, out, r * n + j, bias, j);
            }
            if (j < n1) {
                float s = row1Bf16(w, j * 2L * k, x, r * k, k);
                out[r * n + j] = bias == null ? s : s + bias.getFloat(j);
            }
        }
    }

    private static float row1Bf16(MemorySegment w, long wo, float[] x, int xo, int k) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (int end = k - 4 * L; i <= end; i += 4 * L) {
            IntVector wp = IntVector.fromMemorySegment(I, w, wo + 2L * i, LE);
            IntVector wq = IntVector.fromMemorySegment(I, w, wo + 2L * (i + 2 * L), LE);
            FloatVector w0 = wp.lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = wp.and(HIGH).reinterpretAsFloats();
            FloatVector w2 = wq.lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector w3 = wq.and(HIGH).reinterpretAsFloats();
            a0 = w0.fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = w1.fma(FloatVector.fromArray(F, x, xo + i + L), a1);
            a2 = w2.fma(FloatVector.fromArray(F, x, xo + i + 2 * L), a2);
            a3 = w3.fma(FloatVector.fromArray(F, x, xo + i + 3 * L), a3);
        }
        for (int end = k - 2 * L; i <= end; i += 2 * L) {
            IntVector wp = IntVector.fromMemorySegment(I, w, wo + 2L * i, LE);
            FloatVector w0 = wp.lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = wp.and(HIGH).reinterpretAsFloats();
            a0 = w0.fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = w1.fma(FloatVector.fromArray(F, x, xo + i + L), a1);
        }
        FloatVector sv = a0.add(a1).add(a2.add(a3));
        if (L > 8) {
            sv = sv.add(sv.rearrange(X8));
        }
        if (L > 4) {
            sv = sv.add(sv.rearrange(X4));
        }
        if (L > 2) {
            sv = sv.add(sv.rearrange(X2));
        }
        if (L > 1) {
            sv = sv.add(sv.rearrange(X1));
        }
        float s = sv.lane(0);
        for (; i < k; i++) {
            s += x[xo + i] * Float.intBitsToFloat((w.get(Tensor.I16_LE, wo + 2L * i) & 0xFFFF) << 16);
        }
        return s;
    }

    /** Weight rows j and j + 1 against one x row: two streams, shared x loads; each as row1Bf16. */
    private static void pairBf16(MemorySegment w, long wo, float[] x, int xo, int k, float[] out, int o, Tensor bias, int j) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        long wb = wo + 2L * k;
        int i = 0;
        for (int end = k - 4 * L; i <= end; i += 4 * L) {
            FloatVector x0 = FloatVector.fromArray(F, x, xo + i);
            FloatVector x1 = FloatVector.fromArray(F, x, xo + i + L);
            FloatVector x2 = FloatVector.fromArray(F, x, xo + i + 2 * L);
            FloatVector x3 = FloatVector.fromArray(F, x, xo + i + 3 * L);
            IntVector vp = IntVector.fromMemorySegment(I, w, wo + 2L * i, LE);
            IntVector vq = IntVector.fromMemorySegment(I, w, wo + 2L * (i + 2 * L), LE);
            FloatVector v0 = vp.lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector v1 = vp.and(HIGH).reinterpretAsFloats();
            FloatVector v2 = vq.lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector v3 = vq.and(HIGH).reinterpretAsFloats();
            IntVector up = IntVector.fromMemorySegment(I, w, wb + 2L * i, LE);
            IntVector uq = IntVector.fromMemorySegment(I, w, wb + 2L * (i + 2 * L), LE);
            FloatVector u0 = up.lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector u1 = up.and(HIGH).reinterpretAsFloats();
            FloatVector u2 = uq.lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector u3 = uq.and(HIGH).reinterpretAsFloats();
            a0 = v0.fma(x0, a0);
            a1 = v1.fma(x1, a1);
            a2 = v2.fma(x2, a2);
            a3 = v3.fma(x3, a3);
            b0 = u0.fma(x0, b0);
            b1 = u1.fma(x1, b1);
            b2 = u2.fma(x2, b2);
            b3 = u3.fma(x3, b3);
        }
        for (int end = k - 2 * L; i <= end; i += 2 * L) {
            FloatVector x0 = FloatVector.fromArray(F, x, xo + i);
            FloatVector x1 = FloatVector.fromArray(F, x, xo + i + L);
            IntVector vp = IntVector.fromMemorySegment(I, w, wo + 2L * i, LE);
            FloatVector v0 = vp.lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector v1 = vp.and(HIGH).reinterpretAsFloats();
            IntVector up = IntVector.fromMemorySegment(I, w, wb + 2L * i, LE);
            FloatVector u0 = up.lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector u1 = up.and(HIGH).reinterpretAsFloats();
            a0 = v0.fma(x0, a0);
            a1 = v1.fma(x1, a1);
            b0 = u0.fma(x0, b0);
            b1 = u1.fma(x1, b1);
        }
        FloatVector s0v = a0.add(a1).add(a2.add(a3));
        FloatVector s1v = b0.add(b1).add(b2.add(b3));
        FloatVector s0s1 = s0v.blend(s1v, UPPER).add(s1v.blend(s0v, UPPER).rearrange(XH));
        if (L > 8) {
            s0s1 = s0s1.add(s0s1.rearrange(X4));
        }
        if (L > 4) {
            s0s1 = s0s1.add(s0s1.rearrange(X2));
        }
        if (L > 2) {
            s0s1 = s0s1.add(s0s1.rearrange(X1));
        }
        float s0 = s0s1.lane(0);
        float s1 = s0s1.lane(H);
        for (; i < k; i++) {
            s0 += x[xo + i] * Float.intBitsToFloat((w.get(Tensor.I16_LE, wo + 2L * i) & 0xFFFF) << 16);
            s1 += x[xo + i] * Float.intBitsToFloat((w.get(Tensor.I16_LE, wb + 2L * i) & 0xFFFF) << 16);
        }
        if (bias != null) {
            s0 += bias.getFloat(j);
            s1 += bias.getFloat(j + 1);
        }
        out[o] = s0;
        out[o + 1] = s1;
    }

    /** Four x rows per weight load; each row's operations are exactly those of row1Bf16. */
    private static void rows4Bf16(MemorySegment w, long wo, float[] x, int xo, int k, float[] out, int o, int n,
                                Tensor bias, int j) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int x1 = xo + k, x2 = xo + 2 * k, x3 = xo + 3 * k;
        int i = 0;
        for (int end = k - 4 * L; i <= end; i += 4 * L) {
            IntVector wp = IntVector.fromMemorySegment(I, w, wo + 2L * i, LE);
            IntVector wq = IntVector.fromMemorySegment(I, w, wo + 2L * (i + 2 * L), LE);
            FloatVector w0 = wp.lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = wp.and(HIGH).reinterpretAsFloats();
            FloatVector w2 = wq.lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector w3 = wq.and(HIGH).reinterpretAsFloats();
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
        for (int end = k - 2 * L; i <= end; i += 2 * L) {
            IntVector wp = IntVector.fromMemorySegment(I, w, wo + 2L * i, LE);
            FloatVector w0 = wp.lanewise(LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = wp.and(HIGH).reinterpretAsFloats();
            a00 = w0.fma(FloatVector.fromArray(F, x, xo + i), a00);
            a10 = w0.fma(FloatVector.fromArray(F, x, x1 + i), a10);
            a20 = w0.fma(FloatVector.fromArray(F, x, x2 + i), a20);
            a30 = w0.fma(FloatVector.fromArray(F, x, x3 + i), a30);
            a01 = w1.fma(FloatVector.fromArray(F, x, xo + i + L), a01);
            a11 = w1.fma(FloatVector.fromArray(F, x, x1 + i + L), a11);
            a21 = w1.fma(FloatVector.fromArray(F, x, x2 + i + L), a21);
            a31 = w1.fma(FloatVector.fromArray(F, x, x3 + i + L), a31);
        }
        FloatVector s0v = a00.add(a01).add(a02.add(a03));
        FloatVector s1v = a10.add(a11).add(a12.add(a13));
        FloatVector s0s1 = s0v.blend(s1v, UPPER).add(s1v.blend(s0v, UPPER).rearrange(XH));
        if (L > 8) {
            s0s1 = s0s1.add(s0s1.rearrange(X4));
        }
        if (L > 4) {
            s0s1 = s0s1.add(s0s1.rearrange(X2));
        }
        if (L > 2) {
            s0s1 = s0s1.add(s0s1.rearrange(X1));
        }
        float s0 = s0s1.lane(0);
        float s1 = s0s1.lane(H);
        FloatVector s2v = a20.add(a21).add(a22.add(a23));
        FloatVector s3v = a30.add(a31).add(a32.add(a33));
        FloatVector s2s3 = s2v.blend(s3v, UPPER).add(s3v.blend(s2v, UPPER).rearrange(XH));
        if (L > 8) {
            s2s3 = s2s3.add(s2s3.rearrange(X4));
        }
        if (L > 4) {
            s2s3 = s2s3.add(s2s3.rearrange(X2));
        }
        if (L > 2) {
            s2s3 = s2s3.add(s2s3.rearrange(X1));
        }
        float s2 = s2s3.lane(0);
        float s3 = s2s3.lane(H);
        for (; i < k; i++) {
            float wi = Float.intBitsToFloat((w.get(Tensor.I16_LE, wo + 2L * i) & 0xFFFF) << 16);
            s0 += x[xo + i] * wi;
            s1 += x[x1 + i] * wi;
            s2 += x[x2 + i] * wi;
            s3 += x[x3 + i] * wi;
        }
        if (bias != null) {
            float b = bias.getFloat(j);
            s0 += b;
            s1 += b;
            s2 += b;
            s3 += b;
        }
        out[o] = s0;
        out[o + n] = s1;
        out[o + 2 * n] = s2;
        out[o + 3 * n] = s3;
    }
}
