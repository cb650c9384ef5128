/*
 * AVX2 + FMA GGUF block kernels (Q8_0, Q4_0; compiled with -mavx2 -mfma). A block decodes to
 * four ymm (exact q * d, (q - 8) * d); four accumulators per output: accumulator a holds
 * p[8a + l] in lane l, folded as p[l] + p[l+16] etc., bit for bit the AVX-512 and generic result.
 * Tiles (16 registers): 1 row x 2 weight rows, 2 rows x 1 weight row; each block decoded once
 * per tile.
 */
#include <immintrin.h>

#include "common.h"
#include "fold_avx2.h"

static inline float hsum4x8(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    return rv_fold_ymm(_mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a1, a3))); /* q[0..7] + q[8..15] */
}

static inline __attribute__((always_inline)) void dec_q8_0(const uint8_t *b, __m256 *w) {
    __m256 d = _mm256_set1_ps(rv_f16(b));
    for (int a = 0; a < 4; a++) {
        __m128i q = _mm_loadl_epi64((const __m128i *) (b + 2 + 8 * a));
        w[a] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d);
    }
}

static inline __attribute__((always_inline)) void dec_q4_0(const uint8_t *b, __m256 *w) {
    __m256 d = _mm256_set1_ps(rv_f16(b));
    __m128i v = _mm_loadu_si128((const __m128i *) (b + 2));
    __m128i m = _mm_set1_epi8(0x0F);
    __m128i e = _mm_set1_epi8(8);
    __m128i lo = _mm_sub_epi8(_mm_and_si128(v, m), e);
    __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), m), e);
    w[0] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), d);
    w[1] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), d);
    w[2] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), d);
    w[3] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), d);
}

#define DEFINE_GGUF_AVX2(SFX, BYTES, DEC)                                                                   \
    static inline __attribute__((always_inline)) void tile_##SFX(const uint8_t *w, const float *bias,       \
                                                                 const float *x, int64_t k, int64_t n,      \
                                                                 int64_t r0, int64_t j0, float *out,        \
                                                                 const int R, const int C) {                \
        __m256 acc[2][2][4];                                                                                \
        for (int r = 0; r < R; r++)                                                                         \
            for (int c = 0; c < C; c++)                                                                     \
                for (int a = 0; a < 4; a++) acc[r][c][a] = _mm256_setzero_ps();                             \
        int64_t nb = k / RV_QK;                                                                             \
        const int64_t rb = nb * (BYTES);                                                                    \
        const uint8_t *wc = w + j0 * rb;                                                                    \
        for (int64_t b = 0; b < nb; b++) {                                                                  \
            for (int c = 0; c < C; c++) {                                                                   \
                __m256 wv[4];                                                                               \
                DEC(wc + c * rb + b * (BYTES), wv);                                                         \
                for (int r = 0; r < R; r++) {                                                               \
                    const float *xr = x + (r0 + r) * k + b * RV_QK;                                         \
                    for (int a = 0; a < 4; a++)                                                             \
                        acc[r][c][a] = _mm256_fmadd_ps(_mm256_loadu_ps(xr + 8 * a), wv[a], acc[r][c][a]);   \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
        for (int r = 0; r < R; r++)                                                                         \
            for (int c = 0; c < C; c++) {                                                                   \
                float s = hsum4x8(acc[r][c][0], acc[r][c][1], acc[r][c][2], acc[r][c][3]);                  \
                out[(r0 + r) * n + j0 + c] = bias ? s + bias[j0 + c] : s;                                   \
            }                                                                                               \
    }                                                                                                       \
                                                                                                            \
    int rv_matmul_##SFX##_f32_avx2(const uint8_t *w, const float *bias, const float *x, int64_t rows,       \
                                   int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {              \
        const int need = RV_CPU_AVX2 | RV_CPU_FMA;                                                          \
        if ((rv_cpu_features() & need) != need) {                                                           \
            return RV_EISA;                                                                                 \
        }                                                                                                   \
        int st = rv_check_gguf(w, x, out, rows, k, n, n0, n1);                                              \
        if (st != RV_OK) {                                                                                  \
            return st;                                                                                      \
        }                                                                                                   \
        int64_t r2 = rows - rows % 2;                                                                       \
        for (int64_t r = 0; r < r2; r += 2)                                                                 \
            for (int64_t j = n0; j < n1; j++) tile_##SFX(w, bias, x, k, n, r, j, out, 2, 1);                \
        if (r2 < rows) {                                                                                    \
            int64_t j = n0;                                                                                 \
            for (; j + 2 <= n1; j += 2) tile_##SFX(w, bias, x, k, n, r2, j, out, 1, 2);                     \
            for (; j < n1; j++) tile_##SFX(w, bias, x, k, n, r2, j, out, 1, 1);                             \
        }                                                                                                   \
        return RV_OK;                                                                                       \
    }

DEFINE_GGUF_AVX2(q8_0, RV_Q8_0_BYTES, dec_q8_0)
DEFINE_GGUF_AVX2(q4_0, RV_Q4_0_BYTES, dec_q4_0)
