/*
 * AVX-512 GGUF block kernels (Q8_0, Q4_0; compiled with -mavx512f -mavx512bw -mavx512vl -mfma).
 * A block of 32 weights decodes to two zmm (int8 -> int32 -> fp32, times the broadcast fp16
 * scale: exact, GgufBlocks' value), which two accumulators per output take: lane l of
 * accumulator h holds p[16h + l], the order of revenant_cpu.h. The blocks are read in place.
 *
 * Decode (one row): dtile below (scales widened 16 blocks at a time, rows taken from DC regions of the columns,
 * the row after each prefetched into L2).
 * Batches: R activation rows x C weight rows, every block decoded once per tile and used for all
 * R rows, each weight row prefetched PF bytes ahead; small batches (2, 3 rows) decode each block once
 * for all their rows; prefill walks groups of 4 rows outside, columns inside (4 x 2 tiles), so the
 * column chunk [n0, n1) (NativeCpuBackend: about 256 KiB of blocks) comes from L2 for every group
 * after the first.
 */
#include <immintrin.h>

#include "common.h"
#include "fold_avx512.h"
#include "gemm_few_avx512.h"

/* Software prefetch distance in bytes along each weight row of the batched tiles (measured for the
 * former 1 x 8 decode tile at 4096 x 4096, 2 threads, q8_0 / q4_0 GB/s: no prefetch 20.3 / 11.5;
 * 256 B 23 / 15; 512 B 22 / 13.8; 1024 B 18 / 12). Rows are short (K/32 blocks of 34 or 18 bytes:
 * 4.3 / 2.3 KiB at K = 4096), too short for the hardware prefetcher to ramp up on each. */
#define PF 256
/* Decode (one x row, dtile below): 4 weight rows per tile, the next tile's rows prefetched into L2. Measured
 * at 4096 x 4096 q4_0, 2 threads, weights from DRAM (fraction of the read bandwidth measured in the same
 * run, medians of 7, load average 6-7): 8 rows 0.60, 4 rows 0.64, 8 rows without the L2 prefetch 0.45;
 * an L1 prefetch 256 or 512 bytes ahead in the current rows on top, 2 rows, or the L2 prefetch two tiles
 * ahead changed nothing beyond the noise (0.60-0.65 at load average 3). */
#define DC 4

/* q[0..15] = p[0..15] + p[16..31], then step 2 of the order as in matmul_avx512.c. */
static inline float hsum2(__m512 a0, __m512 a1) {
    return rv_fold_zmm(_mm512_add_ps(a0, a1));
}

/* The block scale at b (fp16, LE) widened exactly and broadcast: vcvtph2ps zmm is AVX-512F itself,
 * so no F16C check is needed. */
static inline __attribute__((always_inline)) __m512 scale(const uint8_t *b) {
    uint16_t h;
    memcpy(&h, b, sizeof h);
    return _mm512_cvtph_ps(_mm256_set1_epi16((short) h));
}

/* Q8_0 block at b -> elements 0..15 in w[0], 16..31 in w[1]: q * d. */
static inline __attribute__((always_inline)) void dec_q8_0(const uint8_t *b, __m512 *w) {
    __m512 d = scale(b);
    __m128i q0 = _mm_loadu_si128((const __m128i *) (b + 2));
    __m128i q1 = _mm_loadu_si128((const __m128i *) (b + 18));
    w[0] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0)), d);
    w[1] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1)), d);
}

/* Q4_0 block at b: element j < 16 is the low nibble of qs[j] (-> w[0]), j + 16 the high one (-> w[1]).
 * The 16 possible values (q - 8) * d (each exact) form one zmm table; vpermps picks by the low 4 bits
 * of each int32 index, so the low nibbles need no mask and the high ones one shift. */
static inline __attribute__((always_inline)) void dec_q4_0(const uint8_t *b, __m512 *w) {
    const __m512 q8 = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    __m512 t = _mm512_mul_ps(q8, scale(b));
    __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (b + 2)));
    w[0] = _mm512_permutexvar_ps(v, t);
    w[1] = _mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), t);
}

/* One half h of a block (elements 16h .. 16h + 15), the same values as dec_q8_0 / dec_q4_0's w[h]: the GEMM core
 * packs one 16-lane group at a time. */
static inline __attribute__((always_inline)) __m512 dech_q8_0(const uint8_t *b, int h) {
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (b + 2 + 16 * h)))),
                         scale(b));
}

static inline __attribute__((always_inline)) __m512 dech_q4_0(const uint8_t *b, int h) {
    const __m512 q8 = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (b + 2)));
    return _mm512_permutexvar_ps(h ? _mm512_srli_epi32(v, 4) : v, _mm512_mul_ps(q8, scale(b)));
}

/* Decode forms of the two block decoders: the scale already widened (d, from the staged scales below),
 * so a block costs no fp16 conversion: the multiply takes d as a broadcast memory operand. Same values. */
static inline __attribute__((always_inline)) void ddec_q8_0(const uint8_t *b, float d, __m512 *w) {
    __m512 vd = _mm512_set1_ps(d);
    w[0] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (b + 2)))), vd);
    w[1] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (b + 18)))), vd);
}

static inline __attribute__((always_inline)) void ddec_q4_0(const uint8_t *b, float d, __m512 *w) {
    const __m512 q8 = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    __m512 t = _mm512_mul_ps(q8, _mm512_set1_ps(d));
    __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (b + 2)));
    w[0] = _mm512_permutexvar_ps(v, t);
    w[1] = _mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), t);
}

/*
 * Decode (one x row): o[c * os] for c < C over the C weight rows at wc + c * rb (nb blocks each). Per 16 blocks the
 * 16 fp16 scales of each row are gathered (scalar loads, a chunk early) and widened by one vcvtph2ps into sc[c][]:
 * the per-block broadcast + conversion was about a third of the vector uops of a Q4_0 block. While it runs, the
 * tile prefetches into L2 the row after each of its rows (pf + c * rb), at the offset it reads.
 */
#define DEFINE_GGUF_DECODE(SFX, BYTES, DEC)                                                                 \
    static inline __attribute__((always_inline)) void dtile_##SFX(const uint8_t *wc, int64_t rb, int64_t nb,  \
                                                                  const float *x, const uint8_t *pf,          \
                                                                  float *o, int64_t os,                       \
                                                                  const float *bias, const int C) {           \
        __m512 acc[DC][2];                                                                                  \
        float sc[DC][16] __attribute__((aligned(64)));                                                      \
        uint16_t h[2][DC][16] __attribute__((aligned(64)));                                                  \
        for (int c = 0; c < C; c++) acc[c][0] = acc[c][1] = _mm512_setzero_ps();                            \
        for (int c = 0; c < C; c++)                                                                         \
            for (int t = 0; t < 16; t++) memcpy(&h[0][c][t], wc + c * rb + (t < nb ? t : nb - 1) * (BYTES), 2); \
        for (int64_t b0 = 0, cur = 0; b0 < nb; b0 += 16, cur ^= 1) {                                        \
            const int m = nb - b0 < 16 ? (int) (nb - b0) : 16;                                              \
            for (int c = 0; c < C; c++)                                                                     \
                _mm512_store_ps(sc[c], _mm512_cvtph_ps(_mm256_load_si256((const __m256i *) h[cur][c])));   \
            for (int t = 0; t < m; t++) {                                                                   \
                const int64_t b = b0 + t;                                                                   \
                const int64_t bn = b + 16 < nb ? b + 16 : nb - 1; /* the next chunk's scales, a chunk early */ \
                for (int c = 0; c < C; c++) memcpy(&h[cur ^ 1][c][t], wc + c * rb + bn * (BYTES), 2); \
                const __m512 x0 = _mm512_loadu_ps(x + b * RV_QK), x1 = _mm512_loadu_ps(x + b * RV_QK + 16);  \
                /* the next row of each stream at this block's offset: every line once or twice */       \
                if (2 * (BYTES) > 64 || (t & 1))                                                            \
                    for (int c = 0; c < C; c++) _mm_prefetch((const char *) (pf + c * rb + b * (BYTES)), _MM_HINT_T1); \
                for (int c = 0; c < C; c++) {                                                               \
                    __m512 wv[2];                                                                           \
                    DEC(wc + c * rb + b * (BYTES), sc[c][t], wv);                                           \
                    acc[c][0] = _mm512_fmadd_ps(x0, wv[0], acc[c][0]);                                      \
                    acc[c][1] = _mm512_fmadd_ps(x1, wv[1], acc[c][1]);                                      \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
        for (int c = 0; c < C; c++) {                                                                       \
            float s = hsum2(acc[c][0], acc[c][1]);                                                          \
            o[c * os] = bias ? s + bias[c * os] : s;                                                        \
        }                                                                                                   \
    }                                                                                                       \
                                                                                                            \
    /* Columns [n0, n1) of the one x row: [n0, n0 + DC q) as DC regions of q rows, tile i taking row i of each \
     * region, so that each of its DC rows continues a stream that reads its region front to back (rows are   \
     * contiguous), then the rest row by row. Against DC adjacent rows per tile (DC short streams that start  \
     * over every tile) at 4096 x 4096, 2 threads, from DRAM (decode_harness, medians of 7 rounds, fraction of \
     * the read bandwidth): q4_0 0.59 -> 0.67 with the former line-exact prefetch of the next tile, -> 0.76   \
     * with this cheaper one (a prefetch per row every 64 bytes or less instead of a loop over the lines);    \
     * q8_0 0.73 -> 0.86. Prefetching 2 or 3 rows ahead instead of 1: 0.74 / 0.64 (q4_0); none: 0.57. */      \
    static void decode_##SFX(const uint8_t *w, const float *bias, const float *x, int64_t k, int64_t n0,     \
                             int64_t n1, float *out) {                                                      \
        const int64_t nb = k / RV_QK, rb = nb * (BYTES);                                                    \
        const int64_t q = (n1 - n0) / DC;                                                                   \
        for (int64_t i = 0; i < q; i++) {                                                                   \
            const int64_t j = n0 + i;                                                                       \
            dtile_##SFX(w + j * rb, q * rb, nb, x, w + (j + 1) * rb, out + j, q, bias ? bias + j : NULL, DC); \
        }                                                                                                   \
        for (int64_t j = n0 + DC * q; j < n1; j++)                                                          \
            dtile_##SFX(w + j * rb, rb, nb, x, j + 1 < n1 ? w + (j + 1) * rb : w + j * rb, out + j, 1,     \
                        bias ? bias + j : NULL, 1);                                                         \
    }

DEFINE_GGUF_DECODE(q8_0, RV_Q8_0_BYTES, ddec_q8_0)
DEFINE_GGUF_DECODE(q4_0, RV_Q4_0_BYTES, ddec_q4_0)

/* out[r, j] for r in [r0, r0 + R), j in [j0, j0 + C); R and C are constants after inlining. */
#define DEFINE_GGUF_AVX512(SFX, BYTES, DEC, DECH)                                                                 \
    static inline __attribute__((always_inline)) void tile_##SFX(const uint8_t *w, const float *bias,       \
                                                                 const float *x, int64_t k, int64_t n,      \
                                                                 int64_t r0, int64_t j0, float *out,        \
                                                                 const int R, const int C) {                \
        __m512 acc[4][8][2];                                                                                \
        for (int r = 0; r < R; r++)                                                                         \
            for (int c = 0; c < C; c++) acc[r][c][0] = acc[r][c][1] = _mm512_setzero_ps();                  \
        int64_t nb = k / RV_QK;                                                                             \
        const uint8_t *wc = w + j0 * nb * (BYTES);                                                          \
        const int64_t rb = nb * (BYTES);                                                                    \
        for (int64_t b = 0; b < nb; b++) {                                                                  \
            __m512 xv[4][2];                                                                                \
            for (int r = 0; r < R; r++) {                                                                   \
                xv[r][0] = _mm512_loadu_ps(x + (r0 + r) * k + b * RV_QK);                                   \
                xv[r][1] = _mm512_loadu_ps(x + (r0 + r) * k + b * RV_QK + 16);                              \
            }                                                                                               \
            for (int c = 0; c < C; c++) {                                                                   \
                __m512 wv[2];                                                                               \
                _mm_prefetch((const char *) (wc + c * rb + b * (BYTES)) + PF, _MM_HINT_T0); \
                DEC(wc + c * rb + b * (BYTES), wv);                                                         \
                for (int r = 0; r < R; r++) {                                                               \
                    acc[r][c][0] = _mm512_fmadd_ps(xv[r][0], wv[0], acc[r][c][0]);                          \
                    acc[r][c][1] = _mm512_fmadd_ps(xv[r][1], wv[1], acc[r][c][1]);                          \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
        for (int r = 0; r < R; r++)                                                                         \
            for (int c = 0; c < C; c++) {                                                                   \
                float s = hsum2(acc[r][c][0], acc[r][c][1]);                                                \
                out[(r0 + r) * n + j0 + c] = bias ? s + bias[j0 + c] : s;                                   \
            }                                                                                               \
    }                                                                                                       \
                                                                                                            \
    /* Columns [n0, n1) of rows [r0, r0 + R) in tiles of R x C, then narrower ones. */                      \
    static inline __attribute__((always_inline)) void cols_##SFX(const uint8_t *w, const float *bias,       \
                                                                 const float *x, int64_t k, int64_t n,      \
                                                                 int64_t r0, int64_t n0, int64_t n1,        \
                                                                 float *out, const int R, const int C) {    \
        int64_t j = n0;                                                                                     \
        if (C >= 8)                                                                                         \
            for (; j + 8 <= n1; j += 8) tile_##SFX(w, bias, x, k, n, r0, j, out, R, 8);                     \
        if (C >= 4)                                                                                         \
            for (; j + 4 <= n1; j += 4) tile_##SFX(w, bias, x, k, n, r0, j, out, R, 4);                     \
        if (C >= 2)                                                                                         \
            for (; j + 2 <= n1; j += 2) tile_##SFX(w, bias, x, k, n, r0, j, out, R, 2);                     \
        for (; j < n1; j++) tile_##SFX(w, bias, x, k, n, r0, j, out, R, 1);                                 \
    }                                                                                                       \
                                                                                                            \
    /* The GEMM core's tile (ng = 2: the GGUF order's 32 partial sums): block m's halves a0 .. a1 - 1 to Wp[a]. */ \
    static void pack_##SFX(const rv_gemm_w *W, int64_t j, int C, int64_t kb, int64_t nbk, int a0, int a1,      \
                           float *wp) {                                                                     \
        const uint8_t *w = (const uint8_t *) W->w + j * W->rowbytes + kb / RV_QK * (BYTES);                  \
        for (int c = 0; c < C; c++)                                                                         \
            for (int64_t m = 0; m < nbk; m++) {                                                             \
                const uint8_t *b = w + c * W->rowbytes + m * (BYTES);                                       \
                if (a1 - a0 == 1) {                                                                         \
                    _mm512_store_ps(wp + ((a0 * nbk + m) * GC + c) * 16, DECH(b, a0));                      \
                } else {                                                                                    \
                    __m512 wv[2];                                                                           \
                    DEC(b, wv);                                                                             \
                    _mm512_store_ps(wp + (m * GC + c) * 16, wv[0]);                                         \
                    _mm512_store_ps(wp + ((nbk + m) * GC + c) * 16, wv[1]);                                 \
                }                                                                                           \
            }                                                                                               \
    }                                                                                                       \
                                                                                                            \
    int rv_matmul_##SFX##_f32_avx512(const uint8_t *w, const float *bias, const float *x, int64_t rows,     \
                                     int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {            \
        const int need = RV_CPU_AVX512F | RV_CPU_AVX512BW | RV_CPU_AVX512VL | RV_CPU_FMA;                   \
        if ((rv_cpu_features() & need) != need) {                                                           \
            return RV_EISA;                                                                                 \
        }                                                                                                   \
        int st = rv_check_gguf(w, x, out, rows, k, n, n0, n1);                                              \
        if (st != RV_OK) {                                                                                  \
            return st;                                                                                      \
        }                                                                                                   \
        if (rows >= RV_GEMM_ROWS) {                                                                         \
            const rv_gemm_w W = {.w = w, .k = k, .n = n, .ng = 2, .rowbytes = k / RV_QK * (BYTES),          \
                                 .pack = pack_##SFX, .tail = NULL, .packt = packt_##SFX,                    \
                                 .nv = (BYTES) == RV_Q8_0_BYTES && k > 8192 ? 2 : 3};                       \
            if (rows < RV_GEMM_T_ROWS || rv_gemm(&W, bias, x, rows, n0, n1, out) != 0)                      \
                rv_gemm_few(&W, bias, x, rows, n0, n1, out);                                                \
            return RV_OK;                                                                                   \
        }                                                                                                   \
        int64_t r4 = rows - rows % 4;                                                                       \
        for (int64_t r = 0; r < r4; r += 4) cols_##SFX(w, bias, x, k, n, r, n0, n1, out, 4, 2);             \
        switch (rows - r4) {                                                                                \
        case 1: decode_##SFX(w, bias, x + r4 * k, k, n0, n1, out + r4 * n); break;                          \
        case 2: cols_##SFX(w, bias, x, k, n, r4, n0, n1, out, 2, 4); break;                                 \
        case 3: cols_##SFX(w, bias, x, k, n, r4, n0, n1, out, 3, 2); break;                                 \
        default: break;                                                                                     \
        }                                                                                                   \
        return RV_OK;                                                                                       \
    }

/* The 16 fp16 scales of rows j .. j + 15 (row c at b + c * rb) widened: lane c = d of row c. */
static inline __attribute__((always_inline)) __m512 scales16(const uint8_t *b, int64_t rb) {
    uint16_t h[16] __attribute__((aligned(32)));
    for (int c = 0; c < 16; c++) memcpy(&h[c], b + c * rb, sizeof h[c]);
    return _mm512_cvtph_ps(_mm256_load_si256((const __m256i *) h));
}

/* GGUF half a of the blocks of 16 rows from j, transposed (rv_packt_fn): a row's 16 bytes of codes (Q8_0: its half
 * a; Q4_0: all 16 bytes, the half's nibbles) for 16 rows by rv_tr16x4, so a vector holds one code of the 16 rows;
 * code b of a dword is a shift or two (Q8_0 signed; Q4_0: vpermps reads only the low 4 bits), then q * d (Q8_0) or
 * the table's q - 8 times d (Q4_0) with the 16 rows' scales as a vector: the same products as dech_*, so the same
 * bits. */
static void packt_q8_0(const rv_gemm_w *W, int64_t j, int64_t kb, int64_t nbk, int a, float *wt, int64_t ls,
                       int64_t ms) {
    const int64_t rb = W->rowbytes;
    const uint8_t *w = (const uint8_t *) W->w + j * rb + kb / RV_QK * RV_Q8_0_BYTES;
    for (int64_t m = 0; m < nbk; m++, w += RV_Q8_0_BYTES, wt += ms) {
        const __m512 d = scales16(w, rb);
        __m512i z[4], o[4]; /* o[e] lane c: codes 4e .. 4e + 3 of the half, row j + c */
        rv_ld16x16(w + 2 + 16 * a, rb, z);
        rv_tr16x4(z, o);
#pragma GCC unroll 4
        for (int e = 0; e < 4; e++)
#pragma GCC unroll 4
            for (int b = 0; b < 4; b++) {
                const __m512i q = _mm512_srai_epi32(b == 3 ? o[e] : _mm512_slli_epi32(o[e], 24 - 8 * b), 24);
                _mm512_store_ps(wt + (4 * e + b) * ls, _mm512_mul_ps(_mm512_cvtepi32_ps(q), d));
            }
    }
}

static void packt_q4_0(const rv_gemm_w *W, int64_t j, int64_t kb, int64_t nbk, int a, float *wt, int64_t ls,
                       int64_t ms) {
    const int64_t rb = W->rowbytes;
    const uint8_t *w = (const uint8_t *) W->w + j * rb + kb / RV_QK * RV_Q4_0_BYTES;
    const __m512 q8 = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    for (int64_t m = 0; m < nbk; m++, w += RV_Q4_0_BYTES, wt += ms) {
        const __m512 d = scales16(w, rb);
        __m512i z[4], o[4]; /* o[e] lane c: bytes 4e .. 4e + 3 of row j + c's codes */
        rv_ld16x16(w + 2, rb, z);
        rv_tr16x4(z, o);
#pragma GCC unroll 4
        for (int e = 0; e < 4; e++)
#pragma GCC unroll 4
            for (int b = 0; b < 4; b++) {
                const int sh = 8 * b + 4 * a;
                const __m512i q = sh == 0 ? o[e] : _mm512_srli_epi32(o[e], sh);
                _mm512_store_ps(wt + (4 * e + b) * ls, _mm512_mul_ps(_mm512_permutexvar_ps(q, q8), d));
            }
    }
}

DEFINE_GGUF_AVX512(q8_0, RV_Q8_0_BYTES, dec_q8_0, dech_q8_0)
DEFINE_GGUF_AVX512(q4_0, RV_Q4_0_BYTES, dec_q4_0, dech_q4_0)
