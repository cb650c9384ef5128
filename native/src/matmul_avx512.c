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

/* BF16 group a of 16 rows from j, transposed (rv_packt_fn): each row's 16 values are 8 dwords (pairs of neighbours
 * in k), the 16 x 8 dword matrix is transposed in three rounds of 8 two-source permutes (rows 2i and 2i + 1 in the
 * halves of z[i]; then quads of rows by halves of pairs, U; octets of rows by pairs of pairs, V; all 16 rows of one
 * pair, O), and a pair widens to its two fp32 lanes classes by one shift (the even element) or one mask (the odd):
 * exactly the pack's values (a bf16 is the high half of its fp32). 24 permutes and 16 shifts/masks per 256 values
 * where the pack and the fp32 transpose take 16 widenings, 16 shifts and 64 permutes. */
static void packt_bf16(const rv_gemm_w *W, int64_t j, int64_t kb, int64_t nbk, int a, float *wt, int64_t ls,
                       int64_t ms) {
    const __m512i hi = _mm512_set1_epi32((int) 0xFFFF0000u);
    if (rv_panel_ok(W, j)) { /* the panel holds the pairs transposed (o below): 8 loads, the shifts and masks */
        const char *u = rv_panel_at(W, j / 16, a, kb / 64);
        for (int64_t m = 0; m < nbk; m++, u += 512, wt += ms)
#pragma GCC unroll 8
            for (int d = 0; d < 8; d++) {
                const __m512i o = _mm512_loadu_si512((const void *) (u + 64 * d));
                _mm512_store_ps(wt + (2 * d) * ls, _mm512_castsi512_ps(_mm512_slli_epi32(o, 16)));
                _mm512_store_ps(wt + (2 * d + 1) * ls, _mm512_castsi512_ps(_mm512_and_si512(o, hi)));
            }
        return;
    }
    const int64_t k = W->k;
    const uint16_t *w = (const uint16_t *) W->w + j * k + kb + 16 * a;
    const __m512i r10 = _mm512_setr_epi32(0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27),
                  r11 = _mm512_setr_epi32(4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31),
                  r20 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23),
                  r21 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    for (int64_t m = 0; m < nbk; m++, w += 64, wt += ms) {
        __m512i z[8], u[8], v[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) /* z[i]: lanes 8h + p = pair p of row 2i + h */
            z[i] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *) (w + 2 * i * k))),
                                      _mm256_loadu_si256((const __m256i *) (w + (2 * i + 1) * k)), 1);
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) { /* u[2q + dq]: lanes 4p' + r' = pair 4dq + p' of row 4q + r' */
            u[2 * q] = _mm512_permutex2var_epi32(z[2 * q], r10, z[2 * q + 1]);
            u[2 * q + 1] = _mm512_permutex2var_epi32(z[2 * q], r11, z[2 * q + 1]);
        }
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) /* v[4h + dp]: lanes 8p' + r'' = pair 2dp + p' of row 8h + r'' */
#pragma GCC unroll 4
            for (int dp = 0; dp < 4; dp++)
                v[4 * h + dp] = _mm512_permutex2var_epi32(u[4 * h + dp / 2], dp % 2 ? r21 : r20, u[4 * h + 2 + dp / 2]);
#pragma GCC unroll 8
        for (int d = 0; d < 8; d++) { /* o: lane c = pair d of row c */
            const __m512i o = d % 2 ? _mm512_shuffle_i64x2(v[d / 2], v[4 + d / 2], 0xEE)
                                    : _mm512_shuffle_i64x2(v[d / 2], v[4 + d / 2], 0x44);
            _mm512_store_ps(wt + (2 * d) * ls, _mm512_castsi512_ps(_mm512_slli_epi32(o, 16)));
            _mm512_store_ps(wt + (2 * d + 1) * ls, _mm512_castsi512_ps(_mm512_and_si512(o, hi)));
        }
    }
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
    static void gemm_##SFX(const WT *w, const WT *panel, const float *bias, const float *x, int64_t rows,     \
                           int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {                        \
        const rv_gemm_w W = {.w = w, .k = k, .n = n, .ng = 4, .rowbytes = k * (int64_t) sizeof(WT),           \
                             .pack = pack_##SFX, .tail = tail_##SFX, .packt = PACKT_##SFX,                   \
                             .panel = PACKT_##SFX != NULL ? panel : NULL, .es = (int) sizeof(WT),              \
                             .nv = k > 8192 ? 2 : 3};                                                         \
        if (rows < RV_GEMM_T_ROWS || rv_gemm(&W, bias, x, rows, n0, n1, out) != 0)                           \
            rv_gemm_few(&W, bias, x, rows, n0, n1, out);                                                     \
    }

#define PACKT_f32 NULL
#define PACKT_bf16 packt_bf16
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
            gemm_##SFX(w, NULL, bias, x, rows, k, n, n0, n1, out);                                          \
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

/* The BF16 matmul with the weights' panel (revenant_cpu.h, "Panels"; k % 64 == 0): the same bits, the core's packs
 * read the panel. */
int rv_matmul_bf16p_f32_avx512(const uint16_t *w, const uint16_t *panel, const float *bias, const float *x,
                               int64_t rows, int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {
    if (panel == NULL || rows < 2) return rv_matmul_bf16_f32_avx512(w, bias, x, rows, k, n, n0, n1, out);
    const int need = RV_CPU_AVX512F | RV_CPU_AVX512BW | RV_CPU_AVX512VL | RV_CPU_FMA;
    if ((rv_cpu_features() & need) != need) {
        return RV_EISA;
    }
    int st = rv_check(w, x, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    if (k % 64 != 0) {
        return RV_EINVAL;
    }
    gemm_bf16(w, panel, bias, x, rows, k, n, n0, n1, out);
    return RV_OK;
}
