/*
 * AVX2 + FMA RTN kernel (quant/RtnPacked codes; compiled with -mavx2 -mfma). 8 codes decode to one
 * ymm (u8 -> int32 -> fp32, minus zero, times scale: RtnPacked.dequantize's two roundings); eight
 * accumulators per output: accumulator a holds p[8a + l] in lane l, folded as p[l] + p[l+16] etc.,
 * bit for bit the AVX-512 and generic result. One output per tile (the eight accumulators fill half
 * the register file); group sizes that are not multiples of 16 decode element by element.
 */
#include <immintrin.h>

#include "common.h"
#include "fold_avx2.h"

static inline __attribute__((always_inline)) __m256 dec8(const uint8_t *codes, const float *scale,
                                                         const float *zero, int64_t gs, int64_t k, int64_t n,
                                                         int64_t j, int64_t i, int fast) {
    if (fast) {
        int64_t g = gs < 0 ? 0 : i / gs;
        __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (codes + j * k + i)));
        __m256 d = _mm256_sub_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(zero[g * n + j]));
        return _mm256_mul_ps(_mm256_set1_ps(scale[g * n + j]), d);
    }
    float t[8];
    for (int l = 0; l < 8; l++) t[l] = rv_rtn_w(codes, scale, zero, gs, k, n, j, i + l);
    return _mm256_loadu_ps(t);
}

int rv_matmul_rtn_u8_f32_avx2(const uint8_t *codes, const float *scale, const float *zero, int64_t gs,
                              const float *bias, const float *x, int64_t rows, int64_t k, int64_t n, int64_t n0,
                              int64_t n1, float *out) {
    const int need = RV_CPU_AVX2 | RV_CPU_FMA;
    if ((rv_cpu_features() & need) != need) {
        return RV_EISA;
    }
    int st = rv_check_rtn(codes, scale, zero, gs, x, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    const int fast = gs < 0 || gs % 16 == 0;
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
                                           dec8(codes, scale, zero, gs, k, n, j, i + 8 * t, fast), a[t]);
            }
            for (; i < k16; i += 16) {
                for (int t = 0; t < 2; t++)
                    a[t] = _mm256_fmadd_ps(_mm256_loadu_ps(xr + i + 8 * t),
                                           dec8(codes, scale, zero, gs, k, n, j, i + 8 * t, fast), a[t]);
            }
            __m256 lo = _mm256_add_ps(_mm256_add_ps(a[0], a[2]), _mm256_add_ps(a[4], a[6]));
            __m256 hi = _mm256_add_ps(_mm256_add_ps(a[1], a[3]), _mm256_add_ps(a[5], a[7]));
            float s = rv_fold_ymm(_mm256_add_ps(lo, hi));
            for (; i < k; i++) {
                float prod = xr[i] * rv_rtn_w(codes, scale, zero, gs, k, n, j, i);
                s = s + prod;
            }
            out[r * n + j] = bias ? s + bias[j] : s;
        }
    }
    return RV_OK;
}
