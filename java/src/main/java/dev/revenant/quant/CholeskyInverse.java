package dev.revenant.quant;

/**
 * The factor GPTQ needs: the upper Cholesky factor {@code U} of {@code H⁻¹} ({@code H⁻¹ = UᵀU}), in double.
 *
 * <p>The authors compute {@code cholesky(H)}, {@code cholesky_inverse}, then {@code cholesky(H⁻¹, upper)}:
 * three O(n³) passes. The same unique factor comes from one Cholesky and one triangular inverse: with
 * {@code J} the order-reversing permutation and {@code JHJ = L'L'ᵀ} (lower Cholesky),
 * {@code H⁻¹ = J L'⁻ᵀ L'⁻¹ J = (J L'⁻¹ J)ᵀ (J L'⁻¹ J)}, and {@code J L'⁻¹ J} is upper triangular with a
 * positive diagonal, so it is {@code U}. Cost {@code n³/3} multiply-adds instead of about {@code n³}.
 *
 * <p>Both passes are blocked (panel {@value #NB}) so that their O(n³) part is a rank-{@value #NB} or
 * rank-{@value #KC} update ({@link DenseKernels}) over fixed tiles run in parallel; every element's sums
 * run in a fixed order, so the result does not depend on the thread count.
 */
final class CholeskyInverse {
    static final int NB = 64;   // panel / row-block width
    static final int NC = 256;  // column tile: 4 accumulator rows of 2 KiB stay in L1
    static final int KC = 256;  // depth tile: a KC × NC block of b (512 KiB) stays in L2
    static final int ROWS_PER_TASK = 64;

    private CholeskyInverse() {
    }

    /** The matrix is not positive definite: the pivot of column {@code column} (of H, 0-based) was {@code pivot}. */
    static final class NotPositiveDefinite extends RuntimeException {
        final int column;
        final double pivot;

        NotPositiveDefinite(int column, double pivot) {
            super("pivot " + pivot + " at column " + column);
            this.column = column;
            this.pivot = pivot;
        }
    }

    /**
     * {@code U} with {@code H⁻¹ = UᵀU} for the symmetric positive definite {@code h} ({@code [n][n]} rows;
     * only the lower triangle is read; the rows are consumed). Returned in fp32 rows, upper triangle set,
     * lower triangle zero, as GPTQ's update loops use it.
     *
     * @throws NotPositiveDefinite naming the column of {@code h} whose pivot was not positive
     */
    static float[][] upperOfInverse(double[][] h) {
        int n = h.length;
        // a = J h J: reverse the row order and each row
        for (int i = 0; i < n / 2; i++) {
            double[] t = h[i];
            h[i] = h[n - 1 - i];
            h[n - 1 - i] = t;
        }
        for (double[] row : h) {
            for (int i = 0, j = n - 1; i < j; i++, j--) {
                double t = row[i];
                row[i] = row[j];
                row[j] = t;
            }
        }
        try {
            choleskyLower(h);
        } catch (NotPositiveDefinite e) {
            throw new NotPositiveDefinite(n - 1 - e.column, e.pivot);
        }
        invertLower(h);
        float[][] u = new float[n][];
        for (int i = 0; i < n; i++) {
            double[] x = h[n - 1 - i];
            float[] row = new float[n];
            for (int j = i; j < n; j++) {
                row[j] = (float) x[n - 1 - j];
            }
            u[i] = row;
            h[n - 1 - i] = null;
        }
        return u;
    }

    /** In place: the lower triangle of {@code a} becomes L with {@code a = LLᵀ}; the upper triangle becomes 0. */
    static void choleskyLower(double[][] a) {
        int n = a.length;
        double[][] p = new double[NB][];
        for (int kb = 0; kb < n; kb += NB) {
            int k0 = kb;
            int k1 = Math.min(n, k0 + NB);
            int nb = k1 - k0;
            // diagonal block, unblocked (its rows already carry every earlier panel's update)
            for (int j = k0; j < k1; j++) {
                double s = a[j][j];
                for (int m = k0; m < j; m++) {
                    s -= a[j][m] * a[j][m];
                }
                if (!(s > 0) || !Double.isFinite(s)) {
                    throw new NotPositiveDefinite(j, s);
                }
                double d = Math.sqrt(s);
                a[j][j] = d;
                for (int i = j + 1; i < k1; i++) {
                    double t = a[i][j];
                    for (int m = k0; m < j; m++) {
                        t -= a[i][m] * a[j][m];
                    }
                    a[i][j] = t / d;
                }
            }
            int w = n - k1;
            if (w == 0) {
                break;
            }
            // panel L21 = A21 · L11⁻ᵀ, solved transposed (p[m][i - k1] = L[i][k0 + m]) so the loops run along i
            for (int m = 0; m < nb; m++) {
                if (p[m] == null || p[m].length < w) {
                    p[m] = new double[w];
                }
            }
            int tiles = (w + NC - 1) / NC;
            DenseKernels.parallel(tiles, t -> {
                int i0 = k1 + t * NC;
                int i1 = Math.min(n, i0 + NC);
                for (int i = i0; i < i1; i++) {
                    for (int m = 0; m < nb; m++) {
                        p[m][i - k1] = a[i][k0 + m];
                    }
                }
                for (int j = 0; j < nb; j++) {
                    double[] pj = p[j];
                    for (int m = 0; m < j; m++) {
                        double l = a[k0 + j][k0 + m];
                        double[] pm = p[m];
                        for (int i = i0 - k1; i < i1 - k1; i++) {
                            pj[i] -= l * pm[i];
                        }
                    }
                    double d = a[k0 + j][k0 + j];
                    for (int i = i0 - k1; i < i1 - k1; i++) {
                        pj[i] /= d;
                    }
                }
                for (int i = i0; i < i1; i++) {
                    for (int m = 0; m < nb; m++) {
                        a[i][k0 + m] = p[m][i - k1];
                    }
                }
                // negated copy for the trailing update: a[i][j] += Σ_m L[i][k0+m] · (−L[j][k0+m])
                for (int m = 0; m < nb; m++) {
                    for (int i = i0 - k1; i < i1 - k1; i++) {
                        p[m][i] = -p[m][i];
                    }
                }
            });
            // trailing update of the lower triangle: A22 -= L21 L21ᵀ (rows i, columns k1 ≤ j ≤ i, a few past the
            // diagonal in the last 4-row group: those upper entries are never read and are zeroed at the end)
            int tasks = (w + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
            DenseKernels.parallel(tasks, t -> {
                int r0 = k1 + t * ROWS_PER_TASK;
                int r1 = Math.min(n, r0 + ROWS_PER_TASK);
                for (int j0 = k1; j0 < r1; j0 += NC) {
                    for (int i = r0; i < r1; i += 4) {
                        int ie = Math.min(r1, i + 4);
                        int len = Math.min(j0 + NC, ie) - j0;
                        if (len > 0) {
                            DenseKernels.accRows(a, j0, a, k0, i, ie, p, 0, j0 - k1, nb, len);
                        }
                    }
                }
            });
        }
        for (int i = 0; i < n; i++) {
            java.util.Arrays.fill(a[i], i + 1, n, 0.0);
        }
    }

    /**
     * In place: the lower-triangular {@code a} (zero upper triangle, positive diagonal) becomes {@code a⁻¹}.
     * Row block {@code I} of {@code X = L⁻¹} solves {@code L_II X_I = −L_I,<I X_<I} (plus {@code L_II⁻¹}
     * on its diagonal block); every column of X is independent ({@code L x_j = e_j}), so each block is
     * split into column tiles that run in parallel: first the rank-{@code i0} update from the finished
     * rows (tiled by {@value #KC}), then forward substitution through the block's own rows.
     */
    static void invertLower(double[][] a) {
        int n = a.length;
        double[][] lp = new double[NB][];
        for (int ib = 0; ib < n; ib += NB) {
            int i0 = ib;
            int i1 = Math.min(n, i0 + NB);
            int nb = i1 - i0;
            for (int t = 0; t < nb; t++) {
                lp[t] = java.util.Arrays.copyOf(a[i0 + t], i1); // L rows of the block, read while X overwrites them
            }
            int tiles = (i1 + NC - 1) / NC;
            DenseKernels.parallel(tiles, tile -> {
                int j0 = tile * NC;
                int je = Math.min(i1, j0 + NC);
                int len = je - j0;
                double[][] r = new double[nb][len];
                // r_t[j] = Σ_{m ∈ [j0, i0)} L[i0+t][m] · X[m][j]   (X[m][j] = 0 for j > m)
                int jl = Math.min(je, i0) - j0;
                if (jl > 0) {
                    for (int m0 = j0; m0 < i0; m0 += KC) {
                        int depth = Math.min(i0, m0 + KC) - m0;
                        DenseKernels.accRows(r, 0, lp, m0, 0, nb, a, m0, j0, depth, jl);
                    }
                }
                for (int t = 0; t < nb; t++) {
                    int i = i0 + t;
                    double[] rt = r[t];
                    for (int m = i0; m < i; m++) {
                        double l = lp[t][m];
                        double[] xm = a[m];
                        int hi = Math.min(je, m + 1) - j0;
                        for (int k = 0; k < hi; k++) {
                            rt[k] += l * xm[j0 + k];
                        }
                    }
                    double d = lp[t][i];
                    int hi = Math.min(je, i) - j0;
                    double[] xi = a[i];
                    for (int k = 0; k < hi; k++) {
                        xi[j0 + k] = -rt[k] / d;
                    }
                    if (i >= j0 && i < je) {
                        xi[i] = 1.0 / d;
                    }
                }
            });
        }
    }
}
