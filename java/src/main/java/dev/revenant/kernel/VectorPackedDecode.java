package dev.revenant.kernel;

import static dev.revenant.kernel.VectorLanes.F;
import static dev.revenant.kernel.VectorLanes.I;
import static dev.revenant.kernel.VectorLanes.L;

import dev.revenant.quant.Bnb4;
import dev.revenant.quant.Bnb4Packed;
import dev.revenant.quant.GgufBlocks;
import dev.revenant.quant.GgufPacked;
import dev.revenant.quant.RtnPacked;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Decoders of one weight row of a packed format into fp32 ({@code buf[0, K)}), bit for bit the
 * records' own {@code dequantize} (same fp32 operations in the same order: RTN {@code s · (q − z)},
 * Q8_0 {@code q · d}, Q4_0 {@code (q − 8) · d}, bnb 4-bit {@code codebook[q] · absmax}). The matmul
 * then runs on the decoded row (VectorPacked), which stays in L1 while it serves every activation row.
 *
 * <p>Bytes are widened L at a time (a byte vector of L lanes, 64 or 128 bits) to ints, then floats.
 * Bitsandbytes codes: L bytes give L high and L low nibbles, each looked up in the 16-entry codebook
 * held in two float vectors (a two-vector {@code rearrange}), then zipped back into element order
 * (ZIP_LO/ZIP_HI) and scaled by the block's absmax; measured 2.7x faster than the scalar 256-entry
 * pair table, which remains for a row's odd first element, block tails and L outside [8, 16].
 */
final class VectorPackedDecode {
    private VectorPackedDecode() {
    }

    /** Bytes, L lanes; null where L < 8 (no 32-bit byte shape): scalar decode then. */
    static final VectorSpecies<Byte> B = L >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;

    /** Lanes {@code 2m, 2m + 1} ← lane m of the first, of the second vector (ZIP_HI: lanes L/2 + m). */
    private static final VectorShuffle<Float> ZIP_LO = VectorShuffle.fromOp(F, l -> (l & 1) == 0 ? l / 2 : L + l / 2);
    private static final VectorShuffle<Float> ZIP_HI = VectorShuffle.fromOp(F, l -> (l & 1) == 0 ? L / 2 + l / 2 : L + L / 2 + l / 2);
    /** Codebooks as vectors: codes 0..L-1 and L..15 (L = 16: the whole book, then again). */
    private static final boolean BNB_VECTOR = B != null && L <= 16 && 16 % L == 0 && 16 / L <= 2;
    private static final FloatVector[] FP4_BOOK = book(Bnb4Packed.Kind.FP4);
    private static final FloatVector[] NF4_BOOK = book(Bnb4Packed.Kind.NF4);

    private static FloatVector[] book(Bnb4Packed.Kind kind) {
        if (!BNB_VECTOR) {
            return null;
        }
        float[] t = new float[2 * L];
        for (int c = 0; c < 2 * L; c++) {
            t[c] = Bnb4.codeValue(kind, c % 16);
        }
        return new FloatVector[] {FloatVector.fromArray(F, t, 0), FloatVector.fromArray(F, t, L)};
    }

    /** Code value (fraction of absmax) of the high nibble of byte b at [2b], of the low one at [2b + 1]. */
    private static final float[] FP4_PAIRS = pairs(Bnb4Packed.Kind.FP4);
    private static final float[] NF4_PAIRS = pairs(Bnb4Packed.Kind.NF4);

    private static float[] pairs(Bnb4Packed.Kind kind) {
        float[] t = new float[512];
        for (int b = 0; b < 256; b++) {
            t[2 * b] = Bnb4.codeValue(kind, b >>> 4);
            t[2 * b + 1] = Bnb4.codeValue(kind, b & 0xF);
        }
        return t;
    }

    /** Row j of an RTN weight: per column group, {@code scale · (code − zero)}. */
    static void rtn(RtnPacked q, int j, float[] buf) {
        int cols = q.cols();
        int rows = q.rows();
        byte[] codes = q.codes();
        float[] scale = q.scale();
        float[] zero = q.zero();
        int gs = q.groupSize() < 0 ? Math.max(cols, 1) : q.groupSize();
        int base = j * cols;
        for (int g = 0, c0 = 0; c0 < cols; g++, c0 += gs) {
            int c1 = Math.min(cols, c0 + gs);
            float s = scale[g * rows + j];
            float z = zero[g * rows + j];
            int c = c0;
            if (B != null) {
                FloatVector sv = FloatVector.broadcast(F, s);
                FloatVector zv = FloatVector.broadcast(F, z);
                for (; c + L <= c1; c += L) {
                    IntVector iv = ((IntVector) ByteVector.fromArray(B, codes, base + c)
                            .convertShape(VectorOperators.B2I, I, 0)).and(0xFF);
                    FloatVector f = (FloatVector) iv.convert(VectorOperators.I2F, 0);
                    sv.mul(f.sub(zv)).intoArray(buf, c);
                }
            }
            for (; c < c1; c++) {
                buf[c] = s * ((float) (codes[base + c] & 0xFF) - z);
            }
        }
    }

    /** Row j of a Q8_0 weight: per block of 32, {@code qs[i] · d}. */
    static void q8_0(GgufPacked q, int j, float[] buf) {
        byte[] blocks = q.blocks();
        int nb = q.cols() / GgufBlocks.QK;
        for (int b = 0; b < nb; b++) {
            int off = (j * nb + b) * 34;
            float d = GgufBlocks.d(blocks, off);
            int o = b * GgufBlocks.QK;
            int i = 0;
            if (B != null) {
                FloatVector dv = FloatVector.broadcast(F, d);
                for (; i + L <= GgufBlocks.QK; i += L) {
                    IntVector iv = (IntVector) ByteVector.fromArray(B, blocks, off + 2 + i).convertShape(VectorOperators.B2I, I, 0);
                    ((FloatVector) iv.convert(VectorOperators.I2F, 0)).mul(dv).intoArray(buf, o + i);
                }
            }
            for (; i < GgufBlocks.QK; i++) {
                buf[o + i] = blocks[off + 2 + i] * d;
            }
        }
    }

    /** Row j of a Q4_0 weight: per block, element i &lt; 16 from the low nibble of qs[i], i + 16 from its high nibble. */
    static void q4_0(GgufPacked q, int j, float[] buf) {
        byte[] blocks = q.blocks();
        int nb = q.cols() / GgufBlocks.QK;
        int half = GgufBlocks.QK / 2;
        for (int b = 0; b < nb; b++) {
            int off = (j * nb + b) * 18;
            float d = GgufBlocks.d(blocks, off);
            int o = b * GgufBlocks.QK;
            int i = 0;
            if (B != null && L <= half) {
                FloatVector dv = FloatVector.broadcast(F, d);
                for (; i + L <= half; i += L) {
                    IntVector iv = ((IntVector) ByteVector.fromArray(B, blocks, off + 2 + i)
                            .convertShape(VectorOperators.B2I, I, 0)).and(0xFF);
                    IntVector lo = iv.and(0xF).sub(8);
                    IntVector hi = iv.lanewise(VectorOperators.LSHR, 4).sub(8);
                    ((FloatVector) lo.convert(VectorOperators.I2F, 0)).mul(dv).intoArray(buf, o + i);
                    ((FloatVector) hi.convert(VectorOperators.I2F, 0)).mul(dv).intoArray(buf, o + half + i);
                }
            }
            for (; i < half; i++) {
                int v = blocks[off + 2 + i] & 0xFF;
                buf[o + i] = ((v & 0xF) - 8) * d;
                buf[o + half + i] = ((v >>> 4) - 8) * d;
            }
        }
    }

    /** Row j of a bitsandbytes 4-bit weight (flat elements j·K .. j·K + K − 1, absmax per 64 of them). */
    static void bnb4(Bnb4Packed q, int j, int cols, float[] buf) {
        float[] t = q.kind() == Bnb4Packed.Kind.FP4 ? FP4_PAIRS : NF4_PAIRS;
        byte[] packed = q.packed();
        float[] absmax = q.absmax();
        long i = (long) j * cols;
        int c = 0;
        while (c < cols) {
            int blk = (int) (i / Bnb4.BLOCK);
            int end = (int) Math.min(cols, c + ((blk + 1L) * Bnb4.BLOCK - i));
            float a = absmax[blk];
            if ((i & 1) != 0) { // a row of odd K starting mid-byte: its first element is a low nibble
                buf[c++] = t[2 * (packed[(int) (i++ >> 1)] & 0xFF) + 1] * a;
            }
            int p = (int) (i >> 1);
            if (BNB_VECTOR) {
                FloatVector[] book = q.kind() == Bnb4Packed.Kind.FP4 ? FP4_BOOK : NF4_BOOK;
                FloatVector b0 = book[0];
                FloatVector b1 = book[1];
                FloatVector av = FloatVector.broadcast(F, a);
                for (; c + 2 * L <= end; c += 2 * L, p += L) {
                    IntVector iv = ((IntVector) ByteVector.fromArray(B, packed, p).convertShape(VectorOperators.B2I, I, 0)).and(0xFF);
                    FloatVector hi = b0.rearrange(iv.lanewise(VectorOperators.LSHR, 4).toShuffle().cast(F), b1);
                    FloatVector lo = b0.rearrange(iv.and(0xF).toShuffle().cast(F), b1);
                    hi.rearrange(ZIP_LO, lo).mul(av).intoArray(buf, c);
                    hi.rearrange(ZIP_HI, lo).mul(av).intoArray(buf, c + L);
                }
            }
            for (; c + 1 < end; c += 2, p++) {
                int b = 2 * (packed[p] & 0xFF);
                buf[c] = t[b] * a;
                buf[c + 1] = t[b + 1] * a;
            }
            i = (long) p << 1;
            if (c < end) {
                buf[c++] = t[2 * (packed[p] & 0xFF)] * a;
                i++;
            }
        }
    }
}
