/*
 * gemm_avx512.h: the batched GEMM core of the AVX-512 translation units (included by matmul_avx512.c,
 * rtn_avx512.c, bnb4_avx512.c and gguf_avx512.c, which are compiled with -mavx512f -mavx512bw -mavx512vl -mfma).
 * out[r, j] = sum_i x[r, i] * w(j, i) (+ bias[j]) for rows r of a batch and columns j in [n0, n1), for any weight
 * format that can write a tile of its weights as fp32: the format gives a pack function (its own dequantization,
 * so its own roundings) and, where it can, a transposing pack (packt: its stored units transposed for 16 columns
 * before they are widened, so the fp32 values land in Wt directly), the core does the rest.
 *
 * Order: the fixed orders of revenant_cpu.h with blocks of B = 16 * ng elements: partial sums p[0 .. B-1],
 * p[l] = fma(x[i], w[i], p[l]) for i = B * m + l over the whole blocks in increasing m, then the fold (ng = 4:
 * step 2 of the F32 order; ng = 2: step 2 of the GGUF order), then the format's tail over [B * (k / B), k) and the
 * bias. ng = 4 is the F32/BF16 order, and the RTN and bitsandbytes 4-bit order when k % 64 == 0 (their steps 2 and
 * 4 are then empty); ng = 2 is the GGUF order (k % 32 == 0 always).
 *
 * Each lane class l < B is its own small matrix product P_l[r, j] = chain over m of x[r, Bm + l] * w(j, Bm + l), so
 * the core computes them as a GEMM with the columns in the lanes: a zmm holds p[l] of 16 columns j, and a step m
 * is acc[r][v] = fma(broadcast x[r, Bm + l], W_l[m][16v .. 16v + 15], acc[r][v]) for MR = 8 rows and nv = 3 column
 * vectors (24 accumulators; per 24 FMAs 3 vector loads of weights and 8 broadcasts of x; nv = 2 for F32/BF16/Q8_0 at
 * k > 8192, rv_gemm_w.nv). The same FMA chain per
 * p[l] as the generic kernel, in another register and lane, so the same bits; the fold adds the P_l of 16 columns
 * at once, lane by lane, in the order's tree (q[l'] = (p[l'] + p[l'+16]) + (p[l'+32] + p[l'+48]), then h8, h4, h2).
 * Compared with a dot-product tile (16 consecutive k of one output per zmm: 10 vector loads per 24 FMAs, x
 * re-streamed from L2 for every 6 columns; gemm_few_avx512.h), each weight vector feeds 8 rows and each x value
 * 48 columns; the price is a transpose of the weights (4 permutes per 16 fp32 values with the pack, 1.5 for BF16 and
 * 0.5 for the 8-bit and 4-bit codes with packt, once per block).
 *
 *   for each super-group of x rows (RV_XSG bytes: packed x, Xp[l][rg][m][r], read once per column block),
 *     for each block of nc = 16 nv columns (the next block's weight bytes prefetched into L2 between the passes),
 *       for each 16-lane group a < ng (so that its transposed weights and x slices stay in L2: at 64 rows and
 *       k = 4096 a quarter of 0.75 and 1 MiB; all groups at once were 9-15 % slower):
 *         decode group a by the format's packt (or pack, then the fp32 transpose) into Wt[l'][m][nc] (l = 16a + l'),
 *         for l' < 16, for each group rg of MR rows: a pass over m (Wt_l stays in L1 for the row groups; Xp
 *         streams), whose epilogue combines P_l into q[l'] in the order's tree (S, T: q[l'] in S after the last a),
 *       then the fold over l' (lane by lane), the tail and the bias.
 *
 * Panels (BF16, RTN; revenant_cpu.h): with W->panel the transposing pack of a whole 16-row vector reads the weights'
 * panel, contiguous units already transposed, and the prefetch between the passes fetches the next group's units
 * (one run per vector) instead of the next block's row-major lines.
 *
 * Memory: per-thread scratch (rv_scratch): Xp, Wt (48 * k / ng floats), the pack's tiles and the S/T buffers; when
 * it cannot be had, rv_gemm returns -1 and the caller takes its other path (same bits).
 */
#ifndef RV_GEMM_AVX512_H
#define RV_GEMM_AVX512_H

#include <immintrin.h>

#include "common.h"

/* Columns per tile of a format's pack function. */
enum { GC = 6 };
/* From RV_GEMM_ROWS rows every format takes a batched core (F32/BF16 from 2 rows): gemm_few_avx512.h's dot-product
 * tiles below RV_GEMM_T_ROWS, this core from there (`bench matmul`, 2 threads, 4096 x 4096, this core against
 * gemm_few's, GFLOP/s: 16 rows bf16 103 / 130, rtn-w4-g128 100 / 134, q8_0 137 / 134, q4_0 169 / 146; 32 rows
 * bf16 165 / 149, rtn-w4-g128 154 / 153, q8_0 211 / 149; 64 rows: bench/RESULTS.md). */
#define RV_GEMM_ROWS 16
#define RV_GEMM_T_ROWS 32

typedef struct rv_gemm_w rv_gemm_w;

/* Wp[a][m][c][0..15] = w(j + c, kb + B*m + 16a + 0..15) as fp32 (the format's value), c < C <= GC, m < nbk,
 * a0 <= a < a1 <= ng (the other groups untouched): float index ((a * nbk + m) * GC + c) * 16. */
typedef void (*rv_pack_fn)(const rv_gemm_w *w, int64_t j, int C, int64_t kb, int64_t nbk, int a0, int a1, float *wp);

/* s plus row j's products with xr over [k0, k), in the format's tail order (F32/BF16: fma, in order). */
typedef float (*rv_tail_fn)(const rv_gemm_w *w, int64_t j, const float *xr, int64_t k0, int64_t k, float s);

/* Group a of 16 columns from j, blocks [kb / B, kb / B + nbk), written transposed: wt[l' * ls + m * ms + c] =
 * w(j + c, kb + B m + 16 a + l') for c, l' < 16 (the same fp32 values as the pack's, so the same bits). A format
 * gives it when it can transpose its stored units before widening them to fp32 (fewer shuffles than the pack and
 * the 16 x 16 fp32 transpose after it, and no round trip through the pack's tile). */
typedef void (*rv_packt_fn)(const rv_gemm_w *w, int64_t j, int64_t kb, int64_t nbk, int a, float *wt, int64_t ls,
                            int64_t ms);

/* A weight for rv_gemm: the format's arrays, its shape, its block width and its pack and tail functions. */
struct rv_gemm_w {
    const void *w;       /* the main array (F32/BF16 values, RTN codes, bnb 4-bit nibbles, GGUF blocks) */
    const float *scale;  /* RTN scale / bnb absmax (NULL when unused) */
    const float *zero;   /* RTN zero / bnb table (NULL when unused) */
    int64_t gs;          /* RTN group size (-1: one group per row) */
    int64_t k, n;
    int ng;              /* 16-lane groups per block: 4 (64-blocks) or 2 (GGUF's 32-blocks) */
    int64_t rowbytes;    /* bytes of one weight row of w (rows contiguous): the prefetch of the next block / tile */
    rv_pack_fn pack;
    rv_tail_fn tail;     /* NULL when k % B == 0 is guaranteed */
    rv_packt_fn packt;   /* NULL: the pack and the transpose */
    const void *panel;   /* NULL, or w again in units of 16 rows x 16 weights (revenant_cpu.h, "Panels") */
    int es;              /* bytes per weight in the panel (BF16 2, RTN 1); 0 when the format reads no panel */
    int nv;              /* column vectors per micro-tile and block: 2 or 3 (0: 3, NV). F32/BF16 take 2 from k > 8192:
                          * Wt of a lane class (k / 64 * 16 nv floats, 33 KiB at k = 11008 with 3) then leaves room
                          * in L1 for the Xp stream (gemm_harness, bf16, 64 rows, 2 threads, 7 rounds, same run: 4096 x
                          * 11008 1.06-1.10x; 4096 x 4096 0.97x, rtn-w4-g128 0.90-1.00x). Q8_0 too (4096 x 11008
                          * 1.07-1.11x); nf4, q4_0 and rtn-w4-g128 there 0.98-1.03x, so they keep 3 */
};

/* With a panel, the unit of rows 16 v .. 16 v + 15, group a, block m (ng = 4), and whether the 16 rows from j are
 * one of its vectors. */
static inline const char *rv_panel_at(const rv_gemm_w *W, int64_t v, int a, int64_t m) {
    return (const char *) W->panel + (((v * 4 + a) * (W->k / 64) + m) * 256) * W->es;
}
static inline int rv_panel_ok(const rv_gemm_w *W, int64_t j) {
    return W->panel != NULL && j % 16 == 0;
}

/* Rows per micro-tile, column vectors per micro-tile, columns per block, blocks per pack slice (gemm_harness bf16,
 * 64 rows, 2 threads, medians of 5 rounds: KS 4 against 8 210 / 192 GFLOP/s at 4096 x 4096, 161 / 155 at
 * 4096 x 11008; KS 2 196 / 150, KS 16 no better than 8). */
enum { MR = 8, NV = 3, NC = 16 * NV, KS = 4, TILE = MR * NV * 16 };
/* Bytes of packed x per super-group of rows. */
#define RV_XSG (4 << 20)

/* In-register transpose of 2^S rows of 16 floats by S rounds of two-source permutes: round t interleaves the pairs
 * of entries that differ in bit t of their index, in blocks of 2^t lanes. Afterwards entry e holds, in lanes
 * 2^S h + r, element RV_TRCOL(e) + h of row r (h < 16 >> S). */
#define RV_TRCOL(e) ((((e) & 1) << 3) | (((e) & 2) << 1) | (((e) & 4) >> 1) | (((e) & 8) >> 3))
static inline __attribute__((always_inline)) void rv_tr(__m512 *v, const int S) {
#pragma GCC unroll 4
    for (int t = 0; t < S; t++) {
        __m512i lo, hi;
        switch (t) {
        case 0:
            lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            break;
        case 1:
            lo = _mm512_setr_epi32(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
            hi = _mm512_setr_epi32(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
            break;
        case 2:
            lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
            hi = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
            break;
        default:
            lo = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
            hi = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
            break;
        }
        const int b = 1 << t;
#pragma GCC unroll 16
        for (int e = 0; e < (1 << S); e++)
            if (!(e & b)) {
                __m512 p = v[e], q = v[e | b];
                v[e] = _mm512_permutex2var_ps(p, lo, q);
                v[e | b] = _mm512_permutex2var_ps(p, hi, q);
            }
    }
}

/* The 16 x 4 dword matrix z (z[t] lane 4q + d = dword d of row 4t + q) transposed: o[d] lane c = dword d of row c.
 * Two rounds: rows 0-7 and 8-15 by pairs of dwords (4 two-source permutes), then 256-bit halves (4 shuffles). */
static inline __attribute__((always_inline)) void rv_tr16x4(const __m512i *z, __m512i *o) {
    const __m512i p0 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29),
                  p1 = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
    /* lanes 8e + r = dword 2dd + e of row 8h + r (a: h = 0, b: h = 1; dd = 0, 1) */
    const __m512i a0 = _mm512_permutex2var_epi32(z[0], p0, z[1]), a1 = _mm512_permutex2var_epi32(z[0], p1, z[1]),
                  b0 = _mm512_permutex2var_epi32(z[2], p0, z[3]), b1 = _mm512_permutex2var_epi32(z[2], p1, z[3]);
    o[0] = _mm512_shuffle_i64x2(a0, b0, 0x44);
    o[1] = _mm512_shuffle_i64x2(a0, b0, 0xEE);
    o[2] = _mm512_shuffle_i64x2(a1, b1, 0x44);
    o[3] = _mm512_shuffle_i64x2(a1, b1, 0xEE);
}

/* 16 bytes of each of 16 rows (row c at p + c * stride) as the 16 x 4 dword matrix of rv_tr16x4. */
static inline __attribute__((always_inline)) void rv_ld16x16(const uint8_t *p, int64_t stride, __m512i *z) {
#pragma GCC unroll 4
    for (int t = 0; t < 4; t++) {
        const uint8_t *r = p + 4 * t * stride;
        __m512i y = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *) r));
        y = _mm512_inserti32x4(y, _mm_loadu_si128((const __m128i *) (r + stride)), 1);
        y = _mm512_inserti32x4(y, _mm_loadu_si128((const __m128i *) (r + 2 * stride)), 2);
        z[t] = _mm512_inserti32x4(y, _mm_loadu_si128((const __m128i *) (r + 3 * stride)), 3);
    }
}

/* Floats per lane class in Xp and Wt, and per pack tile in tmp: one line more than the data, so that the 16 stores of
 * a transposed block (one per lane class) do not all fall into one L1 set when nb * NC * 4 bytes is a multiple of
 * 4 KiB. Measured against no padding (gemm_harness, bf16, 4096 x 4096, 64 rows): no difference beyond the noise;
 * kept as the safer layout. */
#define RV_XLS(nb) ((nb) * MR + 16)
#define RV_WLS(nb, nc) ((nb) * (nc) + 16)
#define RV_TTS (4 * KS * GC * 16 + 16)

/* Xp[(l * ngm + rg) * RV_XLS(nb) + m * MR + r] = x[r0 + MR rg + r, B m + l] for the R rows from r0 (rows padded with
 * zeros to whole groups of MR). */
static void rv_pack_x(const float *x, int64_t k, int64_t r0, int64_t R, int64_t nb, int ng, int64_t ngm, float *xp) {
    const int64_t B = 16 * ng;
    for (int64_t rg = 0; rg * MR < R; rg++) {
        const int64_t rr = R - rg * MR < MR ? R - rg * MR : MR;
        const float *xr = x + (r0 + rg * MR) * k;
        for (int64_t m = 0; m < nb; m++)
            for (int a = 0; a < ng; a++) {
                __m512 v[MR];
#pragma GCC unroll 8
                for (int r = 0; r < MR; r++)
                    v[r] = r < rr ? _mm512_loadu_ps(xr + r * k + B * m + 16 * a) : _mm512_setzero_ps();
                rv_tr(v, 3);
#pragma GCC unroll 8
                for (int e = 0; e < MR; e++) {
                    float *d = xp + ((16 * a + RV_TRCOL(e)) * ngm + rg) * RV_XLS(nb) + m * MR;
                    _mm256_store_ps(d, _mm512_castps512_ps256(v[e]));
                    _mm256_store_ps(d + ngm * RV_XLS(nb),
                                    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v[e]), 1)));
                }
            }
    }
}

/* Group a of the block: Wt[l' * RV_WLS(nb, nc) + m * nc + c] = w(j0 + c, B m + 16 a + l') for c < C (zeros up to whole
 * vectors): the format's pack of group a, KS blocks and 6 columns at a time into tmp (3 tiles of GC columns: one
 * 16-column vector), then transposed. */
static void rv_pack_w(const rv_gemm_w *W, int64_t j0, int C, int64_t nb, int a, int nc, float *wt, float *tmp) {
    const int64_t B = 16 * W->ng;
    for (int v = 0; v * 16 < C; v++) {
        const int cv = C - 16 * v < 16 ? C - 16 * v : 16;
        const char *wv = (const char *) W->w + (j0 + 16 * v) * W->rowbytes;
        for (int64_t m0 = 0; m0 < nb; m0 += KS) {
            const int64_t nbk = nb - m0 < KS ? nb - m0 : KS;
            /* The lines of group a of the next KS blocks of these cv rows (the byte of element i of a row taken as
             * i * rowbytes / k), into L1 while this slice is packed: the block prefetch below does not keep them in
             * L2 until the pack of each group reads them (the pack stalled on these loads: 45 % of the core's time in
             * rv_pack_w at 4096 x 11008, 21 % with the weights hot). gemm_harness, 64 rows, 2 threads, medians of
             * same-round speed-ups, bf16 / rtn-w4-g128: 4096 x 11008 1.13 / 1.17 (wall clock, 9 rounds; 0.374 -> 0.407
             * and 0.344 -> 0.392 of the FMA peak), 1.14 / 1.19 (CPUCLOCK, 15 rounds); 4096 x 4096 1.07 / 1.00 (wall)
             * and 1.11 / 1.07 (CPUCLOCK); 11008 x 4096 1.06 / 1.00 (wall). Two slices ahead, T1, or KS 2 or 8, the
             * same within the noise. */
            if (cv == 16 && W->packt != NULL && rv_panel_ok(W, j0 + 16 * v)) { /* the next slice: one run */
                if (m0 + KS < nb) {
                    const char *p = rv_panel_at(W, (j0 + 16 * v) / 16, a, m0 + KS);
                    const int64_t len = (nb - m0 - KS < KS ? nb - m0 - KS : KS) * 256 * W->es;
                    for (int64_t o = 0; o < len; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
                }
            } else
            for (int64_t m = m0 + KS; m < m0 + 2 * KS && m < nb; m++) {
                const int64_t o0 = (B * m + 16 * a) * W->rowbytes / W->k,
                              o1 = (B * m + 16 * a + 16) * W->rowbytes / W->k - 1;
                for (int c = 0; c < cv; c++) {
                    const char *p = wv + c * W->rowbytes;
                    _mm_prefetch(p + o0, _MM_HINT_T0);
                    if ((((uintptr_t) (p + o0)) ^ ((uintptr_t) (p + o1))) >= 64) _mm_prefetch(p + o1, _MM_HINT_T0);
                }
            }
            if (W->packt != NULL && cv == 16) {
                W->packt(W, j0 + 16 * v, B * m0, nbk, a, wt + m0 * nc + 16 * v, RV_WLS(nb, nc), nc);
                continue;
            }
            for (int t = 0; t * GC < cv; t++)
                W->pack(W, j0 + 16 * v + GC * t, cv - GC * t < GC ? cv - GC * t : GC, B * m0, nbk, a, a + 1,
                        tmp + t * RV_TTS);
            for (int64_t m = 0; m < nbk; m++) {
                    __m512 u[16];
#pragma GCC unroll 16
                    for (int c = 0; c < 16; c++)
                        u[c] = c < cv ? _mm512_load_ps(tmp + (c / GC) * RV_TTS +
                                                       ((a * nbk + m) * GC + c % GC) * 16)
                                      : _mm512_setzero_ps();
                    rv_tr(u, 4);
#pragma GCC unroll 16
                    for (int e = 0; e < 16; e++)
                        _mm512_store_ps(wt + RV_TRCOL(e) * RV_WLS(nb, nc) + (m0 + m) * nc + 16 * v, u[e]);
            }
        }
    }
}

/* One pass of lane class l = 16 a + l' for MR rows and V column vectors: wt = Wt_l, xp = Xp[l][rg], then the
 * epilogue on P by group a: 0 S = P; 1 S = S + P; 2 T = P; 3 S = S + (T + P). After the last group S holds q[l']
 * (ng = 4: (p0 + p1) + (p2 + p3); ng = 2: p0 + p1). */
static inline __attribute__((always_inline)) void rv_uk(const float *wt, int64_t nc, const float *xp, int64_t nb,
                                                        float *sb, float *tb, int mode, const int V) {
    __m512 acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 3
        for (int v = 0; v < V; v++) acc[r][v] = _mm512_setzero_ps();
    for (int64_t m = 0; m < nb; m++, wt += nc, xp += MR) {
        __m512 w[NV];
        for (int v = 0; v < V; v++) w[v] = _mm512_load_ps(wt + 16 * v);
        /* Xp 2 KiB ahead into L1: at k = 11008 Xp (64 rows: 2.8 MiB) is read from L3 once per column block
         * (gemm_harness, 64 rows, 2 threads, 8 rounds, same run: 4096 x 11008 bf16 1.12x, rtn-w4-g128 1.07x;
         * 4096 x 4096, where Xp stays in L2, 1.00-1.06x; 1 or 4 KiB ahead no better in a micro-benchmark). */
        _mm_prefetch((const char *) (xp + 512), _MM_HINT_T0);
        for (int r = 0; r < MR; r++) {
            const __m512 xb = _mm512_set1_ps(xp[r]);
            for (int v = 0; v < V; v++) acc[r][v] = _mm512_fmadd_ps(xb, w[v], acc[r][v]);
        }
    }
    /* the mode outside the loops: with it inside, GCC 12 kept the accumulators on the stack (24 stores and loads
     * and a switch per row after every pass) */
#define RV_EPI(EXPR)                                                                                        \
    _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++)                                                    \
        _Pragma("GCC unroll 3") for (int v = 0; v < V; v++) {                                               \
            const int i = (r * NV + v) * 16;                                                                \
            const __m512 p = acc[r][v];                                                                     \
            EXPR;                                                                                           \
        }
    switch (mode) {
    case 0: RV_EPI(_mm512_store_ps(sb + i, p)); break;
    case 1: RV_EPI(_mm512_store_ps(sb + i, _mm512_add_ps(_mm512_load_ps(sb + i), p))); break;
    case 2: RV_EPI(_mm512_store_ps(tb + i, p)); break;
    default:
        RV_EPI(_mm512_store_ps(sb + i,
                               _mm512_add_ps(_mm512_load_ps(sb + i), _mm512_add_ps(_mm512_load_ps(tb + i), p))));
        break;
    }
#undef RV_EPI
}

static void rv_uk_v(const float *wt, int64_t nc, const float *xp, int64_t nb, float *sb, float *tb, int mode, int V) {
    switch (V) {
    case 3: rv_uk(wt, nc, xp, nb, sb, tb, mode, 3); break;
    case 2: rv_uk(wt, nc, xp, nb, sb, tb, mode, 2); break;
    default: rv_uk(wt, nc, xp, nb, sb, tb, mode, 1); break;
    }
}

/* out[r * n + j] for r < rows, j in [n0, n1) (callers check the arguments). 0, or -1 without scratch memory. */
static int __attribute__((unused)) rv_gemm(const rv_gemm_w *W, const float *bias, const float *x, int64_t rows,
                                           int64_t n0, int64_t n1, float *out) {
    const int64_t k = W->k, n = W->n, ng = W->ng, B = 16 * ng;
    const int64_t nb = k / B, kB = nb * B;
    if (rows <= 0 || n1 <= n0) return 0;
    if (nb == 0) { /* no whole block: s = 0, then the tail and the bias */
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = n0; j < n1; j++) {
                float s = 0.0f;
                if (kB < k) s = W->tail(W, j, x + r * k, kB, k, s);
                out[r * n + j] = bias ? s + bias[j] : s;
            }
        return 0;
    }
    int64_t sgr = (int64_t) RV_XSG / (4 * kB) / MR * MR;
    sgr = sgr < MR ? MR : sgr;
    const int64_t rp = (rows + MR - 1) / MR * MR;
    sgr = sgr > rp ? rp : sgr;
    const int64_t ngm = sgr / MR; /* row groups per super-group */
    const size_t fx = (size_t) (ngm * B * RV_XLS(nb)), fw = (size_t) (16 * RV_WLS(nb, NC)), ft = 3 * RV_TTS,
                 fs = 16 * (size_t) ngm * TILE;
    float *xp = rv_scratch(sizeof(float) * (fx + fw + ft + 2 * fs));
    if (xp == NULL) return -1;
    float *wt = xp + fx, *tmp = wt + fw, *sb = tmp + ft, *tb = sb + fs;
    const int nc = 16 * (W->nv == 2 ? 2 : NV);
    for (int64_t sg = 0; sg < rows; sg += sgr) {
        const int64_t R = rows - sg < sgr ? rows - sg : sgr, ngr = (R + MR - 1) / MR;
        rv_pack_x(x, k, sg, R, nb, (int) ng, ngm, xp);
        for (int64_t j0 = n0; j0 < n1; j0 += nc) {
            const int C = (int) (n1 - j0 < nc ? n1 - j0 : nc), V = (C + 15) / 16;
            /* The next block's weight bytes, prefetched into L2 a few lines after each pass, evenly over the block: the
             * pack reads a short run of each row per call (KS blocks), too short for the hardware prefetchers
             * (gemm_harness, 64 rows, 4096 x 4096, 2 threads, same run: rtn-w4-g128 163 -> 196 GFLOP/s, bf16 183 ->
             * 204, f32 160 -> 159; T0 or T2 instead of T1 the same). */
            const int64_t jn = j0 + nc, cn = n1 - jn < nc ? n1 - jn : nc;
            const char *pfc = (const char *) W->w + jn * W->rowbytes;
            const char *pfend = cn > 0 ? pfc + cn * W->rowbytes : pfc;
            const int64_t calls = 16 * ng * ngr, per = (pfend - pfc + 64 * calls - 1) / (64 * calls);
            /* With a panel the next group's units instead (this block's group a + 1, else the next block's group 0):
             * per 16-row vector one run of nb * 256 * es bytes, spread over this group's passes, so that the pack
             * finds them in L2 a group later; the next block's lines, fetched a whole block ahead, had left L2 by
             * then at k = 11008 (64 rows of Xp: 2.8 MiB). */
            const int pan = rv_panel_ok(W, j0) && W->packt != NULL;
            const int64_t run = pan ? nb * 256 * W->es : 0;
            for (int a = 0; a < ng; a++) { /* group by group: its Wt (16 lane classes) and Xp slices stay in L2 */
                rv_pack_w(W, j0, C, nb, a, nc, wt, tmp);
                const int64_t jq = a + 1 < ng ? j0 : jn, cq = a + 1 < ng ? C : cn;
                const int64_t qvs = pan && cq >= 16 ? cq / 16 : 0, ql = qvs * run / 64,
                              qper = (ql + calls / ng - 1) / (calls / ng);
                const char *q = qvs > 0 ? rv_panel_at(W, jq / 16, a + 1 < ng ? a + 1 : 0, 0) : NULL;
                int64_t qo = 0, qi = 0;
                for (int lp = 0; lp < 16; lp++) {
                    const int64_t l = 16 * a + lp;
                    const float *wl = wt + lp * RV_WLS(nb, nc);
                    for (int64_t rg = 0; rg < ngr; rg++) {
                        rv_uk_v(wl, nc, xp + (l * ngm + rg) * RV_XLS(nb), nb, sb + (lp * ngm + rg) * TILE,
                                tb + (lp * ngm + rg) * TILE, a, V);
                        if (!pan)
                            for (int64_t i = 0; i < per && pfc < pfend; i++, pfc += 64) _mm_prefetch(pfc, _MM_HINT_T1);
                        else /* vector after vector: a group's runs are 4 runs apart */
                            for (int64_t i = 0; i < qper && qi < ql; i++, qi++, qo += 64) {
                                if (qo == run) {
                                    qo = 0;
                                    q += 4 * run;
                                }
                                _mm_prefetch(q + qo, _MM_HINT_T1);
                            }
                    }
                }
            }
            /* the fold over l' (h8[l] = q[l] + q[l + 8], h4, h2, s = h2[0] + h2[1]), lane by lane */
            for (int64_t rg = 0; rg < ngr; rg++)
                for (int r = 0; r < MR && rg * MR + r < R; r++)
                    for (int v = 0; v < V; v++) {
                        const float *qv = sb + rg * TILE + (r * NV + v) * 16;
                        __m512 h[8];
                        for (int l = 0; l < 8; l++)
                            h[l] = _mm512_add_ps(_mm512_load_ps(qv + l * ngm * TILE),
                                                 _mm512_load_ps(qv + (l + 8) * ngm * TILE));
                        for (int l = 0; l < 4; l++) h[l] = _mm512_add_ps(h[l], h[l + 4]);
                        for (int l = 0; l < 2; l++) h[l] = _mm512_add_ps(h[l], h[l + 2]);
                        const __m512 s = _mm512_add_ps(h[0], h[1]);
                        const int cv = C - 16 * v < 16 ? C - 16 * v : 16;
                        _mm512_mask_storeu_ps(out + (sg + rg * MR + r) * n + j0 + 16 * v,
                                              (__mmask16) ((1u << cv) - 1), s);
                    }
            if (kB < k || bias)
                for (int64_t r = sg; r < sg + R; r++)
                    for (int64_t j = j0; j < j0 + C; j++) {
                        float s = out[r * n + j];
                        if (kB < k) s = W->tail(W, j, x + r * k, kB, k, s);
                        out[r * n + j] = bias ? s + bias[j] : s;
                    }
        }
    }
    return 0;
}

#endif
