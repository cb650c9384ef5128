package dev.revenant.kernel;

import dev.revenant.tensor.Tensor;

/**
 * The specification of every op: plain single-threaded loops, fp32 accumulation in index order.
 * Slow; every fast backend is tested against it.
 */
public final class ReferenceBackend implements Backend {

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public int threads() {
        return 1;
    }

    @Override
    public void matmul(Tensor w, Tensor bias, float[] x, int rows, float[] out) {
        WeightReader.checkMatmul(w, bias, x, rows, out);
        int n = (int) w.dim(0);
        int k = (int) w.dim(1);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                long base = (long) j * k;
                for (int i = 0; i < k; i++) {
                    acc += x[r * k + i] * WeightReader.get(w, base + i);
                }
                out[r * n + j] = bias == null ? acc : acc + bias.getFloat(j);
            }
        }
    }

    @Override
    public void attention(float[] q, int qRow, int tokens, int start, float[] k, float[] v, int nHeads, int nKv,
                          int headDim, int window, float scale, float[] out, int outRow, float[] scratch) {
        int qDim = nHeads * headDim;
        int kvDim = nKv * headDim;
        int group = nHeads / nKv;
        for (int t = 0; t < tokens; t++) {
            int pos = start + t;
            int lo = window > 0 ? Math.max(0, pos - window + 1) : 0;
            for (int h = 0; h < nHeads; h++) {
                int qo = (qRow + t) * qDim + h * headDim;
                int kvo = (h / group) * headDim;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = lo; j <= pos; j++) {
                    float s = 0f;
                    for (int d = 0; d < headDim; d++) {
                        s += q[qo + d] * k[j * kvDim + kvo + d];
                    }
                    s *= scale;
                    scratch[j] = s;
                    max = Math.max(max, s);
                }
                float sum = 0f;
                for (int j = lo; j <= pos; j++) {
                    float e = (float) Math.exp(scratch[j] - max);
                    scratch[j] = e;
                    sum += e;
                }
                int oo = (outRow + t) * qDim + h * headDim;
                for (int d = 0; d < headDim; d++) {
                    out[oo + d] = 0f;
                }
                for (int j = lo; j <= pos; j++) {
                    float p = scratch[j] / sum;
                    for (int d = 0; d < headDim; d++) {
                        out[oo + d] += p * v[j * kvDim + kvo + d];
                    }
                }
            }
        }
    }
}
