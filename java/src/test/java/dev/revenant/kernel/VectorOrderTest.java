package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The matmul kernels follow the reduction order their class comments document, bit for bit, both
 * before and after C2 has compiled them: the order is written out here in scalar Java (one
 * {@link Math#fma} per lane, then the lane fold), which no JIT tier can change.
 */
class VectorOrderTest {
    private static final int L = VectorLanes.L;
    private static final int[] KS = {1, 7, 31, 33, 64, 127, 4097};
    private static VectorBackend two;

    @BeforeAll
    static void open() {
        two = new VectorBackend(2);
    }

    @AfterAll
    static void close() {
        two.close();
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "BF16", "F16"})
    void documentedOrderColdAndCompiled(DType dtype) {
        check(dtype);
        // run the kernels until C2 compiles them (rows=1 drives pair/row1, rows=5 rows4 as well)
        Tensor w = Weights.random(dtype, 8, 512, 3);
        float[] x = Weights.floats(5 * 512, 4);
        float[] out = new float[5 * 8];
        long t0 = System.nanoTime();
        for (int i = 0; i < 4000 && System.nanoTime() - t0 < 3_000_000_000L; i++) {
            two.matmul(w, null, x, 1 + (i & 1) * 4, out);
        }
        check(dtype);
    }

    private static void check(DType dtype) {
        for (int k : KS) {
            int n = 7;
            int rows = 5;
            Tensor w = Weights.random(dtype, n, k, k);
            float[] x = Weights.floats(rows * k, k + 1);
            float[] out = new float[rows * n];
            two.matmul(w, null, x, rows, out);
            float[] want = new float[rows * n];
            float[] wr = new float[k];
            float[] xr = new float[k];
            for (int j = 0; j < n; j++) {
                for (int i = 0; i < k; i++) {
                    wr[i] = WeightReader.get(w, (long) j * k + i);
                }
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(x, r * k, xr, 0, k);
                    want[r * n + j] = dtype == DType.BF16 ? orderBf16(wr, xr) : orderF32(wr, xr);
                }
            }
            assertArrayEquals(VectorMatmulTest.bits(want), VectorMatmulTest.bits(out), dtype + " K=" + k);
        }
    }

    /** VectorMatmulF32 / F16: a_u takes blocks of L in turn, leftover whole vectors go to a0. */
    private static float orderF32(float[] w, float[] x) {
        int k = w.length;
        float[][] a = new float[4][L];
        int i = 0;
        for (; i + 4 * L <= k; i += 4 * L) {
            for (int u = 0; u < 4; u++) {
                for (int l = 0; l < L; l++) {
                    int e = i + u * L + l;
                    a[u][l] = Math.fma(w[e], x[e], a[u][l]);
                }
            }
        }
        for (; i + L <= k; i += L) {
            for (int l = 0; l < L; l++) {
                a[0][l] = Math.fma(w[i + l], x[i + l], a[0][l]);
            }
        }
        return finish(a, w, x, i);
    }

    /** VectorMatmulBf16: per 2L block, a_even takes k = 2l, a_odd k = 2l + 1. */
    private static float orderBf16(float[] w, float[] x) {
        int k = w.length;
        float[][] a = new float[4][L];
        int i = 0;
        for (; i + 4 * L <= k; i += 4 * L) {
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < L; l++) {
                    int even = i + 2 * L * h + 2 * l;
                    a[2 * h][l] = Math.fma(w[even], x[even], a[2 * h][l]);
                    a[2 * h + 1][l] = Math.fma(w[even + 1], x[even + 1], a[2 * h + 1][l]);
                }
            }
        }
        for (; i + 2 * L <= k; i += 2 * L) {
            for (int l = 0; l < L; l++) {
                a[0][l] = Math.fma(w[i + 2 * l], x[i + 2 * l], a[0][l]);
                a[1][l] = Math.fma(w[i + 2 * l + 1], x[i + 2 * l + 1], a[1][l]);
            }
        }
        return finish(a, w, x, i);
    }

    /** (a0 + a1) + (a2 + a3), fold at distances L/2 .. 1, lane 0, then the scalar tail from {@code i}. */
    private static float finish(float[][] a, float[] w, float[] x, int i) {
        float[] v = new float[L];
        for (int l = 0; l < L; l++) {
            v[l] = (a[0][l] + a[1][l]) + (a[2][l] + a[3][l]);
        }
        for (int d = L / 2; d >= 1; d /= 2) {
            float[] f = new float[L];
            for (int l = 0; l < L; l++) {
                f[l] = v[l] + v[l ^ d];
            }
            v = f;
        }
        float s = v[0];
        for (; i < w.length; i++) {
            s += x[i] * w[i];
        }
        return s;
    }
}
