package dev.revenant.quant;

/**
 * GPTQ's layer Hessian {@code H = 2/N · Σ x xᵀ} for one Linear input of width {@code in} (GPTQ paper, §3:
 * the Hessian of the layer-wise squared error {@code ‖WX − ŴX‖²}), accumulated as the authors'
 * {@code GPTQ.add_batch} does (IST-DASLab/gptq {@code gptq.py}): a running mean over calls,
 * <pre>
 *   H ← H · n/(n+t) + 2/(n+t) · XᵀX,   n ← n + t          X: [rows, in], the batch's inputs
 * </pre>
 * where {@code t} is what the mean counts. The authors count <em>samples</em> ({@code inp.shape[0]} of a
 * {@code [batch, seq, in]} input), not tokens, so their H is {@code 2/nsamples · Σ_tokens x xᵀ}: the
 * fixture's {@code H} (16 samples × 64 tokens, one sample per call) equals {@code 2/16 · XᵀX}. The
 * scale of H does not change GPTQ's result (dampening is relative to the mean diagonal, and the error
 * feedback {@code (w−q)/U_ii · U_i,:} is invariant under H → cH), so a driver may count either; it must
 * only count consistently. H is kept in double: its entries reach ~1e4 in the fixture and a
 * 65k-token calibration set sums 65k fp32 products per entry; the later Cholesky runs in double anyway.
 *
 * <p>Not thread-safe; one instance per Linear input (q/k/v share one, gate/up share one).
 */
public final class Hessian {
    private final String name;
    private final int in;
    private final double[] h; // [in, in], row-major, symmetric
    private long count;

    /** An empty Hessian ({@code n = 0}) for the input of the layer(s) named {@code name}. */
    public Hessian(String name, int in) {
        if (in <= 0) {
            throw new IllegalArgumentException(name + ": Hessian width must be positive, found " + in);
        }
        if ((long) in * in > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException(name + ": Hessian of width " + in + " is too large");
        }
        this.name = name;
        this.in = in;
        this.h = new double[in * in];
    }

    /** A Hessian given as a full matrix {@code [in, in]} (e.g. the fixture's {@code H}), counted as {@code count}. */
    public static Hessian of(String name, int in, float[] matrix, long count) {
        Hessian hs = new Hessian(name, in);
        if (matrix.length != in * in) {
            throw new IllegalArgumentException(name + ": Hessian of " + matrix.length + " values for [" + in + ", " + in + "]");
        }
        for (int i = 0; i < matrix.length; i++) {
            hs.h[i] = hs.finite(matrix[i], i);
        }
        hs.count = count;
        return hs;
    }

    public String name() {
        return name;
    }

    public int columns() {
        return in;
    }

    /** The running count {@code n} (samples or tokens, as the caller counts). */
    public long count() {
        return count;
    }

    /** Entry {@code (i, j)}. */
    public double get(int i, int j) {
        return h[i * in + j];
    }

    /** H itself, for {@link GptqFactor} (read only). */
    double[] raw() {
        return h;
    }

    /** A copy of H {@code [in, in]}, row-major. */
    public double[] matrix() {
        return h.clone();
    }

    /**
     * Adds a batch given by its Gram matrix {@code gram = XᵀX} ({@code [in, in]}, row-major, symmetric),
     * counted as {@code t} (the authors: the number of samples in the batch). The driver computes the
     * Gram matrix with a backend GEMM; it must be finite.
     */
    public void addGram(float[] gram, int t) {
        if (gram.length != in * in) {
            throw new IllegalArgumentException(name + ": Gram matrix of " + gram.length + " values for [" + in + ", " + in + "]");
        }
        for (int i = 0; i < gram.length; i++) {
            finite(gram[i], i);
        }
        double keep = (double) count / (count + t);
        double add = 2.0 / (count + t);
        for (int i = 0; i < h.length; i++) {
            h[i] = h[i] * keep + add * gram[i];
        }
        count += t;
    }

    /** {@link #addGram} with one sample of {@code rows} tokens: the reference form of the authors' per-sample call. */
    public void addRows(float[] x, int rows) {
        addRows(x, rows, 1);
    }

    /**
     * Adds the batch {@code x [rows, in]} counted as {@code t}: the plain reference (Gram matrix in double,
     * upper triangle then mirrored), O(rows · in²); a driver uses {@link #addGram} with a fast GEMM.
     */
    public void addRows(float[] x, int rows, int t) {
        if (x.length < (long) rows * in) {
            throw new IllegalArgumentException(name + ": " + x.length + " inputs for [" + rows + ", " + in + "]");
        }
        double[] g = new double[in * in];
        double[] xr = new double[in];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < in; j++) {
                xr[j] = finiteInput(x[r * in + j], r, j);
            }
            for (int i = 0; i < in; i++) {
                double xi = xr[i];
                if (xi != 0) {
                    int o = i * in;
                    for (int j = i; j < in; j++) {
                        g[o + j] += xi * xr[j];
                    }
                }
            }
        }
        double keep = (double) count / (count + t);
        double add = 2.0 / (count + t);
        for (int i = 0; i < in; i++) {
            for (int j = i; j < in; j++) {
                double v = h[i * in + j] * keep + add * g[i * in + j];
                h[i * in + j] = v;
                h[j * in + i] = v;
            }
        }
        count += t;
    }

    private double finite(float v, int i) {
        if (!Float.isFinite(v)) {
            throw new IllegalArgumentException(name + ": non-finite Hessian entry " + v + " at (" + i / in + ", " + i % in
                    + "); the calibration inputs of this layer overflowed or hold NaN");
        }
        return v;
    }

    private double finiteInput(float v, int r, int j) {
        if (!Float.isFinite(v)) {
            throw new IllegalArgumentException(name + ": non-finite calibration input " + v + " at token " + r + ", channel " + j);
        }
        return v;
    }

    @Override
    public String toString() {
        return "Hessian[" + name + ", " + in + "x" + in + ", n=" + count + "]";
    }
}
