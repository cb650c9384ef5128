package dev.revenant.kernel;

import dev.revenant.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/** Element reads of F32/BF16/F16 weights for the scalar paths (reference backend, tails). */
public final class WeightReader {
    private WeightReader() {
    }

    static float get(Tensor w, long index) {
        MemorySegment d = w.data();
        return switch (w.dtype()) {
            case F32 -> d.getAtIndex(Tensor.F32_LE, index);
            case BF16 -> Float.intBitsToFloat((d.getAtIndex(Tensor.I16_LE, index) & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(d.getAtIndex(Tensor.I16_LE, index));
            default -> throw new IllegalArgumentException(w.name() + ": weights must be F32, BF16 or F16, found " + w.dtype());
        };
    }

    /** Checks {@code w} is {@code [N, K]} with a float dtype, {@code bias} (if any) is {@code [N]}, and the arrays fit. */
    public static void checkMatmul(Tensor w, Tensor bias, float[] x, int rows, float[] out) {
        if (w.rank() != 2) {
            throw new IllegalArgumentException(w.describe() + ": matmul needs a 2-D weight");
        }
        switch (w.dtype()) {
            case F32, BF16, F16 -> { }
            default -> throw new IllegalArgumentException(w.describe() + ": matmul supports F32, BF16, F16 weights");
        }
        long n = w.dim(0);
        long k = w.dim(1);
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != n)) {
            throw new IllegalArgumentException(bias.describe() + ": expected bias of shape [" + n + "]");
        }
        if ((long) rows * k > x.length || (long) rows * n > out.length) {
            throw new IllegalArgumentException(w.describe() + ": matmul of " + rows + " rows needs x ≥ " + rows * k
                    + " and out ≥ " + rows * n + " floats, found " + x.length + " and " + out.length);
        }
    }
}
