/*
 * AVX2 + FMA kernels (compiled with -mavx2 -mfma). Eight ymm accumulators hold the 64 partial
 * sums of one output: accumulator 2a + h holds p[16a + 8h + l] in lane l, so folding them as
 * below reproduces the order of revenant_cpu.h, bit for bit the AVX-512 result. One output at a
 * time: 16 registers leave no room for a wider tile without spills.
 */
#include <immintrin.h>

#include "common.h"

static inline __m256 ldw_f32(const float *p) {
    return _mm256_loadu_ps(p);
}

/* 8 bf16 -> 8 fp32, exact. */
static inline __m256 ldw_bf16(const uint16_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *) p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static inline float hsum8(const __m256 *a) {
    __m256 lo = _mm256_add_ps(_mm256_add_ps(a[0], a[2]), _mm256_add_ps(a[4], a[6])); /* q[0..7] */
    __m256 hi = _mm256_add_ps(_mm256_add_ps(a[1], a[3]), _mm256_add_ps(a[5], a[7])); /* q[8..15] */
    __m256 h8 = _mm256_add_ps(lo, hi);
    __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
    __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
    __m128 h1 = _mm_add_ss(h2, _mm_shuffle_ps(h2, h2, 1));
    return _mm_cvtss_f32(h1);
}

#define READ_F32(v) (v)
#define READ_BF16(v) rv_bf16(v)

#define DEFINE_AVX2(SFX, WT, LDW, WREAD)                                                                    \
    int rv_matmul_##SFX##_f32_avx2(const WT *w, const float *bias, const float *x, int64_t rows, int64_t k,     \
                                   int64_t n, int64_t n0, int64_t n1, float *out) {                         \
        const int need = RV_CPU_AVX2 | RV_CPU_FMA;                                                          \
        if ((rv_cpu_features() & need) != need) {                                                           \
            return RV_EISA;                                                                                 \
        }                                                                                                   \
        int st = rv_check(w, x, out, rows, k, n, n0, n1);                                                   \
        if (st != RV_OK) {                                                                                  \
            return st;                                                                                      \
        }                                                                                                   \
        int64_t k64 = k - k % RV_BLOCK;                                                                     \
        for (int64_t j = n0; j < n1; j++) {                                                                 \
            const WT *wr = w + j * k;                                                                       \
            for (int64_t r = 0; r < rows; r++) {                                                            \
                const float *xr = x + r * k;                                                                \
                __m256 acc[8];                                                                              \
                for (int a = 0; a < 8; a++) acc[a] = _mm256_setzero_ps();                                   \
                for (int64_t i = 0; i < k64; i += RV_BLOCK) {                                               \
                    for (int a = 0; a < 8; a++) {                                                           \
                        acc[a] = _mm256_fmadd_ps(_mm256_loadu_ps(xr + i + 8 * a), LDW(wr + i + 8 * a), acc[a]); \
                    }                                                                                       \
                }                                                                                           \
                float s = hsum8(acc);                                                                       \
                for (int64_t i = k64; i < k; i++) s = fmaf(xr[i], WREAD(wr[i]), s);                         \
                out[r * n + j] = bias ? s + bias[j] : s;                                                    \
            }                                                                                               \
        }                                                                                                   \
        return RV_OK;                                                                                       \
    }

DEFINE_AVX2(f32, float, ldw_f32, READ_F32)
DEFINE_AVX2(bf16, uint16_t, ldw_bf16, READ_BF16)
