package dev.revenant.quant;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.util.Arrays;

/**
 * Bit packing shared by the checkpoint layouts (formats.md, "Packed layouts of quantized checkpoints"), and the
 * checks every reader makes on a stored part: dtype and shape named with the tensor and what was expected.
 *
 * <p>GPTQ (AutoGPTQ {@code qlinear_cuda_old.pack}) packs a sequence of {@code b}-bit values into int32 words as
 * one little-endian bit stream: value {@code i} starts at stream bit {@code b·i}, word {@code b·i / 32}, low bits
 * first; at 3 bits value 10 of each 32 has its low two bits at the top of word 0 and its high bit at the bottom of
 * word 1 (and value 21 likewise across words 1 and 2). A sequence is read through a word stride, so a column of
 * {@code qweight [in·b/32, out]} (stride {@code out}) and a row of {@code qzeros} (stride 1) use the same code.
 */
public final class PackedBits {
    private PackedBits() {
    }

    /** Value {@code index} of the {@code bits}-bit stream held in {@code words[base + k·stride]}, k = 0, 1, .... */
    public static int get(int[] words, int base, int stride, long index, int bits) {
        long bit = index * bits;
        int k = (int) (bit >>> 5);
        int off = (int) (bit & 31);
        long w = words[base + k * stride] & 0xFFFFFFFFL;
        if (off + bits > 32) {
            w |= (words[base + (k + 1) * stride] & 0xFFFFFFFFL) << 32;
        }
        return (int) ((w >>> off) & ((1L << bits) - 1));
    }

    /** ORs {@code value} (0..2^bits−1) in as value {@code index} of the stream (the words start at 0). */
    public static void set(int[] words, int base, int stride, long index, int bits, int value) {
        if (value < 0 || value >= 1 << bits) {
            throw new IllegalArgumentException("value " + value + " does not fit in " + bits + " bits");
        }
        long bit = index * bits;
        int k = (int) (bit >>> 5);
        int off = (int) (bit & 31);
        long v = (long) value << off;
        words[base + k * stride] |= (int) v;
        if (off + bits > 32) {
            words[base + (k + 1) * stride] |= (int) (v >>> 32);
        }
    }

    /** The tensor's elements as int32 after checking it is I32 of {@code shape}. */
    static int[] ints(Tensor t, String where, long... shape) {
        expect(t, where, shape, DType.I32);
        int[] out = new int[Math.toIntExact(t.numel())];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.data().getAtIndex(Tensor.I32_LE, i);
        }
        return out;
    }

    /** The tensor's elements as fp32 (exact for F16/BF16/F32) after checking dtype and shape. */
    static float[] floats(Tensor t, String where, long... shape) {
        expect(t, where, shape, DType.F16, DType.BF16, DType.F32);
        return t.toFloatArray();
    }

    /** The tensor's bytes after checking it is U8 or I8 of {@code numel} elements (any shape). */
    static byte[] bytes(Tensor t, String where, long numel, DType... types) {
        if (!Arrays.asList(types).contains(t.dtype()) || t.numel() != numel) {
            throw new IllegalArgumentException(where + ": " + t.name() + ": expected " + numel + " elements of "
                    + Arrays.toString(types) + ", found " + t.dtype() + " " + Arrays.toString(t.shape()));
        }
        return t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    static void expect(Tensor t, String where, long[] shape, DType... types) {
        if (!Arrays.asList(types).contains(t.dtype()) || !Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(where + ": " + t.name() + ": expected " + Arrays.toString(shape) + " "
                    + (types.length == 1 ? types[0] : Arrays.toString(types)) + ", found " + Arrays.toString(t.shape())
                    + " " + t.dtype());
        }
    }

    /** An I32 tensor of {@code values}. */
    static Tensor intTensor(String name, int[] values, long... shape) {
        return Tensor.ofInts(name, values, shape);
    }

    /** An F16 tensor of {@code values} rounded to nearest even; fails naming the tensor on overflow or a nonzero flushed to 0. */
    static Tensor f16Tensor(String name, float[] values, long... shape) {
        byte[] b = new byte[values.length * 2];
        var seg = java.lang.foreign.MemorySegment.ofArray(b);
        for (int i = 0; i < values.length; i++) {
            short h = Float.floatToFloat16(values[i]);
            float back = Float.float16ToFloat(h);
            if (Float.isInfinite(back) != Float.isInfinite(values[i]) || Float.isNaN(values[i]) || (back == 0f && values[i] != 0f)) {
                throw new IllegalArgumentException(name + "[" + i + "] = " + values[i] + " is not representable as fp16");
            }
            seg.setAtIndex(Tensor.I16_LE, i, h);
        }
        return new Tensor(name, DType.F16, shape, seg);
    }

    /** {@code x} rounded to fp16 and back (what a checkpoint's fp16 scales hold). */
    public static float roundF16(float x) {
        return Float.float16ToFloat(Float.floatToFloat16(x));
    }
}
