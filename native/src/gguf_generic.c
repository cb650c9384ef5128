/*
 * Portable GGUF block kernels (Q8_0, Q4_0): plain C in the order of revenant_cpu.h, fmaf for
 * every multiply-add so the bits match the AVX2/AVX-512 kernels (the fallback only). Each weight
 * is decoded as GgufBlocks does: q * d, (q - 8) * d, exact in fp32.
 */
#include "common.h"

/* Element l of the Q8_0 / Q4_0 block at b, without the scale. */
#define Q8_0_Q(b, l) ((float) (int8_t) (b)[2 + (l)])
#define Q4_0_Q(b, l) ((float) ((int) ((l) < 16 ? (b)[2 + (l)] & 0xF : (b)[2 + (l) - 16] >> 4) - 8))

#define DEFINE_GGUF_GENERIC(SFX, BYTES, QREAD)                                                              \
    int rv_matmul_##SFX##_f32_generic(const uint8_t *w, const float *bias, const float *x, int64_t rows,    \
                                      int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {           \
        int st = rv_check_gguf(w, x, out, rows, k, n, n0, n1);                                              \
        if (st != RV_OK) {                                                                                  \
            return st;                                                                                      \
        }                                                                                                   \
        int64_t nb = k / RV_QK;                                                                             \
        for (int64_t j = n0; j < n1; j++) {                                                                 \
            const uint8_t *wr = w + j * nb * (BYTES);                                                       \
            for (int64_t r = 0; r < rows; r++) {                                                            \
                const float *xr = x + r * k;                                                                \
                float p[RV_QK] = {0};                                                                       \
                for (int64_t b = 0; b < nb; b++) {                                                          \
                    const uint8_t *blk = wr + b * (BYTES);                                                  \
                    float d = rv_f16(blk);                                                                  \
                    for (int l = 0; l < RV_QK; l++) {                                                       \
                        p[l] = fmaf(xr[b * RV_QK + l], QREAD(blk, l) * d, p[l]);                            \
                    }                                                                                       \
                }                                                                                           \
                float s = rv_fold32(p);                                                                     \
                out[r * n + j] = bias ? s + bias[j] : s;                                                    \
            }                                                                                               \
        }                                                                                                   \
        return RV_OK;                                                                                       \
    }

DEFINE_GGUF_GENERIC(q8_0, RV_Q8_0_BYTES, Q8_0_Q)
DEFINE_GGUF_GENERIC(q4_0, RV_Q4_0_BYTES, Q4_0_Q)
