package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.quant.GgufBlocks;
import dev.revenant.quant.GgufPacked;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.RtnQuantizer;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/**
 * The GGUF block kernels of native/ (rv_matmul_q8_0_f32, rv_matmul_q4_0_f32 and their generic/AVX2/AVX-512
 * variants) against {@link PackedReference} (design.md, conventions 1 and 8).
 */
@Tag("native")
class NativeGgufTest {

    private static final GgufPacked.Type[] TYPES = GgufPacked.Type.values();

    @BeforeAll
    static void needsLibrary() {
        Assumptions.assumeTrue(NativeLibrary.available(), NativeLibrary.unavailableReason());
    }

    static GgufPacked quantized(GgufPacked.Type type, int n, int k, long seed) {
        return GgufBlocks.quantize(Weights.random(DType.F32, n, k, seed), type);
    }

    /**
     * Random blocks straight from bytes: every int8/nibble pattern, and scales from every fp16 class but
     * infinities and NaNs (zero, subnormal, normal up to 65504, both signs).
     */
    static GgufPacked rawBlocks(GgufPacked.Type type, int n, int k, long seed) {
        Random rnd = new Random(seed);
        byte[] b = new byte[n * (k / 32) * type.blockBytes()];
        rnd.nextBytes(b);
        for (int off = 0; off < b.length; off += type.blockBytes()) {
            int h;
            do {
                h = switch (rnd.nextInt(4)) {
                    case 0 -> 0;
                    case 1 -> rnd.nextInt(0x400); // subnormal
                    default -> rnd.nextInt(0x7c00);
                } | (rnd.nextBoolean() ? 0x8000 : 0);
            } while ((h & 0x7c00) == 0x7c00);
            b[off] = (byte) h;
            b[off + 1] = (byte) (h >> 8);
        }
        return new GgufPacked(type, "raw", n, k, b);
    }

    /** |got − ref| ≤ (K + 2)·2⁻²⁴·(Σ|x·w| + |bias|) per output: both sums' rounding, plus the bias add. */
    static void assertClose(GgufPacked w, Tensor bias, float[] x, int rows, float[] got, String what) {
        expected(w, bias, x, rows).check(got, what);
    }

    /** PackedReference's output and the tolerance of each element, computed once for several kernels. */
    record Expected(float[] ref, double[] tol, int n) {
        void check(float[] got, String what) {
            for (int i = 0; i < ref.length; i++) {
                if (!(Math.abs((double) got[i] - ref[i]) <= tol[i])) {
                    throw new AssertionError(what + " [" + i / n + ", " + i % n + "]: expected " + ref[i] + " ± " + tol[i]
                            + ", found " + got[i]);
                }
            }
        }
    }

    static Expected expected(GgufPacked w, Tensor bias, float[] x, int rows) {
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
        return new Expected(ref, tol, n);
    }

    /** The C kernels this CPU runs, by suffix: "" (dispatching) and the supported instruction sets. */
    static List<String> kernels(NativeLibrary lib) {
        List<String> ks = new ArrayList<>(List.of(""));
        for (String isa : NativeLibrary.ISAS) {
            if (lib.supports(isa)) {
                ks.add("_" + isa);
            }
        }
        return ks;
    }

    static float[] call(NativeLibrary lib, String name, GgufPacked w, float[] bias, float[] x, int rows) throws Throwable {
        MethodHandle h = lib.matmulHandle(name);
        float[] out = new float[rows * w.rows()];
        MemorySegment b = bias == null ? MemorySegment.NULL : MemorySegment.ofArray(bias);
        int st = (int) h.invokeExact(MemorySegment.ofArray(w.blocks()), b, MemorySegment.ofArray(x), (long) rows,
                (long) w.cols(), (long) w.rows(), 0L, (long) w.rows(), MemorySegment.ofArray(out));
        assertEquals(0, st, name);
        return out;
    }

    static String cName(GgufPacked.Type t) {
        return "rv_matmul_" + t.precision() + "_f32";
    }

    /** Every kernel (dispatching, generic, avx2, avx512) at odd shapes, with and without bias. */
    @Test
    void everyKernelMatchesTheReference() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(42);
        for (GgufPacked.Type t : TYPES) {
            for (int k : new int[] {32, 64, 4096}) {
                for (int n : new int[] {1, 7, 33, 127}) {
                    GgufPacked w = quantized(t, n, k, 31L * n + k);
                    float[] b = NativeCpuBackendTest.random(rnd, n);
                    Tensor bt = Tensor.ofFloats("b", b, n);
                    for (int rows : new int[] {1, 3, 64}) {
                        float[] x = NativeCpuBackendTest.random(rnd, rows * k);
                        // 64 rows: with bias only (the reference at 64 x 127 x 4096 takes seconds)
                        for (boolean withBias : rows == 64 ? new boolean[] {true} : new boolean[] {false, true}) {
                            Expected e = expected(w, withBias ? bt : null, x, rows);
                            for (String sfx : kernels(lib)) {
                                float[] out = call(lib, cName(t) + sfx, w, withBias ? b : null, x, rows);
                                e.check(out, cName(t) + sfx + " K=" + k + " N=" + n + " rows=" + rows + " bias=" + withBias);
                            }
                        }
                    }
                }
            }
        }
    }

    /** One-hot rows of x pick single weights, so the kernels' decode must give GgufBlocks' floats bit for bit. */
    @Test
    void decodeIsExactForEveryScaleClass() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        for (GgufPacked.Type t : TYPES) {
            int n = 13;
            int k = 96;
            GgufPacked w = rawBlocks(t, n, k, 5);
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
            for (String sfx : kernels(lib)) {
                assertArrayEquals(expect, call(lib, cName(t) + sfx, w, null, x, k), cName(t) + sfx + " decode");
            }
            float[] xr = NativeCpuBackendTest.random(new Random(9), 5 * k);
            for (String sfx : kernels(lib)) {
                assertClose(w, null, xr, 5, call(lib, cName(t) + sfx, w, null, xr, 5), cName(t) + sfx + " raw blocks");
            }
        }
    }

    /** generic, avx2 and avx512 give the same bits (the order is fixed by K alone). */
    @Test
    void everyInstructionSetGivesTheSameBits() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(3);
        for (GgufPacked.Type t : TYPES) {
            // {32768, 50} at 40 rows: the GEMM core's two super-groups of rows (4 MiB of packed x: 32 rows, then 8) and its
            // column blocks of 48 (then 2); {8224, 33}: k > 8192, where Q8_0 takes column blocks of 32
            for (int[] kn : new int[][] {{4096, 9}, {32, 5}, {96, 31}, {32, 1}, {32768, 50}, {8224, 33}}) {
                for (int rows : new int[] {1, 2, 3, 4, 5, 6, 7, 9, 19, 37, 40}) { // 19: gemm_few_avx512.h; 37, 40: gemm_avx512.h
                    if (kn[0] == 32768 && (rows != 40 || t != GgufPacked.Type.Q4_0)) { // the generic kernel is slow
                        continue;
                    }
                    GgufPacked w = quantized(t, kn[1], kn[0], rows * 7L + kn[0]);
                    float[] b = NativeCpuBackendTest.random(rnd, kn[1]);
                    float[] x = NativeCpuBackendTest.random(rnd, rows * kn[0]);
                    float[] expect = call(lib, cName(t) + "_generic", w, b, x, rows);
                    for (String sfx : kernels(lib)) {
                        assertArrayEquals(expect, call(lib, cName(t) + sfx, w, b, x, rows),
                                cName(t) + sfx + " vs generic, K=" + kn[0] + " N=" + kn[1] + " rows=" + rows);
                    }
                }
            }
        }
    }

    /** Through the backend: 1 thread == 2 threads, and each row alone == in the batch, bit for bit. */
    @Test
    void batchAloneAndThreadCountGiveTheSameBits() {
        Random rnd = new Random(7);
        for (int rows : new int[] {9, NativeCpuBackend.GEMM_ROWS + 3, NativeCpuBackend.GEMM_T_ROWS + 3}) { // the GEMM cores: few, lanes
        for (GgufPacked.Type t : TYPES) {
            for (int[] kn : new int[][] {{4096, 33}, {128, 4097}, {2048, 130}, {32, 7}}) {
                int k = kn[0];
                int n = kn[1];
                GgufPacked w = quantized(t, n, k, n + 17L * k);
                Tensor b = Tensor.ofFloats("b", NativeCpuBackendTest.random(rnd, n), n);
                float[] x = NativeCpuBackendTest.random(rnd, rows * k);
                float[] one = new float[rows * n];
                float[] two = new float[rows * n];
                try (NativeCpuBackend b1 = new NativeCpuBackend(1); NativeCpuBackend b2 = new NativeCpuBackend(2)) {
                    b1.matmulPacked(w, b, x, rows, one);
                    b2.matmulPacked(w, b, x, rows, two);
                    assertArrayEquals(one, two, t + " K=" + k + " N=" + n + ": 1 vs 2 threads");
                    for (int r = 0; r < rows; r++) {
                        float[] alone = new float[n];
                        b2.matmulPacked(w, b, Arrays.copyOfRange(x, r * k, (r + 1) * k), 1, alone);
                        assertArrayEquals(Arrays.copyOfRange(one, r * n, (r + 1) * n), alone,
                                t + " K=" + k + " N=" + n + ": row " + r + " alone vs in a batch");
                    }
                    if ((long) n * k <= 1 << 18) {
                        assertClose(w, b, x, rows, one, t + " backend K=" + k + " N=" + n);
                    }
                }
            }
        }
        }
    }

    @Test
    void backendAddsNonF32BiasInJavaAndDelegatesOtherTypes() {
        Random rnd = new Random(11);
        int n = 33;
        int k = 128;
        int rows = 3;
        float[] x = NativeCpuBackendTest.random(rnd, rows * k);
        try (NativeCpuBackend nb = new NativeCpuBackend(2); VectorBackend vb = new VectorBackend(2)) {
            GgufPacked w = quantized(GgufPacked.Type.Q4_0, n, k, 3);
            Tensor bb = NativeCpuBackendTest.weights("bb", DType.BF16, NativeCpuBackendTest.random(rnd, n), n);
            float[] out = new float[rows * n];
            nb.matmulPacked(w, bb, x, rows, out);
            assertClose(w, bb, x, rows, out, "Q4_0 with a BF16 bias");

            // a packed type without a C kernel (bitsandbytes NF4) still runs the Vector API kernel, bit for bit
            QuantizedWeight nf4 = dev.revenant.quant.Quantizers.quantize(dev.revenant.quant.Precision.parse("nf4"),
                    Weights.random(DType.F32, n, k, 4));
            float[] got = new float[rows * n];
            float[] want = new float[rows * n];
            nb.matmulPacked(nf4, null, x, rows, got);
            vb.matmulPacked(nf4, null, x, rows, want);
            assertArrayEquals(want, got, "nf4 via the vector backend");
        }
    }

    @Test
    void badShapeStatusNamesTheOp() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        float[] a = new float[64];
        MemorySegment s = MemorySegment.ofArray(a);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> lib.matmulQ8_0(s, MemorySegment.NULL, s, 1, 48, 1, 0, 1, s));
        assertTrue(e.getMessage().startsWith("rv_matmul_q8_0_f32 failed with status 1"), e.getMessage());
        for (String sfx : kernels(lib)) {
            int st = (int) lib.matmulHandle("rv_matmul_q4_0_f32" + sfx).invokeExact(s, MemorySegment.NULL, s, 1L, 16L,
                    1L, 0L, 1L, s);
            assertEquals(1, st, "K=16 " + sfx);
        }
    }
}
