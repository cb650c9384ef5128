/*
 * AVX-512 kernels (compiled with -mavx512f -mavx512bw -mavx512vl -mfma). Four zmm accumulators
 * hold the 64 partial sums of one output (p[16a + l] in lane l of accumulator a), so the order is
 * exactly that of revenant_cpu.h. Decode (rows == 1): 1 x row against 4 weight rows (four weight
 * streams in flight: about 8% more bandwidth than 2 on the 2-core AVX-512 Xeon VM it was tuned on), each
 * tile prefetching the next tile's rows into L2 (bench/native/decode_harness.c, bf16, 2 threads, medians of 5-7
 * rounds at load average ~3: 4096x4096 0.84 -> 0.93 of the read bandwidth, 0.93 -> 1.02 with Java's 16-byte
 * offset, 4096x11008 0.83 -> 0.94, 11008x4096 0.85 -> 0.86). Batched: 2-31 rows gemm_few_avx512.h, from 32 rows
 * the GEMM core of gemm_avx512.h (the same bits).
 */
#include <immintrin.h>

#include "common.h"
#include "fold_avx512.h"
#include "gemm_few_avx512.h"

static inline __m512 ldw_f32(const float *p) {
    return _mm512_loadu_ps(p);
}

/* 16 bf16 -> 16 fp32, exact: zero-extend to 32 bits, shift into the high half. */
static inline __m512 ldw_bf16(const uint16_t *p) {
    __m256i h = _mm256_loadu_si256((const __m256i *) p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* Step 2 of the fixed order on (a0, a1, a2, a3) = p[0..15], p[16..31], p[32..47], p[48..63]. */
static inline float hsum4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    return rv_fold_zmm(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

#define READ_F32(v) (v)
#define READ_BF16(v) rv_bf16(v)

/* Batched path (rows >= 2: prefill, scoring, calibration): the GEMM cores of gemm_avx512.h (from RV_GEMM_T_ROWS rows,
 * when its scratch memory can be had) and gemm_few_avx512.h, with the weights widened into their packed tiles (BF16
 * exactly: shift left 16) and the F32 order's tail (fma, in order). */
#define DEFINE_GEMM(SFX, WT, LDW, WREAD)                                                                    \
    static void pack_##SFX(const rv_gemm_w *W, int64_t j, int C, int64_t kb, int64_t nbk, int a0, int a1,   \
                           float *wp) {                                                                      \
        const WT *w = (const WT *) W->w + j * W->k + kb;                                                     \
        for (int c = 0; c < C; c++) /* each weight row read in order: the prefetchers stream it */          \
            for (int64_t m = 0; m < nbk; m++)                                                                \
                for (int a = a0; a < a1; a++)                                                                \
                    _mm512_store_ps(wp + ((a * nbk + m) * GC + c) * 16, LDW(w + c * W->k + 64 * m + 16 * a)); \
    }                                                                                                        \
    static float tail_##SFX(const rv_gemm_w *W, int64_t j, const float *xr, int64_t k0, int64_t k, float s) {  \
        const WT *wr = (const WT *) W->w + j * W->k;                                                         \
        for (int64_t i = k0; i < k; i++) s = fmaf(xr[i], WREAD(wr[i]), s);                                  \
        return s;                                                                                            \
    }                                                                                                        \
    static void gemm_##SFX(const WT *w, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n, \
                           int64_t n0, int64_t n1, float *out) {                                             \
        const rv_gemm_w W = {.w = w, .k = k, .n = n, .ng = 4, .rowbytes = k * (int64_t) sizeof(WT),           \
                             .pack = pack_##SFX, .tail = tail_##SFX};                                        \
        if (rows < RV_GEMM_T_ROWS || rv_gemm(&W, bias, x, rows, n0, n1, out) != 0)                           \
            rv_gemm_few(&W, bias, x, rows, n0, n1, out);                                                     \
    }

DEFINE_GEMM(f32, float, ldw_f32, READ_F32)
DEFINE_GEMM(bf16, uint16_t, ldw_bf16, READ_BF16)

/* Decode tile (rows == 1): out[r0, j] for j in [j0, j0 + C); C is a constant after inlining. */
#define DEFINE_TILE(SFX, WT, LDW, WREAD)                                                                    \
    static inline __attribute__((always_inline)) void tile_##SFX(const WT *w, const float *bias, const float *x, \
                                                                 int64_t k, int64_t n, int64_t r0, int64_t j0,     \
                                                                 float *out, const int R, const int C,             \
                                                                 const int PFN) {                                  \
        __m512 acc[1][4][4];                                                                                \
        for (int r = 0; r < R; r++)                                                                         \
            for (int c = 0; c < C; c++)                                                                     \
                for (int a = 0; a < 4; a++) acc[r][c][a] = _mm512_setzero_ps();                             \
        int64_t k64 = k - k % RV_BLOCK;                                                                     \
        const char *pfn = (const char *) (w + (j0 + C) * k); /* the next tile's rows (PFN: inside [n0, n1)) */ \
        for (int64_t i = 0; i < k64; i += RV_BLOCK) {                                                       \
            if (PFN) /* each line of the next tile once, into L2, while this one computes */                \
                for (int c = 0; c < C; c++)                                                                 \
                    for (int l = 0; l < (int) sizeof(WT); l++)                                              \
                        _mm_prefetch(pfn + (c * k + i) * (int64_t) sizeof(WT) + 64 * l, _MM_HINT_T1);       \
            for (int a = 0; a < 4; a++) {                                                                   \
                __m512 wv[4];                                                                               \
                for (int c = 0; c < C; c++) wv[c] = LDW(w + (j0 + c) * k + i + 16 * a);                     \
                for (int r = 0; r < R; r++) {                                                               \
                    __m512 xv = _mm512_loadu_ps(x + (r0 + r) * k + i + 16 * a);                             \
                    for (int c = 0; c < C; c++) acc[r][c][a] = _mm512_fmadd_ps(xv, wv[c], acc[r][c][a]);    \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
        for (int r = 0; r < R; r++) {                                                                       \
            const float *xr = x + (r0 + r) * k;                                                             \
            for (int c = 0; c < C; c++) {                                                                   \
                const WT *wr = w + (j0 + c) * k;                                                            \
                float s = hsum4(acc[r][c][0], acc[r][c][1], acc[r][c][2], acc[r][c][3]);                    \
                for (int64_t i = k64; i < k; i++) s = fmaf(xr[i], WREAD(wr[i]), s);                         \
                out[(r0 + r) * n + j0 + c] = bias ? s + bias[j0 + c] : s;                                   \
            }                                                                                               \
        }                                                                                                   \
    }                                                                                                       \
                                                                                                            \
    int rv_matmul_##SFX##_f32_avx512(const WT *w, const float *bias, const float *x, int64_t rows, int64_t k,   \
                                     int64_t n, int64_t n0, int64_t n1, float *out) {                       \
        const int need = RV_CPU_AVX512F | RV_CPU_AVX512BW | RV_CPU_AVX512VL | RV_CPU_FMA;                   \
        if ((rv_cpu_features() & need) != need) {                                                           \
            return RV_EISA;                                                                                 \
        }                                                                                                   \
        int st = rv_check(w, x, out, rows, k, n, n0, n1);                                                   \
        if (st != RV_OK) {                                                                                  \
            return st;                                                                                      \
        }                                                                                                   \
        if (rows >= 2) {                                                                                    \
            gemm_##SFX(w, bias, x, rows, k, n, n0, n1, out);                                                \
            return RV_OK;                                                                                   \
        }                                                                                                   \
        int64_t j = n0; /* decode: one x row against 4 weight rows (four streams in flight) */              \
        for (; j + 8 <= n1; j += 4) tile_##SFX(w, bias, x, k, n, 0, j, out, 1, 4, 1);                       \
        for (; j + 4 <= n1; j += 4) tile_##SFX(w, bias, x, k, n, 0, j, out, 1, 4, 0);                       \
        for (; j + 2 <= n1; j += 2) tile_##SFX(w, bias, x, k, n, 0, j, out, 1, 2, 0);                       \
        for (; j < n1; j++) tile_##SFX(w, bias, x, k, n, 0, j, out, 1, 1, 0);                               \
        return RV_OK;                                                                                       \
    }

DEFINE_TILE(f32, float, ldw_f32, READ_F32)
DEFINE_TILE(bf16, uint16_t, ldw_bf16, READ_BF16)
