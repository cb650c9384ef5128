package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.quant.Int8Bnb;
import dev.revenant.quant.Int8Packed;
import dev.revenant.quant.Quantizers;
import dev.revenant.quant.Precision;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The LLM.int8 kernels of native/ (rv_matmul_int8_f32 and its generic/AVX2/AVX-512 variants): the int8 products
 * are exact in int32 and the fp16 epilogue is Int8Bnb's, so every kernel must equal {@link Int8Bnb#matmulPerRow}
 * bit for bit, with and without outlier columns (|x| ≥ 6), at odd sizes, alone and in a batch.
 */
@Tag("native")
class NativeInt8Test {
    private static final String C_NAME = "rv_matmul_int8_f32";

    @BeforeAll
    static void needsLibrary() {
        Assumptions.assumeTrue(NativeLibrary.available(), NativeLibrary.unavailableReason());
    }

    static Int8Packed weight(int n, int k, long seed) {
        return (Int8Packed) Quantizers.quantize(Precision.parse("int8"), Weights.random(DType.F32, n, k, seed));
    }

    // activations ~ N(0, 1.5) with a few large entries (|x| up to 40: outliers), magnitudes down to fp16 subnormals
    static float[] activations(Random r, int rows, int k, boolean outliers) {
        float[] x = new float[rows * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 1.5);
            if (i % 97 == 5) {
                x[i] *= 1e-6f;
            }
            if (outliers && r.nextInt(40) == 0) {
                x[i] = (r.nextBoolean() ? 1 : -1) * (6f + 34f * r.nextFloat());
            }
        }
        return x;
    }

    static float[] call(NativeLibrary lib, String name, Int8Packed w, float[] x, int rows) throws Throwable {
        return call(lib, name, w, x, rows, new long[] {0, w.rows()});
    }

    /** One call per column range [split[i], split[i + 1]) into the same output, as the backend's chunks do. */
    static float[] call(NativeLibrary lib, String name, Int8Packed w, float[] x, int rows, long[] split) throws Throwable {
        Int8Bnb.Int8Rows a = Int8Bnb.prepareRows(x, rows, w.cols());
        float[] out = new float[rows * w.rows()];
        Arrays.fill(out, Float.NaN);
        for (int i = 0; i + 1 < split.length; i++) {
            int st = (int) lib.int8Handle(name).invokeExact(MemorySegment.ofArray(w.cb()), MemorySegment.ofArray(w.scb()),
                    MemorySegment.ofArray(a.ca()), MemorySegment.ofArray(a.sca()), MemorySegment.ofArray(a.xh()),
                    MemorySegment.ofArray(a.outlierStart()), MemorySegment.ofArray(a.outlierCols()), (long) rows,
                    (long) w.cols(), (long) w.rows(), split[i], split[i + 1], MemorySegment.ofArray(out));
            assertEquals(0, st, name);
        }
        return out;
    }

    /** The kernels of {@link NativeGgufTest#kernels} and, where the CPU has it, the AVX-512 VNNI one. */
    static java.util.List<String> int8Kernels(NativeLibrary lib) {
        java.util.List<String> ks = NativeGgufTest.kernels(lib);
        if (lib.supports("avx512vnni")) {
            ks.add("_avx512vnni");
        }
        return ks;
    }

    @Test
    void everyKernelEqualsTheReferenceBitForBit() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(9);
        for (int k : new int[] {1, 15, 33, 64, 127, 4097}) {
            for (int n : new int[] {1, 7, 33}) {
                Int8Packed w = weight(n, k, 31L * n + k);
                for (int rows : new int[] {1, 3, 5}) {
                    for (boolean outliers : new boolean[] {false, true}) {
                        float[] x = activations(rnd, rows, k, outliers);
                        float[] want = new float[rows * n];
                        Int8Bnb.matmulPerRow(x, rows, k, w, want);
                        for (String sfx : int8Kernels(lib)) {
                            assertArrayEquals(want, call(lib, C_NAME + sfx, w, x, rows),
                                    C_NAME + sfx + " K=" + k + " N=" + n + " rows=" + rows + " outliers=" + outliers);
                        }
                    }
                }
            }
        }
    }

    /**
     * The batched VNNI tile (4 rows x 6 columns) and its edges: rows not a multiple of 4, columns not a multiple of 6
     * or crossing a 96-column block, k tails (1, 33, 4097) and k blocks (5200, 12345), calls split at odd columns.
     */
    @Test
    void batchedTilesAndTailsEqualTheReference() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(17);
        for (int k : new int[] {1, 33, 64, 4097, 5200, 12345}) {
            for (int n : new int[] {1, 6, 13, 100}) {
                Int8Packed w = weight(n, k, 7L * n + k);
                for (int rows : new int[] {2, 5, 16, 19, 64, 130}) {
                    if ((long) rows * n * k > 30_000_000L) {
                        continue;
                    }
                    for (boolean outliers : new boolean[] {false, true}) {
                        float[] x = activations(rnd, rows, k, outliers);
                        float[] want = new float[rows * n];
                        Int8Bnb.matmulPerRow(x, rows, k, w, want);
                        long[] split = {0, n / 3, n / 3 + (n > 1 ? 1 : 0), n};
                        for (String sfx : int8Kernels(lib)) {
                            String what = C_NAME + sfx + " K=" + k + " N=" + n + " rows=" + rows + " outliers=" + outliers;
                            assertArrayEquals(want, call(lib, C_NAME + sfx, w, x, rows), what);
                            assertArrayEquals(want, call(lib, C_NAME + sfx, w, x, rows, split), what + " split");
                        }
                    }
                }
            }
        }
    }

    /**
     * Codes at +-127 on both sides: the largest int32 sums, and (k = 140000, every product +16129) a sum beyond
     * 2^31 that wraps, in Java's int as in the kernels' int32 lanes; also weight codes of -128, which only a
     * hand-made Int8Packed has. Activations of one magnitude quantize to +-127 (no outliers: |x| < 6).
     */
    @Test
    void extremeCodesAndWrappingSums() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(5);
        for (int k : new int[] {63, 4097, 140000}) {
            for (int mode = 0; mode < 3; mode++) {
                int n = 7;
                byte[] cb = new byte[n * k];
                float[] scb = new float[n];
                for (int i = 0; i < cb.length; i++) {
                    cb[i] = (byte) switch (mode) {
                        case 0 -> 127;
                        case 1 -> rnd.nextBoolean() ? 127 : -127;
                        default -> rnd.nextBoolean() ? 127 : -128;
                    };
                }
                for (int j = 0; j < n; j++) {
                    scb[j] = 0.01f + 0.001f * j;
                }
                Int8Packed w = new Int8Packed("extreme", n, k, cb, scb);
                for (int rows : new int[] {1, 2, 5}) {
                    float[] x = new float[rows * k];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = mode == 0 || rnd.nextBoolean() ? 1.5f : -1.5f;
                    }
                    float[] want = new float[rows * n];
                    Int8Bnb.matmulPerRow(x, rows, k, w, want);
                    for (String sfx : int8Kernels(lib)) {
                        assertArrayEquals(want, call(lib, C_NAME + sfx, w, x, rows),
                                C_NAME + sfx + " K=" + k + " mode=" + mode + " rows=" + rows);
                    }
                }
            }
        }
    }

    /** k = 0: every sum is 0, at one row and batched (the batched VNNI path once left its sums unset there). */
    @Test
    void emptyRowsGiveTheReference() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        for (int n : new int[] {1, 13}) {
            float[] scb = new float[n];
            Arrays.fill(scb, 0.5f);
            Int8Packed w = new Int8Packed("empty", n, 0, new byte[0], scb);
            for (int rows : new int[] {1, 2, 5}) {
                float[] want = new float[rows * n];
                Int8Bnb.matmulPerRow(new float[0], rows, 0, w, want);
                for (String sfx : int8Kernels(lib)) {
                    assertArrayEquals(want, call(lib, C_NAME + sfx, w, new float[0], rows), C_NAME + sfx + " N=" + n
                            + " rows=" + rows);
                }
            }
        }
    }

    /**
     * Through the backend (bias added in Java, as the reference): threads, chunking (decode, batched and, from 16
     * rows, the wide chunks) and batch composition change nothing.
     */
    @Test
    void backendMatchesTheReferenceAloneAndInABatch() {
        Random rnd = new Random(4);
        for (int rows : new int[] {6, 19}) {
            for (int[] kn : new int[][] {{2048, 33}, {128, 1031}, {31, 7}, {4097, 301}}) {
                int k = kn[0];
                int n = kn[1];
                Int8Packed w = weight(n, k, n + 7L * k);
                Tensor b = Tensor.ofFloats("b", NativeCpuBackendTest.random(rnd, n), n);
                float[] x = activations(rnd, rows, k, true);
                float[] want = new float[rows * n];
                PackedReference.matmul(w, b, x, rows, want);
                try (NativeCpuBackend b1 = new NativeCpuBackend(1); NativeCpuBackend b2 = new NativeCpuBackend(2)) {
                    float[] one = new float[rows * n];
                    float[] two = new float[rows * n];
                    b1.matmulPacked(w, b, x, rows, one);
                    b2.matmulPacked(w, b, x, rows, two);
                    String what = "K=" + k + " N=" + n + " rows=" + rows;
                    assertArrayEquals(want, one, what + " 1 thread vs reference");
                    assertArrayEquals(want, two, what + " 2 threads vs reference");
                    for (int r = 0; r < rows; r++) {
                        float[] alone = new float[n];
                        b2.matmulPacked(w, b, Arrays.copyOfRange(x, r * k, (r + 1) * k), 1, alone);
                        assertArrayEquals(Arrays.copyOfRange(want, r * n, (r + 1) * n), alone, what + " row " + r + " alone");
                    }
                }
            }
        }
    }

    /** Outlier columns really take the fp16 path: zeroing their codes would change the result. */
    @Test
    void outliersMatter() throws Throwable {
        Int8Packed w = weight(5, 64, 1);
        float[] x = new float[64];
        x[3] = 20f;
        x[10] = 0.5f;
        float[] got = call(NativeLibrary.get(), C_NAME, w, x, 1);
        boolean nonzero = false;
        for (float v : got) {
            nonzero |= Math.abs(v) > 1e-3;
        }
        assertTrue(nonzero, Arrays.toString(got));
    }
}
