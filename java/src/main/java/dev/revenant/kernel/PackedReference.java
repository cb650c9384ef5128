package dev.revenant.kernel;

import dev.revenant.quant.Bnb4Packed;
import dev.revenant.quant.GgufPacked;
import dev.revenant.quant.Int8Bnb;
import dev.revenant.quant.Int8Packed;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.RtnPacked;
import dev.revenant.quant.GptqPacked;
import dev.revenant.tensor.Tensor;

/**
 * The specification of {@link Backend#matmulPacked}: plain loops over each record's own
 * {@code dequantize}, fp32 accumulation in k order, bias last, so it gives the bits of
 * {@link ReferenceBackend#matmul} on the dequantized F32 tensor. LLM.int8 is not a dequantize-then-multiply
 * op (its activations are quantized per row, muse-spec §2.3): it runs {@link Int8Bnb#matmulPerRow}, then the bias.
 */
public final class PackedReference {
    private PackedReference() {
    }

    /** {@code out[r, n] = Σ_k x[r, k] · deq(w)[n, k] (+ bias[n])}; x {@code [rows, K]}, out {@code [rows, N]}. */
    public static void matmul(QuantizedWeight w, Tensor bias, float[] x, int rows, float[] out) {
        check(w, bias, x, rows, out);
        long[] s = w.shape();
        int n = (int) s[0];
        int k = (int) s[1];
        if (w instanceof Int8Packed i8) {
            Int8Bnb.matmulPerRow(x, rows, k, i8, out);
            if (bias != null) {
                for (int r = 0; r < rows; r++) {
                    for (int j = 0; j < n; j++) {
                        out[r * n + j] += bias.getFloat(j);
                    }
                }
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                for (int i = 0; i < k; i++) {
                    acc += x[r * k + i] * dequantize(w, j, i, k);
                }
                out[r * n + j] = bias == null ? acc : acc + bias.getFloat(j);
            }
        }
    }

    /** Element {@code (row, col)} of the dequantized weight ({@code cols} = K). */
    static float dequantize(QuantizedWeight w, int row, int col, int cols) {
        return switch (w) {
            case RtnPacked q -> q.dequantize(row, col);
            case GptqPacked q -> q.dequantize(row, col);
            case GgufPacked q -> q.dequantize(row, col);
            case Bnb4Packed q -> q.dequantize((long) row * cols + col);
            case Int8Packed q -> q.dequantize(row, col);
        };
    }

    /** Shapes of a packed matmul: x ≥ rows·K, out ≥ rows·N, bias N elements; names the weight otherwise. */
    static void check(QuantizedWeight w, Tensor bias, float[] x, int rows, float[] out) {
        long[] s = w.shape();
        if (s[0] > Integer.MAX_VALUE || s[1] > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(w.name() + ": matmul dimensions must fit an int");
        }
        if (rows < 0 || (long) rows * s[1] > x.length || (long) rows * s[0] > out.length) {
            throw new IllegalArgumentException(w.name() + " [" + s[0] + ", " + s[1] + "] " + w.precision() + ": matmul of "
                    + rows + " rows needs x ≥ " + rows * s[1] + " and out ≥ " + rows * s[0] + " floats, found x="
                    + x.length + " out=" + out.length);
        }
        if (bias != null && bias.numel() != s[0]) {
            throw new IllegalArgumentException(w.name() + ": bias " + bias.describe() + " does not have " + s[0] + " elements");
        }
    }
}
