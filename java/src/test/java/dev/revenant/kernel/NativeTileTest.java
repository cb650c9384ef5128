package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The batched tiles of the C matmuls (AVX-512: 4 x rows × 6 weight rows, one 16-lane group per
 * pass, k in blocks of 2048; the edges narrower) against the generic kernel, bit for bit, at shapes
 * that hit every edge: rows 1 (decode path), 2, 3, 5, 7 (partial row tiles), 64, 65 (whole and one
 * more than the 32-row groups); n 1, 2, 3, 7, 33 (partial column tiles); k 1, 63 (tail only), 64,
 * 65, 127, 4097 (two k-blocks and a tail). Columns are also computed in [n0, n1) pieces of 5, as
 * the thread chunks do (revenant_cpu.h: the order does not depend on rows or the split).
 */
@Tag("native")
class NativeTileTest {

    private static final int[] ROWS = {1, 2, 3, 5, 7, 64, 65};
    private static final int[] NS = {1, 2, 3, 7, 33};
    private static final int[] KS = {1, 63, 64, 65, 127, 4097};

    @BeforeAll
    static void needsLibrary() {
        Assumptions.assumeTrue(NativeLibrary.available(), NativeLibrary.unavailableReason());
    }

    @Test
    void f32TilesGiveTheGenericBits() throws Throwable {
        check("f32", DType.F32);
    }

    @Test
    void bf16TilesGiveTheGenericBits() throws Throwable {
        check("bf16", DType.BF16);
    }

    private static void check(String wt, DType dt) throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        MethodHandle generic = lib.matmulHandle("rv_matmul_" + wt + "_f32_generic");
        Random rnd = new Random(11);
        for (int k : KS) {
            for (int n : NS) {
                Tensor w = NativeCpuBackendTest.weights("w", dt, NativeCpuBackendTest.random(rnd, n * k), n, k);
                float[] bias = NativeCpuBackendTest.random(rnd, n);
                float[] x = NativeCpuBackendTest.random(rnd, 65 * k);
                for (int rows : ROWS) {
                    for (boolean withBias : new boolean[] {false, true}) {
                        MemorySegment b = withBias ? MemorySegment.ofArray(bias) : MemorySegment.NULL;
                        float[] expect = call(generic, w, b, x, rows, k, n, n);
                        for (String isa : new String[] {"avx2", "avx512"}) {
                            if (!lib.supports(isa)) {
                                continue;
                            }
                            MethodHandle h = lib.matmulHandle("rv_matmul_" + wt + "_f32_" + isa);
                            for (int piece : new int[] {n, 5}) {
                                float[] got = call(h, w, b, x, rows, k, n, piece);
                                for (int i = 0; i < expect.length; i++) {
                                    if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(expect[i])) {
                                        assertEquals(expect[i], got[i], String.format(
                                                "%s %s vs generic: rows %d, n %d, k %d, bias %b, pieces of %d, out[%d]",
                                                wt, isa, rows, n, k, withBias, piece, i));
                                        throw new AssertionError(wt + " " + isa + ": sign of zero differs at " + i);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** out = x · wᵀ (+ bias), columns computed in calls over [n0, n0 + piece). */
    private static float[] call(MethodHandle h, Tensor w, MemorySegment bias, float[] x, int rows, int k, int n,
                                int piece) throws Throwable {
        float[] out = new float[rows * n];
        for (int n0 = 0; n0 < n; n0 += piece) {
            int st = (int) h.invokeExact(w.data(), bias, MemorySegment.ofArray(x), (long) rows, (long) k, (long) n,
                    (long) n0, (long) Math.min(n, n0 + piece), MemorySegment.ofArray(out));
            assertEquals(0, st, "status");
        }
        return out;
    }
}
