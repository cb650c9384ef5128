package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.revenant.quant.Bnb4;
import dev.revenant.quant.Bnb4Packed;
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
 * The bitsandbytes 4-bit kernels of native/ (rv_matmul_bnb4_f32 and its generic/AVX2/AVX-512 variants) against
 * {@link PackedReference}, as NativeRtnTest does for RTN: within the fp32 summation bound of the reference
 * (|Δ| ≤ (K + 2)·2⁻²⁴·Σ|x·w|), the decode exact, every instruction set bit-identical, rows alone = in a batch.
 */
@Tag("native")
class NativeBnb4Test {
    private static final String C_NAME = "rv_matmul_bnb4_f32";
    private static final Bnb4Packed.Kind[] KINDS = Bnb4Packed.Kind.values();

    @BeforeAll
    static void needsLibrary() {
        Assumptions.assumeTrue(NativeLibrary.available(), NativeLibrary.unavailableReason());
    }

    static Bnb4Packed quantized(Bnb4Packed.Kind kind, int n, int k, long seed) {
        return Bnb4.quantize(Weights.random(DType.F32, n, k, seed), kind);
    }

    static float[] table(Bnb4Packed.Kind kind) {
        float[] t = new float[16];
        for (int c = 0; c < 16; c++) {
            t[c] = Bnb4.codeValue(kind, c);
        }
        return t;
    }

    static NativeGgufTest.Expected expected(Bnb4Packed w, Tensor bias, float[] x, int rows) {
        int n = (int) w.shape()[0];
        int k = (int) w.shape()[1];
        float[] ref = new float[rows * n];
        PackedReference.matmul(w, bias, x, rows, ref);
        double[] tol = new double[rows * n];
        for (int j = 0; j < n; j++) {
            for (int r = 0; r < rows; r++) {
                double mag = bias == null ? 0 : Math.abs(bias.getFloat(j));
                for (int i = 0; i < k; i++) {
                    mag += Math.abs((double) x[r * k + i] * w.dequantize((long) j * k + i));
                }
                tol[r * n + j] = (k + 2) * 0x1p-24 * mag;
            }
        }
        return new NativeGgufTest.Expected(ref, tol, n);
    }

    static float[] call(NativeLibrary lib, String name, Bnb4Packed w, float[] bias, float[] x, int rows) throws Throwable {
        MethodHandle h = lib.bnb4Handle(name);
        int n = (int) w.shape()[0];
        int k = (int) w.shape()[1];
        float[] out = new float[rows * n];
        MemorySegment b = bias == null ? MemorySegment.NULL : MemorySegment.ofArray(bias);
        int st = (int) h.invokeExact(MemorySegment.ofArray(w.packed()), MemorySegment.ofArray(w.absmax()),
                MemorySegment.ofArray(table(w.kind())), b, MemorySegment.ofArray(x), (long) rows, (long) k, (long) n, 0L,
                (long) n, MemorySegment.ofArray(out));
        assertEquals(0, st, name);
        return out;
    }

    /** Every kernel at odd shapes (k % 64 != 0 takes the element-by-element decode), with and without bias. */
    @Test
    void everyKernelMatchesTheReference() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(42);
        for (Bnb4Packed.Kind kind : KINDS) {
            for (int k : new int[] {1, 33, 64, 127, 4096}) {
                for (int n : new int[] {1, 7, 33}) {
                    Bnb4Packed w = quantized(kind, n, k, 31L * n + k);
                    float[] b = NativeCpuBackendTest.random(rnd, n);
                    Tensor bt = Tensor.ofFloats("b", b, n);
                    for (int rows : new int[] {1, 3, 5}) {
                        float[] x = NativeCpuBackendTest.random(rnd, rows * k);
                        NativeGgufTest.Expected e = expected(w, bt, x, rows);
                        for (String sfx : NativeGgufTest.kernels(lib)) {
                            e.check(call(lib, C_NAME + sfx, w, b, x, rows), kind + " " + C_NAME + sfx + " K=" + k + " N=" + n
                                    + " rows=" + rows);
                        }
                    }
                }
            }
        }
    }

    /** One-hot rows of x pick single weights: the kernels' decode gives Bnb4Packed's floats bit for bit. */
    @Test
    void decodeIsExact() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        for (Bnb4Packed.Kind kind : KINDS) {
            for (int k : new int[] {128, 150}) {
                int n = 11;
                Bnb4Packed w = quantized(kind, n, k, 5);
                float[] x = new float[k * k];
                for (int i = 0; i < k; i++) {
                    x[i * k + i] = 1f;
                }
                float[] expect = new float[k * n];
                for (int i = 0; i < k; i++) {
                    for (int j = 0; j < n; j++) {
                        expect[i * n + j] = w.dequantize((long) j * k + i) + 0f; // -0 sums to +0, as in the kernels
                    }
                }
                for (String sfx : NativeGgufTest.kernels(lib)) {
                    assertArrayEquals(expect, call(lib, C_NAME + sfx, w, null, x, k), kind + " " + C_NAME + sfx + " K=" + k);
                }
            }
        }
    }

    /** generic, avx2 and avx512 give the same bits (the order is fixed by K alone), fast and scalar paths alike. */
    @Test
    void everyInstructionSetGivesTheSameBits() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(3);
        for (Bnb4Packed.Kind kind : KINDS) {
            // 8320 x 37: the AVX-512 decode's x blocks of 4096 (three, the last partial) and column groups of 32
            // {32768, 50} at 40 rows: the GEMM core's two super-groups of rows (4 MiB of packed x: 32 rows, then 8) and its
            // column blocks of 48 (then 2)
            for (int[] kn : new int[][] {{4096, 9}, {31, 5}, {200, 31}, {1, 1}, {4160, 3}, {8320, 37}, {32768, 50}}) {
                for (int rows : new int[] {1, 2, 3, 4, 5, 7, 9, 19, 37, 40}) { // 19: gemm_few_avx512.h; 37, 40: gemm_avx512.h
                    if (kn[0] == 32768 && (rows != 40 || kind != KINDS[0])) { // the generic kernel is slow
                        continue;
                    }
                    Bnb4Packed w = quantized(kind, kn[1], kn[0], rows * 7L + kn[0]);
                    float[] b = NativeCpuBackendTest.random(rnd, kn[1]);
                    float[] x = NativeCpuBackendTest.random(rnd, rows * kn[0]);
                    float[] expect = call(lib, C_NAME + "_generic", w, b, x, rows);
                    for (String sfx : NativeGgufTest.kernels(lib)) {
                        assertArrayEquals(expect, call(lib, C_NAME + sfx, w, b, x, rows),
                                kind + " " + C_NAME + sfx + " vs generic, K=" + kn[0] + " N=" + kn[1] + " rows=" + rows);
                    }
                }
            }
        }
    }

    /** Through the backend: 1 thread == 2 threads, and each row alone == in the batch, bit for bit. */
    @Test
    void batchAloneAndThreadCountGiveTheSameBits() {
        Random rnd = new Random(7);
        // where k is a multiple of 64 the second batch size takes native/src/gemm_few_avx512.h, the third gemm_avx512.h
        for (int rows : new int[] {6, NativeCpuBackend.GEMM_ROWS + 3, NativeCpuBackend.GEMM_T_ROWS + 3}) {
            for (Bnb4Packed.Kind kind : KINDS) {
                for (int[] kn : new int[][] {{2048, 33}, {128, 1031}, {31, 7}}) {
                    int k = kn[0];
                    int n = kn[1];
                    Bnb4Packed w = quantized(kind, n, k, n + 17L * k);
                    Tensor b = Tensor.ofFloats("b", NativeCpuBackendTest.random(rnd, n), n);
                    float[] x = NativeCpuBackendTest.random(rnd, rows * k);
                    float[] one = new float[rows * n];
                    float[] two = new float[rows * n];
                    try (NativeCpuBackend b1 = new NativeCpuBackend(1); NativeCpuBackend b2 = new NativeCpuBackend(2)) {
                        b1.matmulPacked(w, b, x, rows, one);
                        b2.matmulPacked(w, b, x, rows, two);
                        assertArrayEquals(one, two, kind + " K=" + k + " N=" + n + ": 1 vs 2 threads");
                        for (int r = 0; r < rows; r++) {
                            float[] alone = new float[n];
                            b2.matmulPacked(w, b, Arrays.copyOfRange(x, r * k, (r + 1) * k), 1, alone);
                            assertArrayEquals(Arrays.copyOfRange(one, r * n, (r + 1) * n), alone,
                                    kind + " K=" + k + " N=" + n + ": row " + r + " alone vs in a batch");
                        }
                        expected(w, b, x, rows).check(one, kind + " backend K=" + k + " N=" + n);
                    }
                }
            }
        }
    }
}
