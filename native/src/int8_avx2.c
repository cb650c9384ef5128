/*
 * AVX2 LLM.int8 kernel (compiled with -mavx2 -mfma): 16 int8 codes widen to int16, vpmaddwd into 8 int32 lanes
 * (exact: the generic kernel's bits). One output per step, four weight rows at a time for decode.
 */
#include <immintrin.h>

#include "common.h"

static inline int32_t hsum8_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

int rv_matmul_int8_f32_avx2(const int8_t *cb, const float *scb, const int8_t *ca, const float *sca, const float *xh,
                            const int32_t *ostart, const int32_t *ocols, int64_t rows, int64_t k, int64_t n,
                            int64_t n0, int64_t n1, float *out) {
    const int need = RV_CPU_AVX2 | RV_CPU_FMA;
    if ((rv_cpu_features() & need) != need) {
        return RV_EISA;
    }
    int st = rv_check_int8(cb, scb, ca, sca, xh, ostart, ocols, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    int64_t k16 = k - k % 16;
    for (int64_t r = 0; r < rows; r++) {
        const int8_t *ar = ca + r * k;
        for (int64_t j = n0; j < n1; j++) {
            const int8_t *wr = cb + j * k;
            __m256i acc = _mm256_setzero_si256();
            for (int64_t i = 0; i < k16; i += 16) {
                __m256i xv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (ar + i)));
                __m256i wv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (wr + i)));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(xv, wv));
            }
            int32_t s = hsum8_i32(acc);
            for (int64_t i = k16; i < k; i++) s += (int32_t) ar[i] * wr[i];
            out[r * n + j] = rv_int8_out(s, sca[r], scb[j], xh + r * k, wr, ocols + ostart[r], ostart[r + 1] - ostart[r]);
        }
    }
    return RV_OK;
}
