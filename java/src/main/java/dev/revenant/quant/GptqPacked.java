package dev.revenant.quant;

import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Objects;

/**
 * A weight {@code [rows, cols]} of integer codes with per-group scale and zero point, as GPTQ
 * (IST-DASLab/gptq, AutoGPTQ/GPTQModel), AWQ and compressed-tensors store it: element
 * {@code (r, c) = scale[g(c), r] · (q[r, c] − zero[g(c), r])} in fp32, where {@code g(c) = g_idx[c]}.
 *
 * <p>Held as an {@link RtnPacked} {@code body} whose groups are contiguous (so every RTN kernel runs
 * it unchanged) plus an optional column permutation: body column {@code k} holds original column
 * {@code perm[k]}. Plain and static-group GPTQ, AWQ and RTN have {@code g_idx[c] = c / group} and no
 * permutation. GPTQ act-order without static groups forms its groups in activation order
 * ({@code g_idx[perm[k]] = k / group}, fixture README), so sorting the columns by group makes them
 * contiguous again: a matmul then permutes the input row the same way
 * ({@code Σ_c W[r,c]·x[c] = Σ_k body[r,k]·x[perm[k]]}), as exllama's kernels do.
 */
public final class GptqPacked implements QuantizedWeight {
    private final String name;
    private final String precision;
    private final RtnPacked body;
    private final int[] perm;
    private final int[] inverse;

    /**
     * @param body the codes in kernel column order (its name is ignored)
     * @param perm {@code perm[k]} = original column of body column {@code k}, or null for the identity
     */
    public GptqPacked(String name, String precision, RtnPacked body, int[] perm) {
        this.name = Objects.requireNonNull(name);
        this.precision = Objects.requireNonNull(precision);
        this.body = Objects.requireNonNull(body);
        if (perm != null) {
            if (perm.length != body.cols()) {
                throw new IllegalArgumentException(name + ": permutation of " + perm.length + " columns for " + body.cols());
            }
            int[] inverse = new int[perm.length];
            Arrays.fill(inverse, -1);
            for (int k = 0; k < perm.length; k++) {
                int c = perm[k];
                if (c < 0 || c >= perm.length || inverse[c] != -1) {
                    throw new IllegalArgumentException(name + ": column order is not a permutation (column " + c
                            + " at position " + k + ")");
                }
                inverse[c] = k;
            }
            boolean identity = true;
            for (int k = 0; k < perm.length && identity; k++) {
                identity = perm[k] == k;
            }
            this.perm = identity ? null : perm; // nothing to permute
            this.inverse = identity ? null : inverse;
        } else {
            this.perm = null;
            this.inverse = null;
        }
    }

    /**
     * The weight with codes {@code q} ({@code [rows, cols]}, original column order, 0..2^bits−1), scales
     * and zeros {@code [groups, rows]} and each column's group {@code gIdx} (null: {@code c / groupSize}).
     *
     * @throws IllegalArgumentException naming the tensor when the groups of {@code gIdx}, sorted, are not
     *     consecutive runs of {@code groupSize} columns (every layout GPTQ, AWQ and llm-compressor write is)
     */
    public static GptqPacked of(String name, String precision, int rows, int cols, int bits, int groupSize, boolean sym,
                                byte[] q, float[] scale, float[] zero, int[] gIdx) {
        int g = groupSize < 0 ? Math.max(cols, 1) : groupSize;
        boolean trivial = true;
        if (gIdx != null) {
            if (gIdx.length != cols) {
                throw new IllegalArgumentException(name + ": g_idx has " + gIdx.length + " entries for " + cols + " input columns");
            }
            for (int c = 0; c < cols && trivial; c++) {
                trivial = gIdx[c] == c / g;
            }
        }
        if (trivial) {
            return new GptqPacked(name, precision, new RtnPacked(name, rows, cols, bits, groupSize, sym, q, scale, zero), null);
        }
        int groups = scale.length / Math.max(rows, 1);
        Integer[] order = new Integer[cols];
        for (int c = 0; c < cols; c++) {
            if (gIdx[c] < 0 || gIdx[c] >= groups) {
                throw new IllegalArgumentException(name + ": g_idx[" + c + "] = " + gIdx[c] + " is outside [0, " + groups + ")");
            }
            order[c] = c;
        }
        Arrays.sort(order, (a, b) -> Integer.compare(gIdx[a], gIdx[b])); // stable: original order within a group
        int[] perm = new int[cols];
        byte[] body = new byte[q.length];
        for (int k = 0; k < cols; k++) {
            perm[k] = order[k];
            if (gIdx[perm[k]] != k / g) {
                throw new IllegalArgumentException(name + ": g_idx groups are not runs of " + g + " columns (sorted position "
                        + k + " holds column " + perm[k] + " of group " + gIdx[perm[k]] + "); such a layout is not supported");
            }
        }
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < cols; k++) {
                body[r * cols + k] = q[r * cols + perm[k]];
            }
        }
        return new GptqPacked(name, precision, new RtnPacked(name, rows, cols, bits, groupSize, sym, body, scale, zero), perm);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long[] shape() {
        return body.shape();
    }

    @Override
    public String precision() {
        return precision;
    }

    /** The codes, scales and zeros in kernel column order. */
    public RtnPacked body() {
        return body;
    }

    /** Body column k holds original column {@code perm()[k]}; null for the identity. Read-only. */
    public int[] perm() {
        return perm;
    }

    public int rows() {
        return body.rows();
    }

    public int cols() {
        return body.cols();
    }

    public int bits() {
        return body.bits();
    }

    /** The group of original input column {@code col} (GPTQ's {@code g_idx}). */
    public int group(int col) {
        return body.group(inverse == null ? col : inverse[col]);
    }

    /** GPTQ's {@code g_idx}: the group of every original input column. */
    public int[] gIdx() {
        int[] g = new int[cols()];
        for (int c = 0; c < g.length; c++) {
            g[c] = group(c);
        }
        return g;
    }

    /** The code of {@code (row, col)} in original column order. */
    public int code(int row, int col) {
        return body.code(row, inverse == null ? col : inverse[col]);
    }

    /** {@code scale · (q − zero)} in fp32 at {@code (row, col)}, original column order. */
    public float dequantize(int row, int col) {
        return body.dequantize(row, inverse == null ? col : inverse[col]);
    }

    @Override
    public Tensor dequantize(Arena arena) {
        return QuantInput.f32(name, rows(), cols(), arena, this::dequantize);
    }

    /** {@code x [rows, cols]} in body column order ({@code x} itself when there is no permutation). */
    public float[] permuteInput(float[] x, int rows) {
        if (perm == null) {
            return x;
        }
        int k = cols();
        float[] xp = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            int o = r * k;
            for (int j = 0; j < k; j++) {
                xp[o + j] = x[o + perm[j]];
            }
        }
        return xp;
    }

    @Override
    public long packedBytes() {
        return body.packedBytes() + (perm == null ? 0 : 4L * perm.length);
    }
}
