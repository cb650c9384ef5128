/*
 * AVX2 + FMA kernels (compiled with -mavx2 -mfma). Eight ymm accumulators hold the 64 partial
 * sums of one output: accumulator 2a + h holds p[16a + 8h + l] in lane l, so folding them as
 * below reproduces the order of revenant_cpu.h, bit for bit the AVX-512 result. Decode (rows == 1):
 * one output at a time (and batched F32). Batched BF16 (rows >= 2): the packed 3 x 3 tile below, one
 * 8-lane group per pass.
 */
#include <immintrin.h>

#include "common.h"
#include "fold_avx2.h"

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
    return rv_fold_ymm(_mm256_add_ps(lo, hi));
}

#define READ_F32(v) (v)
#define READ_BF16(v) rv_bf16(v)

/*
 * Batched path (rows >= 2), as in matmul_avx512.c with 8 lanes: the 64 partial sums of an output are
 * eight independent chains p[8g + l] (group g = 2a + h of the accumulators above), each over
 * i = 64m + 8g + l in increasing m. One pass handles one group g for a GR x GC tile, one ymm per
 * output (9 accumulators + 3 weights + 1 x of the 16 registers; 6 loads per 9 FMAs); eight passes
 * cover p[0..63]; the partial sums go to acc[r][c][8g..8g+7] and hsum8 folds them (step 2), then
 * the tail (step 3) and the bias (step 4). Weight rows are packed per GKB-column block,
 * Wp[g][m][c][0..7], so a pass reads them contiguously from L1 (and BF16 is widened once per GMG x
 * rows); k-blocks run in order with the partial sums carried in acc. Stack: Wp 24 KiB + acc 24 KiB.
 */
enum { GR = 3, GC = 3, GMG = 32, GKB = 2048, GNB = GKB / RV_BLOCK };

static inline __attribute__((always_inline)) void gpass(const float *wp, const float *x, int64_t k, int64_t nbk,
                                                        float *acc, const char *pf, const int first, const int R,
                                                        const int C) {
    __m256 s[GR][GC];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            s[r][c] = first ? _mm256_setzero_ps() : _mm256_load_ps(acc + (r * GC + c) * RV_BLOCK);
    for (int64_t m = 0; m < nbk; m++, wp += GC * 8, x += RV_BLOCK, pf += 64) {
        __m256 wv[GC];
        _mm_prefetch(pf, _MM_HINT_T1); /* the next tile's weights, into L2 */
        for (int c = 0; c < C; c++) {
            wv[c] = _mm256_load_ps(wp + 8 * c);
            __asm__("" : "+x"(wv[c])); /* keep it in a register: gcc would re-load it in every FMA */
        }
        for (int r = 0; r < R; r++) {
            __m256 xv = _mm256_loadu_ps(x + r * k);
            __asm__("" : "+x"(xv));
            for (int c = 0; c < C; c++) s[r][c] = _mm256_fmadd_ps(xv, wv[c], s[r][c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) _mm256_store_ps(acc + (r * GC + c) * RV_BLOCK, s[r][c]);
}

static void gpass_rc(const float *wp, const float *x, int64_t k, int64_t nbk, float *acc, const char *pf, int first,
                     int R, int C) {
#define GP(F_, R_, C_) gpass(wp, x, k, nbk, acc, pf, F_, R_, C_)
#define GP_C(F_, R_)                                                                                             \
    switch (C) {                                                                                                 \
    case 3: GP(F_, R_, 3); break;                                                                                \
    case 2: GP(F_, R_, 2); break;                                                                                \
    default: GP(F_, R_, 1); break;                                                                               \
    }
#define GP_RC(F_)                                                                                                \
    switch (R) {                                                                                                 \
    case 3: GP_C(F_, 3) break;                                                                                   \
    case 2: GP_C(F_, 2) break;                                                                                   \
    default: GP_C(F_, 1) break;                                                                                  \
    }
    if (first) {
        GP_RC(1)
    } else {
        GP_RC(0)
    }
#undef GP_RC
#undef GP_C
#undef GP
}

/* Wp[g][m][c][0..7] = w[c, kb0 + 64m + 8g + 0..7] as fp32, for c < C, m < nbk; rows read in order. */
#define DEFINE_PACK(SFX, WT, LDW)                                                                            \
    static void pack_##SFX(const WT *w, int64_t k, int64_t kb0, int64_t nbk, int C, float *wp) {              \
        for (int c = 0; c < C; c++)                                                                          \
            for (int64_t m = 0; m < nbk; m++)                                                                \
                for (int g = 0; g < 8; g++)                                                                  \
                    _mm256_store_ps(wp + ((g * nbk + m) * GC + c) * 8, LDW(w + c * k + kb0 + 64 * m + 8 * g)); \
    }

#define DEFINE_GEMM(SFX, WT, WREAD)                                                                          \
    static void gemm_##SFX(const WT *w, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,  \
                           int64_t n0, int64_t n1, float *out) {                                              \
        float wp[8 * GNB * GC * 8] __attribute__((aligned(64)));                                            \
        float acc[GMG * GC * RV_BLOCK] __attribute__((aligned(64)));                                        \
        int64_t nb = k / RV_BLOCK, k64 = nb * RV_BLOCK;                                                      \
        int one = nb <= GNB; /* one k-block: pack each tile once for every row group */                     \
        /* Row super-groups of about 512 KiB of x (whole GMG groups): their x stays in L2 with the */        \
        /* caller's chunk of weight rows while every tile of the chunk runs over them. */                      \
        int64_t sgr = (int64_t) (512 << 10) / (k > 0 ? k * 4 : 1) / GMG * GMG;                              \
        sgr = sgr < GMG ? GMG : sgr;                                                                         \
        for (int64_t sg = 0; sg < rows; sg += sgr) {                                                         \
        int64_t sg1 = rows - sg < sgr ? rows : sg + sgr;                                                     \
        for (int64_t j = n0; j < n1; j += GC) {                                                              \
            int C = (int) (n1 - j < GC ? n1 - j : GC);                                                       \
            int64_t jn = j + GC, cn = n1 - jn < GC ? n1 - jn : GC, q = 0; /* the next tile, to prefetch */   \
            if (one && nb > 0) pack_##SFX(w + j * k, k, 0, nb, C, wp);                                       \
            for (int64_t rg = sg; rg < sg1; rg += GMG) {                                                     \
                int mg = (int) (sg1 - rg < GMG ? sg1 - rg : GMG);                                            \
                for (int64_t b0 = 0; b0 < nb; b0 += GNB) {                                                   \
                    int64_t nbk = nb - b0 < GNB ? nb - b0 : GNB;                                             \
                    if (!one) pack_##SFX(w + j * k, k, b0 * RV_BLOCK, nbk, C, wp);                           \
                    for (int g = 0; g < 8; g++)                                                              \
                        for (int r = 0; r < mg; r += GR, q++) {                                              \
                            /* pass q prefetches segment q % S of next-tile row q / S (S = sizeof(WT) */     \
                            /* segments of nbk lines make a row's k-block) */                                 \
                            const int64_t S = (int64_t) sizeof(WT);                                          \
                            const char *pf = q < cn * S ? (const char *) (w + (jn + q / S) * k + b0 * RV_BLOCK) \
                                                              + (q % S) * nbk * 64                           \
                                                        : (const char *) wp;                                 \
                            gpass_rc(wp + g * nbk * GC * 8, x + (rg + r) * k + b0 * RV_BLOCK + 8 * g, k, nbk, \
                                     acc + r * GC * RV_BLOCK + 8 * g, pf, b0 == 0, mg - r < GR ? mg - r : GR, C); \
                        }                                                                                    \
                    if (!one) q = 0;                                                                         \
                }                                                                                            \
                for (int r = 0; r < mg; r++) {                                                               \
                    const float *xr = x + (rg + r) * k;                                                      \
                    for (int c = 0; c < C; c++) {                                                            \
                        const WT *wr = w + (j + c) * k;                                                      \
                        const float *p = acc + (r * GC + c) * RV_BLOCK;                                      \
                        __m256 a8[8];                                                                        \
                        for (int g = 0; g < 8; g++) a8[g] = _mm256_load_ps(p + 8 * g);                       \
                        float s = nb == 0 ? 0.0f : hsum8(a8);                                                \
                        for (int64_t i = k64; i < k; i++) s = fmaf(xr[i], WREAD(wr[i]), s);                  \
                        out[(rg + r) * n + j + c] = bias ? s + bias[j + c] : s;                              \
                    }                                                                                        \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
        }                                                                                                    \
    }

DEFINE_PACK(f32, float, ldw_f32)
DEFINE_PACK(bf16, uint16_t, ldw_bf16)
DEFINE_GEMM(f32, float, READ_F32)
DEFINE_GEMM(bf16, uint16_t, READ_BF16)

/* The batched tile for BF16 only: measured on the AVX-512 VM through these AVX2 kernels (1 thread,
 * batch 16 and 64, 2048x2048), BF16 gained 10-18% (the widening done once per 32 rows), F32 was
 * -12% to +5%, so F32 keeps the one-output loop below. */
#define BATCHED_f32 0
#define BATCHED_bf16 1

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
        if (rows >= 2 && BATCHED_##SFX) {                                                                   \
            gemm_##SFX(w, bias, x, rows, k, n, n0, n1, out);                                                \
            return RV_OK;                                                                                   \
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
