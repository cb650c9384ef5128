package dev.revenant.quant;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Float casts of weight tensors into off-heap memory owned by an {@link Arena}: F32/BF16/F16 to
 * F32/BF16/F16 with round-to-nearest-even (as torch's {@code .to(dtype)}). A tensor already of the
 * target type is returned as it is (no copy).
 */
public final class Cast {
    private Cast() {
    }

    public static Tensor to(Tensor t, DType target, Arena arena) {
        if (t.dtype() == target) {
            return t;
        }
        if (!t.dtype().isFloat() || !target.isFloat() || target.byteSize() < 2) {
            throw new IllegalArgumentException(t.describe() + ": cannot cast to " + target + " (F32, BF16, F16 only)");
        }
        long n = t.numel();
        MemorySegment dst = arena.allocate(n * target.byteSize(), 64);
        for (long i = 0; i < n; i++) {
            float v = t.getFloat(i);
            switch (target) {
                case F32 -> dst.setAtIndex(Tensor.F32_LE, i, v);
                case BF16 -> dst.setAtIndex(Tensor.I16_LE, i, Tensor.floatToBf16(v));
                case F16 -> dst.setAtIndex(Tensor.I16_LE, i, Float.floatToFloat16(v));
                default -> throw new IllegalArgumentException(t.describe() + ": cannot cast to " + target);
            }
        }
        return new Tensor(t.name(), target, t.shape(), dst);
    }
}
