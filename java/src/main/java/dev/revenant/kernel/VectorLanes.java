package dev.revenant.kernel;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Species and lane helpers shared by the vector kernels: a horizontal sum in a fixed order and
 * the softmax's e^x.
 *
 * <p>Why not {@code reduceLanes(ADD)}: for floats its order is unspecified, and on JDK 25 / x86 the
 * interpreter (lanes in order) and C2 (a different order) disagree: on random data 2721 of 4096
 * 16-lane sums changed bits once the calling loop was compiled. A result would then depend on
 * whether the JIT had got to the kernel yet, breaking the determinism contract of {@link Backend}.
 * {@link #sum} uses only lane-wise adds and fixed permutes, exact in every tier.
 *
 * <p>{@link #sum}, {@link #sumPair} and {@link #exp} define these steps (and are tested); the
 * kernels write the same steps out inline: a call that C2 does not inline (an OSR compilation
 * sees the code after a loop as cold; a large caller hits the node-count cutoff) boxes its vector
 * arguments, an allocation per call.
 */
final class VectorLanes {
    private VectorLanes() {
    }

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final int L = F.length();
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Lane of {@link #sumPair}'s result that holds the second sum. */
    static final int H = Math.max(1, L / 2);
    static final VectorMask<Float> UPPER = VectorMask.fromLong(F, L == 1 ? 0 : -1L << H);
    static final VectorShuffle<Float> XH = fold(H);
    static final VectorShuffle<Float> X8 = fold(8);
    static final VectorShuffle<Float> X4 = fold(4);
    static final VectorShuffle<Float> X2 = fold(2);
    static final VectorShuffle<Float> X1 = fold(1);

    private static VectorShuffle<Float> fold(int distance) {
        return distance < L ? VectorShuffle.fromOp(F, i -> i ^ distance) : VectorShuffle.iota(F, 0, 1, true);
    }

    /**
     * Sum of the lanes in a fixed tree: {@code v[l] + v[l ^ d]} for d = L/2, ..., 1, then lane 0
     * (for 16 lanes: lane l of the first step is v[l] + v[l + 8], and so on).
     */
    static float sum(FloatVector v) {
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
        return v.lane(0);
    }

    /**
     * {@link #sum} of {@code a} in lane 0 and of {@code b} in lane {@link #H}, bit for bit, for half
     * the permutes: the first fold step puts a's pairs v[l] + v[l + H] in the lower half and b's
     * (added the other way round, which is exact: IEEE addition commutes) in the upper half; the
     * later steps stay within each half.
     */
    static FloatVector sumPair(FloatVector a, FloatVector b) {
        FloatVector v = a.blend(b, UPPER).add(b.blend(a, UPPER).rearrange(XH));
        if (L > 8) {
            v = v.add(v.rearrange(X4));
        }
        if (L > 4) {
            v = v.add(v.rearrange(X2));
        }
        if (L > 2) {
            v = v.add(v.rearrange(X1));
        }
        return v;
    }

    static final float LOG2E = 1.44269504f;
    static final float LN2_HI = 0.693359375f; // 9 significant bits: n·LN2_HI is exact for |n| ≤ 127
    static final float LN2_LO = -2.12194440e-4f;
    static final float ROUND = 0x1.8p23f; // adding and subtracting it rounds to an integer (|v| < 2^22)

    /**
     * e^x per lane for the softmax (x ≤ 0 there), to about 2 ulp: x = n·ln2 + r with |r| ≤ ln2/2
     * (Cody-Waite, two-part ln2), e^r by its degree-6 Taylor polynomial (truncation ≤ 1.2e-7
     * relative), times 2^n built in the exponent field. Below −87 (where e^x < 2^-125) the result is
     * 0, above 88 it is clamped to e^88. Only lane-wise IEEE operations, so the same bits in every
     * JIT tier (unlike {@code lanewise(EXP)}, which may call a vector math library once compiled).
     */
    static FloatVector exp(FloatVector x) {
        FloatVector c = x.max(-87f).min(88f);
        FloatVector n = c.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), c);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, 1f / 720).fma(r, FloatVector.broadcast(F, 1f / 120));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 24));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 6));
        p = p.fma(r, FloatVector.broadcast(F, 0.5f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        IntVector scale = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector e = p.mul(scale.reinterpretAsFloats());
        return e.blend(0f, x.compare(VectorOperators.LT, -87f));
    }
}
