/*
 * AVX-512 LLM.int8 kernel (compiled with -mavx512f -mavx512bw -mavx512vl -mfma). 32 int8 codes of x and of a
 * weight row widen to int16 and vpmaddwd sums pairs into 16 int32 lanes: exact, so the order is free (the result
 * equals the generic kernel's bit for bit). Decode tile 1 x 4 weight rows (four streams), prefill 4 x 1.
 */
#include <immintrin.h>

#include "common.h"

static inline int32_t hsum_i32(__m512i v) {
    return _mm512_reduce_add_epi32(v);
}

static inline __attribute__((always_inline)) void tile(const int8_t *cb, const float *scb, const int8_t *ca,
                                                       const float *sca, const float *xh, const int32_t *ostart,
                                                       const int32_t *ocols, int64_t k, int64_t n, int64_t r0,
                                                       int64_t j0, float *out, const int R, const int C) {
    __m512i acc[4][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_si512();
    int64_t k32 = k - k % 32;
    for (int64_t i = 0; i < k32; i += 32) {
        __m512i wv[4];
        for (int c = 0; c < C; c++)
            wv[c] = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *) (cb + (j0 + c) * k + i)));
        for (int r = 0; r < R; r++) {
            __m512i xv = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *) (ca + (r0 + r) * k + i)));
            for (int c = 0; c < C; c++) acc[r][c] = _mm512_add_epi32(acc[r][c], _mm512_madd_epi16(xv, wv[c]));
        }
    }
    for (int r = 0; r < R; r++) {
        const int8_t *ar = ca + (r0 + r) * k;
        for (int c = 0; c < C; c++) {
            const int8_t *wr = cb + (j0 + c) * k;
            int32_t s = hsum_i32(acc[r][c]);
            for (int64_t i = k32; i < k; i++) s += (int32_t) ar[i] * wr[i];
            int64_t rr = r0 + r;
            out[rr * n + j0 + c] = rv_int8_out(s, sca[rr], scb[j0 + c], xh + rr * k, wr, ocols + ostart[rr],
                                               ostart[rr + 1] - ostart[rr]);
        }
    }
}

int rv_matmul_int8_f32_avx512(const int8_t *cb, const float *scb, const int8_t *ca, const float *sca, const float *xh,
                              const int32_t *ostart, const int32_t *ocols, int64_t rows, int64_t k, int64_t n,
                              int64_t n0, int64_t n1, float *out) {
    const int need = RV_CPU_AVX512F | RV_CPU_AVX512BW | RV_CPU_AVX512VL | RV_CPU_FMA;
    if ((rv_cpu_features() & need) != need) {
        return RV_EISA;
    }
    int st = rv_check_int8(cb, scb, ca, sca, xh, ostart, ocols, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    int64_t r4 = rows - rows % 4;
    for (int64_t r = 0; r < r4; r += 4)
        for (int64_t j = n0; j < n1; j++) tile(cb, scb, ca, sca, xh, ostart, ocols, k, n, r, j, out, 4, 1);
    for (int64_t r = r4; r < rows; r++) {
        int64_t j = n0;
        for (; j + 4 <= n1; j += 4) tile(cb, scb, ca, sca, xh, ostart, ocols, k, n, r, j, out, 1, 4);
        for (; j < n1; j++) tile(cb, scb, ca, sca, xh, ostart, ocols, k, n, r, j, out, 1, 1);
    }
    return RV_OK;
}
