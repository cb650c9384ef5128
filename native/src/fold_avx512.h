/*
 * Step 2 of the fixed order of revenant_cpu.h on one zmm holding q[0..15] (included by the AVX-512 translation
 * units only, which are compiled with -mavx512f): h8[l] = q[l] + q[l+8], h4[l] = h8[l] + h8[l+4],
 * h2[l] = h4[l] + h4[l+2], s = h2[0] + h2[1].
 */
#ifndef RV_FOLD_AVX512_H
#define RV_FOLD_AVX512_H

#include <immintrin.h>

static inline float rv_fold_zmm(__m512 q) {
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(q), 1));
    __m256 h8 = _mm256_add_ps(_mm512_castps512_ps256(q), hi);
    __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
    __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
    __m128 h1 = _mm_add_ss(h2, _mm_shuffle_ps(h2, h2, 1));
    return _mm_cvtss_f32(h1);
}

/*
 * "Lane order" of a 64-block for the 4-bit lookup decoders (RTN with codes < 16, bitsandbytes fp4/nf4): zmm s
 * (s < 4) lane d holds element 4d + s, so one 64-byte load of RTN codes (or 32 packed bnb bytes widened to words)
 * gives each of the four zmm its table indices with at most one shift. Partial sum p[j] (revenant_cpu.h, step 1)
 * then sits in lane j / 4 of accumulator j % 4: the same FMA chain per p[j], only in another register and lane,
 * so the bits do not change. rv_lane_x puts x in that order (per 64-block, before the tile loop); rv_unlane
 * moves the accumulators back to c[m] lane l = p[16m + l] for the fold.
 */
static inline void rv_lane_x(const float *x, float *xs) {
    const __m512i i01 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
    const __m512i i23 = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
    __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16), x2 = _mm512_loadu_ps(x + 32),
           x3 = _mm512_loadu_ps(x + 48);
    __m512 p01 = _mm512_permutex2var_ps(x0, i01, x1), p23 = _mm512_permutex2var_ps(x0, i23, x1);
    __m512 q01 = _mm512_permutex2var_ps(x2, i01, x3), q23 = _mm512_permutex2var_ps(x2, i23, x3);
    _mm512_store_ps(xs, _mm512_shuffle_f32x4(p01, q01, 0x44));
    _mm512_store_ps(xs + 16, _mm512_shuffle_f32x4(p01, q01, 0xEE));
    _mm512_store_ps(xs + 32, _mm512_shuffle_f32x4(p23, q23, 0x44));
    _mm512_store_ps(xs + 48, _mm512_shuffle_f32x4(p23, q23, 0xEE));
}

static inline void rv_unlane(const __m512 *a, __m512 *c) {
    const __m512i t0 = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i t1 = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512i c0 = _mm512_setr_epi32(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const __m512i c1 = _mm512_setr_epi32(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    __m512 T0 = _mm512_permutex2var_ps(a[0], t0, a[1]), T1 = _mm512_permutex2var_ps(a[0], t1, a[1]);
    __m512 U0 = _mm512_permutex2var_ps(a[2], t0, a[3]), U1 = _mm512_permutex2var_ps(a[2], t1, a[3]);
    c[0] = _mm512_permutex2var_ps(T0, c0, U0);
    c[1] = _mm512_permutex2var_ps(T0, c1, U0);
    c[2] = _mm512_permutex2var_ps(T1, c0, U1);
    c[3] = _mm512_permutex2var_ps(T1, c1, U1);
}

#endif
