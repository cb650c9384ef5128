/*
 * Portable bitsandbytes 4-bit kernel (quant/Bnb4Packed): plain C in the RTN order of revenant_cpu.h, fmaf for
 * the fused steps so the bits match the AVX2/AVX-512 kernels (the fallback only). Each weight is decoded as
 * Bnb4Packed.dequantize: table[code] * absmax[block] (one rounding; FP4's sign is in the table).
 */
#include "common.h"

int rv_matmul_bnb4_f32_generic(const uint8_t *packed, const float *absmax, const float *table, const float *bias,
                               const float *x, int64_t rows, int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {
    int st = rv_check_bnb4(packed, absmax, table, x, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    int64_t k64 = k - k % 64;
    int64_t k16 = k - k % 16;
    for (int64_t j = n0; j < n1; j++) {
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * k;
            float p[64] = {0};
            int64_t i = 0;
            for (; i < k64; i += 64) {
                for (int l = 0; l < 64; l++) {
                    p[l] = fmaf(xr[i + l], rv_bnb4_w(packed, absmax, table, j * k + i + l), p[l]);
                }
            }
            for (; i < k16; i += 16) {
                for (int l = 0; l < 16; l++) {
                    p[l] = fmaf(xr[i + l], rv_bnb4_w(packed, absmax, table, j * k + i + l), p[l]);
                }
            }
            float s = rv_fold64(p);
            for (; i < k; i++) {
                float prod = xr[i] * rv_bnb4_w(packed, absmax, table, j * k + i);
                s = s + prod;
            }
            out[r * n + j] = bias ? s + bias[j] : s;
        }
    }
    return RV_OK;
}
