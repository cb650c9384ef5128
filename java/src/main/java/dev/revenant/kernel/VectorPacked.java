package dev.revenant.kernel;

import dev.revenant.quant.Bnb4Packed;
import dev.revenant.quant.GgufPacked;
import dev.revenant.quant.Int8Packed;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.RtnPacked;
import dev.revenant.tensor.Tensor;

/**
 * One packed matmul of {@link VectorBackend} ({@code matmulRtn}, {@code matmulQ8_0}, {@code matmulQ4_0},
 * {@code matmulFp4}/{@code matmulNf4}): item c is the chunk of weight rows {@code [c·chunk, (c + 1)·chunk)};
 * per weight row the worker decodes the packed row into its own fp32 buffer (VectorPackedDecode, the
 * records' dequantize bit for bit) and takes its dot products with every activation row
 * (VectorPackedDot: four rows per weight load, then one at a time, same bits), bias last. Which worker
 * takes a chunk and how many rows the call has change no bit.
 */
final class VectorPacked implements VectorPool.Job {
    private QuantizedWeight w;
    private Tensor bias;
    private float[] x;
    private float[] out;
    private int rows;
    private int n;
    private int k;
    private int chunk;
    private int chunks;
    /** Per worker: one decoded weight row (K floats) and four dot results; grow, never shrink. */
    private final float[][] rowBufs;
    private final float[][] sums;

    VectorPacked(int threads) {
        rowBufs = new float[threads][0];
        sums = new float[threads][4];
    }

    void set(QuantizedWeight w, Tensor bias, float[] x, int rows, float[] out, int n, int k, int chunk) {
        if (rowBufs[0].length < k) {
            for (int t = 0; t < rowBufs.length; t++) {
                rowBufs[t] = new float[k];
            }
        }
        this.w = w;
        this.bias = bias;
        this.x = x;
        this.rows = rows;
        this.out = out;
        this.n = n;
        this.k = k;
        this.chunk = chunk;
        this.chunks = (n + chunk - 1) / chunk;
    }

    void clear() {
        w = null;
        bias = null;
        x = null;
        out = null;
    }

    @Override
    public int items() {
        return chunks;
    }

    @Override
    public void run(int c, int worker) {
        float[] buf = rowBufs[worker];
        float[] s = sums[worker];
        int n1 = Math.min(n, (c + 1) * chunk);
        for (int j = c * chunk; j < n1; j++) {
            switch (w) {
                case RtnPacked q -> VectorPackedDecode.rtn(q, j, buf);
                case dev.revenant.quant.GptqPacked q -> throw new IllegalStateException(q.name() + ": unwrapped by VectorBackend");
                case GgufPacked q -> {
                    if (q.type() == GgufPacked.Type.Q8_0) {
                        VectorPackedDecode.q8_0(q, j, buf);
                    } else {
                        VectorPackedDecode.q4_0(q, j, buf);
                    }
                }
                case Bnb4Packed q -> VectorPackedDecode.bnb4(q, j, k, buf);
                case Int8Packed q -> throw new IllegalStateException(q.name() + ": int8 has no decode-then-multiply kernel");
            }
            float b = bias == null ? 0f : bias.getFloat(j);
            int r = 0;
            for (; r + 4 <= rows; r += 4) {
                VectorPackedDot.rows4(buf, x, r * k, k, s);
                for (int t = 0; t < 4; t++) {
                    out[(r + t) * n + j] = bias == null ? s[t] : s[t] + b;
                }
            }
            for (; r < rows; r++) {
                float v = VectorPackedDot.dot(buf, x, r * k, k);
                out[r * n + j] = bias == null ? v : v + b;
            }
        }
    }
}
