package dev.revenant.quant;

import dev.revenant.tensor.Tensor;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * AutoAWQ's GEMM layout of one Linear weight {@code [out, in]} (formats.md, "AWQ GEMM"; AutoAWQ
 * {@code awq/modules/linear/gemm.py} {@code WQLinear_GEMM.from_linear}): 4-bit codes transposed to {@code [in, out]}
 * and packed <em>along the output dim</em>, eight per int32, nibble {@code i} (bits {@code 4i}) holding output
 * channel {@code 8·word + ORDER[i]} with {@code ORDER = [0, 2, 4, 6, 1, 3, 5, 7]}:
 * <ul>
 * <li>{@code qweight} I32 {@code [in, out/8]}; {@code qzeros} I32 {@code [in/group, out/8]}, same order, true zero
 *     points (no −1); {@code scales} F16 {@code [in/group, out]}; requires {@code in % group == 0}.
 * </ul>
 * Element {@code (r, c) = scale[c/group, r] · (q[r, c] − zero[c/group, r])}; AWQ has no act-order.
 */
public final class AwqLayout {
    /** Output channel (within its 8) held by nibble {@code i}. */
    static final int[] ORDER = {0, 2, 4, 6, 1, 3, 5, 7};
    /** Nibble holding output channel {@code j} (within its 8): the inverse of {@link #ORDER}. */
    static final int[] NIBBLE = {0, 4, 1, 5, 2, 6, 3, 7};

    private AwqLayout() {
    }

    /** Rebuilds {@code prefix.weight} from its AWQ GEMM parts; {@code groupSize} −1 means one group of {@code in}. */
    public static GptqPacked read(String where, String prefix, int rows, int cols, int groupSize, String precision,
                                  Function<String, Optional<Tensor>> find) {
        int group = groupSize < 0 ? cols : groupSize;
        String name = prefix + ".weight";
        if (group <= 0 || cols % group != 0 || rows % 8 != 0) {
            throw new IllegalArgumentException(where + ": " + name + ": [" + rows + ", " + cols + "] does not fit AWQ GEMM with "
                    + "group_size " + groupSize + " (in % group == 0 and out % 8 == 0 needed)");
        }
        int g = cols / group;
        int ow = rows / 8;
        int[] qweight = PackedBits.ints(GptqLayout.part(where, prefix, "qweight", find), where, cols, ow);
        int[] qzeros = PackedBits.ints(GptqLayout.part(where, prefix, "qzeros", find), where, g, ow);
        float[] scale = PackedBits.floats(GptqLayout.part(where, prefix, "scales", find), where, g, rows);
        byte[] q = new byte[rows * cols];
        for (int c = 0; c < cols; c++) {
            for (int r = 0; r < rows; r++) {
                q[r * cols + c] = (byte) nibble(qweight[c * ow + r / 8], r);
            }
        }
        float[] zero = new float[g * rows];
        for (int k = 0; k < g; k++) {
            for (int r = 0; r < rows; r++) {
                zero[k * rows + r] = nibble(qzeros[k * ow + r / 8], r);
            }
        }
        return GptqPacked.of(name, precision, rows, cols, 4, group, false, q, scale, zero, null);
    }

    private static int nibble(int word, int channel) {
        return (word >>> (4 * NIBBLE[channel & 7])) & 0xF;
    }

    /**
     * The AWQ GEMM tensors of {@code w} under {@code prefix} (scales rounded to fp16, as AutoAWQ stores them).
     *
     * @throws IllegalArgumentException naming the tensor unless {@code w} is 4-bit, without act-order, with groups
     *     that divide {@code in}, {@code out % 8 == 0} and integer zero points in 0..15
     */
    public static List<Tensor> tensors(GptqPacked w, String prefix) {
        int rows = w.rows();
        int cols = w.cols();
        RtnPacked body = w.body();
        String name = prefix + ".weight";
        int group = body.groupSize() < 0 ? cols : body.groupSize();
        if (w.bits() != 4 || w.perm() != null || cols % group != 0 || rows % 8 != 0) {
            throw new IllegalArgumentException(name + ": AWQ GEMM holds 4-bit weights without act-order, in % group == 0 "
                    + "and out % 8 == 0; found " + w.bits() + " bits, group " + body.groupSize() + ", [" + rows + ", " + cols + "]"
                    + (w.perm() != null ? ", act-order" : ""));
        }
        int g = cols / group;
        int ow = rows / 8;
        int[] qweight = new int[cols * ow];
        for (int c = 0; c < cols; c++) {
            for (int r = 0; r < rows; r++) {
                qweight[c * ow + r / 8] |= w.code(r, c) << (4 * NIBBLE[r & 7]);
            }
        }
        int[] qzeros = new int[g * ow];
        for (int k = 0; k < g; k++) {
            for (int r = 0; r < rows; r++) {
                float z = body.zero(k, r);
                if (z != Math.rint(z) || z < 0 || z > 15) {
                    throw new IllegalArgumentException(name + ": zero point " + z + " (group " + k + ", row " + r
                            + ") is not an integer in [0, 15]");
                }
                qzeros[k * ow + r / 8] |= (int) z << (4 * NIBBLE[r & 7]);
            }
        }
        return List.of(PackedBits.intTensor(prefix + ".qweight", qweight, cols, ow),
                PackedBits.intTensor(prefix + ".qzeros", qzeros, g, ow),
                PackedBits.f16Tensor(prefix + ".scales", body.scale(), g, rows));
    }
}
