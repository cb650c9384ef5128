package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.quant.RtnPacked;
import dev.revenant.quant.RtnQuantizer;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The RTN kernels of native/ (rv_matmul_rtn_u8_f32 and its generic/AVX2/AVX-512 variants) against
 * {@link PackedReference} (design.md, conventions 1 and 8), as NativeGgufTest does for the GGUF blocks.
 */
@Tag("native")
class NativeRtnTest {

    /** precision name, bits, group size, sym. */
    private static final Object[][] PRECISIONS = {
        {"rtn-w4-g128", 4, 128, false},
        {"rtn-w4-g128-sym", 4, 128, true},
        {"rtn-w8", 8, -1, false},
        {"rtn-w3-g64", 3, 64, false},
        {"rtn-w4", 4, -1, false},
    };

    /** Group sizes off the fast path (not multiples of 16): the element-by-element decode. */
    private static final Object[][] ODD_GROUPS = {
        {"rtn-w3-g7-sym", 3, 7, true},
        {"rtn-w2-g24", 2, 24, false},
    };

    private static final String C_NAME = "rv_matmul_rtn_u8_f32";

    @BeforeAll
    static void needsLibrary() {
        Assumptions.assumeTrue(NativeLibrary.available(), NativeLibrary.unavailableReason());
    }

    static RtnPacked quantized(Object[] p, int n, int k, long seed) {
        return new RtnQuantizer((int) p[1], (int) p[2], (boolean) p[3])
                .quantize(Weights.random(DType.F32, n, k, seed));
    }

    static NativeGgufTest.Expected expected(RtnPacked w, Tensor bias, float[] x, int rows) {
        int n = w.rows();
        int k = w.cols();
        float[] ref = new float[rows * n];
        PackedReference.matmul(w, bias, x, rows, ref);
        double[] tol = new double[rows * n];
        float[] wr = new float[k];
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < k; i++) {
                wr[i] = w.dequantize(j, i);
            }
            for (int r = 0; r < rows; r++) {
                double mag = bias == null ? 0 : Math.abs(bias.getFloat(j));
                for (int i = 0; i < k; i++) {
                    mag += Math.abs((double) x[r * k + i] * wr[i]);
                }
                tol[r * n + j] = (k + 2) * 0x1p-24 * mag;
            }
        }
        return new NativeGgufTest.Expected(ref, tol, n);
    }

    static float[] call(NativeLibrary lib, String name, RtnPacked w, float[] bias, float[] x, int rows) throws Throwable {
        MethodHandle h = lib.rtnHandle(name);
        float[] out = new float[rows * w.rows()];
        MemorySegment b = bias == null ? MemorySegment.NULL : MemorySegment.ofArray(bias);
        int st = (int) h.invokeExact(MemorySegment.ofArray(w.codes()), MemorySegment.ofArray(w.scale()),
                MemorySegment.ofArray(w.zero()), (long) w.groupSize(), b, MemorySegment.ofArray(x), (long) rows,
                (long) w.cols(), (long) w.rows(), 0L, (long) w.rows(), MemorySegment.ofArray(out));
        assertEquals(0, st, name);
        return out;
    }

    /** Every kernel (dispatching, generic, avx2, avx512) at odd shapes, with and without bias. */
    @Test
    void everyKernelMatchesTheReference() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(42);
        for (Object[] p : PRECISIONS) {
            for (int k : new int[] {1, 31, 128, 4096}) {
                for (int n : new int[] {1, 7, 33, 127}) {
                    RtnPacked w = quantized(p, n, k, 31L * n + k);
                    float[] b = NativeCpuBackendTest.random(rnd, n);
                    Tensor bt = Tensor.ofFloats("b", b, n);
                    for (int rows : new int[] {1, 3}) {
                        float[] x = NativeCpuBackendTest.random(rnd, rows * k);
                        for (boolean withBias : new boolean[] {false, true}) {
                            NativeGgufTest.Expected e = expected(w, withBias ? bt : null, x, rows);
                            for (String sfx : NativeGgufTest.kernels(lib)) {
                                float[] out = call(lib, C_NAME + sfx, w, withBias ? b : null, x, rows);
                                e.check(out, p[0] + " " + C_NAME + sfx + " K=" + k + " N=" + n + " rows=" + rows
                                        + " bias=" + withBias);
                            }
                        }
                    }
                }
            }
        }
        // 64 rows: one case (the reference at 64 x 127 x 4096 takes seconds)
        RtnPacked w = quantized(PRECISIONS[0], 127, 4096, 5);
        float[] b = NativeCpuBackendTest.random(rnd, 127);
        float[] x = NativeCpuBackendTest.random(rnd, 64 * 4096);
        NativeGgufTest.Expected e = expected(w, Tensor.ofFloats("b", b, 127), x, 64);
        for (String sfx : NativeGgufTest.kernels(lib)) {
            e.check(call(lib, C_NAME + sfx, w, b, x, 64), C_NAME + sfx + " rows=64");
        }
    }

    /** Off the fast path (group sizes 7, 24): still the reference. */
    @Test
    void oddGroupSizesMatchTheReference() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(5);
        for (Object[] p : ODD_GROUPS) {
            for (int k : new int[] {1, 31, 200}) {
                RtnPacked w = quantized(p, 9, k, k);
                float[] x = NativeCpuBackendTest.random(rnd, 3 * k);
                NativeGgufTest.Expected e = expected(w, null, x, 3);
                for (String sfx : NativeGgufTest.kernels(lib)) {
                    e.check(call(lib, C_NAME + sfx, w, null, x, 3), p[0] + " " + C_NAME + sfx + " K=" + k);
                }
            }
        }
    }

    /** One-hot rows of x pick single weights, so the kernels' decode must give RtnPacked's floats bit for bit. */
    @Test
    void decodeIsExact() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        for (Object[] p : new Object[][] {PRECISIONS[0], PRECISIONS[2], ODD_GROUPS[0]}) {
            int n = 13;
            int k = 150;
            RtnPacked w = quantized(p, n, k, 5);
            float[] x = new float[k * k];
            for (int i = 0; i < k; i++) {
                x[i * k + i] = 1f;
            }
            float[] expect = new float[k * n];
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < n; j++) {
                    expect[i * n + j] = w.dequantize(j, i) + 0f; // -0 sums to +0, as in the kernels
                }
            }
            for (String sfx : NativeGgufTest.kernels(lib)) {
                assertArrayEquals(expect, call(lib, C_NAME + sfx, w, null, x, k), p[0] + " " + C_NAME + sfx + " decode");
            }
        }
    }

    /** generic, avx2 and avx512 give the same bits (the order is fixed by K alone), fast and scalar paths alike. */
    @Test
    void everyInstructionSetGivesTheSameBits() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(3);
        Object[][] all = Arrays.copyOf(PRECISIONS, PRECISIONS.length + ODD_GROUPS.length);
        System.arraycopy(ODD_GROUPS, 0, all, PRECISIONS.length, ODD_GROUPS.length);
        for (Object[] p : all) {
            // 8300 x 37: the AVX-512 decode's x blocks of 4096 (three, the last partial) and column groups of 32
            // {32768, 50} at 40 rows: the GEMM core's two super-groups of rows (4 MiB of packed x: 32 rows, then 8) and its
            // column blocks of 48 (then 2); {1024, 50} at 40 rows: its transposing pack (whole vectors of 16 columns)
            // for every group size
            for (int[] kn : new int[][] {{4096, 9}, {31, 5}, {200, 31}, {1, 1}, {4111, 3}, {8300, 37}, {32768, 50},
                {1024, 50}}) {
                for (int rows : new int[] {1, 2, 3, 4, 5, 6, 7, 9, 19, 40}) { // 19: gemm_few_avx512.h; 40: gemm_avx512.h
                    if (kn[0] == 32768 && (rows != 40 || p != PRECISIONS[0])) { // the generic kernel is slow
                        continue;
                    }
                    RtnPacked w = quantized(p, kn[1], kn[0], rows * 7L + kn[0]);
                    float[] b = NativeCpuBackendTest.random(rnd, kn[1]);
                    float[] x = NativeCpuBackendTest.random(rnd, rows * kn[0]);
                    float[] expect = call(lib, C_NAME + "_generic", w, b, x, rows);
                    for (String sfx : NativeGgufTest.kernels(lib)) {
                        assertArrayEquals(expect, call(lib, C_NAME + sfx, w, b, x, rows),
                                p[0] + " " + C_NAME + sfx + " vs generic, K=" + kn[0] + " N=" + kn[1] + " rows=" + rows);
                    }
                }
            }
        }
    }

    /**
     * 8-bit codes whose first 64 per row are below 16: the AVX-512 decode starts on its 4-bit table path, meets a
     * larger code later and must redo the call on the general path (same bits as generic).
     */
    @Test
    void largeCodesAfterSmallOnesLeaveTheTablePath() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(5);
        for (int[] kn : new int[][] {{4096, 9}, {8300, 37}, {200, 31}}) {
            RtnPacked w = quantized(PRECISIONS[2], kn[1], kn[0], 11L + kn[0]);
            byte[] codes = w.codes();
            for (int j = 0; j < kn[1]; j++) {
                for (int i = 0; i < 64 && i < kn[0]; i++) {
                    codes[j * kn[0] + i] &= 15;
                }
            }
            float[] b = NativeCpuBackendTest.random(rnd, kn[1]);
            float[] x = NativeCpuBackendTest.random(rnd, kn[0]);
            float[] expect = call(lib, C_NAME + "_generic", w, b, x, 1);
            for (String sfx : NativeGgufTest.kernels(lib)) {
                assertArrayEquals(expect, call(lib, C_NAME + sfx, w, b, x, 1), C_NAME + sfx + " K=" + kn[0]);
            }
        }
    }

    /** Through the backend: 1 thread == 2 threads, and each row alone == in the batch, bit for bit. */
    @Test
    void batchAloneAndThreadCountGiveTheSameBits() {
        Random rnd = new Random(7);
        // where k is a multiple of 64 the second batch size takes native/src/gemm_few_avx512.h, the third gemm_avx512.h
        for (int rows : new int[] {9, NativeCpuBackend.GEMM_ROWS + 3, NativeCpuBackend.GEMM_T_ROWS + 3}) {
            for (Object[] p : PRECISIONS) {
                for (int[] kn : new int[][] {{4096, 33}, {128, 4097}, {2048, 130}, {31, 7}}) {
                    int k = kn[0];
                    int n = kn[1];
                    RtnPacked w = quantized(p, n, k, n + 17L * k);
                    Tensor b = Tensor.ofFloats("b", NativeCpuBackendTest.random(rnd, n), n);
                    float[] x = NativeCpuBackendTest.random(rnd, rows * k);
                    float[] one = new float[rows * n];
                    float[] two = new float[rows * n];
                    try (NativeCpuBackend b1 = new NativeCpuBackend(1); NativeCpuBackend b2 = new NativeCpuBackend(2)) {
                        b1.matmulPacked(w, b, x, rows, one);
                        b2.matmulPacked(w, b, x, rows, two);
                        assertArrayEquals(one, two, p[0] + " K=" + k + " N=" + n + ": 1 vs 2 threads");
                        for (int r = 0; r < rows; r++) {
                            float[] alone = new float[n];
                            b2.matmulPacked(w, b, Arrays.copyOfRange(x, r * k, (r + 1) * k), 1, alone);
                            assertArrayEquals(Arrays.copyOfRange(one, r * n, (r + 1) * n), alone,
                                    p[0] + " K=" + k + " N=" + n + ": row " + r + " alone vs in a batch");
                        }
                        if ((long) n * k <= 1 << 18) {
                            expected(w, b, x, rows).check(one, p[0] + " backend K=" + k + " N=" + n);
                        }
                    }
                }
            }
        }
    }

    /** A BF16 bias is added in Java after the call, still within the reference bound. */
    @Test
    void backendAddsNonF32BiasInJava() {
        Random rnd = new Random(11);
        int n = 33;
        int k = 128;
        int rows = 3;
        float[] x = NativeCpuBackendTest.random(rnd, rows * k);
        try (NativeCpuBackend nb = new NativeCpuBackend(2)) {
            RtnPacked w = quantized(PRECISIONS[0], n, k, 3);
            Tensor bb = NativeCpuBackendTest.weights("bb", DType.BF16, NativeCpuBackendTest.random(rnd, n), n);
            float[] out = new float[rows * n];
            nb.matmulPacked(w, bb, x, rows, out);
            expected(w, bb, x, rows).check(out, "rtn with a BF16 bias");
        }
    }

    @Test
    void badArgumentsStatusNamesTheOp() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        float[] a = new float[64];
        MemorySegment s = MemorySegment.ofArray(a);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> lib.matmulRtn(s, s, s, 0, MemorySegment.NULL, s, 1, 16, 1, 0, 1, s));
        assertTrue(e.getMessage().startsWith("rv_matmul_rtn_u8_f32 failed with status 1"), e.getMessage());
        for (String sfx : NativeGgufTest.kernels(lib)) {
            int st = (int) lib.rtnHandle(C_NAME + sfx).invokeExact(s, s, s, -1L, MemorySegment.NULL, s, 1L, 16L,
                    1L, 0L, 2L, s);
            assertEquals(1, st, "n1 > n " + sfx);
        }
    }
}
