/*
 * AVX-512 bitsandbytes 4-bit kernel (quant/Bnb4Packed; compiled with -mavx512f -mavx512bw -mavx512vl -mfma).
 * When k % 64 == 0 every 16-block of a row starts on a byte and lies in one absmax block (blocks of 64 over
 * the flattened weight): 8 bytes expand to 16 nibbles (even element = high nibble), a vpermps looks the 16
 * codes up in the 16-float table held in one zmm, one multiply by the block's absmax (Bnb4Packed.dequantize's
 * one rounding). Other k decode element by element (same values, same bits). Four accumulators per output in
 * the RTN order of revenant_cpu.h. Tiles as the RTN kernel: decode 1 x 8 columns, prefill 4 x 1.
 */
#include <immintrin.h>

#include "common.h"
#include "fold_avx512.h"
#include "gemm_few_avx512.h"

#define C1 8

/* Weights of flat elements e .. e + 15. fast: e is even and e .. e + 15 share absmax[e / 64]. */
static inline __attribute__((always_inline)) __m512 dec16(const uint8_t *packed, const float *absmax,
                                                          const float *table, __m512 book, int64_t e, int fast) {
    if (fast) {
        __m128i w16 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *) (packed + e / 2)));
        __m128i hi = _mm_srli_epi16(w16, 4);                                  /* element 2i in byte 2i */
        __m128i lo = _mm_slli_epi16(_mm_and_si128(w16, _mm_set1_epi16(15)), 8); /* element 2i+1 in byte 2i+1 */
        __m512i idx = _mm512_cvtepu8_epi32(_mm_or_si128(hi, lo));
        return _mm512_mul_ps(_mm512_permutexvar_ps(idx, book), _mm512_set1_ps(absmax[e / 64]));
    }
    float t[16];
    for (int l = 0; l < 16; l++) t[l] = rv_bnb4_w(packed, absmax, table, e + l);
    return _mm512_loadu_ps(t);
}

static inline __attribute__((always_inline)) void tile(const uint8_t *packed, const float *absmax, const float *table,
                                                       __m512 book, const float *bias, const float *x, int64_t k,
                                                       int64_t n, int64_t r0, int64_t j0, float *out, const int R,
                                                       const int C) {
    __m512 acc[4][8][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            for (int m = 0; m < 4; m++) acc[r][c][m] = _mm512_setzero_ps();
    const int fast = k % 64 == 0;
    const int64_t k64 = k - k % 64;
    const int64_t k16 = k - k % 16;
    int64_t i = 0;
    for (; i < k64; i += 64) {
        for (int m = 0; m < 4; m++) {
            __m512 xv[4];
            for (int r = 0; r < R; r++) xv[r] = _mm512_loadu_ps(x + (r0 + r) * k + i + 16 * m);
            for (int c = 0; c < C; c++) {
                __m512 wv = dec16(packed, absmax, table, book, (j0 + c) * k + i + 16 * m, fast);
                for (int r = 0; r < R; r++) acc[r][c][m] = _mm512_fmadd_ps(xv[r], wv, acc[r][c][m]);
            }
        }
    }
    for (; i < k16; i += 16) {
        __m512 xv[4];
        for (int r = 0; r < R; r++) xv[r] = _mm512_loadu_ps(x + (r0 + r) * k + i);
        for (int c = 0; c < C; c++) {
            __m512 wv = dec16(packed, absmax, table, book, (j0 + c) * k + i, 0);
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
                float prod = xr[t] * rv_bnb4_w(packed, absmax, table, (j0 + c) * k + t);
                s = s + prod;
            }
            out[(r0 + r) * n + j0 + c] = bias ? s + bias[j0 + c] : s;
        }
}

static inline __attribute__((always_inline)) void cols(const uint8_t *packed, const float *absmax, const float *table,
                                                       __m512 book, const float *bias, const float *x, int64_t k,
                                                       int64_t n, int64_t r0, int64_t n0, int64_t n1, float *out,
                                                       const int R, const int C) {
    int64_t j = n0;
    if (C >= 8)
        for (; j + 8 <= n1; j += 8) tile(packed, absmax, table, book, bias, x, k, n, r0, j, out, R, 8);
    if (C >= 4)
        for (; j + 4 <= n1; j += 4) tile(packed, absmax, table, book, bias, x, k, n, r0, j, out, R, 4);
    if (C >= 2)
        for (; j + 2 <= n1; j += 2) tile(packed, absmax, table, book, bias, x, k, n, r0, j, out, R, 2);
    for (; j < n1; j++) tile(packed, absmax, table, book, bias, x, k, n, r0, j, out, R, 1);
}

/*
 * Decode (one x row) when k % 64 == 0: every 64-block of a row is one absmax block, so its 16 values
 * table[code] * absmax (the one rounding of dec16, once per block instead of once per weight) fit one zmm.
 * The block's 32 bytes widen to 16 words (vpmovzxwd): word d holds elements 4d .. 4d + 3 (high nibble first),
 * so shifts by 4, 0, 12 and 8 put elements 4d, 4d + 1, 4d + 2 and 4d + 3 in the low 4 bits that vpermps reads:
 * x in lane order (fold_avx512.h), per 64 weights 1 vpmovzxwd, 3 shifts, 1 multiply, 4 vpermps and 4 FMAs.
 * x is put in lane order KB floats at a time (16 KiB of stack); when k > KB the partial sums wait in accb
 * (columns in groups of CG, 8 KiB). Tiles take one column of each of CL regions and prefetch the row after each
 * of their rows (and its absmax) into L2 at the offset they read, as rtn_avx512.c's decode (where the figures are).
 */
/* Columns per decode tile: as the RTN kernel's (rtn_avx512.c, where it was measured). */
#define CL 4
enum { KB = 4096, CG = 32 };

static inline __attribute__((always_inline)) void ltile(const uint8_t *packed, const float *absmax, __m512 book,
                                                        const float *bias, const float *xs, int64_t k, int64_t j0,
                                                        int64_t cs, int64_t kb0, int64_t kb1, float *accb,
                                                        int64_t pfn, float *out, const int C) {
    __m512 a[CL][4];
    for (int c = 0; c < C; c++)
        for (int s = 0; s < 4; s++)
            a[c][s] = kb0 == 0 ? _mm512_setzero_ps() : _mm512_load_ps(accb + c * cs * 64 + 16 * s);
    const uint8_t *w = packed + j0 * k / 2;
    const float *am = absmax + j0 * k / 64;
    for (int64_t i = kb0; i < kb1; i += 64) {
        if ((i & 64) == 0)
            for (int c = 0; c < pfn; c++) _mm_prefetch((const char *) (w + ((c * cs + 1) * k + i) / 2), _MM_HINT_T1);
        if ((i & 1023) == 0) /* and their absmax, a line per 16 blocks (nf4 4096 x 4096: 0.74 -> 0.77 of the bandwidth) */
            for (int c = 0; c < pfn; c++) _mm_prefetch((const char *) (am + ((c * cs + 1) * k + i) / 64), _MM_HINT_T1);
        const float *xb = xs + (i - kb0);
        for (int c = 0; c < C; c++) {
            __m512 tb = _mm512_mul_ps(book, _mm512_set1_ps(am[(c * cs * k + i) / 64]));
            __m512i z = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) (w + (c * cs * k + i) / 2)));
            a[c][0] = _mm512_fmadd_ps(_mm512_load_ps(xb), _mm512_permutexvar_ps(_mm512_srli_epi32(z, 4), tb), a[c][0]);
            a[c][1] = _mm512_fmadd_ps(_mm512_load_ps(xb + 16), _mm512_permutexvar_ps(z, tb), a[c][1]);
            a[c][2] = _mm512_fmadd_ps(_mm512_load_ps(xb + 32), _mm512_permutexvar_ps(_mm512_srli_epi32(z, 12), tb),
                                      a[c][2]);
            a[c][3] = _mm512_fmadd_ps(_mm512_load_ps(xb + 48), _mm512_permutexvar_ps(_mm512_srli_epi32(z, 8), tb),
                                      a[c][3]);
        }
    }
    if (kb1 < k) {
        for (int c = 0; c < C; c++)
            for (int s = 0; s < 4; s++) _mm512_store_ps(accb + c * cs * 64 + 16 * s, a[c][s]);
        return;
    }
    for (int c = 0; c < C; c++) {
        __m512 p[4];
        rv_unlane(a[c], p);
        float s = rv_fold_zmm(_mm512_add_ps(_mm512_add_ps(p[0], p[1]), _mm512_add_ps(p[2], p[3])));
        out[j0 + c * cs] = bias ? s + bias[j0 + c * cs] : s;
    }
}

/* Columns [n0, n1) of the one x row, k % 64 == 0. */
static void decode_lut(const uint8_t *packed, const float *absmax, __m512 book, const float *bias, const float *x,
                       int64_t k, int64_t n0, int64_t n1, float *out) {
    float xst[KB] __attribute__((aligned(64)));
    /* whole rows of x (decode_harness, nf4 4096 x 11008, 2 threads, medians of 5 rounds: 0.73 -> 0.86 of the read
     * bandwidth against KB-blocks) */
    int64_t kbs;
    float *xs = rv_lane_buf(k, xst, KB, &kbs);
    float accb[CG * 64] __attribute__((aligned(64)));
    for (int64_t c0 = n0; c0 < n1;) {
        const int64_t c1 = k <= kbs ? n1 : (n1 - c0 < CG ? n1 : c0 + CG);
        for (int64_t kb0 = 0; kb0 < k; kb0 += kbs) {
            const int64_t kb1 = k - kb0 < kbs ? k : kb0 + kbs;
            for (int64_t i = kb0; i < kb1; i += 64) rv_lane_x(x + i, xs + (i - kb0));
            const int64_t q = (c1 - c0) / CL; /* CL regions of q columns: tile i takes column i of each */
            for (int64_t i = 0; i < q; i++) {
                const int64_t j = c0 + i;
                ltile(packed, absmax, book, bias, xs, k, j, q, kb0, kb1, accb + (j - c0) * 64,
                      j + (CL - 1) * q + 1 < n1 ? CL : CL - 1, out, CL);
            }
            for (int64_t j = c0 + CL * q; j < c1; j++)
                ltile(packed, absmax, book, bias, xs, k, j, 1, kb0, kb1, accb + (j - c0) * 64, j + 1 < n1, out, 1);
        }
        c0 = c1;
    }
}

/* The GEMM core's tile of bnb 4-bit weights (k % 64 == 0: every 16-block starts on a byte and lies in one absmax
 * block; Bnb4Packed.dequantize's one rounding, as dec16). W->zero holds the 16-float table. */
/* bnb 4-bit group a of 16 rows from j, transposed (rv_packt_fn; k % 64 == 0): a row's 16 codes are 8 bytes (2 dwords),
 * two rows to an xmm and 8 rows to a zmm, one permute per dword gives the 16 rows' dword d in the lanes; code 2b of a
 * dword (the high nibble of byte b) and code 2b + 1 (the low) are one shift each (vpermps reads only the index's low 4
 * bits), the table lookup one vpermps, and the 16 columns' absmax of the KS blocks come from a 16 x 4 transpose of
 * their rows' absmax runs: table[code] * absmax, the same product as dec16, so the same bits. */
static void packt_bnb4(const rv_gemm_w *W, int64_t j, int64_t kb, int64_t nbk, int a, float *wt, int64_t ls,
                       int64_t ms) {
    const int64_t k = W->k, kq = k / 64, rb = k / 2;
    const __m512 book = _mm512_loadu_ps(W->zero);
    const __m512i i0 = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
                  i1 = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t m0 = 0; m0 < nbk; m0 += 4) {
        const int64_t mk = nbk - m0 < 4 ? nbk - m0 : 4;
        const __mmask8 mm = (__mmask8) ((1u << mk) - 1);
        __m512i za[4], sa[4]; /* sa[t] lane c: absmax of column j + c, block kb / 64 + m0 + t */
        const float *ab = W->scale + j * kq + kb / 64 + m0;
#pragma GCC unroll 4
        for (int t = 0; t < 4; t++) {
            const float *r = ab + 4 * t * kq;
            __m512 y = _mm512_castps128_ps512(_mm_maskz_loadu_ps(mm, r));
            y = _mm512_insertf32x4(y, _mm_maskz_loadu_ps(mm, r + kq), 1);
            y = _mm512_insertf32x4(y, _mm_maskz_loadu_ps(mm, r + 2 * kq), 2);
            za[t] = _mm512_castps_si512(_mm512_insertf32x4(y, _mm_maskz_loadu_ps(mm, r + 3 * kq), 3));
        }
        rv_tr16x4(za, sa);
        for (int64_t t = 0; t < mk; t++, wt += ms) {
            const uint8_t *p = (const uint8_t *) W->w + j * rb + (kb + 64 * (m0 + t) + 16 * a) / 2;
            __m512i z[2];
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) { /* z[h] lane 2r + d = dword d of row 8h + r */
                __m128i q[4];
#pragma GCC unroll 4
                for (int u = 0; u < 4; u++) {
                    const uint8_t *r = p + (8 * h + 2 * u) * rb;
                    q[u] = _mm_castpd_si128(_mm_loadh_pd(_mm_castsi128_pd(_mm_loadl_epi64((const __m128i *) r)),
                                                         (const double *) (r + rb)));
                }
                __m512i y = _mm512_castsi128_si512(q[0]);
                y = _mm512_inserti32x4(y, q[1], 1);
                y = _mm512_inserti32x4(y, q[2], 2);
                z[h] = _mm512_inserti32x4(y, q[3], 3);
            }
            const __m512 sc = _mm512_castsi512_ps(sa[t]);
#pragma GCC unroll 2
            for (int d = 0; d < 2; d++) { /* lane c: bytes 4d .. 4d + 3 of row c, codes 8d .. 8d + 7 */
                const __m512i o = _mm512_permutex2var_epi32(z[0], d ? i1 : i0, z[1]);
#pragma GCC unroll 4
                for (int b = 0; b < 4; b++) {
                    const __m512i hi = _mm512_srli_epi32(o, 8 * b + 4), lo = _mm512_srli_epi32(o, 8 * b);
                    _mm512_store_ps(wt + (8 * d + 2 * b) * ls, _mm512_mul_ps(_mm512_permutexvar_ps(hi, book), sc));
                    _mm512_store_ps(wt + (8 * d + 2 * b + 1) * ls,
                                    _mm512_mul_ps(_mm512_permutexvar_ps(lo, book), sc));
                }
            }
        }
    }
}

static void pack_bnb4(const rv_gemm_w *W, int64_t j, int C, int64_t kb, int64_t nbk, int a0, int a1, float *wp) {
    const __m512 book = _mm512_loadu_ps(W->zero);
    for (int c = 0; c < C; c++)
        for (int64_t m = 0; m < nbk; m++)
            for (int a = a0; a < a1; a++) {
                const int64_t e = (j + c) * W->k + kb + 64 * m + 16 * a;
                _mm512_store_ps(wp + ((a * nbk + m) * GC + c) * 16,
                                dec16((const uint8_t *) W->w, W->scale, W->zero, book, e, 1));
            }
}

int rv_matmul_bnb4_f32_avx512(const uint8_t *packed, const float *absmax, const float *table, const float *bias,
                              const float *x, int64_t rows, int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {
    const int need = RV_CPU_AVX512F | RV_CPU_AVX512BW | RV_CPU_AVX512VL | RV_CPU_FMA;
    if ((rv_cpu_features() & need) != need) {
        return RV_EISA;
    }
    int st = rv_check_bnb4(packed, absmax, table, x, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    if (rows == 0 || n1 == n0) {
        return RV_OK;
    }
    if (rows >= RV_GEMM_ROWS && k % 64 == 0) { /* the RTN order is then the F32 order: the GEMM core */
        const rv_gemm_w W = {.w = packed, .scale = absmax, .zero = table, .k = k, .n = n, .ng = 4, .rowbytes = k / 2,
                             .pack = pack_bnb4, .tail = NULL, .packt = packt_bnb4};
        if (rows < RV_GEMM_T_ROWS || rv_gemm(&W, bias, x, rows, n0, n1, out) != 0)
            rv_gemm_few(&W, bias, x, rows, n0, n1, out);
        return RV_OK;
    }
    __m512 book = _mm512_loadu_ps(table);
    int64_t r4 = rows - rows % 4;
    for (int64_t r = 0; r < r4; r += 4) cols(packed, absmax, table, book, bias, x, k, n, r, n0, n1, out, 4, 1);
    switch (rows - r4) {
    case 1:
        if (k % 64 == 0)
            decode_lut(packed, absmax, book, bias, x + r4 * k, k, n0, n1, out + r4 * n);
        else
            cols(packed, absmax, table, book, bias, x, k, n, r4, n0, n1, out, 1, C1);
        break;
    case 2: cols(packed, absmax, table, book, bias, x, k, n, r4, n0, n1, out, 2, 2); break;
    case 3: cols(packed, absmax, table, book, bias, x, k, n, r4, n0, n1, out, 3, 1); break;
    default: break;
    }
    return RV_OK;
}
