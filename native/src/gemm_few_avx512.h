/*
 * gemm_few_avx512.h: the batched core below RV_GEMM_T_ROWS rows (F32/BF16 from 2 rows, the packed formats from
 * RV_GEMM_ROWS; included by the AVX-512 translation units, compiled with -mavx512f -mavx512bw -mavx512vl -mfma): a
 * dot-product tile, one 16-lane group per pass. From RV_GEMM_T_ROWS rows gemm_avx512.h's core serves instead (this
 * one stays the fallback when that core's scratch memory cannot be had); both give the same bits.
 * out[r, j] = sum_i x[r, i] * w(j, i) (+ bias[j]) for rows r of a batch and columns j in [n0, n1), for any weight
 * format that can write a tile of its weights as fp32: the format gives a pack function (its own dequantization,
 * so its own roundings), the core does the rest.
 *
 * Order: the fixed orders of revenant_cpu.h with blocks of B = 16 * ng elements: partial sums p[0 .. B-1],
 * p[l] = fma(x[i], w[i], p[l]) for i = B * m + l over the whole blocks in increasing m, then the fold (ng = 4: step
 * 2 of the F32 order; ng = 2: step 2 of the GGUF order), then the format's tail over [B * (k / B), k) and the bias.
 * ng = 4 is the F32/BF16 order, and the RTN and bitsandbytes 4-bit order when k % 64 == 0 (their steps 2 and 4
 * are then empty); ng = 2 is the GGUF order (k % 32 == 0 always). The partial sums of an output are ng independent
 * chains, p[16a + l] for 16-lane group a, each over i = B m + 16a + l in increasing m. One pass handles one group
 * a for a GR x GC tile of outputs, one zmm each (24 accumulators; GR + GC = 10 loads per 24 FMAs), and ng passes
 * cover p[0 .. B-1]:
 *
 *   for each super-group of x rows (about RV_GSG bytes of x: it stays in L2 while the chunk's tiles run over it),
 *     for each GC weight rows j (the next tile's weight bytes prefetched into L2 meanwhile),
 *       for each group of GMG x rows, for each k-block of GNB blocks (in increasing order):
 *         pack Wp (once per tile when k has a single k-block), then
 *         for a < ng, for each GR x rows: acc[r][c][16a..] (+)= pass over the k-block's blocks
 *       fold acc[r][c][0 .. B-1], tail, bias
 *
 * Every lane's chain runs over m in increasing order (k-blocks in order, the partial sums carried in acc between
 * them), so each output has exactly the bits of the generic kernel, for any rows and any [n0, n1) split.
 * Why pack: weight rows are k elements apart (often a multiple of 4 KiB) and a pass reads every ng-th 64-byte line
 * of each, so unpacked they land in a fraction of L1's sets and evict each other; packed, a pass reads Wp[a]
 * (GC x 16 floats per block, contiguous, GNB * GC * 64 bytes = 24 KiB) from L1 for all GMG rows, while x streams
 * from L2 (one line per GC FMAs). Packing also decodes (or widens) each weight once per GMG rows.
 * Stack: Wp 96 KiB (4 groups x 64 blocks x 6 columns x 64 bytes, for either ng) + acc 48 KiB.
 */
#ifndef RV_GEMM_FEW_AVX512_H
#define RV_GEMM_FEW_AVX512_H

#include <immintrin.h>

#include "common.h"
#include "fold_avx512.h"
#include "gemm_avx512.h"

/* x rows per tile (GC weight rows, gemm_avx512.h), x rows per group (acc), blocks per k-block (Wp), x bytes per
 * super-group. */
enum { GR = 4, GMG = 32, GNB = 64 };
#define RV_GSG (1 << 20)

/* One pass of group a over nbk blocks: x rows r < R (x already at column kb + 16a, rows k apart, xs floats per
 * block), packed weights wp = Wp[a], partial sums at acc[(r * GC + c) * 64] (from zero in the first k-block, else
 * carried). Each step also prefetches one 64-byte line at pf + 64m into L2: the next tile's weights, so their first
 * read (from DRAM) overlaps this tile's FMAs. */
static inline __attribute__((always_inline)) void rv_gpass(const float *wp, const float *x, int64_t k, int64_t xs,
                                                           int64_t nbk, float *acc, const char *pf, const int first,
                                                           const int R, const int C) {
    __m512 s[GR][GC];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            s[r][c] = first ? _mm512_setzero_ps() : _mm512_load_ps(acc + (r * GC + c) * RV_BLOCK);
    for (int64_t m = 0; m < nbk; m++, wp += GC * 16, x += xs, pf += 64) {
        __m512 wv[GC];
        _mm_prefetch(pf, _MM_HINT_T1);
        for (int c = 0; c < C; c++) {
            wv[c] = _mm512_load_ps(wp + 16 * c);
            __asm__("" : "+v"(wv[c])); /* keep it in a register: gcc would re-load it in every FMA */
        }
        for (int r = 0; r < R; r++) {
            __m512 xv = _mm512_loadu_ps(x + r * k);
            __asm__("" : "+v"(xv));
            for (int c = 0; c < C; c++) s[r][c] = _mm512_fmadd_ps(xv, wv[c], s[r][c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) _mm512_store_ps(acc + (r * GC + c) * RV_BLOCK, s[r][c]);
}

/* rv_gpass with first, R and C as constants (one unrolled body per tile shape, edges included). */
static void rv_gpass_rc(const float *wp, const float *x, int64_t k, int64_t xs, int64_t nbk, float *acc,
                        const char *pf, int first, int R, int C) {
#define GP(F_, R_, C_) rv_gpass(wp, x, k, xs, nbk, acc, pf, F_, R_, C_)
#define GP_C(F_, R_)                                                                                             \
    switch (C) {                                                                                                 \
    case 6: GP(F_, R_, 6); break;                                                                                \
    case 5: GP(F_, R_, 5); break;                                                                                \
    case 4: GP(F_, R_, 4); break;                                                                                \
    case 3: GP(F_, R_, 3); break;                                                                                \
    case 2: GP(F_, R_, 2); break;                                                                                \
    default: GP(F_, R_, 1); break;                                                                               \
    }
#define GP_RC(F_)                                                                                                \
    switch (R) {                                                                                                 \
    case 4: GP_C(F_, 4) break;                                                                                   \
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

/* The fold of the order (step 2 of the F32 order for ng = 4, of the GGUF order for ng = 2) on p[0 .. B-1]. */
static inline float rv_gfold(const float *p, int ng) {
    __m512 q = ng == 4 ? _mm512_add_ps(_mm512_add_ps(_mm512_load_ps(p), _mm512_load_ps(p + 16)),
                                       _mm512_add_ps(_mm512_load_ps(p + 32), _mm512_load_ps(p + 48)))
                       : _mm512_add_ps(_mm512_load_ps(p), _mm512_load_ps(p + 16));
    return rv_fold_zmm(q);
}

/* out[r * n + j] for r < rows, j in [n0, n1): the batched path (callers check the arguments). */
static void __attribute__((unused)) rv_gemm_few(const rv_gemm_w *W, const float *bias, const float *x, int64_t rows,
                                            int64_t n0, int64_t n1, float *out) {
    float wp[4 * GNB * GC * 16] __attribute__((aligned(64)));
    float acc[GMG * GC * RV_BLOCK] __attribute__((aligned(64)));
    const int64_t k = W->k, n = W->n, ng = W->ng, B = 16 * ng;
    const int64_t nb = k / B, kB = nb * B;
    /* One k-block: Wp packed once per tile for every row group; else per row group and k-block (the partial sums
     * of a group carried in acc from block to block). */
    const int one = nb <= GNB;
    /* Row super-groups of about RV_GSG bytes of x (whole GMG groups). */
    int64_t sgr = (int64_t) RV_GSG / (k > 0 ? k * 4 : 1) / GMG * GMG;
    sgr = sgr < GMG ? GMG : sgr;
    for (int64_t sg = 0; sg < rows; sg += sgr) {
        const int64_t sg1 = rows - sg < sgr ? rows : sg + sgr;
        for (int64_t j = n0; j < n1; j += GC) {
            const int C = (int) (n1 - j < GC ? n1 - j : GC);
            const int64_t jn = j + GC, cn = n1 - jn < GC ? n1 - jn : GC; /* the next tile, to prefetch */
            const char *pfb = (const char *) W->w + jn * W->rowbytes;
            const int64_t pfe = cn > 0 ? cn * W->rowbytes : 0; /* its bytes */
            int64_t q = 0;                                     /* passes so far in this tile */
            if (one && nb > 0) W->pack(W, j, C, 0, nb, 0, (int) ng, wp);
            for (int64_t rg = sg; rg < sg1; rg += GMG) {
                const int mg = (int) (sg1 - rg < GMG ? sg1 - rg : GMG);
                for (int64_t b0 = 0; b0 < nb; b0 += GNB) {
                    const int64_t nbk = nb - b0 < GNB ? nb - b0 : GNB;
                    if (!one) W->pack(W, j, C, b0 * B, nbk, 0, (int) ng, wp);
                    for (int a = 0; a < ng; a++)
                        for (int r = 0; r < mg; r += GR, q++) {
                            /* pass q prefetches lines [q * nbk, (q + 1) * nbk) of the next tile's bytes */
                            const char *pf = (q + 1) * nbk * 64 <= pfe ? pfb + q * nbk * 64 : (const char *) wp;
                            rv_gpass_rc(wp + a * nbk * GC * 16, x + (rg + r) * k + b0 * B + 16 * a, k, B, nbk,
                                        acc + r * GC * RV_BLOCK + 16 * a, pf, b0 == 0, mg - r < GR ? mg - r : GR, C);
                        }
                }
                for (int r = 0; r < mg; r++) {
                    const float *xr = x + (rg + r) * k;
                    for (int c = 0; c < C; c++) {
                        float s = nb == 0 ? 0.0f : rv_gfold(acc + (r * GC + c) * RV_BLOCK, (int) ng);
                        if (kB < k) s = W->tail(W, j + c, xr, kB, k, s);
                        out[(rg + r) * n + j + c] = bias ? s + bias[j + c] : s;
                    }
                }
            }
        }
    }
}

#endif
