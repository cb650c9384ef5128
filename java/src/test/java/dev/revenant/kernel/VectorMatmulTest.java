package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** VectorBackend.matmul against ReferenceBackend (design.md, convention 1), and its determinism contract. */
class VectorMatmulTest {
    private static final ReferenceBackend REF = new ReferenceBackend();
    private static VectorBackend one;
    private static VectorBackend two;
    private static VectorBackend three;

    @BeforeAll
    static void open() {
        one = new VectorBackend(1);
        two = new VectorBackend(2);
        three = new VectorBackend(3);
    }

    @AfterAll
    static void close() {
        one.close();
        two.close();
        three.close();
    }

    /** (N, K) pairs over the odd sizes 1, 7, 31, 33, 127, 4097: every K class (tail only, vectors + tail, unrolled). */
    static Stream<Arguments> shapes() {
        int[][] nk = {{1, 1}, {7, 31}, {33, 7}, {31, 127}, {127, 33}, {1, 4097}, {33, 4097}, {4097, 7}, {7, 64}};
        return Stream.of(DType.F32, DType.BF16, DType.F16).flatMap(d -> Arrays.stream(nk)
                .flatMap(s -> Stream.of(1, 3, 5).flatMap(r -> Stream.of(false, true)
                        .map(b -> Arguments.of(d, s[0], s[1], r, b)))));
    }

    /**
     * Tolerance |vec − ref| ≤ 1e-5 · max(1, Σ_k |x_k w_k|). Both sides compute the same exact products
     * (BF16/F16 widen to fp32 exactly) and differ only in fp32 summation order: sequential in the
     * reference, 4·L partial sums plus a lane fold here. Each order's rounding error is at most
     * (K−1)·2^-24·Σ|x w| in the worst case and grows like √K·2^-24·Σ|x w| (≈ 4e-6 at K = 4097) for these
     * random-sign inputs; 1e-5 keeps that margin while any indexing or conversion bug, which errs by
     * a whole product |x w|, fails.
     */
    @ParameterizedTest(name = "{0} N={1} K={2} rows={3} bias={4}")
    @MethodSource("shapes")
    void matchesReference(DType dtype, int n, int k, int rows, boolean withBias) {
        Tensor w = Weights.random(dtype, n, k, 31L * n + k);
        Tensor bias = withBias ? Tensor.ofFloats("b", Weights.floats(n, 7), n) : null;
        float[] x = Weights.floats(rows * k, 11);
        float[] ref = new float[rows * n];
        REF.matmul(w, bias, x, rows, ref);
        for (VectorBackend be : new VectorBackend[] {one, two}) {
            float[] out = new float[rows * n];
            be.matmul(w, bias, x, rows, out);
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < n; j++) {
                    double mag = 0;
                    for (int i = 0; i < k; i++) {
                        mag += Math.abs(x[r * k + i] * WeightReader.get(w, (long) j * k + i));
                    }
                    double tol = 1e-5 * Math.max(1, mag);
                    float got = out[r * n + j];
                    float want = ref[r * n + j];
                    if (!(Math.abs(got - want) <= tol)) {
                        fail(dtype + " [" + n + "," + k + "] threads=" + be.threads() + ": out[" + r + "," + j + "] = "
                                + got + ", reference " + want + " (tolerance " + tol + ")");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "BF16", "F16"})
    void rowInBatchEqualsRowAlone(DType dtype) {
        for (int k : new int[] {7, 33, 127, 4097}) {
            int n = 37;
            int rows = 5;
            Tensor w = Weights.random(dtype, n, k, k);
            Tensor bias = Tensor.ofFloats("b", Weights.floats(n, 3), n);
            float[] x = Weights.floats(rows * k, 5);
            for (VectorBackend be : new VectorBackend[] {one, two}) {
                float[] batch = new float[rows * n];
                be.matmul(w, bias, x, rows, batch);
                for (int r = 0; r < rows; r++) {
                    float[] xr = Arrays.copyOfRange(x, r * k, (r + 1) * k);
                    float[] alone = new float[n];
                    be.matmul(w, bias, xr, 1, alone);
                    assertArrayEquals(bits(alone), bits(Arrays.copyOfRange(batch, r * n, (r + 1) * n)),
                            dtype + " K=" + k + " row " + r + " threads=" + be.threads());
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "BF16", "F16"})
    void sameBitsWhateverTheThreadCount(DType dtype) {
        int n = 257;
        int k = 1031;
        Tensor w = Weights.random(dtype, n, k, 99);
        for (int rows : new int[] {1, 5, 9}) {
            float[] x = Weights.floats(rows * k, rows);
            float[] a = new float[rows * n];
            float[] b = new float[rows * n];
            float[] c = new float[rows * n];
            for (int rep = 0; rep < 3; rep++) { // later repetitions run JIT-compiled code
                one.matmul(w, null, x, rows, a);
                two.matmul(w, null, x, rows, b);
                three.matmul(w, null, x, rows, c);
                assertArrayEquals(bits(a), bits(b), dtype + " rows=" + rows + ": 1 vs 2 threads");
                assertArrayEquals(bits(a), bits(c), dtype + " rows=" + rows + ": 1 vs 3 threads");
            }
        }
    }

    @Test
    void specialValuesFollowIeee() {
        short[] h = {Float.floatToFloat16(Float.POSITIVE_INFINITY), Float.floatToFloat16(1f), 0x0001, (short) 0x8000};
        java.lang.foreign.MemorySegment seg = java.lang.foreign.MemorySegment.ofArray(new byte[h.length * 2]);
        for (int i = 0; i < h.length; i++) {
            seg.setAtIndex(Tensor.I16_LE, i, h[i]);
        }
        Tensor w = new Tensor("w", DType.F16, new long[] {h.length, 1}, seg);
        float[] out = new float[h.length];
        two.matmul(w, null, new float[] {2f}, 1, out);
        // 0f + 2·(−0) is +0 in the reference's order too
        assertArrayEquals(new float[] {Float.POSITIVE_INFINITY, 2f, 2 * 0x1p-24f, 0f}, out);
    }

    @Test
    void rejectsWrongShapes() {
        Tensor w = Weights.random(DType.BF16, 4, 8, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> one.matmul(w, null, new float[7], 1, new float[4]));
        assertTrue(e.getMessage().contains("w4x8"), e.getMessage());
        Tensor i32 = new Tensor("ids", DType.I32, new long[] {4, 8}, java.lang.foreign.MemorySegment.ofArray(new byte[128]));
        assertThrows(IllegalArgumentException.class, () -> one.matmul(i32, null, new float[8], 1, new float[4]));
    }

    @Test
    void emptyShapesAreFine() {
        Tensor w = Weights.random(DType.F32, 3, 0, 1);
        float[] out = {9f, 9f, 9f};
        two.matmul(w, null, new float[0], 1, out);
        assertArrayEquals(new float[3], out);
        assertEquals("vector", two.name());
        assertEquals(2, two.threads());
    }

    static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = Float.floatToRawIntBits(a[i]);
        }
        return b;
    }
}
