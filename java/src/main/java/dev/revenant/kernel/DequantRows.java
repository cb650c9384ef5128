package dev.revenant.kernel;

import dev.revenant.quant.Bnb4Packed;
import dev.revenant.quant.RtnPacked;

/**
 * Rows {@code [j0, j1)} of a packed weight dequantized into fp32, row-major {@code [j1 − j0, k]}, with exactly the
 * roundings of the formats' {@code dequantize} (and of the C kernels' in-register decode, revenant_cpu.h):
 * RTN {@code scale · ((float) code − zero)} (two roundings), bitsandbytes 4-bit {@code table[code] · absmax} (one).
 * The batched native path multiplies these with the F32 GEMM tile, whose reduction order equals the RTN order
 * when {@code k % 64 == 0} (steps 2 and 4 of the RTN order are then empty).
 */
final class DequantRows {
    private DequantRows() {
    }

    static void rtn(RtnPacked q, int j0, int j1, float[] dst) {
        int k = q.cols();
        int n = q.rows();
        int gs = q.groupSize() < 0 ? k : q.groupSize();
        byte[] codes = q.codes();
        float[] scale = q.scale();
        float[] zero = q.zero();
        for (int j = j0; j < j1; j++) {
            int src = j * k;
            int d = (j - j0) * k;
            for (int i0 = 0, g = 0; i0 < k; i0 += gs, g++) {
                float s = scale[g * n + j];
                float z = zero[g * n + j];
                int i1 = Math.min(k, i0 + gs);
                for (int i = i0; i < i1; i++) {
                    dst[d + i] = s * ((float) (codes[src + i] & 0xFF) - z);
                }
            }
        }
    }

    /** Requires {@code k % 64 == 0}: rows then start on a 64-element absmax block and a whole byte. */
    static void bnb4(Bnb4Packed q, float[] table, int k, int j0, int j1, float[] dst) {
        byte[] packed = q.packed();
        float[] absmax = q.absmax();
        long e0 = (long) j0 * k;
        int len = (j1 - j0) * k;
        for (int b = 0; b < len; b += 64) {
            float a = absmax[(int) ((e0 + b) / 64)];
            int p = (int) ((e0 + b) >> 1);
            for (int t = 0; t < 32; t++) {
                int v = packed[p + t] & 0xFF;
                dst[b + 2 * t] = table[v >>> 4] * a;
                dst[b + 2 * t + 1] = table[v & 0xF] * a;
            }
        }
    }
}
