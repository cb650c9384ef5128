package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** PackedRows: a row slice dequantizes to the same rows of the full weight, bit for bit, where it exists. */
class PackedRowsTest {

    private static Tensor random(int n, int k, long seed) {
        Random rnd = new Random(seed);
        float[] a = new float[n * k];
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextFloat() * 2f - 1f;
        }
        return new Tensor("w", DType.F32, new long[] {n, k}, MemorySegment.ofArray(a));
    }

    private static void check(QuantizedWeight q, int from, int to) {
        Optional<QuantizedWeight> s = PackedRows.rows(q, from, to);
        assertTrue(s.isPresent(), q.precision());
        long[] shape = q.shape();
        int k = (int) shape[1];
        try (Arena arena = Arena.ofConfined()) {
            float[] full = q.dequantize(arena).toFloatArray();
            float[] part = s.get().dequantize(arena).toFloatArray();
            float[] want = java.util.Arrays.copyOfRange(full, from * k, to * k);
            assertArrayEquals(want, part, q.precision() + " rows " + from + ":" + to);
            assertEquals(to - from, s.get().shape()[0]);
        }
    }

    @Test
    void slicesAreExact() {
        check(new RtnQuantizer(4, 128, false).quantize(random(12, 300, 1)), 3, 9);
        check(new RtnQuantizer(8, -1, true).quantize(random(12, 33, 2)), 0, 12);
        check(GgufBlocks.quantize(random(10, 64, 3), GgufPacked.Type.Q4_0), 2, 7);
        check(GgufBlocks.quantize(random(10, 96, 4), GgufPacked.Type.Q8_0), 9, 10);
        check(Int8Bnb.quantize(random(6, 17, 5)), 1, 4);
        check(Bnb4.quantize(random(8, 128, 6), Bnb4Packed.Kind.NF4), 2, 5);
        check(Bnb4.quantize(random(8, 64, 7), Bnb4Packed.Kind.FP4), 0, 3);
    }

    @Test
    void bnb4WithRowsAcrossBlocksHasNoSlice() {
        assertTrue(PackedRows.rows(Bnb4.quantize(random(8, 96, 8), Bnb4Packed.Kind.NF4), 2, 5).isEmpty());
    }
}
