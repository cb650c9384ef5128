package dev.revenant.quant;

import dev.revenant.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The GPTQ checkpoint layout of one Linear weight {@code [out, in]} (formats.md, "GPTQ v1"; AutoGPTQ
 * {@code nn_modules/qlinear/qlinear_cuda_old.py} {@code pack} and its dequantizing forward; GPTQModel's
 * {@code checkpoint_format} gptq/gptq_v2):
 * <ul>
 * <li>{@code qweight} I32 {@code [in·b/32, out]}: each output column's codes packed along the input dim as one
 *     bit stream, low bits first ({@link PackedBits}; at 3 bits values straddle words);
 * <li>{@code qzeros} I32 {@code [G, out·b/32]}: each group's zero points packed along the output dim the same way;
 *     v1 ({@code checkpoint_format: gptq}) stores {@code zero − 1} and readers add 1 back, v2 stores the zero;
 * <li>{@code scales} F16 {@code [G, out]}; {@code g_idx} I32 {@code [in]}: the group of each input column
 *     (non-monotonic with act-order); absent in some files, then {@code c / group};
 * <li>{@code bias} (optional) keeps the float checkpoint's name {@code P.bias} and is bound as any bias.
 * </ul>
 * {@code G = ceil(in / group)} (group −1: one group). Element {@code (r, c) = scale[g_idx[c], r] · (q[r, c] − zero[g_idx[c], r])}.
 *
 * <p>v1 cannot hold a zero point of 0: AutoGPTQ's packer turns {@code −1} into all-ones bits that spill into the
 * neighbouring fields. Readers of v1 faithfully read the stored field + 1 (so a stored {@code 2^b − 1} reads
 * {@code 2^b}, as AutoGPTQ computes it); the writer refuses such a weight (write v2, or a symmetric grid).
 */
public final class GptqLayout {
    private GptqLayout() {
    }

    /** Number of groups for {@code in} input columns. */
    static int groups(int in, int groupSize) {
        return groupSize < 0 ? 1 : (in + groupSize - 1) / groupSize;
    }

    /**
     * Rebuilds {@code prefix.weight} ({@code rows = out}, {@code cols = in}) from its GPTQ parts; {@code where}
     * (the checkpoint) and the tensor name appear in every error.
     */
    public static GptqPacked read(String where, String prefix, int rows, int cols, int bits, int groupSize, boolean sym,
                                  boolean v1, String precision, Function<String, Optional<Tensor>> find) {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            throw new IllegalArgumentException(where + ": quantization_config.bits: GPTQ stores 2, 3, 4 or 8 bits, found " + bits);
        }
        String name = prefix + ".weight";
        if ((long) cols * bits % 32 != 0 || (long) rows * bits % 32 != 0) {
            throw new IllegalArgumentException(where + ": " + name + ": [" + rows + ", " + cols + "] cannot be packed in "
                    + bits + "-bit GPTQ words (in·bits and out·bits must be multiples of 32)");
        }
        int g = groups(cols, groupSize);
        int[] qweight = PackedBits.ints(part(where, prefix, "qweight", find), where, (long) cols * bits / 32, rows);
        int zw = rows * bits / 32;
        int[] qzeros = PackedBits.ints(part(where, prefix, "qzeros", find), where, g, zw);
        float[] scale = PackedBits.floats(part(where, prefix, "scales", find), where, g, rows);
        int[] gIdx = null;
        Optional<Tensor> gi = find.apply(prefix + ".g_idx");
        if (gi.isPresent()) {
            gIdx = PackedBits.ints(gi.get(), where, cols);
            for (int c = 0; c < cols; c++) {
                if (gIdx[c] < 0 || gIdx[c] >= g) {
                    throw new IllegalArgumentException(where + ": " + prefix + ".g_idx[" + c + "] = " + gIdx[c]
                            + " is outside [0, " + g + ") (" + g + " groups of " + groupSize + " input columns)");
                }
            }
        }
        byte[] q = new byte[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                q[r * cols + c] = (byte) PackedBits.get(qweight, r, rows, c, bits);
            }
        }
        float[] zero = new float[g * rows];
        for (int k = 0; k < g; k++) {
            for (int r = 0; r < rows; r++) {
                zero[k * rows + r] = PackedBits.get(qzeros, k * zw, 1, r, bits) + (v1 ? 1 : 0);
            }
        }
        try {
            return GptqPacked.of(name, precision, rows, cols, bits, groupSize, sym, q, scale, zero, gIdx);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    /**
     * The GPTQ tensors of {@code w} under {@code prefix} (scales rounded to fp16, as AutoGPTQ stores them).
     *
     * @throws IllegalArgumentException naming the tensor when a zero point is not an integer in range (v1: in
     *     {@code 1..2^b−1}), a scale does not fit fp16, or the bit width has no GPTQ packing
     */
    public static List<Tensor> tensors(GptqPacked w, String prefix, boolean v1) {
        int bits = w.bits();
        int rows = w.rows();
        int cols = w.cols();
        String name = prefix + ".weight";
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            throw new IllegalArgumentException(name + ": GPTQ packs 2, 3, 4 or 8 bits, not " + bits);
        }
        if ((long) cols * bits % 32 != 0 || (long) rows * bits % 32 != 0) {
            throw new IllegalArgumentException(name + ": [" + rows + ", " + cols + "] cannot be packed in " + bits
                    + "-bit GPTQ words (in·bits and out·bits must be multiples of 32)");
        }
        RtnPacked body = w.body();
        int g = body.groups();
        int[] qweight = new int[cols * bits / 32 * rows];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                PackedBits.set(qweight, r, rows, c, bits, w.code(r, c));
            }
        }
        int zw = rows * bits / 32;
        int[] qzeros = new int[g * zw];
        int lo = v1 ? 1 : 0;
        for (int k = 0; k < g; k++) {
            for (int r = 0; r < rows; r++) {
                float z = body.zero(k, r);
                if (z != Math.rint(z) || z < lo || z > (1 << bits) - 1) {
                    throw new IllegalArgumentException(name + ": zero point " + z + " (group " + k + ", row " + r + ") is not an integer in ["
                            + lo + ", " + ((1 << bits) - 1) + "]" + (v1 && z == 0f ? "; GPTQ v1 stores zero − 1 and cannot hold 0 "
                            + "(write gptq_v2 or use a -sym precision)" : ""));
                }
                PackedBits.set(qzeros, k * zw, 1, r, bits, (int) z - lo);
            }
        }
        List<Tensor> out = new ArrayList<>();
        out.add(PackedBits.intTensor(prefix + ".qweight", qweight, cols * bits / 32, rows));
        out.add(PackedBits.intTensor(prefix + ".qzeros", qzeros, g, zw));
        out.add(PackedBits.f16Tensor(prefix + ".scales", body.scale(), g, rows));
        out.add(PackedBits.intTensor(prefix + ".g_idx", w.gIdx(), cols));
        return out;
    }

    static Tensor part(String where, String prefix, String part, Function<String, Optional<Tensor>> find) {
        return find.apply(prefix + "." + part).orElseThrow(() -> new IllegalArgumentException(where + ": tensor '" + prefix
                + "." + part + "' missing; a quantized Linear layer needs its " + part));
    }
}
