/*
 * AVX-512 kernels (compiled with -mavx512f -mavx512bw -mavx512vl -mfma). Four zmm accumulators
 * hold the 64 partial sums of one output (p[16a + l] in lane l of accumulator a), so the order is
 * exactly that of revenant_cpu.h. Decode (rows == 1): 1 x row against 4 weight rows (four weight
 * streams in flight: about 8% more bandwidth than 2 on the 2-core AVX-512 Xeon VM it was tuned on;
 * software prefetch gained nothing there). Batched (rows >= 2): the packed 4 x 6 tile below, one
 * 16-lane group per pass.
 */
#include <immintrin.h>

#include "common.h"
#include "fold_avx512.h"

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

/*
 * Batched path (rows >= 2: prefill, scoring, calibration). The 64 partial sums of an output are four
 * independent chains, p[16a + l] for 16-lane group a, each running over i = 64m + 16a + l in
 * increasing m. The old 4 x 1 tile kept all four groups of 4 outputs in registers (5 loads per 4
 * FMAs); here one pass handles one group a for a GR x GC tile of outputs, one zmm each (24
 * accumulators, GR + GC = 10 loads per 24 FMAs), and four passes cover p[0..63]:
 *
 *   for each super-group of x rows (about 512 KiB of x: it stays in L2 with the chunk's weights),
 *     for each GC weight rows j (the next tile's rows prefetched into L2 meanwhile),
 *       for each group of GMG x rows, for each k-block of GKB columns (in increasing order):
 *         pack Wp (once per tile when k has a single k-block), then
 *         for a in 0..3, for each GR x rows: acc[r][c][16a..] (+)= pass over the k-block's 64-blocks
 *       fold acc[r][c][0..63] (hsum4, step 2), scalar tail (step 3), bias (step 4)
 *
 * Every lane's chain still runs over m in increasing order (k-blocks in order, the partial sums
 * carried in acc between them), so each output has exactly the bits of the generic kernel.
 * Why pack: weight rows are k floats apart (often 8 KiB, a multiple of 4 KiB) and a pass reads
 * every fourth 64-byte line of each, so unpacked they all land in a quarter of L1's sets and evict
 * each other; packed, a pass reads Wp[a] (GC x 16 floats per 64-block, contiguous, <= 12 KiB) from
 * L1 for all GMG rows, while x streams from L2 (one line per GC FMAs). Packing also widens BF16
 * once per GMG rows instead of once per x row. Stack: Wp 48 KiB + acc 48 KiB.
 */
/* x rows and weight rows per tile, x rows per group (acc), columns per k-block (Wp). */
enum { GR = 4, GC = 6, GMG = 32, GKB = 2048, GNB = GKB / RV_BLOCK };

/* One pass of group a over nbk 64-blocks: x rows r < R (x already at column kb0 + 16a, rows k
 * apart), packed weights wp = Wp[a] (step m, column c at (m * GC + c) * 16), partial sums at
 * acc[(r * GC + c) * 64] (started from zero in the first k-block, else carried). Each step also
 * prefetches one 64-byte line at pf + 64m into L2: the next tile's weight rows, so their first
 * read (from DRAM) overlaps this tile's FMAs. */
static inline __attribute__((always_inline)) void gpass(const float *wp, const float *x, int64_t k, int64_t nbk,
                                                        float *acc, const char *pf, const int first, const int R,
                                                        const int C) {
    __m512 s[GR][GC];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            s[r][c] = first ? _mm512_setzero_ps() : _mm512_load_ps(acc + (r * GC + c) * RV_BLOCK);
    for (int64_t m = 0; m < nbk; m++, wp += GC * 16, x += RV_BLOCK, pf += 64) {
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

/* gpass with first, R and C as constants (one unrolled body per tile shape, edges included). */
static void gpass_rc(const float *wp, const float *x, int64_t k, int64_t nbk, float *acc, const char *pf, int first,
                     int R, int C) {
#define GP(F_, R_, C_) gpass(wp, x, k, nbk, acc, pf, F_, R_, C_)
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

/* Wp[a][m][c][0..15] = w[c, kb0 + 64m + 16a + 0..15] as fp32, for c < C, m < nbk. */
#define DEFINE_PACK(SFX, WT, LDW)                                                                            \
    static void pack_##SFX(const WT *w, int64_t k, int64_t kb0, int64_t nbk, int C, float *wp) {              \
        for (int c = 0; c < C; c++) /* each weight row read in order: the prefetchers stream it */          \
            for (int64_t m = 0; m < nbk; m++)                                                                \
                for (int a = 0; a < 4; a++)                                                                  \
                    _mm512_store_ps(wp + ((a * nbk + m) * GC + c) * 16, LDW(w + c * k + kb0 + 64 * m + 16 * a)); \
    }

#define DEFINE_GEMM(SFX, WT, WREAD)                                                                          \
    static void gemm_##SFX(const WT *w, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,  \
                           int64_t n0, int64_t n1, float *out) {                                              \
        float wp[4 * GNB * GC * 16] __attribute__((aligned(64)));                                           \
        float acc[GMG * GC * RV_BLOCK] __attribute__((aligned(64)));                                        \
        int64_t nb = k / RV_BLOCK, k64 = nb * RV_BLOCK;                                                      \
        /* One k-block (k < 2112): Wp packed once per tile for every row group; else per row group and  \
         * k-block (the partial sums of a group carried in acc from block to block). */                  \
        int one = nb <= GNB;                                                                             \
        /* Row super-groups of about 512 KiB of x (whole GMG groups): their x stays in L2 with the */        \
        /* caller's chunk of weight rows while every tile of the chunk runs over them. */                      \
        int64_t sgr = (int64_t) (512 << 10) / (k > 0 ? k * 4 : 1) / GMG * GMG;                              \
        sgr = sgr < GMG ? GMG : sgr;                                                                         \
        for (int64_t sg = 0; sg < rows; sg += sgr) {                                                         \
        int64_t sg1 = rows - sg < sgr ? rows : sg + sgr;                                                     \
        for (int64_t j = n0; j < n1; j += GC) {                                                          \
            int C = (int) (n1 - j < GC ? n1 - j : GC);                                                   \
            int64_t jn = j + GC, cn = n1 - jn < GC ? n1 - jn : GC, q = 0; /* the next tile, to prefetch */ \
            if (one && nb > 0) pack_##SFX(w + j * k, k, 0, nb, C, wp);                                   \
            for (int64_t rg = sg; rg < sg1; rg += GMG) {                                                 \
                int mg = (int) (sg1 - rg < GMG ? sg1 - rg : GMG);                                        \
                for (int64_t b0 = 0; b0 < nb; b0 += GNB) {                                               \
                    int64_t nbk = nb - b0 < GNB ? nb - b0 : GNB;                                         \
                    if (!one) pack_##SFX(w + j * k, k, b0 * RV_BLOCK, nbk, C, wp);                       \
                    for (int a = 0; a < 4; a++)                                                          \
                        for (int r = 0; r < mg; r += GR, q++) {                                          \
                            /* pass q prefetches nbk lines: segment q % S of next-tile row q / S, where a */ \
                            /* row's k-block is S = sizeof(WT) segments of nbk lines (one 64-block each) */   \
                            const int64_t S = (int64_t) sizeof(WT);                                          \
                            const char *pf = q < cn * S ? (const char *) (w + (jn + q / S) * k + b0 * RV_BLOCK)  \
                                                               + (q % S) * nbk * 64                         \
                                                         : (const char *) wp;                                \
                            gpass_rc(wp + a * nbk * GC * 16, x + (rg + r) * k + b0 * RV_BLOCK + 16 * a, k, nbk, \
                                     acc + r * GC * RV_BLOCK + 16 * a, pf, b0 == 0, mg - r < GR ? mg - r : GR, C); \
                        }                                                                                \
                    if (!one) q = 0;                                                                     \
                }                                                                                        \
                for (int r = 0; r < mg; r++) {                                                               \
                    const float *xr = x + (rg + r) * k;                                                      \
                    for (int c = 0; c < C; c++) {                                                            \
                        const WT *wr = w + (j + c) * k;                                                      \
                        const float *p = acc + (r * GC + c) * RV_BLOCK;                                      \
                        float s = nb == 0 ? 0.0f                                                             \
                                          : hsum4(_mm512_load_ps(p), _mm512_load_ps(p + 16),                 \
                                                  _mm512_load_ps(p + 32), _mm512_load_ps(p + 48));           \
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

/* Decode tile (rows == 1): out[r0, j] for j in [j0, j0 + C); C is a constant after inlining. */
#define DEFINE_TILE(SFX, WT, LDW, WREAD)                                                                    \
    static inline __attribute__((always_inline)) void tile_##SFX(const WT *w, const float *bias, const float *x, \
                                                                 int64_t k, int64_t n, int64_t r0, int64_t j0,     \
                                                                 float *out, const int R, const int C) {           \
        __m512 acc[1][4][4];                                                                                \
        for (int r = 0; r < R; r++)                                                                         \
            for (int c = 0; c < C; c++)                                                                     \
                for (int a = 0; a < 4; a++) acc[r][c][a] = _mm512_setzero_ps();                             \
        int64_t k64 = k - k % RV_BLOCK;                                                                     \
        for (int64_t i = 0; i < k64; i += RV_BLOCK) {                                                       \
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
        for (; j + 4 <= n1; j += 4) tile_##SFX(w, bias, x, k, n, 0, j, out, 1, 4);                          \
        for (; j + 2 <= n1; j += 2) tile_##SFX(w, bias, x, k, n, 0, j, out, 1, 2);                          \
        for (; j < n1; j++) tile_##SFX(w, bias, x, k, n, 0, j, out, 1, 1);                                  \
        return RV_OK;                                                                                       \
    }

DEFINE_TILE(f32, float, ldw_f32, READ_F32)
DEFINE_TILE(bf16, uint16_t, ldw_bf16, READ_BF16)
