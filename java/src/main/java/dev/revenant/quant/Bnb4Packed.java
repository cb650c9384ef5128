package dev.revenant.quant;

import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * A bitsandbytes 4-bit weight (see {@link Bnb4}): {@code n} codes of the row-major flattened weight,
 * two per byte with the even element in the high nibble ({@code packed}, {@code (n + 1) / 2} bytes),
 * and one fp32 {@code absmax} per block of 64 elements (the last block may be short). No double
 * quantization. The arrays are shared, not copied: treat them as read-only.
 */
public record Bnb4Packed(Kind kind, String name, long[] shape, long n, byte[] packed, float[] absmax)
        implements QuantizedWeight {

    public enum Kind { FP4, NF4 }

    public Bnb4Packed {
        shape = shape.clone();
        if (shape.length != 2 || Tensor.numel(shape) != n) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " does not hold " + n + " elements");
        }
        if (packed.length != (n + 1) / 2 || absmax.length != (n + Bnb4.BLOCK - 1) / Bnb4.BLOCK) {
            throw new IllegalArgumentException(name + ": " + packed.length + " bytes and " + absmax.length
                    + " absmax for " + n + " elements (expected " + (n + 1) / 2 + " and " + (n + Bnb4.BLOCK - 1) / Bnb4.BLOCK + ")");
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public String precision() {
        return kind == Kind.FP4 ? "fp4" : "nf4";
    }

    /** The 4-bit code of flat element {@code i}. */
    public int code(long i) {
        int b = packed[(int) (i >> 1)] & 0xFF;
        return (i & 1) == 0 ? b >>> 4 : b & 0xF;
    }

    /** Flat element {@code i} dequantized in fp32. */
    public float dequantize(long i) {
        float a = absmax[(int) (i / Bnb4.BLOCK)];
        return kind == Kind.FP4 ? Bnb4.dequantizeFp4(code(i), a) : Bnb4.dequantizeNf4(code(i), a);
    }

    @Override
    public Tensor dequantize(Arena arena) {
        int cols = (int) shape[1];
        return QuantInput.f32(name, (int) shape[0], cols, arena, (r, c) -> dequantize((long) r * cols + c));
    }

    @Override
    public long packedBytes() {
        return packed.length + 4L * absmax.length;
    }
}
