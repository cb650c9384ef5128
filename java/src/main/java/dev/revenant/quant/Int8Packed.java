package dev.revenant.quant;

import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * An LLM.int8 weight (see {@link Int8Bnb}): {@code cb} int8 codes row-major {@code [rows, cols]} and
 * {@code scb} the fp32 absmax of each row (of the fp16-rounded weights). The arrays are shared, not
 * copied: treat them as read-only.
 */
public record Int8Packed(String name, int rows, int cols, byte[] cb, float[] scb) implements QuantizedWeight {

    public Int8Packed {
        if (rows < 0 || cols < 0 || cb.length != (long) rows * cols || scb.length != rows) {
            throw new IllegalArgumentException(name + ": " + cb.length + " codes and " + scb.length + " row scales for ["
                    + rows + ", " + cols + "]");
        }
    }

    @Override
    public long[] shape() {
        return new long[] {rows, cols};
    }

    @Override
    public String precision() {
        return "int8";
    }

    public int code(int row, int col) {
        return cb[row * cols + col];
    }

    /**
     * {@code (CB * SCB) / 127} in fp32: the weights bitsandbytes' outlier path multiplies with (before
     * its fp16 rounding). The int8 path never dequantizes the weights; this is the reference view.
     */
    public float dequantize(int row, int col) {
        return (code(row, col) * scb[row]) / 127f;
    }

    @Override
    public Tensor dequantize(Arena arena) {
        return QuantInput.f32(name, rows, cols, arena, this::dequantize);
    }

    @Override
    public long packedBytes() {
        return cb.length + 4L * scb.length;
    }
}
