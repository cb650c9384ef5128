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
#include "gemm_few_avx512.h"

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

/*
 * Decode (one x row) when every code is below 16 and groups are whole 64-blocks (gs == -1 or gs % 64 == 0):
 * per group and weight row the 16 values scale * ((float) c - zero) form a table in one zmm (the same two
 * roundings as dec16, computed once per group instead of once per weight), and one 64-byte load of codes gives
 * four zmm of weights: vpermps takes the low 4 bits of each dword, so byte 4d + s is looked up after a shift by
 * 8s, no mask or conversion (x in lane order, fold_avx512.h). Per 64 codes: 1 load, 3 shifts, 4 vpermps,
 * 4 FMAs and an OR that collects the codes: a code >= 16 (rtn-w8) anywhere in the call sends the whole call
 * back to the tile path above (first row checked up front, so 8-bit weights never take this path twice).
 *
 * x is put in lane order for the whole row (the per-thread scratch), or without scratch KB floats at a time (16 KiB
 * of stack), the partial sums of each column then waiting in accb between x blocks (columns in groups of CG,
 * 8 KiB). The columns of a call (or of a CG group) are CL regions, tile i taking column i of each, so that each
 * tile row continues a stream that reads its region front to back (as the GGUF decode, gguf_avx512.c); each tile
 * prefetches into L2 the row after each of its rows at the offset it reads, and at each group change the scale and
 * zero of the group after next into L1; the call prefetches all its scale and zero lines up front. Regions against adjacent columns (decode_harness, 4096 x 4096, 2 threads, medians of 7 rounds):
 * rtn-w4-g128 0.67 -> 0.69 (its rows are a whole 4 KiB page each, so the adjacent tiles streamed well already;
 * with the scale and zero prefetch up front 0.72), nf4 (2 KiB rows) 0.70 -> 0.83.
 */
/* Columns per decode tile. rtn-w4-g128 4096 x 4096, 2 threads, DRAM, fraction of the read bandwidth measured in
 * the same run (medians of 7, load average 6-7): 2 columns 0.72, 4 columns 0.78, 6 columns 0.62; with the L2
 * prefetch of the next tile 0.76, without any prefetch 0.68, two tiles ahead 0.70, into L1 instead 0.75, into
 * L3 (T2) 0.65. */
#define CL 4
enum { KB = 4096, CG = 32 };

static inline __attribute__((always_inline)) __m512 ltable(const float *scale, const float *zero, int64_t gi) {
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return _mm512_mul_ps(_mm512_set1_ps(scale[gi]), _mm512_sub_ps(iota, _mm512_set1_ps(zero[gi])));
}

static inline __attribute__((always_inline)) void ltile(const uint8_t *codes, const float *scale, const float *zero,
                                                        int64_t gs, const float *bias, const float *x,
                                                        const float *xs, int64_t k, int64_t n, int64_t j0,
                                                        int64_t cs, int64_t kb0, int64_t kb1, float *accb,
                                                        int64_t pfn, __m512i *seen, float *out, const int C) {
    const int64_t k64 = k - k % 64, k16 = k - k % 16;
    const int64_t ng = gs < 0 ? 1 : (k + gs - 1) / gs;
    __m512 a[CL][4], tb[CL];
    __m512i any = *seen;
    for (int c = 0; c < C; c++)
        for (int s = 0; s < 4; s++)
            a[c][s] = kb0 == 0 ? _mm512_setzero_ps() : _mm512_load_ps(accb + c * cs * 64 + 16 * s);
    int64_t g = gs < 0 ? 0 : kb0 / gs, gend = gs < 0 ? INT64_MAX : (g + 1) * gs;
    for (int c = 0; c < C; c++) tb[c] = ltable(scale, zero, g * n + j0 + c * cs);
    const uint8_t *w = codes + j0 * k;
    for (int64_t i = kb0; i < kb1; i += 64) {
        if (i >= gend) {
            g++;
            gend += gs;
            if (g + 2 < ng)
                for (int c = 0; c < C; c += cs == 1 ? C : 1) {
                    _mm_prefetch((const char *) (scale + (g + 2) * n + j0 + c * cs), _MM_HINT_T0);
                    _mm_prefetch((const char *) (zero + (g + 2) * n + j0 + c * cs), _MM_HINT_T0);
                }
            for (int c = 0; c < C; c++) tb[c] = ltable(scale, zero, g * n + j0 + c * cs);
        }
        for (int c = 0; c < pfn; c++) _mm_prefetch((const char *) (w + (c * cs + 1) * k + i), _MM_HINT_T1);
        const float *xb = xs + (i - kb0);
        __m512 xv0 = _mm512_load_ps(xb), xv1 = _mm512_load_ps(xb + 16), xv2 = _mm512_load_ps(xb + 32),
               xv3 = _mm512_load_ps(xb + 48);
        /* x once per step for the CL rows, in registers (GCC otherwise folded a load of x into every FMA: 4 loads per
         * row and step, from L2 when x is a whole row; 9.5 -> 9.0 cycles per row and 64 codes from L2) */
        __asm__("" : "+v"(xv0), "+v"(xv1), "+v"(xv2), "+v"(xv3));
        for (int c = 0; c < C; c++) {
            /* the barrier keeps z in a register: without it GCC 12 bounced the codes of three of the four rows
             * through the stack (rtn-w4-g128 64 x 4096 from L2, 1 thread: 15 -> 11 cycles per row and 64 codes) */
            __m512i z = _mm512_loadu_si512(w + c * cs * k + i);
            __asm__("" : "+v"(z));
            any = _mm512_or_si512(any, z);
            a[c][0] = _mm512_fmadd_ps(xv0, _mm512_permutexvar_ps(z, tb[c]), a[c][0]);
            a[c][1] = _mm512_fmadd_ps(xv1, _mm512_permutexvar_ps(_mm512_srli_epi32(z, 8), tb[c]),
                                      a[c][1]);
            a[c][2] = _mm512_fmadd_ps(xv2, _mm512_permutexvar_ps(_mm512_srli_epi32(z, 16), tb[c]),
                                      a[c][2]);
            a[c][3] = _mm512_fmadd_ps(xv3, _mm512_permutexvar_ps(_mm512_srli_epi32(z, 24), tb[c]),
                                      a[c][3]);
        }
    }
    *seen = any;
    if (kb1 < k64) {
        for (int c = 0; c < C; c++)
            for (int s = 0; s < 4; s++) _mm512_store_ps(accb + c * cs * 64 + 16 * s, a[c][s]);
        return;
    }
    for (int c = 0; c < C; c++) {
        __m512 p[4];
        rv_unlane(a[c], p);
        for (int64_t i = k64; i < k16; i += 16) { /* step 2: whole 16-blocks past k64, as tile() */
            __m512 wv = dec16(codes, scale, zero, gs, k, n, j0 + c * cs, i, 1, gs < 0 ? 0 : i / gs);
            p[0] = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), wv, p[0]);
        }
        float s = rv_fold_zmm(_mm512_add_ps(_mm512_add_ps(p[0], p[1]), _mm512_add_ps(p[2], p[3])));
        for (int64_t t = k16; t < k; t++) {
            float prod = x[t] * rv_rtn_w(codes, scale, zero, gs, k, n, j0 + c * cs, t);
            s = s + prod;
        }
        out[j0 + c * cs] = bias ? s + bias[j0 + c * cs] : s;
    }
}

/* Columns [n0, n1) of the one x row on the table path; 0, or 1 when a code >= 16 was seen (nothing valid written). */
static int decode_lut(const uint8_t *codes, const float *scale, const float *zero, int64_t gs, const float *bias,
                      const float *x, int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {
    float xst[KB] __attribute__((aligned(64)));
    float accb[CG * 64] __attribute__((aligned(64)));
    const int64_t k64 = k - k % 64;
    /* whole rows of x (decode_harness, 4096 x 11008, 2 threads, 512 KiB chunks, medians of 7-9 rounds: 0.68-0.69 ->
     * 0.72-0.73 of the read bandwidth against KB-blocks, with x held in registers in ltile; whole rows without that
     * lost: 0.65 -> 0.61) */
    int64_t kbs;
    float *xs = rv_lane_buf(k64, xst, KB, &kbs);
    __m512i seen = _mm512_setzero_si512();
    { /* every scale and zero line of the call's columns, all in flight at once (the regions' first tile needs a line
       * of each region per group; read on demand they came one group at a time: 0.70 -> 0.72 of the bandwidth) */
        const int64_t ng = gs < 0 ? 1 : (k + gs - 1) / gs;
        for (int64_t g = 0; g < ng; g++)
            for (int64_t j = n0 & ~(int64_t) 15; j < n1; j += 16) {
                _mm_prefetch((const char *) (scale + g * n + j), _MM_HINT_T1);
                _mm_prefetch((const char *) (zero + g * n + j), _MM_HINT_T1);
            }
    }
    for (int64_t c0 = n0; c0 < n1;) {
        const int64_t c1 = k64 <= kbs ? n1 : (n1 - c0 < CG ? n1 : c0 + CG);
        for (int64_t kb0 = 0; kb0 < k64; kb0 += kbs) {
            const int64_t kb1 = k64 - kb0 < kbs ? k64 : kb0 + kbs;
            for (int64_t i = kb0; i < kb1; i += 64) rv_lane_x(x + i, xs + (i - kb0));
            const int64_t q = (c1 - c0) / CL; /* CL regions of q columns: tile i takes column i of each */
            for (int64_t i = 0; i < q; i++) {
                const int64_t j = c0 + i;
                ltile(codes, scale, zero, gs, bias, x, xs, k, n, j, q, kb0, kb1, accb + (j - c0) * 64,
                      j + (CL - 1) * q + 1 < n1 ? CL : CL - 1, &seen, out, CL);
            }
            for (int64_t j = c0 + CL * q; j < c1; j++)
                ltile(codes, scale, zero, gs, bias, x, xs, k, n, j, 1, kb0, kb1, accb + (j - c0) * 64, j + 1 < n1,
                      &seen, out, 1);
        }
        c0 = c1;
    }
    return _mm512_test_epi8_mask(seen, _mm512_set1_epi8((char) 0xF0)) != 0;
}

/* Whether row n0's first 64 codes are all below 16 (the table path's guess; decode_lut checks every code). */
static int lut_candidate(const uint8_t *codes, int64_t gs, int64_t k, int64_t n0, int64_t n1) {
    if (k < 64 || n1 <= n0 || !(gs < 0 || gs % 64 == 0)) {
        return 0;
    }
    __m512i z = _mm512_loadu_si512(codes + n0 * k);
    return _mm512_test_epi8_mask(z, _mm512_set1_epi8((char) 0xF0)) == 0;
}

/* The GEMM core's tile of RTN weights (RtnPacked.dequantize's two roundings, as dec16); the group of each
 * 16-block tracked along the row (no division per block). */
/* RTN group a of 16 rows from j, transposed (rv_packt_fn; gs < 0 or gs % 16 == 0, so the 16 codes of a row lie in one
 * group): each row's 16 codes are 4 dwords, the 16 x 4 dword matrix is transposed in two rounds of 4 permutes (rows
 * 4i .. 4i + 3 in the 128-bit lanes of z[i]; rows 0-7 and 8-15 by pairs of dwords; all 16 rows of one dword), then
 * code b of a dword is one shift and/or mask, and (q - zero) * scale with the 16 columns' zeros and scales of the
 * group as vectors: the same operations on the same values as dec16, so the same bits. 12 lane inserts, 8 permutes
 * and about 24 shifts/masks per 256 codes where the pack and the fp32 transpose take 16 widenings, 64 permutes and a
 * round trip through the pack's tile. */
static void packt_rtn(const rv_gemm_w *W, int64_t j, int64_t kb, int64_t nbk, int a, float *wt, int64_t ls,
                       int64_t ms) {
    const int pan = rv_panel_ok(W, j); /* the panel holds o below: 4 loads instead of the loads and transpose */
    const int64_t k = W->k, n = W->n, gs = W->gs, bs = pan ? 256 : 64;
    const uint8_t *w = pan ? (const uint8_t *) rv_panel_at(W, j / 16, a, kb / 64)
                           : (const uint8_t *) W->w + j * k + kb + 16 * a;
    const __m512i ff = _mm512_set1_epi32(0xFF);
    int64_t i = kb + 16 * a, g = gs < 0 ? 0 : i / gs, gend = gs < 0 ? INT64_MAX : (g + 1) * gs;
    for (int64_t m = 0; m < nbk; m++, w += bs, wt += ms, i += 64) {
        if (i >= gend) {
            g = i / gs;
            gend = (g + 1) * gs;
        }
        const __m512 sc = _mm512_loadu_ps(W->scale + g * n + j), ze = _mm512_loadu_ps(W->zero + g * n + j);
        __m512i z[4], o[4]; /* o[d] lane c: codes 4d .. 4d + 3 of column j + c */
        if (pan) {
#pragma GCC unroll 4
            for (int d = 0; d < 4; d++) o[d] = _mm512_loadu_si512((const void *) (w + 64 * d));
        } else {
            rv_ld16x16(w, k, z);
            rv_tr16x4(z, o);
        }
#pragma GCC unroll 4
        for (int d = 0; d < 4; d++)
#pragma GCC unroll 4
            for (int b = 0; b < 4; b++) {
                const __m512i q = b == 0 ? _mm512_and_si512(o[d], ff)
                                  : b == 3 ? _mm512_srli_epi32(o[d], 24)
                                           : _mm512_and_si512(_mm512_srli_epi32(o[d], 8 * b), ff);
                const __m512 dq = _mm512_sub_ps(_mm512_cvtepi32_ps(q), ze);
                _mm512_store_ps(wt + (4 * d + b) * ls, _mm512_mul_ps(sc, dq));
            }
    }
}

static void pack_rtn(const rv_gemm_w *W, int64_t j, int C, int64_t kb, int64_t nbk, int a0, int a1, float *wp) {
    const uint8_t *codes = (const uint8_t *) W->w;
    const int64_t k = W->k, n = W->n, gs = W->gs;
    const int fast = gs < 0 || gs % 16 == 0;
    for (int c = 0; c < C; c++) {
        int64_t g = gs < 0 ? 0 : kb / gs, gend = gs < 0 ? k : (g + 1) * gs;
        for (int64_t m = 0; m < nbk; m++)
            for (int a = a0; a < a1; a++) {
                const int64_t i = kb + 64 * m + 16 * a;
                if (i >= gend) {
                    g = i / gs;
                    gend = (g + 1) * gs;
                }
                _mm512_store_ps(wp + ((a * nbk + m) * GC + c) * 16,
                                dec16(codes, W->scale, W->zero, gs, k, n, j + c, i, fast, g));
            }
    }
}

int rv_matmul_rtn_u8_f32_avx512(const uint8_t *codes, const float *scale, const float *zero, int64_t gs,
                                const float *bias, const float *x, int64_t rows, int64_t k, int64_t n, int64_t n0,
                                int64_t n1, float *out) {
    return rv_matmul_rtn_u8p_f32_avx512(codes, NULL, scale, zero, gs, bias, x, rows, k, n, n0, n1, out);
}

/* With the codes' panel (revenant_cpu.h, "Panels"): the same bits; the GEMM core's transposing packs read the panel. */
int rv_matmul_rtn_u8p_f32_avx512(const uint8_t *codes, const uint8_t *panel, const float *scale, const float *zero,
                                 int64_t gs, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,
                                 int64_t n0, int64_t n1, float *out) {
    const int need = RV_CPU_AVX512F | RV_CPU_AVX512BW | RV_CPU_AVX512VL | RV_CPU_FMA;
    if ((rv_cpu_features() & need) != need) {
        return RV_EISA;
    }
    int st = rv_check_rtn(codes, scale, zero, gs, x, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    if (panel != NULL && k % 64 != 0) {
        return RV_EINVAL;
    }
    if (rows >= RV_GEMM_ROWS && k % 64 == 0) { /* the RTN order is then the F32 order: the GEMM core */
        const int t = gs < 0 || gs % 16 == 0;
        const rv_gemm_w W = {.w = codes, .scale = scale, .zero = zero, .gs = gs, .k = k, .n = n, .ng = 4,
                             .rowbytes = k, .pack = pack_rtn, .tail = NULL, .packt = t ? packt_rtn : NULL,
                             .panel = t ? panel : NULL, .es = 1};
        if (rows < RV_GEMM_T_ROWS || rv_gemm(&W, bias, x, rows, n0, n1, out) != 0)
            rv_gemm_few(&W, bias, x, rows, n0, n1, out);
        return RV_OK;
    }
    int64_t r4 = rows - rows % 4;
    for (int64_t r = 0; r < r4; r += 4) cols(codes, scale, zero, gs, bias, x, k, n, r, n0, n1, out, 4, 1);
    switch (rows - r4) {
    case 1:
        if (!lut_candidate(codes, gs, k, n0, n1) ||
            decode_lut(codes, scale, zero, gs, bias, x + r4 * k, k, n, n0, n1, out + r4 * n) != 0)
            cols(codes, scale, zero, gs, bias, x, k, n, r4, n0, n1, out, 1, C1);
        break;
    case 2: cols(codes, scale, zero, gs, bias, x, k, n, r4, n0, n1, out, 2, 2); break;
    case 3: cols(codes, scale, zero, gs, bias, x, k, n, r4, n0, n1, out, 3, 1); break;
    default: break;
    }
    return RV_OK;
}
