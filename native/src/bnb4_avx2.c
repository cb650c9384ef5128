/*
 * AVX2 + FMA bitsandbytes 4-bit kernel (quant/Bnb4Packed; compiled with -mavx2 -mfma). 8 weights per ymm: 4
 * bytes expand to 8 nibbles (even element = high nibble), two vpermps over the low and high halves of the
 * 16-float table and a blend on bit 3 look the codes up, one multiply by absmax. Eight accumulators per
 * output as the RTN AVX2 kernel (the order of revenant_cpu.h, bit for bit the AVX-512 and generic result);
 * k % 64 != 0 decodes element by element.
 */
#include <immintrin.h>

#include "common.h"
#include "fold_avx2.h"

static inline __attribute__((always_inline)) __m256 dec8(const uint8_t *packed, const float *absmax, const float *table,
                                                         __m256 lo8, __m256 hi8, int64_t e, int fast) {
    if (fast) {
        uint32_t b;
        memcpy(&b, packed + e / 2, 4);
        __m128i w16 = _mm_cvtepu8_epi16(_mm_cvtsi32_si128((int) b));
        __m128i nib = _mm_or_si128(_mm_srli_epi16(w16, 4), _mm_slli_epi16(_mm_and_si128(w16, _mm_set1_epi16(15)), 8));
        __m256i idx = _mm256_cvtepu8_epi32(nib);
        __m256 a = _mm256_permutevar8x32_ps(lo8, idx);
        __m256 c = _mm256_permutevar8x32_ps(hi8, idx);
        __m256 sel = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)); /* bit 3 -> sign bit */
        return _mm256_mul_ps(_mm256_blendv_ps(a, c, sel), _mm256_set1_ps(absmax[e / 64]));
    }
    float t[8];
    for (int l = 0; l < 8; l++) t[l] = rv_bnb4_w(packed, absmax, table, e + l);
    return _mm256_loadu_ps(t);
}

int rv_matmul_bnb4_f32_avx2(const uint8_t *packed, const float *absmax, const float *table, const float *bias,
                            const float *x, int64_t rows, int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {
    const int need = RV_CPU_AVX2 | RV_CPU_FMA;
    if ((rv_cpu_features() & need) != need) {
        return RV_EISA;
    }
    int st = rv_check_bnb4(packed, absmax, table, x, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    if (rows == 0 || n1 == n0) {
        return RV_OK;
    }
    const __m256 lo8 = _mm256_loadu_ps(table);
    const __m256 hi8 = _mm256_loadu_ps(table + 8);
    const int fast = k % 64 == 0;
    const int64_t k64 = k - k % 64;
    const int64_t k16 = k - k % 16;
    for (int64_t j = n0; j < n1; j++) {
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * k;
            __m256 a[8];
            for (int t = 0; t < 8; t++) a[t] = _mm256_setzero_ps();
            int64_t i = 0;
            for (; i < k64; i += 64) {
                for (int t = 0; t < 8; t++)
                    a[t] = _mm256_fmadd_ps(_mm256_loadu_ps(xr + i + 8 * t),
                                           dec8(packed, absmax, table, lo8, hi8, j * k + i + 8 * t, fast), a[t]);
            }
            for (; i < k16; i += 16) {
                for (int t = 0; t < 2; t++)
                    a[t] = _mm256_fmadd_ps(_mm256_loadu_ps(xr + i + 8 * t),
                                           dec8(packed, absmax, table, lo8, hi8, j * k + i + 8 * t, 0), a[t]);
            }
            __m256 lo = _mm256_add_ps(_mm256_add_ps(a[0], a[2]), _mm256_add_ps(a[4], a[6]));
            __m256 hi = _mm256_add_ps(_mm256_add_ps(a[1], a[3]), _mm256_add_ps(a[5], a[7]));
            float s = rv_fold_ymm(_mm256_add_ps(lo, hi));
            for (; i < k; i++) {
                float prod = xr[i] * rv_bnb4_w(packed, absmax, table, j * k + i);
                s = s + prod;
            }
            out[r * n + j] = bias ? s + bias[j] : s;
        }
    }
    return RV_OK;
}
