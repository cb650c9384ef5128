package dev.revenant.quant;

import java.util.Arrays;

/**
 * Everything GPTQ derives from a layer's Hessian alone, computed once and shared by the Linear layers
 * that read the same input (q/k/v, gate/up): the dead columns, the act-order permutation, the dampening
 * and the upper Cholesky factor of the damped inverse. Steps and order as the authors' {@code fasterquant}
 * (IST-DASLab/gptq {@code gptq.py}; GPTQ paper §4, "Cholesky reformulation"):
 * <ol>
 *   <li>dead columns: {@code diag(H)[i] == 0} → {@code H[i,i] = 1} (the weights' column i is zeroed by the quantizer);
 *   <li>act-order ({@code desc_act}): {@code perm = argsort(diag(H), descending)}, {@code H = H[perm][:, perm]};
 *       ties keep the lower index first (a stable sort; torch's argsort leaves ties unspecified);
 *   <li>{@code H[i,i] += percdamp · mean(diag(H))};
 *   <li>{@code U = cholesky(H⁻¹, upper)}, in double here (the authors: fp32 on the GPU), then rounded to
 *       fp32 for the update loops, which run in fp32 like the reference.
 * </ol>
 */
public final class GptqFactor {
    private final String name;
    private final int n;
    private final boolean[] dead;
    private final int[] perm;
    private final double damp;
    private final double percdamp;
    final float[][] u; // [n][n], upper triangle, in permuted column order

    private GptqFactor(String name, boolean[] dead, int[] perm, double damp, double percdamp, float[][] u) {
        this.name = name;
        this.n = dead.length;
        this.dead = dead;
        this.perm = perm;
        this.damp = damp;
        this.percdamp = percdamp;
        this.u = u;
    }

    /**
     * Factors {@code hessian} for GPTQ.
     *
     * @param actOrder process columns by decreasing {@code diag(H)} ({@code desc_act})
     * @param percdamp dampening as a fraction of the mean diagonal (the authors' default 0.01)
     * @throws IllegalArgumentException naming the layer when H holds NaN/Inf, or when H + damping is not
     *     positive definite (with the column and a hint to raise {@code --damp})
     */
    public static GptqFactor of(Hessian hessian, boolean actOrder, double percdamp) {
        String name = hessian.name();
        if (!(percdamp >= 0) || !Double.isFinite(percdamp)) {
            throw new IllegalArgumentException(name + ": dampening must be a finite fraction >= 0, found " + percdamp);
        }
        int n = hessian.columns();
        double[] flat = hessian.raw(); // read only: the dead-column fix goes to diag[]
        for (int i = 0; i < flat.length; i++) {
            if (!Double.isFinite(flat[i])) {
                throw new IllegalArgumentException(name + ": non-finite Hessian entry " + flat[i] + " at (" + i / n + ", "
                        + i % n + ")");
            }
        }
        boolean[] dead = new boolean[n];
        double[] diag = new double[n];
        for (int i = 0; i < n; i++) {
            dead[i] = flat[i * n + i] == 0;
            diag[i] = dead[i] ? 1 : flat[i * n + i];
        }
        int[] perm = null;
        if (actOrder) {
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (x, y) -> Double.compare(diag[y], diag[x])); // stable: ties by index
            perm = new int[n];
            for (int i = 0; i < n; i++) {
                perm[i] = order[i];
            }
        }
        double[][] h = new double[n][];
        double mean = 0;
        for (int i = 0; i < n; i++) {
            int pi = perm == null ? i : perm[i];
            double[] row = new double[n];
            int o = pi * n;
            for (int j = 0; j < n; j++) { // full rows: the factorization reverses the order, then reads the lower part
                row[j] = flat[o + (perm == null ? j : perm[j])];
            }
            row[i] = diag[pi];
            h[i] = row;
            mean += row[i];
        }
        mean /= n;
        double damp = percdamp * mean;
        for (int i = 0; i < n; i++) {
            h[i][i] += damp;
        }
        float[][] u;
        try {
            u = CholeskyInverse.upperOfInverse(h);
        } catch (CholeskyInverse.NotPositiveDefinite e) {
            int col = perm == null ? e.column : perm[e.column];
            throw new IllegalArgumentException(name + ": the Hessian is not positive definite even after dampening "
                    + "(percdamp " + percdamp + ", damp " + damp + "; pivot " + e.pivot + " at input column " + col
                    + "); raise the dampening (--damp, e.g. 0.1) or use more calibration data", e);
        }
        return new GptqFactor(name, dead, perm, damp, percdamp, u);
    }

    public String name() {
        return name;
    }

    public int columns() {
        return n;
    }

    /** Whether input column {@code c} (original order) never saw a non-zero calibration input. */
    public boolean dead(int c) {
        return dead[c];
    }

    /** The act-order permutation ({@code perm[k]} = original column quantized k-th), or null. A copy. */
    public int[] perm() {
        return perm == null ? null : perm.clone();
    }

    int[] permShared() {
        return perm;
    }

    boolean[] deadShared() {
        return dead;
    }

    /** The value added to the diagonal. */
    public double damp() {
        return damp;
    }

    public double percdamp() {
        return percdamp;
    }

    /** {@code U[i][j]} of the factor (permuted order), {@code j ≥ i}. */
    public float u(int i, int j) {
        return u[i][j];
    }
}
