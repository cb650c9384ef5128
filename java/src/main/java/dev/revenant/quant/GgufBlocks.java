package dev.revenant.quant;

import dev.revenant.tensor.Tensor;

/**
 * ggml's Q8_0 and Q4_0 blocks (formats.md, "GGUF / ggml blocks in detail"; ggml
 * {@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}, {@code dequantize_row_q*_0}),
 * byte-exact. Blocks of {@value #QK} consecutive weights along each row; a row length that is not a
 * multiple of 32 is refused.
 *
 * <p>Both quantizers scale by the fp32 reciprocal of the fp32 {@code d}: {@code id = d != 0 ? 1f / d : 0f},
 * {@code x * id} (ggml's code; formats.md abbreviates this to {@code x / d}, which rounds
 * differently for some inputs). {@code d} is then stored as fp16 (round to nearest even), and
 * dequantization uses that fp16-rounded {@code d}.
 * <ul>
 *   <li>Q8_0, 34 bytes: {@code d = amax / 127}; {@code qs[j] = roundf(x[j] * id)} with C's
 *       {@code roundf} (half away from zero, not half to even); layout fp16 {@code d} (LE), int8 {@code qs[32]}.</li>
 *   <li>Q4_0, 18 bytes: {@code max} = the first element with the largest |x|, sign kept;
 *       {@code d = max / -8}; {@code q = min(15, (int)(x * id + 8.5f))} (truncation, so the extreme
 *       element gets {@code q = 0}); layout fp16 {@code d} (LE), {@code qs[16]} with element {@code j}
 *       in the low nibble of byte {@code j} and element {@code j + 16} in its high nibble.
 *       Dequantized: {@code (q - 8) * d}.</li>
 * </ul>
 */
public final class GgufBlocks {
    public static final int QK = 32;

    private GgufBlocks() {
    }

    /** Quantizes a float weight {@code [out, in]} (read as fp32) into blocks of {@code type}. */
    public static GgufPacked quantize(Tensor w, GgufPacked.Type type) {
        int[] dims = QuantInput.dims(w);
        int rows = dims[0];
        int cols = dims[1];
        if (cols % QK != 0) {
            throw new IllegalArgumentException(w.describe() + ": " + type + " needs the input dimension to be a multiple of "
                    + QK + ", found " + cols);
        }
        int nb = cols / QK;
        byte[] out = new byte[Math.multiplyExact(rows * nb, type.blockBytes())];
        float[] x = new float[QK];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < nb; b++) {
                long base = (long) r * cols + (long) b * QK;
                for (int j = 0; j < QK; j++) {
                    x[j] = QuantInput.finite(w, base + j);
                }
                int off = (r * nb + b) * type.blockBytes();
                if (type == GgufPacked.Type.Q8_0) {
                    encodeQ8_0(x, out, off);
                } else {
                    encodeQ4_0(x, out, off);
                }
                if (Float.isInfinite(d(out, off))) {
                    throw new IllegalArgumentException(w.describe() + ": block scale of row " + r + ", block " + b
                            + " overflows fp16");
                }
            }
        }
        return new GgufPacked(type, w.name(), rows, cols, out);
    }

    /** One Q8_0 block of {@code x[0, 32)} into {@code dst[off, off + 34)}. */
    public static void encodeQ8_0(float[] x, byte[] dst, int off) {
        float amax = 0f;
        for (int j = 0; j < QK; j++) {
            float a = Math.abs(x[j]);
            amax = amax > a ? amax : a;
        }
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        putD(dst, off, d);
        for (int j = 0; j < QK; j++) {
            dst[off + 2 + j] = (byte) roundHalfAway(x[j] * id);
        }
    }

    /** One Q4_0 block of {@code x[0, 32)} into {@code dst[off, off + 18)}. */
    public static void encodeQ4_0(float[] x, byte[] dst, int off) {
        float amax = 0f;
        float max = 0f;
        for (int j = 0; j < QK; j++) {
            if (amax < Math.abs(x[j])) {
                amax = Math.abs(x[j]);
                max = x[j];
            }
        }
        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        putD(dst, off, d);
        for (int j = 0; j < QK / 2; j++) {
            int q0 = Math.min(15, (int) (x[j] * id + 8.5f));
            int q1 = Math.min(15, (int) (x[j + QK / 2] * id + 8.5f));
            dst[off + 2 + j] = (byte) (q0 | q1 << 4);
        }
    }

    /** Element {@code j} of the Q8_0 block at {@code off}: {@code qs[j] * d}. */
    public static float dequantizeQ8_0(byte[] blocks, int off, int j) {
        return blocks[off + 2 + j] * d(blocks, off);
    }

    /** Element {@code j} of the Q4_0 block at {@code off}: {@code (q - 8) * d}. */
    public static float dequantizeQ4_0(byte[] blocks, int off, int j) {
        int b = blocks[off + 2 + (j % (QK / 2))] & 0xFF;
        int q = j < QK / 2 ? b & 0xF : b >>> 4;
        return (q - 8) * d(blocks, off);
    }

    /** The fp16 block scale at {@code off} (little-endian), widened to float. */
    public static float d(byte[] blocks, int off) {
        short bits = (short) ((blocks[off] & 0xFF) | (blocks[off + 1] & 0xFF) << 8);
        return Float.float16ToFloat(bits);
    }

    private static void putD(byte[] dst, int off, float d) {
        short h = Float.floatToFloat16(d);
        dst[off] = (byte) h;
        dst[off + 1] = (byte) (h >> 8);
    }

    /** C {@code roundf}: to nearest, ties away from zero. */
    static float roundHalfAway(float v) {
        float a = Math.abs(v);
        float t = (float) Math.floor(a);
        if (a - t >= 0.5f) {
            t += 1f;
        }
        return Math.copySign(t, v);
    }
}
