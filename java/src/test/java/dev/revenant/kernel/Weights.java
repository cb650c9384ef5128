package dev.revenant.kernel;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** Random test weights as heap segments in the little-endian layouts of the checkpoint formats. */
final class Weights {
    private Weights() {
    }

    /** {@code [n, k]} weights in (-1, 1), rounded to {@code dtype} (F32, BF16 or F16). */
    static Tensor random(DType dtype, int n, int k, long seed) {
        Random rnd = new Random(seed);
        MemorySegment seg = MemorySegment.ofArray(new byte[n * k * dtype.byteSize()]);
        for (int i = 0; i < n * k; i++) {
            float f = rnd.nextFloat() * 2f - 1f;
            switch (dtype) {
                case F32 -> seg.setAtIndex(Tensor.F32_LE, i, f);
                case BF16 -> seg.setAtIndex(Tensor.I16_LE, i, Tensor.floatToBf16(f));
                case F16 -> seg.setAtIndex(Tensor.I16_LE, i, Float.floatToFloat16(f));
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
        return new Tensor("w" + n + "x" + k, dtype, new long[] {n, k}, seg);
    }

    static float[] floats(int count, long seed) {
        Random rnd = new Random(seed);
        float[] a = new float[count];
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextFloat() * 2f - 1f;
        }
        return a;
    }
}
