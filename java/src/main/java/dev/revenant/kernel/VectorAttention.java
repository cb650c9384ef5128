package dev.revenant.kernel;

import static dev.revenant.kernel.VectorLanes.F;
import static dev.revenant.kernel.VectorLanes.H;
import static dev.revenant.kernel.VectorLanes.I;
import static dev.revenant.kernel.VectorLanes.L;
import static dev.revenant.kernel.VectorLanes.UPPER;
import static dev.revenant.kernel.VectorLanes.X1;
import static dev.revenant.kernel.VectorLanes.X2;
import static dev.revenant.kernel.VectorLanes.X4;
import static dev.revenant.kernel.VectorLanes.X8;
import static dev.revenant.kernel.VectorLanes.XH;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Attention of one (query token, head) pair, as {@link ReferenceBackend#attention} for that pair:
 * scores q·k·scale over the visible keys, softmax in fp32 with max subtraction (e^x as
 * {@link VectorLanes#exp}, within 3 ulp of {@code Math.exp}), then Σ p·v. The order of every
 * operation depends only on the shapes, never on which worker computes the pair. The three steps
 * are separate methods that pass no vectors between them (a vector argument of a call C2 does not
 * inline is boxed), and the lane folds are written out for the same reason.
 */
final class VectorAttention {
    private VectorAttention() {
    }

    /**
     * @param qo     offset of the head's query in {@code q} ({@code headDim} floats)
     * @param kvDim  row stride of the caches ({@code nKv · headDim})
     * @param kvo    offset of the head's kv group inside a cache row
     * @param lo     first visible key position; {@code pos} the last (inclusive)
     * @param scores this worker's slice: {@code scores[so + j]} for {@code j in [lo, pos]}
     * @param oo     offset of the head's output in {@code out}
     */
    static void head(float[] q, int qo, float[] k, float[] v, int kvDim, int kvo, int headDim, int lo, int pos,
                     float scale, float[] scores, int so, float[] out, int oo) {
        float max = scores(q, qo, k, kvDim, kvo, headDim, lo, pos, scale, scores, so);
        softmax(scores, so, lo, pos, max);
        weighted(v, kvDim, kvo, headDim, lo, pos, scores, so, out, oo);
    }

    /**
     * scores[so + j] = (q·k_j)·scale, returns their max. Per key: even blocks of L into a0, odd into
     * a1, an odd last block into a0, then a0 + a1, the lane fold of {@link VectorLanes#sum}, the
     * headDim mod L tail in d order, the scale. Two keys share each q load and one fold
     * ({@link VectorLanes#sumPair}: the same bits as one key at a time).
     */
    private static float scores(float[] q, int qo, float[] k, int kvDim, int kvo, int headDim, int lo, int pos,
                                float scale, float[] scores, int so) {
        int tailFrom = headDim - headDim % L;
        float max = Float.NEGATIVE_INFINITY;
        int j = lo;
        for (; j + 1 <= pos; j += 2) {
            int k0 = j * kvDim + kvo;
            int k1 = k0 + kvDim;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
            int d = 0;
            for (int end = headDim - 2 * L; d <= end; d += 2 * L) {
                FloatVector q0 = FloatVector.fromArray(F, q, qo + d);
                FloatVector q1 = FloatVector.fromArray(F, q, qo + d + L);
                a0 = q0.fma(FloatVector.fromArray(F, k, k0 + d), a0);
                a1 = q1.fma(FloatVector.fromArray(F, k, k0 + d + L), a1);
                b0 = q0.fma(FloatVector.fromArray(F, k, k1 + d), b0);
                b1 = q1.fma(FloatVector.fromArray(F, k, k1 + d + L), b1);
            }
            if (d < tailFrom) {
                FloatVector q0 = FloatVector.fromArray(F, q, qo + d);
                a0 = q0.fma(FloatVector.fromArray(F, k, k0 + d), a0);
                b0 = q0.fma(FloatVector.fromArray(F, k, k1 + d), b0);
            }
            FloatVector av = a0.add(a1);
            FloatVector bv = b0.add(b1);
            FloatVector t = av.blend(bv, UPPER).add(bv.blend(av, UPPER).rearrange(XH));
            if (L > 8) {
                t = t.add(t.rearrange(X4));
            }
            if (L > 4) {
                t = t.add(t.rearrange(X2));
            }
            if (L > 2) {
                t = t.add(t.rearrange(X1));
            }
            float s0 = t.lane(0);
            float s1 = t.lane(H);
            for (d = tailFrom; d < headDim; d++) {
                s0 += q[qo + d] * k[k0 + d];
                s1 += q[qo + d] * k[k1 + d];
            }
            s0 *= scale;
            s1 *= scale;
            scores[so + j] = s0;
            scores[so + j + 1] = s1;
            max = Math.max(Math.max(max, s0), s1);
        }
        if (j <= pos) {
            int k0 = j * kvDim + kvo;
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            int d = 0;
            for (int end = headDim - 2 * L; d <= end; d += 2 * L) {
                a0 = FloatVector.fromArray(F, q, qo + d).fma(FloatVector.fromArray(F, k, k0 + d), a0);
                a1 = FloatVector.fromArray(F, q, qo + d + L).fma(FloatVector.fromArray(F, k, k0 + d + L), a1);
            }
            if (d < tailFrom) {
                a0 = FloatVector.fromArray(F, q, qo + d).fma(FloatVector.fromArray(F, k, k0 + d), a0);
            }
            FloatVector t = a0.add(a1);
            if (L > 8) {
                t = t.add(t.rearrange(X8));
            }
            if (L > 4) {
                t = t.add(t.rearrange(X4));
            }
            if (L > 2) {
                t = t.add(t.rearrange(X2));
            }
            if (L > 1) {
                t = t.add(t.rearrange(X1));
            }
            float s = t.lane(0);
            for (d = tailFrom; d < headDim; d++) {
                s += q[qo + d] * k[k0 + d];
            }
            s *= scale;
            scores[so + j] = s;
            max = Math.max(max, s);
        }
        return max;
    }

    /**
     * scores[so + j] ← e^(s_j − max) / Σ e, in blocks of L keys from lo (the last one masked); lane l
     * of the sum takes keys lo + l, lo + L + l, ... and the lanes are folded once. e^x is
     * {@link VectorLanes#exp} written out.
     */
    private static void softmax(float[] scores, int so, int lo, int pos, float max) {
        FloatVector total = FloatVector.zero(F);
        for (int j = lo; j <= pos; j += L) {
            VectorMask<Float> m = F.indexInRange(j, pos + 1);
            FloatVector x = FloatVector.fromArray(F, scores, so + j, m).sub(max);
            FloatVector c = x.max(-87f).min(88f);
            FloatVector n = c.mul(VectorLanes.LOG2E).add(VectorLanes.ROUND).sub(VectorLanes.ROUND);
            FloatVector r = n.fma(FloatVector.broadcast(F, -VectorLanes.LN2_HI), c);
            r = n.fma(FloatVector.broadcast(F, -VectorLanes.LN2_LO), r);
            FloatVector p = FloatVector.broadcast(F, 1f / 720).fma(r, FloatVector.broadcast(F, 1f / 120));
            p = p.fma(r, FloatVector.broadcast(F, 1f / 24));
            p = p.fma(r, FloatVector.broadcast(F, 1f / 6));
            p = p.fma(r, FloatVector.broadcast(F, 0.5f));
            p = p.fma(r, FloatVector.broadcast(F, 1f));
            p = p.fma(r, FloatVector.broadcast(F, 1f));
            IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
            FloatVector e = p.mul(bits.reinterpretAsFloats()).blend(0f, x.compare(VectorOperators.LT, -87f));
            e.intoArray(scores, so + j, m);
            total = total.add(e, m);
        }
        if (L > 8) {
            total = total.add(total.rearrange(X8));
        }
        if (L > 4) {
            total = total.add(total.rearrange(X4));
        }
        if (L > 2) {
            total = total.add(total.rearrange(X2));
        }
        if (L > 1) {
            total = total.add(total.rearrange(X1));
        }
        FloatVector sum = FloatVector.broadcast(F, total.lane(0));
        for (int j = lo; j <= pos; j += L) {
            VectorMask<Float> m = F.indexInRange(j, pos + 1);
            FloatVector.fromArray(F, scores, so + j, m).div(sum).intoArray(scores, so + j, m);
        }
    }

    /**
     * out[oo + d] = Σ_j p_j · v[j, d], j ascending, one fused multiply-add per lane and key; four
     * blocks of L lanes at a time so four independent chains hide the FMA latency.
     */
    private static void weighted(float[] v, int kvDim, int kvo, int headDim, int lo, int pos, float[] scores, int so,
                                 float[] out, int oo) {
        int d = 0;
        for (int end = headDim - 4 * L; d <= end; d += 4 * L) {
            FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
            for (int j = lo; j <= pos; j++) {
                FloatVector p = FloatVector.broadcast(F, scores[so + j]);
                int vo = j * kvDim + kvo + d;
                c0 = FloatVector.fromArray(F, v, vo).fma(p, c0);
                c1 = FloatVector.fromArray(F, v, vo + L).fma(p, c1);
                c2 = FloatVector.fromArray(F, v, vo + 2 * L).fma(p, c2);
                c3 = FloatVector.fromArray(F, v, vo + 3 * L).fma(p, c3);
            }
            c0.intoArray(out, oo + d);
            c1.intoArray(out, oo + d + L);
            c2.intoArray(out, oo + d + 2 * L);
            c3.intoArray(out, oo + d + 3 * L);
        }
        for (int end = headDim - L; d <= end; d += L) {
            FloatVector c0 = FloatVector.zero(F);
            for (int j = lo; j <= pos; j++) {
                c0 = FloatVector.fromArray(F, v, j * kvDim + kvo + d).fma(FloatVector.broadcast(F, scores[so + j]), c0);
            }
            c0.intoArray(out, oo + d);
        }
        for (; d < headDim; d++) {
            float acc = 0f;
            for (int j = lo; j <= pos; j++) {
                acc = Math.fma(v[j * kvDim + kvo + d], scores[so + j], acc);
            }
            out[oo + d] = acc;
        }
    }
}
