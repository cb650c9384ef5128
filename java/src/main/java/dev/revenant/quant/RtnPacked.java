package dev.revenant.quant;

import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * An RTN-quantized weight {@code [rows, cols]} (see {@link RtnQuantizer}).
 *
 * <p>Storage, chosen for a simple reference (not a checkpoint layout): {@code codes} holds one
 * unsigned byte per weight, row-major {@code [rows, cols]}, value {@code 0..2^bits-1};
 * {@code scale} and {@code zero} are fp32 {@code [groups, rows]} (index {@code g * rows + row}),
 * the layout of GPTQ's {@code scales}/{@code qzeros} and of the fixture's {@code .scale}/{@code .zero};
 * {@code zero} is an integer-valued float (sym: {@code (maxq + 1) / 2}). Column {@code c} belongs
 * to group {@code c / groupSize} ({@code groupSize == -1}: one group per row). The arrays are
 * shared, not copied: treat them as read-only.
 */
public record RtnPacked(String name, int rows, int cols, int bits, int groupSize, boolean sym,
                        byte[] codes, float[] scale, float[] zero) implements QuantizedWeight {

    public RtnPacked {
        new RtnQuantizer(bits, groupSize, sym);
        if (rows < 0 || cols < 0 || codes.length != (long) rows * cols) {
            throw new IllegalArgumentException(name + ": " + codes.length + " codes for [" + rows + ", " + cols + "]");
        }
        int groups = cols == 0 ? 0 : groupSize < 0 ? 1 : (cols + groupSize - 1) / groupSize;
        if (scale.length != (long) groups * rows || zero.length != scale.length) {
            throw new IllegalArgumentException(name + ": expected " + groups + "x" + rows + " scales and zeros, found "
                    + scale.length + " and " + zero.length);
        }
    }

    @Override
    public long[] shape() {
        return new long[] {rows, cols};
    }

    @Override
    public String precision() {
        return new RtnQuantizer(bits, groupSize, sym).precisionName();
    }

    /** Number of column groups ({@code 1} per row when {@code groupSize == -1}). */
    public int groups() {
        return rows == 0 ? 0 : scale.length / rows;
    }

    /** The group of input column {@code col}. */
    public int group(int col) {
        return groupSize < 0 ? 0 : col / groupSize;
    }

    /** The integer code of {@code (row, col)}, {@code 0..2^bits-1}. */
    public int code(int row, int col) {
        return codes[row * cols + col] & 0xFF;
    }

    public float scale(int group, int row) {
        return scale[group * rows + row];
    }

    public float zero(int group, int row) {
        return zero[group * rows + row];
    }

    /** {@code scale * (q - zero)} in fp32, as quant.py's {@code quantize}. */
    public float dequantize(int row, int col) {
        int g = group(col);
        float z = zero(g, row);
        return scale(g, row) * ((float) code(row, col) - z);
    }

    /** The dequantized weights as an F32 tensor named {@code name}. */
    public Tensor dequantize(String tensorName, Arena arena) {
        return QuantInput.f32(tensorName, rows, cols, arena, this::dequantize);
    }

    @Override
    public Tensor dequantize(Arena arena) {
        return dequantize(name, arena);
    }

    @Override
    public long packedBytes() {
        return codes.length + 4L * (scale.length + zero.length);
    }
}
