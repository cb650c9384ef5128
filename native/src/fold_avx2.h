/*
 * Step 2 of the fixed order of revenant_cpu.h on one ymm holding h8[0..7] = q[0..7] + q[8..15] (included by the
 * AVX2 translation units only, compiled with -mavx2): h4[l] = h8[l] + h8[l+4], h2[l] = h4[l] + h4[l+2],
 * s = h2[0] + h2[1].
 */
#ifndef RV_FOLD_AVX2_H
#define RV_FOLD_AVX2_H

#include <immintrin.h>

static inline float rv_fold_ymm(__m256 h8) {
    __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
    __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
    __m128 h1 = _mm_add_ss(h2, _mm_shuffle_ps(h2, h2, 1));
    return _mm_cvtss_f32(h1);
}

#endif
