/*
 * AVX-512 GGUF block kernels (Q8_0, Q4_0; compiled with -mavx512f -mavx512bw -mavx512vl -mfma).
 * A block of 32 weights decodes to two zmm (int8 -> int32 -> fp32, times the broadcast fp16
 * scale: exact, GgufBlocks' value), which two accumulators per output take: lane l of
 * accumulator h holds p[16h + l], the order of revenant_cpu.h. The blocks are read in place.
 *
 * Tiles: R activation rows x C weight rows, every block decoded once per tile and used for all
 * R rows. Decode (one row): 1 x 8, eight weight streams in flight, each prefetched PF bytes
 * ahead; small batches (2, 3 rows) decode each block once for all their rows; prefill walks groups of 4 rows outside, columns
 * inside (4 x 2 tiles), so the column chunk [n0, n1) (NativeCpuBackend: about 256 KiB of
 * blocks) comes from L2 for every group after the first.
 */
#include <immintrin.h>

#include "common.h"
#include "fold_avx512.h"

/* Decode tile width and software prefetch distance in bytes along each weight row: measured at
 * 4096 x 4096, batch 1, 2 threads, weights from DRAM, on the 2-core Sapphire Rapids VM (q8_0 /
 * q4_0 GB/s): 4 columns, no prefetch 17.8 / 9.8; 8 columns 20.3 / 11.5; 8 columns + 256 B 23 / 15;
 * 512 B 22 / 13.8; 1024 B 18 / 12. Rows are short (K/32 blocks of 34 or 18 bytes: 4.3 / 2.3 KiB
 * at K = 4096), too short for the hardware prefetcher to ramp up on each. */
#define C1 8
#define PF 256

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

/* out[r, j] for r in [r0, r0 + R), j in [j0, j0 + C); R and C are constants after inlining. */
#define DEFINE_GGUF_AVX512(SFX, BYTES, DEC)                                                                 \
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
        int64_t r4 = rows - rows % 4;                                                                       \
        for (int64_t r = 0; r < r4; r += 4) cols_##SFX(w, bias, x, k, n, r, n0, n1, out, 4, 2);             \
        switch (rows - r4) {                                                                                \
        case 1: cols_##SFX(w, bias, x, k, n, r4, n0, n1, out, 1, C1); break;                                 \
        case 2: cols_##SFX(w, bias, x, k, n, r4, n0, n1, out, 2, 4); break;                                 \
        case 3: cols_##SFX(w, bias, x, k, n, r4, n0, n1, out, 3, 2); break;                                 \
        default: break;                                                                                     \
        }                                                                                                   \
        return RV_OK;                                                                                       \
    }

DEFINE_GGUF_AVX512(q8_0, RV_Q8_0_BYTES, dec_q8_0)
DEFINE_GGUF_AVX512(q4_0, RV_Q4_0_BYTES, dec_q4_0)
