/*
 * Portable kernels: plain C in the fixed order of revenant_cpu.h, fmaf for every multiply-add
 * so the bits match the AVX2/AVX-512 kernels (slow without hardware FMA; only the fallback).
 */
#include "common.h"

#define DEFINE_GENERIC(NAME, WT, WREAD)                                                                  \
    int NAME(const WT *w, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n, int64_t n0, \
             int64_t n1, float *out) {                                                                   \
        int st = rv_check(w, x, out, rows, k, n, n0, n1);                                                \
        if (st != RV_OK) {                                                                               \
            return st;                                                                                   \
        }                                                                                                \
        int64_t k64 = k - k % RV_BLOCK;                                                                  \
        for (int64_t j = n0; j < n1; j++) {                                                              \
            const WT *wr = w + j * k;                                                                    \
            for (int64_t r = 0; r < rows; r++) {                                                         \
                const float *xr = x + r * k;                                                             \
                float p[RV_BLOCK] = {0};                                                                 \
                for (int64_t i = 0; i < k64; i += RV_BLOCK) {                                            \
                    for (int l = 0; l < RV_BLOCK; l++) {                                                 \
                        p[l] = fmaf(xr[i + l], WREAD(wr[i + l]), p[l]);                                  \
                    }                                                                                    \
                }                                                                                        \
                float s = rv_fold64(p);                                                                  \
                for (int64_t i = k64; i < k; i++) {                                                      \
                    s = fmaf(xr[i], WREAD(wr[i]), s);                                                    \
                }                                                                                        \
                out[r * n + j] = bias ? s + bias[j] : s;                                                 \
            }                                                                                            \
        }                                                                                                \
        return RV_OK;                                                                                    \
    }

#define READ_F32(v) (v)
#define READ_BF16(v) rv_bf16(v)

DEFINE_GENERIC(rv_matmul_f32_f32_generic, float, READ_F32)
DEFINE_GENERIC(rv_matmul_bf16_f32_generic, uint16_t, READ_BF16)
