package dev.revenant.kernel;

import static dev.revenant.kernel.VectorLanes.F;
import static dev.revenant.kernel.VectorLanes.H;
import static dev.revenant.kernel.VectorLanes.L;
import static dev.revenant.kernel.VectorLanes.LE;
import static dev.revenant.kernel.VectorLanes.UPPER;
import static dev.revenant.kernel.VectorLanes.X1;
import static dev.revenant.kernel.VectorLanes.X2;
import static dev.revenant.kernel.VectorLanes.X4;
import static dev.revenant.kernel.VectorLanes.X8;
import static dev.revenant.kernel.VectorLanes.XH;

import dev.revenant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * matmul kernels of {@link VectorBackend} for F32 weights {@code [N, K]}, over the output columns
 * (weight rows) {@code [n0, n1)}, read straight from the tensor's segment (a mapped file).
 *
 * <p>Reduction order of each output element, fixed by K alone (the determinism contract of
 * {@link Backend}): four vector accumulators take the blocks of L elements in turn (a0 ← k in
 * [0, L), a1 ← [L, 2L), ..., a0 ← [4L, 5L), ...); whole vectors left after the last 4L block go to
 * a0; then {@code (a0 + a1) + (a2 + a3)}, the lane fold of {@link VectorLanes#sum}, the scalar tail
 * in k order, and the bias last. {@code pair} (two weight rows, one x row: two memory streams for
 * decode) and {@code rows4} (four x rows per weight load, for prefill) repeat exactly these
 * operations per output, folding two outputs at once ({@link VectorLanes#sumPair}, same bits), so a
 * row gives the same bits alone or in a batch, on any thread. The folds are written out rather
 * than called (see {@link VectorLanes}); this file, VectorMatmulBf16 and VectorMatmulF16 share
 * their structure and are kept in step by hand.
 */
final class VectorMatmulF32 {
    private VectorMatmulF32() {
    }

    /** {@code out[r, n0..n1) = x[r] · w[n0..n1)ᵀ (+ bias)} for every row; F32 weights {@code [N, K]}. */
    static void matmulF32(MemorySegment w, int k, float[] x, int rows, float[] out, int n, int n0, int n1, Tensor bias) {
        int r = 0;
        for (; r + 4 <= rows; r += 4) {
            for (int j = n0; j < n1; j++) {
                rows4F32(w, j * 4L * k, x, r * k, k, out, r * n + j, n, bias, j);
            }
        }
        for (; r < rows; r++) {
            int j = n0;
            for (; j + 2 <= n1; j += 2) {
                pairF32(w, j * 4L * k, x, r * k, k, out, r * n + j, bias, j);
            }
            if (j < n1) {
                float s = row1F32(w, j * 4L * k, x, r * k, k);
                out[r * n + j] = bias == null ? s : s + bias.getFloat(j);
            }
        }
    }

    private static float row1F32(MemorySegment w, long wo, float[] x, int xo, int k) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (int end = k - 4 * L; i <= end; i += 4 * L) {
            FloatVector w0 = FloatVector.fromMemorySegment(F, w, wo + 4L * i, LE);
            FloatVector w1 = FloatVector.fromMemorySegment(F, w, wo + 4L * (i + L), LE);
            FloatVector w2 = FloatVector.fromMemorySegment(F, w, wo + 4L * (i + 2 * L), LE);
            FloatVector w3 = FloatVector.fromMemorySegment(F, w, wo + 4L * (i + 3 * L), LE);
            a0 = w0.fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = w1.fma(FloatVector.fromArray(F, x, xo + i + L), a1);
            a2 = w2.fma(FloatVector.fromArray(F, x, xo + i + 2 * L), a2);
            a3 = w3.fma(FloatVector.fromArray(F, x, xo + i + 3 * L), a3);
        }
        for (int end = k - L; i <= end; i += L) {
            FloatVector w0 = FloatVector.fromMemorySegment(F, w, wo + 4L * i, LE);
            a0 = w0.fma(FloatVector.fromArray(F, x, xo + i), a0);
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
            s += x[xo + i] * w.get(Tensor.F32_LE, wo + 4L * i);
        }
        return s;
    }

    /** Weight rows j and j + 1 against one x row: two streams, shared x loads; each as row1F32. */
    private static void pairF32(MemorySegment w, long wo, float[] x, int xo, int k, float[] out, int o, Tensor bias, int j) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        long wb = wo + 4L * k;
        int i = 0;
        for (int end = k - 4 * L; i <= end; i += 4 * L) {
            FloatVector x0 = FloatVector.fromArray(F, x, xo + i);
            FloatVector x1 = FloatVector.fromArray(F, x, xo + i + L);
            FloatVector x2 = FloatVector.fromArray(F, x, xo + i + 2 * L);
            FloatVector x3 = FloatVector.fromArray(F, x, xo + i + 3 * L);
            FloatVector v0 = FloatVector.fromMemorySegment(F, w, wo + 4L * i, LE);
            FloatVector v1 = FloatVector.fromMemorySegment(F, w, wo + 4L * (i + L), LE);
            FloatVector v2 = FloatVector.fromMemorySegment(F, w, wo + 4L * (i + 2 * L), LE);
            FloatVector v3 = FloatVector.fromMemorySegment(F, w, wo + 4L * (i + 3 * L), LE);
            FloatVector u0 = FloatVector.fromMemorySegment(F, w, wb + 4L * i, LE);
            FloatVector u1 = FloatVector.fromMemorySegment(F, w, wb + 4L * (i + L), LE);
            FloatVector u2 = FloatVector.fromMemorySegment(F, w, wb + 4L * (i + 2 * L), LE);
            FloatVector u3 = FloatVector.fromMemorySegment(F, w, wb + 4L * (i + 3 * L), LE);
            a0 = v0.fma(x0, a0);
            a1 = v1.fma(x1, a1);
            a2 = v2.fma(x2, a2);
            a3 = v3.fma(x3, a3);
            b0 = u0.fma(x0, b0);
            b1 = u1.fma(x1, b1);
            b2 = u2.fma(x2, b2);
            b3 = u3.fma(x3, b3);
        }
        for (int end = k - L; i <= end; i += L) {
            FloatVector x0 = FloatVector.fromArray(F, x, xo + i);
            FloatVector v0 = FloatVector.fromMemorySegment(F, w, wo + 4L * i, LE);
            FloatVector u0 = FloatVector.fromMemorySegment(F, w, wb + 4L * i, LE);
            a0 = v0.fma(x0, a0);
            b0 = u0.fma(x0, b0);
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
            s0 += x[xo + i] * w.get(Tensor.F32_LE, wo + 4L * i);
            s1 += x[xo + i] * w.get(Tensor.F32_LE, wb + 4L * i);
        }
        if (bias != null) {
            s0 += bias.getFloat(j);
            s1 += bias.getFloat(j + 1);
        }
        out[o] = s0;
        out[o + 1] = s1;
    }

    /** Four x rows per weight load; each row's operations are exactly those of row1F32. */
    private static void rows4F32(MemorySegment w, long wo, float[] x, int xo, int k, float[] out, int o, int n,
                                Tensor bias, int j) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int x1 = xo + k, x2 = xo + 2 * k, x3 = xo + 3 * k;
        int i = 0;
        for (int end = k - 4 * L; i <= end; i += 4 * L) {
            FloatVector w0 = FloatVector.fromMemorySegment(F, w, wo + 4L * i, LE);
            FloatVector w1 = FloatVector.fromMemorySegment(F, w, wo + 4L * (i + L), LE);
            FloatVector w2 = FloatVector.fromMemorySegment(F, w, wo + 4L * (i + 2 * L), LE);
            FloatVector w3 = FloatVector.fromMemorySegment(F, w, wo + 4L * (i + 3 * L), LE);
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
            FloatVector w0 = FloatVector.fromMemorySegment(F, w, wo + 4L * i, LE);
            a00 = w0.fma(FloatVector.fromArray(F, x, xo + i), a00);
            a10 = w0.fma(FloatVector.fromArray(F, x, x1 + i), a10);
            a20 = w0.fma(FloatVector.fromArray(F, x, x2 + i), a20);
            a30 = w0.fma(FloatVector.fromArray(F, x, x3 + i), a30);
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
            float wi = w.get(Tensor.F32_LE, wo + 4L * i);
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
