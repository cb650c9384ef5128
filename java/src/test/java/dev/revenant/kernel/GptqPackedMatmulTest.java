package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.quant.GptqPacked;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link GptqPacked}: a g_idx weight (act-order groups) equals the formula scale[g_idx[c]]·(q − zero[g_idx[c]])
 * element by element, and every CPU backend's matmul on it (RTN kernel on permuted inputs) equals the
 * reference matmul within fp32 summation-order rounding: |Δ| ≤ (K + 2)·2⁻²⁴·Σ|x·w| (the bound of a sum of
 * K products in another order).
 */
class GptqPackedMatmulTest {

    private record Case(int rows, int cols, int bits, int group, byte[] q, float[] scale, float[] zero, int[] gIdx) {
    }

    // an act-order layout: groups formed along a random column permutation (g_idx[perm[k]] = k / group)
    private static Case actOrder(int rows, int cols, int bits, int group, long seed) {
        Random r = new Random(seed);
        int groups = (cols + group - 1) / group;
        List<Integer> order = new ArrayList<>();
        for (int c = 0; c < cols; c++) {
            order.add(c);
        }
        java.util.Collections.shuffle(order, r);
        int[] gIdx = new int[cols];
        for (int k = 0; k < cols; k++) {
            gIdx[order.get(k)] = k / group;
        }
        byte[] q = new byte[rows * cols];
        for (int i = 0; i < q.length; i++) {
            q[i] = (byte) r.nextInt(1 << bits);
        }
        float[] scale = new float[groups * rows];
        float[] zero = new float[groups * rows];
        for (int i = 0; i < scale.length; i++) {
            scale[i] = 0.01f + r.nextFloat() * 0.05f;
            zero[i] = r.nextInt(1 << bits);
        }
        return new Case(rows, cols, bits, group, q, scale, zero, gIdx);
    }

    private static GptqPacked packed(Case c) {
        return GptqPacked.of("t.weight", "gptq-w" + c.bits + "-g" + c.group + "-act", c.rows, c.cols, c.bits, c.group, false,
                c.q, c.scale, c.zero, c.gIdx);
    }

    @Test
    void dequantizeFollowsGIdx() {
        Case c = actOrder(7, 33, 4, 8, 1);
        GptqPacked w = packed(c);
        assertNotNull(w.perm());
        for (int r = 0; r < c.rows; r++) {
            for (int col = 0; col < c.cols; col++) {
                int g = c.gIdx[col];
                float want = c.scale[g * c.rows + r] * ((float) (c.q[r * c.cols + col] & 0xFF) - c.zero[g * c.rows + r]);
                assertEquals(want, w.dequantize(r, col), 0f, "(" + r + ", " + col + ")");
                assertEquals(c.q[r * c.cols + col] & 0xFF, w.code(r, col));
            }
        }
        assertEquals(java.util.Arrays.toString(c.gIdx), java.util.Arrays.toString(w.gIdx()));
    }

    @Test
    void contiguousGroupsNeedNoPermutation() {
        Case c = actOrder(3, 16, 4, 8, 2);
        int[] plain = new int[16];
        for (int i = 0; i < 16; i++) {
            plain[i] = i / 8;
        }
        GptqPacked w = GptqPacked.of("t.weight", "gptq-w4-g8", 3, 16, 4, 8, false, c.q, c.scale, c.zero, plain);
        assertNull(w.perm());
        assertEquals(c.q[5] & 0xFF, w.code(0, 5));
    }

    @Test
    void unequalGroupsAreRefusedNamingTheTensor() {
        Case c = actOrder(2, 16, 4, 8, 3);
        int[] bad = new int[16];
        bad[0] = 1; // group 0 gets 15 columns, group 1 only 1
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GptqPacked.of("m.q_proj.weight", "gptq-w4-g8-act", 2, 16, 4, 8, false, c.q, c.scale, c.zero, bad));
        assertTrue(e.getMessage().contains("m.q_proj.weight"), e.getMessage());
    }

    @Test
    void everyBackendMatchesTheReference() throws Exception {
        int[][] shapes = {{1, 7, 1}, {7, 33, 3}, {33, 127, 64}, {5, 4097, 1}};
        List<Backend> backends = new ArrayList<>(List.of(new ReferenceBackend(), Backends.create("vector", 2)));
        if (NativeLibrary.available()) {
            backends.add(Backends.create("native", 2));
        }
        for (int[] s : shapes) {
            Case c = actOrder(s[0], s[1], 4, 16, s[1]);
            GptqPacked w = packed(c);
            int rows = s[2];
            Random r = new Random(rows);
            float[] x = new float[rows * c.cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            float[] ref = new float[rows * c.rows];
            PackedReference.matmul(w, null, x, rows, ref);
            for (Backend be : backends) {
                float[] out = new float[rows * c.rows];
                be.matmulPacked(w, null, x, rows, out);
                for (int i = 0; i < out.length; i++) {
                    int row = i / c.rows;
                    int j = i % c.rows;
                    double mag = 0;
                    for (int k = 0; k < c.cols; k++) {
                        mag += Math.abs((double) x[row * c.cols + k] * w.dequantize(j, k));
                    }
                    double tol = (c.cols + 2) * 0x1p-24 * mag;
                    assertEquals(ref[i], out[i], tol, be.name() + " " + java.util.Arrays.toString(s) + " element " + i);
                }
            }
        }
        for (Backend be : backends) {
            be.close();
        }
    }
}
