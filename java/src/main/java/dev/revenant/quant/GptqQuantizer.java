package dev.revenant.quant;

import dev.revenant.tensor.Tensor;
import java.util.Arrays;

/**
 * GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained
 * Transformers", ICLR 2023, Algorithm 1) as the authors' reference runs it (IST-DASLab/gptq
 * {@code gptq.py fasterquant} with {@code quant.py Quantizer}, {@code perchannel=True, mse=False}),
 * written from the paper and the reference's documented behaviour:
 * <pre>
 *   W: [rows, n] fp32; dead columns zeroed; act-order: W = W[:, perm]   (see {@link GptqFactor})
 *   for each block [i1, i2) of blockSize columns:
 *     W1 = W[:, i1:i2]                                    (a copy: W keeps the block-start values)
 *     for i in block, c = i1 + i:
 *       params: group -1      → once, from the original W (before the dead-column fix)
 *               static groups → precomputed per original group from W after the dead fix,
 *                               group of column c = (actOrder ? perm[c] : c) / group
 *               otherwise     → when c % group == 0, from W[:, c:c+group] (the global W: lazy updates of
 *                               earlier blocks applied, this block's in-block updates not)
 *       q = quant(W1[:, i]);  err = (W1[:, i] − q) / U[c,c]
 *       W1[:, i:] −= err ⊗ U[c, i1+i : i2]                 (error feedback inside the block)
 *     W[:, i2:] −= Err1 · U[i1:i2, i2:]                    (lazy batch update, computed then subtracted)
 * </pre>
 * Each row's computation depends only on that row (the quantizer is per row), so rows are split into
 * fixed tasks of {@value #ROWS_PER_TASK} that run in parallel; the result does not depend on the thread
 * count. The lazy update is tiled ({@value #NC} columns × blockSize rows of U, 256 KiB, in L2) and runs four
 * rows per pass over U ({@link DenseKernels}).
 */
public final class GptqQuantizer {
    public static final int DEFAULT_BLOCK_SIZE = 128;
    public static final double DEFAULT_PERCDAMP = 0.01;
    static final int ROWS_PER_TASK = 32;
    static final int NC = 512;

    private final Precision.IntSpec spec;
    private final double percdamp;
    private final int blockSize;
    private final String name;

    /**
     * @param spec bits 2..8, group size ({@code -1}: one per row), sym, act-order, static groups
     * @param percdamp dampening, a fraction of the mean diagonal of H (authors' default 0.01)
     * @param blockSize columns per lazy-update block (authors' default 128; it changes only rounding)
     */
    public GptqQuantizer(Precision.IntSpec spec, double percdamp, int blockSize) {
        this(spec, percdamp, blockSize, null);
    }

    private GptqQuantizer(Precision.IntSpec spec, double percdamp, int blockSize, String name) {
        if (spec.bits() < 2 || spec.bits() > 8) {
            throw new IllegalArgumentException("GPTQ bits must be 2..8, found " + spec.bits());
        }
        if (spec.groupSize() != -1 && spec.groupSize() <= 0) {
            throw new IllegalArgumentException("GPTQ group size must be positive or -1, found " + spec.groupSize());
        }
        if (spec.staticGroups() && spec.groupSize() < 0) {
            throw new IllegalArgumentException("GPTQ static groups need a group size");
        }
        if (blockSize <= 0) {
            throw new IllegalArgumentException("GPTQ block size must be positive, found " + blockSize);
        }
        if (!(percdamp >= 0) || !Double.isFinite(percdamp)) {
            throw new IllegalArgumentException("GPTQ dampening must be a finite fraction >= 0, found " + percdamp);
        }
        this.spec = spec;
        this.percdamp = percdamp;
        this.blockSize = blockSize;
        this.name = name != null ? name
                : "gptq-w" + spec.bits() + (spec.groupSize() > 0 ? "-g" + spec.groupSize() : "") + (spec.sym() ? "-sym" : "")
                + (spec.actOrder() ? "-act" : "") + (spec.staticGroups() ? "-static" : "");
    }

    public GptqQuantizer(Precision.IntSpec spec) {
        this(spec, DEFAULT_PERCDAMP, DEFAULT_BLOCK_SIZE);
    }

    /** The configuration of a {@code gptq-wB[-gG][-sym][-act][-static]} name, default damping and block size. */
    public static GptqQuantizer of(Precision p) {
        return of(p, DEFAULT_PERCDAMP);
    }

    /** {@link #of(Precision)} with the dampening fraction ({@code --damp}). */
    public static GptqQuantizer of(Precision p, double percdamp) {
        if (p.kind() != Precision.Kind.GPTQ) {
            throw new IllegalArgumentException("precision '" + p.name() + "' is not a GPTQ precision");
        }
        return new GptqQuantizer(p.intSpec(), percdamp, DEFAULT_BLOCK_SIZE, p.name());
    }

    public Precision.IntSpec spec() {
        return spec;
    }

    public double percdamp() {
        return percdamp;
    }

    /** The precision name the packed weights carry: the parsed name, or one built from the spec. */
    public String precisionName() {
        return name;
    }

    /** Factors H for this configuration (act-order, dampening); share it between layers with the same input. */
    public GptqFactor factor(Hessian h) {
        return GptqFactor.of(h, spec.actOrder(), percdamp);
    }

    /** Quantizes {@code w [out, in]} (F32/BF16/F16/F64) with its layer Hessian. */
    public GptqResult quantize(Tensor w, Hessian h) {
        int[] d = QuantInput.dims(w);
        float[] flat = new float[d[0] * d[1]];
        float[] row = new float[d[1]];
        for (int r = 0; r < d[0]; r++) {
            QuantInput.row(w, r, d[1], row);
            System.arraycopy(row, 0, flat, r * d[1], d[1]);
        }
        return quantize(w.name(), flat, d[0], d[1], factor(h));
    }

    /**
     * Quantizes {@code w [rows, cols]} (row-major, original column order, not modified) with a factor of its
     * layer's Hessian. The result is named {@code name} with this configuration's precision name.
     */
    public GptqResult quantize(String name, float[] w, int rows, int cols, GptqFactor f) {
        long t0 = System.nanoTime();
        if (f.columns() != cols) {
            throw new IllegalArgumentException(name + ": Hessian " + f.name() + " is " + f.columns() + " wide for " + cols
                    + " input columns");
        }
        if (w.length != (long) rows * cols) {
            throw new IllegalArgumentException(name + ": " + w.length + " weights for [" + rows + ", " + cols + "]");
        }
        if ((f.permShared() != null) != spec.actOrder()) {
            throw new IllegalArgumentException(name + ": the Hessian factor of " + f.name() + " was made "
                    + (spec.actOrder() ? "without" : "with") + " act-order, for " + precisionName() + "; use factor(h)");
        }
        for (int i = 0; i < w.length; i++) {
            if (!Float.isFinite(w[i])) {
                throw QuantInput.nonFinite(name, new long[] {rows, cols}, i, w[i], "");
            }
        }
        int g = spec.groupSize() < 0 ? -1 : spec.groupSize();
        int groups = cols == 0 ? 0 : g < 0 ? 1 : (cols + g - 1) / g;
        byte[] codes = new byte[rows * cols];
        float[] scale = new float[groups * rows];
        float[] zero = new float[groups * rows];
        int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        double[] loss = new double[tasks];
        DenseKernels.parallel(tasks, t -> loss[t] = rowsTask(w, rows, cols, f, t * ROWS_PER_TASK,
                Math.min(rows, (t + 1) * ROWS_PER_TASK), codes, scale, zero));
        double total = 0;
        for (double l : loss) {
            total += l;
        }
        int[] perm = f.permShared();
        int[] gIdx = null;
        if (perm != null && g > 0 && !spec.staticGroups()) {
            gIdx = new int[cols];
            for (int k = 0; k < cols; k++) {
                gIdx[perm[k]] = k / g; // groups formed in activation order (fixture README)
            }
        }
        GptqPacked packed = GptqPacked.of(name, precisionName(), rows, cols, spec.bits(), spec.groupSize(), spec.sym(),
                codes, scale, zero, gIdx);
        return new GptqResult(packed, perm == null ? null : perm.clone(), total, System.nanoTime() - t0);
    }

    /** GPTQ on rows {@code [r0, r1)}; returns their loss. */
    private double rowsTask(float[] w, int rows, int n, GptqFactor f, int r0, int r1, byte[] codes, float[] scale,
                            float[] zero) {
        int nr = r1 - r0;
        int maxq = (1 << spec.bits()) - 1;
        int g = spec.groupSize();
        boolean stat = spec.staticGroups();
        boolean sym = spec.sym();
        int[] perm = f.permShared();
        boolean[] dead = f.deadShared();
        float[][] u = f.u;
        float[][] wr = new float[nr][];
        for (int rr = 0; rr < nr; rr++) {
            int r = r0 + rr;
            float[] orig = Arrays.copyOfRange(w, r * n, (r + 1) * n);
            if (g < 0) { // the authors find whole-row params before the dead-column fix
                MinMaxGrid.find(orig, 0, n, maxq, sym, scale, zero, r);
            }
            for (int c = 0; c < n; c++) {
                if (dead[c]) {
                    orig[c] = 0f;
                }
            }
            if (stat) {
                for (int c = 0, k = 0; c < n; c += g, k++) {
                    MinMaxGrid.find(orig, c, Math.min(n, c + g), maxq, sym, scale, zero, k * rows + r);
                }
            }
            float[] row = orig;
            if (perm != null) {
                row = new float[n];
                for (int k = 0; k < n; k++) {
                    row[k] = orig[perm[k]];
                }
            }
            wr[rr] = row;
        }
        float[][] w1 = new float[nr][blockSize];
        float[][] err = new float[nr][blockSize];
        float[][] acc = new float[4][NC];
        double loss = 0;
        for (int i1 = 0; i1 < n; i1 += blockSize) {
            int i2 = Math.min(n, i1 + blockSize);
            int count = i2 - i1;
            for (int rr = 0; rr < nr; rr++) {
                int r = r0 + rr;
                float[] row = wr[rr];
                float[] b = w1[rr];
                float[] e = err[rr];
                System.arraycopy(row, i1, b, 0, count);
                float s = 0f;
                float z = 0f;
                if (g < 0) {
                    s = scale[r];
                    z = zero[r];
                }
                for (int i = 0; i < count; i++) {
                    int c = i1 + i;
                    if (stat) {
                        int k = (perm == null ? c : perm[c]) / g;
                        s = scale[k * rows + r];
                        z = zero[k * rows + r];
                    } else if (g > 0 && (c % g == 0 || i == 0)) {
                        int k = c / g;
                        if (c % g == 0) {
                            MinMaxGrid.find(row, c, Math.min(n, c + g), maxq, sym, scale, zero, k * rows + r);
                        }
                        s = scale[k * rows + r];
                        z = zero[k * rows + r];
                    }
                    float x = b[i];
                    float q = MinMaxGrid.code(x, s, z, maxq);
                    float deq = s * (q - z);
                    codes[r * n + (perm == null ? c : perm[c])] = (byte) (int) q;
                    float[] uc = u[c];
                    float d = uc[c];
                    float diff = x - deq;
                    float ei = diff / d;
                    loss += (double) diff * diff / ((double) d * d) / 2;
                    for (int j = i + 1; j < count; j++) {
                        b[j] -= ei * uc[i1 + j];
                    }
                    e[i] = ei;
                }
            }
            if (i2 < n) {
                lazyUpdate(wr, err, u, i1, count, i2, n, acc);
            }
        }
        return loss;
    }

    /** {@code W[:, i2:] −= Err1 · U[i1:i1+count, i2:]} for this task's rows, four rows per pass over each U tile. */
    private static void lazyUpdate(float[][] wr, float[][] err, float[][] u, int i1, int count, int i2, int n, float[][] acc) {
        int nr = wr.length;
        float[][] e4 = new float[4][];
        for (int j0 = i2; j0 < n; j0 += NC) {
            int len = Math.min(n, j0 + NC) - j0;
            for (int rr = 0; rr < nr; rr += 4) {
                int re = Math.min(nr, rr + 4);
                for (int t = 0; t < re - rr; t++) {
                    Arrays.fill(acc[t], 0, len, 0f);
                }
                for (int t = 0; t < re - rr; t++) {
                    e4[t] = err[rr + t];
                }
                DenseKernels.acc(re - rr, acc, 0, e4, 0, u, i1, j0, count, len);
                for (int t = 0; t < re - rr; t++) {
                    float[] row = wr[rr + t];
                    float[] a = acc[t];
                    for (int k = 0; k < len; k++) {
                        row[j0 + k] -= a[k];
                    }
                }
            }
        }
    }
}
