package dev.revenant.quant;

import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * A weight {@code [rows, cols]} as GGUF/ggml blocks of 32 along each row (see {@link GgufBlocks}):
 * {@code blocks} holds {@code rows * cols / 32} blocks of {@link Type#blockBytes()} bytes, row after
 * row, byte for byte as ggml lays them out (so the bytes can go into a GGUF file as they are). The
 * array is shared, not copied: treat it as read-only.
 */
public record GgufPacked(Type type, String name, int rows, int cols, byte[] blocks) implements QuantizedWeight {

    /** ggml block types: Q8_0 = fp16 d + int8 qs[32]; Q4_0 = fp16 d + uint8 qs[16] (nibbles). */
    public enum Type {
        Q8_0(34, "q8_0"), Q4_0(18, "q4_0");

        private final int blockBytes;
        private final String precision;

        Type(int blockBytes, String precision) {
            this.blockBytes = blockBytes;
            this.precision = precision;
        }

        public int blockBytes() {
            return blockBytes;
        }

        public String precision() {
            return precision;
        }
    }

    public GgufPacked {
        if (rows < 0 || cols < 0 || cols % GgufBlocks.QK != 0) {
            throw new IllegalArgumentException(name + ": [" + rows + ", " + cols + "] is not a whole number of 32-blocks per row");
        }
        long want = (long) rows * (cols / GgufBlocks.QK) * type.blockBytes;
        if (blocks.length != want) {
            throw new IllegalArgumentException(name + ": " + blocks.length + " bytes of " + type + " blocks, expected " + want);
        }
    }

    @Override
    public long[] shape() {
        return new long[] {rows, cols};
    }

    @Override
    public String precision() {
        return type.precision;
    }

    /** Byte offset of the block holding {@code (row, col)}. */
    public int blockOffset(int row, int col) {
        return (row * (cols / GgufBlocks.QK) + col / GgufBlocks.QK) * type.blockBytes;
    }

    /** The block scale {@code d} (fp16 widened to float) of the block holding {@code (row, col)}. */
    public float d(int row, int col) {
        return GgufBlocks.d(blocks, blockOffset(row, col));
    }

    public float dequantize(int row, int col) {
        int off = blockOffset(row, col);
        int j = col % GgufBlocks.QK;
        return type == Type.Q8_0 ? GgufBlocks.dequantizeQ8_0(blocks, off, j) : GgufBlocks.dequantizeQ4_0(blocks, off, j);
    }

    @Override
    public Tensor dequantize(Arena arena) {
        return QuantInput.f32(name, rows, cols, arena, this::dequantize);
    }

    @Override
    public long packedBytes() {
        return blocks.length;
    }
}
