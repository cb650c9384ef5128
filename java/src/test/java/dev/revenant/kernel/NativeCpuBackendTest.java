package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/** The C kernels of native/ against the reference backend (design.md, conventions 1 and 8). */
@Tag("native")
class NativeCpuBackendTest {

    private static final int[] SIZES = {1, 7, 31, 33, 127, 4097};

    @BeforeAll
    static void needsLibrary() {
        Assumptions.assumeTrue(NativeLibrary.available(), NativeLibrary.unavailableReason());
    }

    static float[] random(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }

    /** A heap [n, k] tensor of {@code dtype} (F32, BF16 or F16) holding {@code v} rounded to it. */
    static Tensor weights(String name, DType dtype, float[] v, long... shape) {
        if (dtype == DType.F32) {
            return Tensor.ofFloats(name, v, shape);
        }
        MemorySegment seg = MemorySegment.ofArray(new byte[v.length * 2]);
        for (int i = 0; i < v.length; i++) {
            short h = dtype == DType.BF16 ? (short) (Float.floatToRawIntBits(v[i]) >>> 16) : Float.floatToFloat16(v[i]);
            seg.setAtIndex(Tensor.I16_LE, i, h);
        }
        return new Tensor(name, dtype, shape, seg);
    }

    /** |got − ref| ≤ 1e-5·max(1, Σ|x·w|) for every element. */
    static void assertClose(Tensor w, Tensor bias, float[] x, int rows, float[] got, String what) {
        int n = (int) w.dim(0);
        int k = (int) w.dim(1);
        float[] ref = new float[rows * n];
        new ReferenceBackend().matmul(w, bias, x, rows, ref);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < n; j++) {
                double mag = 0;
                for (int i = 0; i < k; i++) {
                    mag += Math.abs((double) x[r * k + i] * w.getFloat((long) j * k + i));
                }
                float e = ref[r * n + j];
                float g = got[r * n + j];
                double tol = 1e-5 * Math.max(1, mag);
                if (!(Math.abs(g - e) <= tol)) {
                    throw new AssertionError(what + " [" + r + ", " + j + "]: expected " + e + " ± " + tol + ", found " + g);
                }
            }
        }
    }

    @Test
    void matchesReferenceF32AndBf16() {
        Random rnd = new Random(42);
        try (NativeCpuBackend nb = new NativeCpuBackend(2)) {
            for (DType dt : new DType[] {DType.F32, DType.BF16}) {
                for (int k : SIZES) {
                    for (int n : SIZES) {
                        Tensor w = weights("w", dt, random(rnd, n * k), n, k);
                        Tensor b = Tensor.ofFloats("b", random(rnd, n), n);
                        for (int rows : new int[] {1, 3, 64}) {
                            if (rows == 64 && (long) n * k > 1L << 20) {
                                continue; // 64 × 4097 × 4097 takes the reference minutes; rows 1 and 3 cover it
                            }
                            float[] x = random(rnd, rows * k);
                            for (Tensor bias : new Tensor[] {null, b}) {
                                float[] out = new float[rows * n];
                                nb.matmul(w, bias, x, rows, out);
                                assertClose(w, bias, x, rows, out,
                                        dt + " K=" + k + " N=" + n + " rows=" + rows + " bias=" + (bias != null));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void batchAloneAndThreadCountGiveTheSameBits() {
        Random rnd = new Random(7);
        int rows = 9;
        for (DType dt : new DType[] {DType.F32, DType.BF16}) {
            for (int[] kn : new int[][] {{4097, 33}, {127, 4097}, {2048, 130}, {33, 7}}) {
                int k = kn[0];
                int n = kn[1];
                Tensor w = weights("w", dt, random(rnd, n * k), n, k);
                Tensor b = Tensor.ofFloats("b", random(rnd, n), n);
                float[] x = random(rnd, rows * k);
                float[] one = new float[rows * n];
                float[] two = new float[rows * n];
                try (NativeCpuBackend b1 = new NativeCpuBackend(1); NativeCpuBackend b2 = new NativeCpuBackend(2)) {
                    b1.matmul(w, b, x, rows, one);
                    b2.matmul(w, b, x, rows, two);
                    assertArrayEquals(one, two, dt + " K=" + k + " N=" + n + ": 1 vs 2 threads");
                    for (int r = 0; r < rows; r++) {
                        float[] alone = new float[n];
                        b2.matmul(w, b, Arrays.copyOfRange(x, r * k, (r + 1) * k), 1, alone);
                        assertArrayEquals(Arrays.copyOfRange(one, r * n, (r + 1) * n), alone,
                                dt + " K=" + k + " N=" + n + ": row " + r + " alone vs in a batch");
                    }
                }
            }
        }
    }

    /** Every kernel this CPU runs (generic, avx2, avx512) gives the bits of the dispatched one. */
    @Test
    void everyInstructionSetGivesTheSameBits() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(3);
        for (String wt : new String[] {"f32", "bf16"}) {
            DType dt = wt.equals("f32") ? DType.F32 : DType.BF16;
            // rows 6 and 19: gemm_few_avx512.h; 40: the GEMM core (gemm_avx512.h), K = 4097 and 127 with the F32 order's
            // tail; {32768, 50} at 40 rows: the core's two super-groups of rows (4 MiB of packed x: 32 rows, then 8)
            // and its column blocks of 48 (then 2)
            for (int[] kn : new int[][] {{4097, 9}, {64, 5}, {127, 31}, {1, 1}, {32768, 50}}) {
                for (int rows : new int[] {6, 19, 40}) {
                    if (kn[0] == 32768 && rows != 40) {
                        continue;
                    }
                    int k = kn[0];
                    int n = kn[1];
                    Tensor w = weights("w", dt, random(rnd, n * k), n, k);
                    float[] bias = random(rnd, n);
                    float[] x = random(rnd, rows * k);
                    float[] expect = null;
                    for (String isa : NativeLibrary.ISAS) {
                        if (!lib.supports(isa)) {
                            continue;
                        }
                        MethodHandle h = lib.matmulHandle("rv_matmul_" + wt + "_f32_" + isa);
                        float[] out = new float[rows * n];
                        int st = (int) h.invokeExact(w.data(), MemorySegment.ofArray(bias), MemorySegment.ofArray(x),
                                (long) rows, (long) k, (long) n, 0L, (long) n, MemorySegment.ofArray(out));
                        assertEquals(0, st, isa);
                        if (expect == null) {
                            expect = out;
                        } else {
                            assertArrayEquals(expect, out, wt + " " + isa + " vs generic, K=" + k + " N=" + n + " rows=" + rows);
                        }
                    }
                }
            }
        }
    }

    @Test
    void badStatusNamesTheOp() {
        NativeLibrary lib = NativeLibrary.get();
        float[] a = new float[4];
        MemorySegment s = MemorySegment.ofArray(a);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> lib.matmulF32(s, MemorySegment.NULL, s, 1, 2, 2, 2, 1, s));
        assertTrue(e.getMessage().startsWith("rv_matmul_f32_f32 failed with status 1"), e.getMessage());
    }

    @Test
    void delegatesF16UnalignedAndNonF32Bias() {
        Random rnd = new Random(11);
        int n = 33;
        int k = 127;
        int rows = 3;
        float[] x = random(rnd, rows * k);
        try (NativeCpuBackend nb = new NativeCpuBackend(2)) {
            Tensor f16 = weights("w16", DType.F16, random(rnd, n * k), n, k);
            float[] out = new float[rows * n];
            nb.matmul(f16, null, x, rows, out);
            assertClose(f16, null, x, rows, out, "F16 via the vector backend");

            MemorySegment padded = MemorySegment.ofArray(new byte[n * k * 4 + 2]);
            Tensor src = Tensor.ofFloats("w", random(rnd, n * k), n, k);
            MemorySegment.copy(src.data(), 0, padded, 2, src.data().byteSize());
            Tensor odd = new Tensor("w", DType.F32, new long[] {n, k}, padded.asSlice(2, src.data().byteSize()));
            nb.matmul(odd, null, x, rows, out);
            assertClose(odd, null, x, rows, out, "F32 at an odd address");

            Tensor bw = weights("wb", DType.BF16, random(rnd, n * k), n, k);
            Tensor bb = weights("bb", DType.BF16, random(rnd, n), n);
            nb.matmul(bw, bb, x, rows, out);
            assertClose(bw, bb, x, rows, out, "BF16 bias added in Java");
        }
    }

    @Test
    void autoPicksNativeAndDescribesTheKernel() {
        try (Backend a = Backends.create("auto", 2); Backend n = Backends.create("native", 1)) {
            NativeCpuBackend nb = assertInstanceOf(NativeCpuBackend.class, a);
            assertEquals("native", n.name());
            assertTrue(Arrays.asList(NativeLibrary.ISAS).contains(nb.kernel()), nb.kernel());
            assertEquals("backend: native (C, " + nb.kernel() + ", 2 threads)", Backends.describe(a));
        }
    }
}
