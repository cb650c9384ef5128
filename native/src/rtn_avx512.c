/*
 * AVX-512 RTN kernel (quant/RtnPacked codes; compiled with -mavx512f -mavx512bw -mavx512vl -mfma).
 * 16 codes decode to one zmm: u8 -> int32 -> fp32 (exact), minus the broadcast zero, times the
 * broadcast scale (two roundings: RtnPacked.dequantize). Four accumulators per output: lane l of
 * accumulator m holds p[16m + l], the order of revenant_cpu.h. When the group size is a multiple
 * of 16 (or -1) each 16-block lies in one group (one scale/zero pair, read once per tile); any
 * other group size decodes the block element by element (same values, same bits).
 *
 * Tiles: R activation rows x C weight rows, each 16-block decoded once per tile: decode (1 row)
 * 1 x 8, then narrower tiles for the last columns; 2 rows 2 x 2, 3 rows 3 x 1, prefill groups of
 * 4 rows 4 x 1. The group index is tracked along k (no division per block).
 *
 * Decode width C1 measured at rtn-w4-g128 4096 x 4096, batch 1, 2 threads, on the 2-core Sapphire
 * Rapids VM (GB/s of weight bytes, three runs each, noisy): 4 columns 12.2 / 12.1 / 12.4; 6 columns
 * 11.9 / 13.0 / 9.6; 8 columns 13.9 / 12.7 / 12.8.
 */
#include <immintrin.h>

#include "common.h"
#include "fold_avx512.h"

#define PF 256
#define C1 8

/* Weights (j, i .. i + 15). fast: the block lies in group g. */
static inline __attribute__((always_inline)) __m512 dec16(const uint8_t *codes, const float *scale,
                                                          const float *zero, int64_t gs, int64_t k, int64_t n,
                                                          int64_t j, int64_t i, int fast, int64_t g) {
    if (fast) {
        __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (codes + j * k + i)));
        __m512 d = _mm512_sub_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(zero[g * n + j]));
        return _mm512_mul_ps(_mm512_set1_ps(scale[g * n + j]), d);
    }
    float t[16];
    for (int l = 0; l < 16; l++) t[l] = rv_rtn_w(codes, scale, zero, gs, k, n, j, i + l);
    return _mm512_loadu_ps(t);
}

static inline __attribute__((always_inline)) void tile(const uint8_t *codes, const float *scale,
                                                       const float *zero, int64_t gs, const float *bias,
                                                       const float *x, int64_t k, int64_t n, int64_t r0,
                                                       int64_t j0, float *out, const int R, const int C) {
    __m512 acc[4][8][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            for (int m = 0; m < 4; m++) acc[r][c][m] = _mm512_setzero_ps();
    const int fast = gs < 0 || gs % 16 == 0;
    const int64_t k64 = k - k % 64;
    const int64_t k16 = k - k % 16;
    int64_t i = 0;
    /* Group of the current 16-block on the fast path, tracked along i (no division per block). */
    int64_t g = 0, gend = gs > 0 ? gs : INT64_MAX;
    for (; i < k64; i += 64) {
        for (int c = 0; c < C; c++)
            _mm_prefetch((const char *) (codes + (j0 + c) * k + i) + PF, _MM_HINT_T0);
        for (int m = 0; m < 4; m++) {
            if (i + 16 * m >= gend) {
                g++;
                gend += gs;
            }
            __m512 xv[4];
            for (int r = 0; r < R; r++) xv[r] = _mm512_loadu_ps(x + (r0 + r) * k + i + 16 * m);
            for (int c = 0; c < C; c++) {
                __m512 wv = dec16(codes, scale, zero, gs, k, n, j0 + c, i + 16 * m, fast, g);
                for (int r = 0; r < R; r++) acc[r][c][m] = _mm512_fmadd_ps(xv[r], wv, acc[r][c][m]);
            }
        }
    }
    for (; i < k16; i += 16) {
        if (i >= gend) {
            g++;
            gend += gs;
        }
        __m512 xv[4];
        for (int r = 0; r < R; r++) xv[r] = _mm512_loadu_ps(x + (r0 + r) * k + i);
        for (int c = 0; c < C; c++) {
            __m512 wv = dec16(codes, scale, zero, gs, k, n, j0 + c, i, fast, g);
            for (int r = 0; r < R; r++) acc[r][c][0] = _mm512_fmadd_ps(xv[r], wv, acc[r][c][0]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            __m512 q = _mm512_add_ps(_mm512_add_ps(acc[r][c][0], acc[r][c][1]),
                                     _mm512_add_ps(acc[r][c][2], acc[r][c][3]));
            float s = rv_fold_zmm(q);
            const float *xr = x + (r0 + r) * k;
            for (int64_t t = k16; t < k; t++) {
                float prod = xr[t] * rv_rtn_w(codes, scale, zero, gs, k, n, j0 + c, t);
                s = s + prod;
            }
            out[(r0 + r) * n + j0 + c] = bias ? s + bias[j0 + c] : s;
        }
}

static inline __attribute__((always_inline)) void cols(const uint8_t *codes, const float *scale,
                                                       const float *zero, int64_t gs, const float *bias,
                                                       const float *x, int64_t k, int64_t n, int64_t r0,
                                                       int64_t n0, int64_t n1, float *out, const int R,
                                                       const int C) {
    int64_t j = n0;
    if (C >= 8)
        for (; j + 8 <= n1; j += 8) tile(codes, scale, zero, gs, bias, x, k, n, r0, j, out, R, 8);
    if (C >= 6)
        for (; j + 6 <= n1; j += 6) tile(codes, scale, zero, gs, bias, x, k, n, r0, j, out, R, 6);
    if (C >= 4)
        for (; j + 4 <= n1; j += 4) tile(codes, scale, zero, gs, bias, x, k, n, r0, j, out, R, 4);
    if (C >= 2)
        for (; j + 2 <= n1; j += 2) tile(codes, scale, zero, gs, bias, x, k, n, r0, j, out, R, 2);
    for (; j < n1; j++) tile(codes, scale, zero, gs, bias, x, k, n, r0, j, out, R, 1);
}

int rv_matmul_rtn_u8_f32_avx512(const uint8_t *codes, const float *scale, const float *zero, int64_t gs,
                                const float *bias, const float *x, int64_t rows, int64_t k, int64_t n, int64_t n0,
                                int64_t n1, float *out) {
    const int need = RV_CPU_AVX512F | RV_CPU_AVX512BW | RV_CPU_AVX512VL | RV_CPU_FMA;
    if ((rv_cpu_features() & need) != need) {
        return RV_EISA;
    }
    int st = rv_check_rtn(codes, scale, zero, gs, x, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    int64_t r4 = rows - rows % 4;
    for (int64_t r = 0; r < r4; r += 4) cols(codes, scale, zero, gs, bias, x, k, n, r, n0, n1, out, 4, 1);
    switch (rows - r4) {
    case 1: cols(codes, scale, zero, gs, bias, x, k, n, r4, n0, n1, out, 1, C1); break;
    case 2: cols(codes, scale, zero, gs, bias, x, k, n, r4, n0, n1, out, 2, 2); break;
    case 3: cols(codes, scale, zero, gs, bias, x, k, n, r4, n0, n1, out, 3, 1); break;
    default: break;
    }
    return RV_OK;
}
