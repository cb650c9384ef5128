package dev.revenant.quant;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** Boundary checks and reads shared by the quantizers: a float weight {@code [out, in]}, finite values. */
final class QuantInput {
    private QuantInput() {
    }

    /** {@code [out, in]} as ints, after checking rank, dtype and sizes. */
    static int[] dims(Tensor w) {
        if (w.rank() != 2) {
            throw new IllegalArgumentException(w.describe() + ": expected a weight [out, in] (rank 2)");
        }
        DType t = w.dtype();
        if (t != DType.F32 && t != DType.BF16 && t != DType.F16 && t != DType.F64) {
            throw new IllegalArgumentException(w.describe() + ": expected F32, BF16, F16 or F64 weights");
        }
        if (w.dim(0) > Integer.MAX_VALUE || w.dim(1) > Integer.MAX_VALUE || w.numel() > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException(w.describe() + ": too large for the reference quantizers");
        }
        return new int[] {(int) w.dim(0), (int) w.dim(1)};
    }

    /** Element {@code i} as float; NaN or ±Inf is refused, naming the tensor and the index. */
    static float finite(Tensor w, long i) {
        float v = w.getFloat(i);
        if (!Float.isFinite(v)) {
            throw nonFinite(w.name(), w.shape(), i, v, "");
        }
        return v;
    }

    static IllegalArgumentException nonFinite(String name, long[] shape, long i, float v, String why) {
        long cols = shape.length == 2 ? shape[1] : 0;
        String where = cols > 0 ? " (row " + i / cols + ", col " + i % cols + ")" : "";
        return new IllegalArgumentException(name + " " + Arrays.toString(shape) + ": non-finite weight " + v + why
                + " at index " + i + where + "; quantization needs finite weights");
    }

    /** Row {@code r} of a validated weight into {@code dst[0, cols)}. */
    static void row(Tensor w, int r, int cols, float[] dst) {
        long base = (long) r * cols;
        for (int c = 0; c < cols; c++) {
            dst[c] = finite(w, base + c);
        }
    }

    /** An F32 tensor {@code [rows, cols]} in {@code arena} filled by {@code f(row, col)}. */
    static Tensor f32(String name, int rows, int cols, Arena arena, Element f) {
        MemorySegment seg = arena.allocate((long) rows * cols * 4, 64);
        long i = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                seg.setAtIndex(Tensor.F32_LE, i++, f.at(r, c));
            }
        }
        return new Tensor(name, DType.F32, new long[] {rows, cols}, seg);
    }

    @FunctionalInterface
    interface Element {
        float at(int row, int col);
    }
}
