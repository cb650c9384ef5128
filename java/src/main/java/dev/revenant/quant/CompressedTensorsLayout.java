package dev.revenant.quant;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.util.Optional;
import java.util.function.Function;

/**
 * compressed-tensors {@code pack-quantized} (llm-compressor; formats.md; compressed-tensors
 * {@code compressors/quantized_compressors/pack_quantized.py}: {@code pack_to_int32}, {@code compression_param_info}):
 * <ul>
 * <li>{@code weight_packed} I32 {@code [out, ceil(in/f)]} with {@code f = 32 / b} values per word (3 bits: 10, the top
 *     two bits unused; values never straddle), value {@code i} of a word at bit {@code b·i}, packed along the input
 *     dim; the signed code {@code q ∈ [−2^(b−1), 2^(b−1))} is stored as {@code q + 2^(b−1)};
 * <li>{@code weight_scale} (model float type) {@code [out, G]}; {@code weight_shape} I32/I64 {@code [2] = [out, in]};
 * <li>{@code weight_zero_point}: absent or zero when symmetric; asymmetric group/channel zero points are packed the
 *     same way along dim 0 ({@code [ceil(out/f), G]} I32, offset too); older files store them unpacked as I8
 *     {@code [out, G]} (signed);
 * <li>{@code weight_g_idx} I32 {@code [in]} with {@code actorder: group}.
 * </ul>
 * Dequantized {@code scale · (q_signed − zp_signed)} = {@code scale · (stored − (zp_signed + 2^(b−1)))}: so the code
 * here is the stored value and the zero point {@code zp_signed + 2^(b−1)} ({@code 2^(b−1)} when symmetric).
 */
public final class CompressedTensorsLayout {
    private CompressedTensorsLayout() {
    }

    /** Rebuilds {@code prefix.weight} from its {@code pack-quantized} parts ({@code groupSize} −1: channel strategy). */
    public static GptqPacked read(String where, String prefix, int rows, int cols, int bits, int groupSize, boolean sym,
                                  String precision, Function<String, Optional<Tensor>> find) {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException(where + ": num_bits " + bits + " is not readable (2..8)");
        }
        int f = 32 / bits;
        int g = GptqLayout.groups(cols, groupSize);
        int offset = 1 << (bits - 1);
        Tensor shape = GptqLayout.part(where, prefix, "weight_shape", find);
        PackedBits.expect(shape, where, new long[] {2}, DType.I32, DType.I64);
        if (shape.getLong(0) != rows || shape.getLong(1) != cols) {
            throw new IllegalArgumentException(where + ": " + shape.name() + ": holds [" + shape.getLong(0) + ", "
                    + shape.getLong(1) + "], the architecture expects [" + rows + ", " + cols + "]");
        }
        int pw = (cols + f - 1) / f;
        int[] packed = PackedBits.ints(GptqLayout.part(where, prefix, "weight_packed", find), where, rows, pw);
        float[] s = PackedBits.floats(GptqLayout.part(where, prefix, "weight_scale", find), where, rows, g);
        int mask = (1 << bits) - 1;
        byte[] q = new byte[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                q[r * cols + c] = (byte) ((packed[r * pw + c / f] >>> (bits * (c % f))) & mask);
            }
        }
        float[] scale = new float[g * rows];
        float[] zero = new float[g * rows];
        int[] zp = zeroPoints(where, prefix, rows, g, bits, find);
        for (int k = 0; k < g; k++) {
            for (int r = 0; r < rows; r++) {
                scale[k * rows + r] = s[r * g + k];
                int z = zp == null ? offset : zp[r * g + k];
                if (sym && z != offset) {
                    throw new IllegalArgumentException(where + ": " + prefix + ".weight_zero_point: symmetric (symmetric: true) "
                            + "but row " + r + ", group " + k + " has zero point " + (z - offset) + ", not 0");
                }
                zero[k * rows + r] = z;
            }
        }
        if (!sym && zp == null) {
            throw new IllegalArgumentException(where + ": tensor '" + prefix + ".weight_zero_point' missing; symmetric: false "
                    + "needs zero points");
        }
        int[] gIdx = null;
        Optional<Tensor> gi = find.apply(prefix + ".weight_g_idx");
        if (gi.isPresent()) {
            gIdx = PackedBits.ints(gi.get(), where, cols);
            for (int c = 0; c < cols; c++) {
                if (gIdx[c] < 0 || gIdx[c] >= g) {
                    throw new IllegalArgumentException(where + ": " + prefix + ".weight_g_idx[" + c + "] = " + gIdx[c]
                            + " is outside [0, " + g + ")");
                }
            }
        }
        try {
            return GptqPacked.of(prefix + ".weight", precision, rows, cols, bits, groupSize, sym, q, scale, zero, gIdx);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    /** Zero points {@code [out, G]} as stored unsigned values (signed + offset), or null when absent. */
    private static int[] zeroPoints(String where, String prefix, int rows, int g, int bits, Function<String, Optional<Tensor>> find) {
        Optional<Tensor> t = find.apply(prefix + ".weight_zero_point");
        if (t.isEmpty()) {
            return null;
        }
        Tensor z = t.get();
        int offset = 1 << (bits - 1);
        int[] out = new int[rows * g];
        if (z.dtype() == DType.I8) {
            PackedBits.expect(z, where, new long[] {rows, g}, DType.I8);
            for (int i = 0; i < out.length; i++) {
                long v = z.getLong(i);
                if (v < -offset || v >= offset) {
                    throw new IllegalArgumentException(where + ": " + z.name() + "[" + i + "] = " + v + " is outside the "
                            + bits + "-bit range [" + -offset + ", " + offset + ")");
                }
                out[i] = (int) v + offset;
            }
            return out;
        }
        int f = 32 / bits;
        int[] packed = PackedBits.ints(z, where, (rows + f - 1) / f, g);
        int mask = (1 << bits) - 1;
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < g; k++) {
                out[r * g + k] = (packed[(r / f) * g + k] >>> (bits * (r % f))) & mask;
            }
        }
        return out;
    }
}
