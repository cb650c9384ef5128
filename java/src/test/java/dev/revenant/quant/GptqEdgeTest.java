package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** GPTQ's linear algebra at odd sizes, thread-count independence, dead columns and the errors at the boundary. */
class GptqEdgeTest {

    static double[][] spd(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[][] b = new double[n][n];
        for (double[] row : b) {
            for (int j = 0; j < n; j++) {
                row[j] = rnd.nextGaussian();
            }
        }
        double[][] a = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = i == j ? n : 0;
                for (int m = 0; m < n; m++) {
                    s += b[i][m] * b[j][m];
                }
                a[i][j] = s;
            }
        }
        return a;
    }

    // sizes around the panel (64) and tile (256) widths
    @ParameterizedTest
    @ValueSource(ints = {1, 7, 31, 33, 64, 65, 127, 300})
    void choleskyAndInverseMatchTheDefinitions(int n) {
        double[][] a = spd(n, n);
        double[][] l = new double[n][];
        for (int i = 0; i < n; i++) {
            l[i] = a[i].clone();
        }
        CholeskyInverse.choleskyLower(l);
        double scale = a[0][0];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (j > i) {
                    assertEquals(0.0, l[i][j], 0.0, "upper triangle zeroed");
                }
                double s = 0;
                for (int m = 0; m <= Math.min(i, j); m++) {
                    s += l[i][m] * l[j][m];
                }
                assertEquals(a[i][j], s, 1e-12 * scale * n, "L L^T (" + i + "," + j + ")");
            }
        }
        double[][] x = new double[n][];
        for (int i = 0; i < n; i++) {
            x[i] = l[i].clone();
        }
        CholeskyInverse.invertLower(x);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int m = 0; m < n; m++) {
                    s += x[i][m] * l[m][j];
                }
                assertEquals(i == j ? 1.0 : 0.0, s, 1e-11, "X L (" + i + "," + j + ")");
            }
        }
        // U with U^T U = A^-1, upper: U^T U A = I (U is rounded to fp32: ~1e-7 relative)
        double[][] h = new double[n][];
        for (int i = 0; i < n; i++) {
            h[i] = a[i].clone();
        }
        float[][] u = CholeskyInverse.upperOfInverse(h);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) {
                assertEquals(0f, u[i][j], 0f, "U lower");
            }
            assertTrue(u[i][i] > 0);
        }
        double[][] utu = new double[n][n]; // (U^T U)[i][k]
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < n; k++) {
                double uu = 0;
                for (int m = 0; m <= Math.min(i, k); m++) {
                    uu += (double) u[m][i] * u[m][k];
                }
                utu[i][k] = uu;
            }
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    s += utu[i][k] * a[k][j];
                }
                assertEquals(i == j ? 1.0 : 0.0, s, 2e-6, "U^T U A (" + i + "," + j + ")");
            }
        }
    }

    static float[] weights(int rows, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * (i % cols % 37 == 0 ? 4 : 1));
        }
        return w;
    }

    static Hessian hessian(String name, int cols, int tokens, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[tokens * cols];
        for (int t = 0; t < tokens; t++) {
            double shared = rnd.nextGaussian();
            for (int c = 0; c < cols; c++) {
                x[t * cols + c] = (float) ((rnd.nextGaussian() + 0.5 * shared) * (c % 29 == 0 ? 8 : 1));
            }
        }
        Hessian h = new Hessian(name, cols);
        h.addRows(x, tokens);
        return h;
    }

    @Test
    void resultDoesNotDependOnTheThreadCount() throws Exception {
        int rows = 100;
        int cols = 300; // two column tiles in the factorization, four row tasks
        float[] w = weights(rows, cols, 1);
        Hessian h = hessian("mlp", cols, 400, 2);
        GptqQuantizer q = new GptqQuantizer(new Precision.IntSpec(4, 64, false, true, false));
        GptqResult one;
        GptqResult three;
        try (ForkJoinPool p1 = new ForkJoinPool(1); ForkJoinPool p3 = new ForkJoinPool(3)) {
            one = p1.submit(() -> q.quantize("w", w, rows, cols, q.factor(h))).get();
            three = p3.submit(() -> q.quantize("w", w, rows, cols, q.factor(h))).get();
        }
        assertArrayEquals(one.packed().body().codes(), three.packed().body().codes());
        assertArrayEquals(one.packed().body().scale(), three.packed().body().scale());
        assertArrayEquals(one.packed().body().zero(), three.packed().body().zero());
        assertArrayEquals(one.packed().gIdx(), three.packed().gIdx());
        assertEquals(one.loss(), three.loss(), 0.0);
    }

    @Test
    void deadColumnsAreZeroedAndActOrderGroupsAreContiguousAfterSorting() {
        int rows = 5;
        int cols = 40;
        SplittableRandom rnd = new SplittableRandom(4);
        float[] x = new float[60 * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (i % cols == 3) ? 0f : (float) (rnd.nextGaussian() * (1 + i % cols));
        }
        Hessian h = new Hessian("attn", cols);
        h.addRows(x, 60);
        assertEquals(0.0, h.get(3, 3), 0.0);
        GptqQuantizer q = new GptqQuantizer(new Precision.IntSpec(3, 16, false, true, false));
        GptqFactor f = q.factor(h);
        assertTrue(f.dead(3) && !f.dead(4));
        int[] perm = f.perm();
        for (int k = 0; k + 1 < cols; k++) { // argsort(diag, descending), the dead column's diagonal counted as 1
            double a = perm[k] == 3 ? 1 : h.get(perm[k], perm[k]);
            double b = perm[k + 1] == 3 ? 1 : h.get(perm[k + 1], perm[k + 1]);
            assertTrue(a >= b, "perm position " + k);
        }
        assertEquals(3, perm[cols - 1], "the dead column (diag 1) comes last");
        GptqResult r = q.quantize("w", weights(rows, cols, 3), rows, cols, f);
        for (int row = 0; row < rows; row++) {
            assertEquals(0f, r.packed().dequantize(row, 3), 0f, "dead column");
        }
        int[] gIdx = r.packed().gIdx();
        for (int k = 0; k < cols; k++) {
            assertEquals(k / 16, gIdx[r.actOrder()[k]], "g_idx[perm[k]] = k / group");
        }
    }

    @Test
    void errorsNameTheTensorAndSuggestDamping() {
        GptqQuantizer q = new GptqQuantizer(new Precision.IntSpec(4, -1, false, false, false));
        // indefinite: eigenvalues -1 and 3; 1% of the mean diagonal cannot fix it
        Hessian bad = Hessian.of("model.layers.2.mlp.down_proj", 2, new float[] {1, 2, 2, 1}, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.factor(bad));
        assertTrue(e.getMessage().contains("model.layers.2.mlp.down_proj") && e.getMessage().contains("--damp"), e.getMessage());
        // a large enough damping makes it positive definite
        new GptqQuantizer(q.spec(), 3.0, 128).factor(bad);

        e = assertThrows(IllegalArgumentException.class,
                () -> Hessian.of("layers.0.q", 2, new float[] {1, Float.NaN, 0, 1}, 1));
        assertTrue(e.getMessage().contains("layers.0.q"), e.getMessage());
        Hessian h = new Hessian("layers.0.q", 2);
        e = assertThrows(IllegalArgumentException.class, () -> h.addGram(new float[] {1, 0, 0, Float.POSITIVE_INFINITY}, 1));
        assertTrue(e.getMessage().contains("layers.0.q"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> h.addRows(new float[] {1, Float.NaN}, 1));
        assertTrue(e.getMessage().contains("layers.0.q"), e.getMessage());

        Hessian ok = Hessian.of("h", 2, new float[] {2, 0, 0, 2}, 1);
        e = assertThrows(IllegalArgumentException.class,
                () -> q.quantize("layers.0.self_attn.o_proj.weight", new float[] {1, Float.NaN}, 1, 2, q.factor(ok)));
        assertTrue(e.getMessage().contains("layers.0.self_attn.o_proj.weight"), e.getMessage());
        GptqQuantizer act = new GptqQuantizer(new Precision.IntSpec(4, -1, false, true, false));
        e = assertThrows(IllegalArgumentException.class, () -> act.quantize("w", new float[2], 1, 2, q.factor(ok)));
        assertTrue(e.getMessage().contains("act-order"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> q.quantize("w", new float[3], 1, 3, q.factor(ok)));
        assertTrue(e.getMessage().contains("w"), e.getMessage());
    }

    @Test
    void precisionNames() {
        GptqQuantizer q = GptqQuantizer.of(Precision.parse("gptq-w4-g128-act"));
        assertEquals(new Precision.IntSpec(4, 128, false, true, false), q.spec());
        assertEquals("gptq-w4-g128-act", q.precisionName());
        assertEquals("gptq-w8", GptqQuantizer.of(Precision.parse("gptq-w8")).precisionName());
        assertEquals("gptq-w3-g64-sym-act-static", GptqQuantizer.of(Precision.parse("gptq-w3-g64-sym-act-static")).precisionName());
        assertThrows(IllegalArgumentException.class, () -> GptqQuantizer.of(Precision.parse("rtn-w4-g128")));
        assertThrows(IllegalArgumentException.class, () -> new GptqQuantizer(new Precision.IntSpec(1, 128, false, false, false)));
    }
}
