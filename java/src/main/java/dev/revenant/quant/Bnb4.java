package dev.revenant.quant;

import dev.revenant.tensor.Tensor;

/**
 * bitsandbytes 4-bit blockwise quantization, FP4 and NF4 (muse-spec.md §2.2; bitsandbytes 0.43.0
 * {@code kQuantizeBlockwise}, {@code dQuantizeFP4}, {@code dQuantizeNF4}), bit-exact.
 *
 * <p>The weight is flattened row-major and cut into blocks of {@value #BLOCK}; the last block may be
 * short and then uses the absmax of its own elements. Per block, in fp32:
 * {@code absmax = max|w|}, {@code inv = 1.0f / absmax}, {@code x = w * inv} (a product with the
 * reciprocal, as the kernel does). Codes are chosen by strict {@code >} comparisons against fixed
 * thresholds; the kernel walks them as a binary tree, which for sorted thresholds is the same as
 * counting how many thresholds {@code x} exceeds (done here). A NaN {@code x} exceeds none.
 *
 * <p>All-zero block: {@code absmax = 0}, {@code inv = +Inf}, {@code x = 0 * Inf = NaN} for every
 * element, as on the GPU: every comparison is false, so FP4 gives code {@code 0b0000} (value 0) and
 * NF4 code {@code 0b0000} (codebook −1.0); both dequantize to {@code ±0 * 0 = 0} (NF4: −0.0).
 * The same NaN path applies to the pad nibble of an odd-length tensor only when its block is all
 * zero; otherwise the pad element is 0 and gets {@code code(0 * inv)} (FP4 0, NF4 {@code 0b0111}),
 * which is what the kernel writes into the unused low nibble. NaN or ±Inf weights are refused.
 *
 * <p>Packing (formats.md, "bitsandbytes 4-bit"): two codes per byte, the even element in the high
 * nibble.
 */
public final class Bnb4 {
    public static final int BLOCK = 64;

    /** FP4 magnitude thresholds, ascending (the spec's table read bottom-up). */
    private static final float[] FP4_THRESHOLDS = {0.00260417f, 0.0859375f, 0.20833333f, 0.29166667f, 0.4166667f,
        0.583333f, 0.8333333f};
    /** FP4 code (without sign) for "exceeds k thresholds". */
    private static final int[] FP4_CODE_BY_RANK = {0b0000, 0b0001, 0b0110, 0b0111, 0b0100, 0b0101, 0b0010, 0b0011};
    /** FP4 value (fraction of absmax) by 3-bit code: 0.0625/12, 8/12, 12/12, 4/12, 6/12, 2/12, 3/12. */
    private static final float[] FP4_VALUE = {0f, 0.0052083335f, 0.6666667f, 1.0f, 0.33333334f, 0.5f, 0.16666667f, 0.25f};

    /**
     * NF4 thresholds, ascending: midpoints of the codebook. These are the fp32 values bitsandbytes
     * 0.43 hard-codes; the spec prints them to 8 digits, and three of those shorter literals
     * (−0.04552502, −0.23460741, −0.61063293) would round to the neighbouring float.
     */
    private static final float[] NF4_THRESHOLDS = {-0.8480964f, -0.6106329f, -0.45999527f, -0.33967942f, -0.2346074f,
        -0.13791174f, -0.045525018f, 0.03979015f, 0.12025525f, 0.20352125f, 0.29201376f, 0.38931254f, 0.50166345f,
        0.6427869f, 0.86147845f};
    /** The NF4 codebook by code (bitsandbytes' fp32 values; the spec's 7-digit list rounded). */
    private static final float[] NF4_VALUE = {-1.0f, -0.6961928f, -0.52507305f, -0.3949175f, -0.28444138f, -0.18477343f,
        -0.091050036f, 0f, 0.0795803f, 0.1609302f, 0.2461123f, 0.33791524f, 0.44070983f, 0.562617f, 0.72295684f, 1.0f};

    private Bnb4() {
    }

    /** The FP4 code of a normalized value: sign bit {@code 0b1000} when {@code x < 0} (−0.0 is positive). */
    public static int quantizeFp4(float x) {
        int sign = x < 0 ? 0b1000 : 0;
        float a = Math.abs(x);
        int k = 0;
        while (k < FP4_THRESHOLDS.length && a > FP4_THRESHOLDS[k]) {
            k++;
        }
        return FP4_CODE_BY_RANK[k] | sign;
    }

    /** The NF4 code of a normalized value (the codebook index, no sign bit). */
    public static int quantizeNf4(float x) {
        int k = 0;
        while (k < NF4_THRESHOLDS.length && x > NF4_THRESHOLDS[k]) {
            k++;
        }
        return k;
    }

    /** {@code value(code) * absmax * sign} in fp32, as {@code dDequantizeFP4Tree}. */
    public static float dequantizeFp4(int code, float absmax) {
        float sign = (code & 0b1000) != 0 ? -1f : 1f;
        return FP4_VALUE[code & 0b0111] * absmax * sign;
    }

    /** {@code codebook[code] * absmax} in fp32. */
    public static float dequantizeNf4(int code, float absmax) {
        return NF4_VALUE[code & 0xF] * absmax;
    }

    /** The fraction of absmax a code stands for (FP4 with its sign). */
    public static float codeValue(Bnb4Packed.Kind kind, int code) {
        return kind == Bnb4Packed.Kind.FP4 ? dequantizeFp4(code, 1f) : NF4_VALUE[code & 0xF];
    }

    public static int quantize(Bnb4Packed.Kind kind, float x) {
        return kind == Bnb4Packed.Kind.FP4 ? quantizeFp4(x) : quantizeNf4(x);
    }

    /** Quantizes a float weight {@code [out, in]} (read as fp32; a bf16 model passes its bf16 tensor). */
    public static Bnb4Packed quantize(Tensor w, Bnb4Packed.Kind kind) {
        QuantInput.dims(w);
        long n = w.numel();
        int blocks = (int) ((n + BLOCK - 1) / BLOCK);
        float[] absmax = new float[blocks];
        byte[] packed = new byte[(int) ((n + 1) / 2)];
        float[] v = new float[BLOCK];
        for (int b = 0; b < blocks; b++) {
            long base = (long) b * BLOCK;
            int len = (int) Math.min(BLOCK, n - base);
            float amax = 0f;
            for (int j = 0; j < len; j++) {
                v[j] = QuantInput.finite(w, base + j);
                amax = Math.max(amax, Math.abs(v[j]));
            }
            absmax[b] = amax;
            float inv = 1.0f / amax;
            for (int j = 0; j < len; j += 2) {
                int hi = quantize(kind, v[j] * inv);
                // the pad element of an odd tensor is a loaded 0 (the kernel pads its load with zeros)
                int lo = quantize(kind, (j + 1 < len ? v[j + 1] : 0f) * inv);
                packed[(int) ((base + j) >> 1)] = (byte) (hi << 4 | lo);
            }
        }
        return new Bnb4Packed(kind, w.name(), w.shape(), n, packed, absmax);
    }
}
