/*
 * LLM.int8 kernels with AVX-512 VNNI (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mfma; dispatch.c
 * picks them only when the CPU reports avx512vnni, and int8_avx512.c stays the kernel of AVX-512 CPUs without it).
 *
 * Contract (revenant_cpu.h, "LLM.int8 matmul"): acc = sum_i ca[r, i] * cb[j, i] in int32 is exact, so any
 * summation order gives the same acc; out = fp16(acc * 6.200012e-05f * sca[r] * scb[j]) and, with outlier columns,
 * fp16(out + fp16(sum_t xh[r, c_t] * fp16((cb[j, c_t] * scb[j]) / 127))) summed in fp32 in column order. The
 * epilogue below computes exactly rv_int8_out (common.h), 16 columns per vector, each lane with the same
 * operations in the same order (no FMA: -ffp-contract=off), so the bits equal the generic kernel's.
 *
 * vpdpbusd multiplies unsigned bytes by signed bytes and adds each group of 4 products to an int32 lane (wrapping,
 * no saturation). One side is made unsigned by flipping its sign bit: the byte v ^ 0x80 is v + 128, in [0, 255]
 * for any int8 v. Batched, the activations are flipped (once per call, into a per-thread buffer):
 *     sum_i (ca[r, i] + 128) * cb[j, i] = acc + 128 * sw[j],   sw[j] = sum_i cb[j, i] (one pass per 6-column tile),
 * at decode the weights are (below), with the activations' sum instead. Either way acc = that - 128 * sum, computed
 * mod 2^32 (uint32_t): the same int32 as the generic kernel's (and Java's) wrapped sum, exact whenever the true sum
 * fits in int32.
 *
 * Batched (rows >= 2): tiles of 4 activation rows x 6 weight rows (24 zmm accumulators, the 6 weight vectors of a
 * 64-byte step in registers, each used by 4 rows; the full tile's loop is inline asm, as GCC 12 spilled the
 * accumulators on every step). For each tile of 6 columns the k range is cut into blocks of at most KB bytes, so
 * the tile's 6 weight rows (6 * KB <= 24 KiB) stay in L1 while every 4-row block of x (in L2) streams past them;
 * from 64 rows on, rows go in blocks of about XB bytes of x. Int32 partial sums of a block of NB columns wait in a
 * buffer; the epilogue then runs 16 columns at a time (vcvtps2ph/vcvtph2ps for the fp16 roundings: checked
 * equal to rv_round_f16 for all 2^32 floats but NaNs, which no finite input produces).
 *
 * Decode (rows == 1): tiles of CL weight rows, x (k bytes) in L1, the next tile's rows prefetched into L2 at the
 * offset being read (weight rows are k bytes apart, a new page per row for the hardware streamer), as the RTN and
 * GGUF decode tiles do. Here the weights are flipped instead (vpxord per weight vector, x stays signed, the
 * correction is 128 * sum(x)): at one row nothing is reused, and memory, not the ports, is the limit. In a C
 * harness (2 threads, 1 GiB of weight copies, medians of 20-40 calls alternating in one process) 2, 4 or 8 rows
 * per tile, no prefetch, prefetcht0, two tiles ahead or 1 KiB ahead in the same rows all read 20-23 GB/s, within
 * the noise of each other and at or above a plain 2-thread read loop: CL 4 with the L2 prefetch stays.
 */
#include <immintrin.h>
#include <stdlib.h>

#include "common.h"

/* Columns per block of the int32 buffer (a multiple of 6 and of 16). */
#define NB 96
/* Weight rows per decode tile. */
#define CL 4
/* Largest k block of the batched tile: 6 rows of KB bytes in L1. */
#define KB 4096
/* Bytes of packed x per row block of the batched path. */
#ifndef XB
#define XB (512 << 10)
#endif

static inline __m512i flip80(void) {
    return _mm512_set1_epi8((char) 0x80);
}

/* The bytes [i, i + len) of p, zero beyond (len < 64: a masked load, which never touches the bytes it leaves). */
static inline __m512i load_tail(const int8_t *p, int64_t len) {
    return _mm512_maskz_loadu_epi8((__mmask64) ((1ULL << len) - 1), p);
}

/* The 4 sums of the int32 lanes of a, b, c, d. */
static inline __m128i reduce4(__m512i a, __m512i b, __m512i c, __m512i d) {
    __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    /* each 128-bit lane: a, b, c, d partial sums */
    __m512i s = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
    __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* sum_i p[i] for i < k, in int32 (wrapping). */
static inline int32_t sum_i8(const int8_t *p, int64_t k) {
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i a = _mm512_setzero_si512();
    int64_t i = 0;
    for (; i + 64 <= k; i += 64) a = _mm512_dpbusd_epi32(a, ones, _mm512_loadu_si512(p + i));
    if (i < k) a = _mm512_dpbusd_epi32(a, ones, load_tail(p + i, k - i));
    return _mm512_reduce_add_epi32(a);
}

/* s[c] = sum_i w[c * k + i] for c < C (C <= 6), in int32 (wrapping): 6 independent chains. */
static void rowsums(const int8_t *w, int64_t k, int C, int32_t *s) {
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i a[6];
    for (int c = 0; c < 6; c++) a[c] = _mm512_setzero_si512();
    int64_t i = 0;
    if (C == 6) {
        for (; i + 64 <= k; i += 64)
#pragma GCC unroll 6
            for (int c = 0; c < 6; c++) a[c] = _mm512_dpbusd_epi32(a[c], ones, _mm512_loadu_si512(w + c * k + i));
    }
    for (int c = 0; c < C; c++) {
        int64_t j = i;
        for (; j + 64 <= k; j += 64) a[c] = _mm512_dpbusd_epi32(a[c], ones, _mm512_loadu_si512(w + c * k + j));
        if (j < k) a[c] = _mm512_dpbusd_epi32(a[c], ones, load_tail(w + c * k + j, k - j));
        s[c] = _mm512_reduce_add_epi32(a[c]);
    }
}

/*
 * The 4 x 6 tile's full 64-byte steps: a[r * 6 + c] = sum over steps of vpdpbusd(x row r, weight row c), rows of x
 * kp bytes apart, of w k bytes apart. Registers: zmm0-23 accumulators, zmm24-29 the 6 weight vectors of a step,
 * zmm30-31 x rows (alternating, so a load can start while the previous row's 6 products issue). Each step also
 * asks for the line pf + 64 * step in L2 (a row of the next tile; prefetches never fault, whatever the address).
 */
static void loop46(const int8_t *w, int64_t k, const uint8_t *x, int64_t kp, int64_t steps, __m512i *a,
                   const char *pf) {
    const int8_t *w3 = w + 3 * k;
    const uint8_t *x2 = x + 2 * kp;
#define RV_ZERO(n) "vpxord %%zmm" #n ", %%zmm" #n ", %%zmm" #n "\n\t"
#define RV_ROW(xr, a0, a1, a2, a3, a4, a5)                                                                       \
    "vpdpbusd %%zmm24, %%zmm" #xr ", %%zmm" #a0 "\n\t"                                                       \
    "vpdpbusd %%zmm25, %%zmm" #xr ", %%zmm" #a1 "\n\t"                                                       \
    "vpdpbusd %%zmm26, %%zmm" #xr ", %%zmm" #a2 "\n\t"                                                       \
    "vpdpbusd %%zmm27, %%zmm" #xr ", %%zmm" #a3 "\n\t"                                                       \
    "vpdpbusd %%zmm28, %%zmm" #xr ", %%zmm" #a4 "\n\t"                                                       \
    "vpdpbusd %%zmm29, %%zmm" #xr ", %%zmm" #a5 "\n\t"
#define RV_STORE(n) "vmovdqu64 %%zmm" #n ", " #n "*64(%[a])\n\t"
    __asm__ volatile(
        RV_ZERO(0) RV_ZERO(1) RV_ZERO(2) RV_ZERO(3) RV_ZERO(4) RV_ZERO(5) RV_ZERO(6) RV_ZERO(7)
        RV_ZERO(8) RV_ZERO(9) RV_ZERO(10) RV_ZERO(11) RV_ZERO(12) RV_ZERO(13) RV_ZERO(14) RV_ZERO(15)
        RV_ZERO(16) RV_ZERO(17) RV_ZERO(18) RV_ZERO(19) RV_ZERO(20) RV_ZERO(21) RV_ZERO(22) RV_ZERO(23)
        "1:\n\t"
        "vmovdqu64 (%[w]), %%zmm24\n\t"
        "vmovdqu64 (%[w],%[k],1), %%zmm25\n\t"
        "vmovdqu64 (%[w],%[k],2), %%zmm26\n\t"
        "vmovdqu64 (%[w3]), %%zmm27\n\t"
        "vmovdqu64 (%[w3],%[k],1), %%zmm28\n\t"
        "vmovdqu64 (%[w3],%[k],2), %%zmm29\n\t"
        "vmovdqu64 (%[x]), %%zmm30\n\t"
        "vmovdqu64 (%[x],%[kp],1), %%zmm31\n\t"
        "prefetcht1 (%[pf])\n\t"
        RV_ROW(30, 0, 1, 2, 3, 4, 5)
        "vmovdqu64 (%[x2]), %%zmm30\n\t"
        RV_ROW(31, 6, 7, 8, 9, 10, 11)
        "vmovdqu64 (%[x2],%[kp],1), %%zmm31\n\t"
        RV_ROW(30, 12, 13, 14, 15, 16, 17)
        RV_ROW(31, 18, 19, 20, 21, 22, 23)
        "add $64, %[w]\n\t"
        "add $64, %[w3]\n\t"
        "add $64, %[x]\n\t"
        "add $64, %[x2]\n\t"
        "add $64, %[pf]\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        RV_STORE(0) RV_STORE(1) RV_STORE(2) RV_STORE(3) RV_STORE(4) RV_STORE(5) RV_STORE(6) RV_STORE(7)
        RV_STORE(8) RV_STORE(9) RV_STORE(10) RV_STORE(11) RV_STORE(12) RV_STORE(13) RV_STORE(14) RV_STORE(15)
        RV_STORE(16) RV_STORE(17) RV_STORE(18) RV_STORE(19) RV_STORE(20) RV_STORE(21) RV_STORE(22) RV_STORE(23)
        : [w] "+r"(w), [w3] "+r"(w3), [x] "+r"(x), [x2] "+r"(x2), [n] "+r"(steps), [pf] "+r"(pf)
        : [k] "r"(k), [kp] "r"(kp), [a] "r"(a)
        : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
          "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
          "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
#undef RV_ZERO
#undef RV_ROW
#undef RV_STORE
}

/*
 * Batched tile: R activation rows from r0 x C weight rows from j0, over k in [kb0, kb1) (kb1 - kb0 a multiple of
 * 64 except at kb1 == k). xu holds the activations made unsigned (ca + 128), rows kp bytes apart, zero from k to kp.
 * The R*C wrapped sums of (ca + 128) * cb go to t[r * 6 + c].
 */
static inline __attribute__((always_inline)) void gtile(const int8_t *cb, const uint8_t *xu, int64_t k, int64_t kp,
                                                        int64_t r0, int64_t j0, int64_t kb0, int64_t kb1, int32_t *t,
                                                        const char *pf, const int R, const int C) {
    __m512i acc[4][6];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 6
        for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_si512();
    const int8_t *w = cb + j0 * k;
    const uint8_t *x = xu + r0 * kp;
    int64_t i = kb0;
    if (R == 4 && C == 6 && kb1 - kb0 >= 64) {
        /* GCC spills these 24 accumulators (24 + 6 weights + 1 x = 31 of the 32 zmm): the full steps in asm */
        __m512i a[24];
        int64_t steps = (kb1 - kb0) / 64;
        loop46(w + i, k, x + i, kp, steps, a, pf + i);
        i += 64 * steps;
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
#pragma GCC unroll 6
            for (int c = 0; c < 6; c++) acc[r][c] = a[r * 6 + c];
    }
    for (; i < kb1; i += 64) {
        __m512i wv[6];
        if (i + 64 <= kb1) {
#pragma GCC unroll 6
            for (int c = 0; c < C; c++) wv[c] = _mm512_loadu_si512(w + c * k + i);
        } else { /* the weights beyond k read as 0 (x is 0 there too) */
#pragma GCC unroll 6
            for (int c = 0; c < C; c++) wv[c] = load_tail(w + c * k + i, kb1 - i);
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m512i xv = _mm512_loadu_si512(x + r * kp + i);
#pragma GCC unroll 6
            for (int c = 0; c < C; c++) acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], xv, wv[c]);
        }
    }
    /* per row, columns 0-3 then 4-5: 4 sums per reduce4 */
    const __m512i z = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        int32_t v[8];
        _mm_storeu_si128((__m128i *) v, reduce4(acc[r][0], C > 1 ? acc[r][1] : z, C > 2 ? acc[r][2] : z,
                                                C > 3 ? acc[r][3] : z));
        if (C > 4) _mm_storeu_si128((__m128i *) (v + 4), reduce4(acc[r][4], C > 5 ? acc[r][5] : z, z, z));
#pragma GCC unroll 6
        for (int c = 0; c < C; c++) t[r * 6 + c] = v[c];
    }
}

typedef void (*gtile_fn)(const int8_t *, const uint8_t *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                         int32_t *, const char *);
#define GT(R, C)                                                                                                 \
    static void gt_##R##_##C(const int8_t *cb, const uint8_t *xu, int64_t k, int64_t kp, int64_t r0, int64_t j0, \
                             int64_t kb0, int64_t kb1, int32_t *t, const char *pf) {                             \
        gtile(cb, xu, k, kp, r0, j0, kb0, kb1, t, pf, R, C);                                                     \
    }
#define GT_ROW(R) GT(R, 1) GT(R, 2) GT(R, 3) GT(R, 4) GT(R, 5) GT(R, 6)
GT_ROW(1)
GT_ROW(2)
GT_ROW(3)
GT_ROW(4)
#undef GT_ROW
#undef GT
static const gtile_fn GTILES[4][6] = {
    {gt_1_1, gt_1_2, gt_1_3, gt_1_4, gt_1_5, gt_1_6},
    {gt_2_1, gt_2_2, gt_2_3, gt_2_4, gt_2_5, gt_2_6},
    {gt_3_1, gt_3_2, gt_3_3, gt_3_4, gt_3_5, gt_3_6},
    {gt_4_1, gt_4_2, gt_4_3, gt_4_4, gt_4_5, gt_4_6},
};

static inline __m512 round16(__m512 v) {
    /* vcvtps2ph rounds to nearest even (subnormals, overflow to infinity), as rv_round_f16 does for every
     * non-NaN float; the epilogue never meets a NaN unless an input is one */
    return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/* cb[(j0 + l) * k + c] for the lanes l of m (zero elsewhere), without reading outside cb[0, n * k). */
static inline __m512i gather_cb(const int8_t *cb, int64_t n, int64_t k, int64_t j0, int64_t c, int nl) {
    __mmask16 m = (__mmask16) ((1u << nl) - 1);
    int64_t first = j0 * k + c, last = (j0 + nl - 1) * k + c;
    if (k <= INT32_MAX / 16) {
        __m512i off = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                         _mm512_set1_epi32((int32_t) k));
        if (first >= 3) { /* the dword ending at the byte: its top byte */
            __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, off, cb + first - 3, 1);
            return _mm512_srai_epi32(v, 24);
        }
        if (last + 3 < n * k) { /* the dword starting at the byte: its low byte */
            __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, off, cb + first, 1);
            return _mm512_srai_epi32(_mm512_slli_epi32(v, 24), 24);
        }
    }
    int32_t v[16] = {0};
    for (int l = 0; l < nl; l++) v[l] = cb[(j0 + l) * k + c];
    return _mm512_loadu_si512(v);
}

/*
 * out[r, jb + l] for l < nb from the exact int32 sums d[l] (d: row r's nb sums): rv_int8_out, 16 lanes at a time.
 */
static void epilogue_row(const int8_t *cb, const float *scb, float sca, const float *xr, const int32_t *oc, int32_t no,
                         int64_t k, int64_t n, int64_t jb, int64_t nb, const int32_t *d, float *out) {
    const __m512 q = _mm512_set1_ps(6.200012e-05f);
    const __m512 s_a = _mm512_set1_ps(sca);
    const __m512 d127 = _mm512_set1_ps(127.0f);
    for (int64_t l = 0; l < nb; l += 16) {
        int nl = nb - l < 16 ? (int) (nb - l) : 16;
        __mmask16 m = (__mmask16) ((1u << nl) - 1);
        __m512 s_b = _mm512_maskz_loadu_ps(m, scb + jb + l);
        __m512 v = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, d + l));
        v = round16(_mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(v, q), s_a), s_b));
        if (no > 0) {
            __m512 part = _mm512_setzero_ps();
            for (int32_t t = 0; t < no; t++) {
                int32_t c = oc[t];
                __m512 w = _mm512_cvtepi32_ps(gather_cb(cb, n, k, jb + l, c, nl));
                __m512 wq = round16(_mm512_div_ps(_mm512_mul_ps(w, s_b), d127));
                part = _mm512_add_ps(part, _mm512_mul_ps(_mm512_set1_ps(xr[c]), wq));
            }
            v = round16(_mm512_add_ps(v, round16(part)));
        }
        _mm512_mask_storeu_ps(out + jb + l, m, v);
    }
}

/*
 * Batched: the columns [n0, n1) in blocks of NB, each in tiles of 6. Per tile: the weight row sums (for the
 * correction) in one pass that also asks for the next tile's rows in L2, then the k blocks, each against all rows.
 */
static void batched(const int8_t *cb, const float *scb, const uint8_t *xu, int64_t kp, const float *sca,
                    const float *xh, const int32_t *ostart, const int32_t *ocols, int64_t rows, int64_t k, int64_t n,
                    int64_t n0, int64_t n1, float *out, int32_t *buf) {
    /* k blocks: one when 6 rows fit KB, else equal blocks of a multiple of 64 */
    int64_t kb = k;
    if (k > KB + KB / 4) {
        int64_t parts = (k + KB - 1) / KB;
        kb = ((k + parts - 1) / parts + 63) / 64 * 64;
    }
    /* rows in blocks of about XB bytes of x (whole 4-row tiles, at least 64 rows): the x block and the NB columns'
     * weights stay in L2 while each block passes (C harness, one thread, 512 x 1200 x 4096: 250 GOP/s with x
     * streamed from L3 per tile, 390 with the blocks; 64 rows at k 11008 were slower in two 44 + 20 row blocks) */
    int64_t rbn = XB / (kp > 0 ? kp : 1);
    rbn = rbn < 64 ? 64 : rbn - rbn % 4;
    int32_t sw[NB];
    for (int64_t jb = n0; jb < n1; jb += NB) {
        int64_t nb = n1 - jb < NB ? n1 - jb : NB;
        for (int64_t rb0 = 0; rb0 < rows; rb0 += rbn) {
            int64_t rb1 = rows - rb0 < rbn ? rows : rb0 + rbn;
            int first = rb0 == 0; /* the weights come from DRAM: row sums, prefetch of the next tile */
            for (int64_t jt = 0; jt < nb; jt += 6) {
                int C = nb - jt < 6 ? (int) (nb - jt) : 6;
                int64_t j0 = jb + jt;
                int64_t pf = !first ? 0 : n1 - (j0 + C) < 6 ? n1 - (j0 + C) : 6;
                /* the next tile's rows into L2: spread over the 4 x 6 steps of row tiles 0-5 when there are 6,
                 * else all here */
                int spread = rb1 - rb0 >= 24;
                if (first) {
                    if (!spread)
                        for (int c = 0; c < pf; c++) {
                            const char *nx = (const char *) (cb + (j0 + C + c) * k);
                            for (int64_t i = 0; i < k; i += 64) _mm_prefetch(nx + i, _MM_HINT_T1);
                        }
                    rowsums(cb + j0 * k, k, C, sw + jt);
                }
                for (int64_t kb0 = 0; kb0 < k; kb0 += kb) {
                    int64_t kb1 = k - kb0 < kb ? k : kb0 + kb;
                    for (int64_t r0 = rb0; r0 < rb1; r0 += 4) {
                        int R = rb1 - r0 < 4 ? (int) (rb1 - r0) : 4;
                        int32_t t[24];
                        int rt = (int) ((r0 - rb0) / 4);
                        /* row rt of the next tile, or (none to fetch) this tile's own row 0, already here */
                        const char *pfr = (const char *) (cb + (spread && rt < pf ? j0 + C + rt : j0) * k);
                        GTILES[R - 1][C - 1](cb, xu, k, kp, r0, j0, kb0, kb1, t, pfr);
                        for (int r = 0; r < R; r++) {
                            int32_t *dr = buf + (r0 + r) * NB + jt;
                            if (kb0 == 0) {
                                for (int c = 0; c < C; c++) dr[c] = t[r * 6 + c];
                            } else {
                                for (int c = 0; c < C; c++)
                                    dr[c] = (int32_t) ((uint32_t) dr[c] + (uint32_t) t[r * 6 + c]);
                            }
                        }
                    }
                }
            }
        }
        for (int64_t r = 0; r < rows; r++) {
            int32_t *dr = buf + r * NB;
            for (int64_t l = 0; l < nb; l++) dr[l] = (int32_t) ((uint32_t) dr[l] - 128u * (uint32_t) sw[l]);
            epilogue_row(cb, scb, sca[r], xh + r * k, ocols + ostart[r], ostart[r + 1] - ostart[r], k, n, jb, nb, dr,
                         out + r * n);
        }
    }
}


/* Decode tile: C weight rows from j0 against the activation row x; prefetches the pf rows after them into L2. */
static inline __attribute__((always_inline)) void dtile(const int8_t *cb, const int8_t *x, int64_t k, int64_t j0,
                                                        int pf, int32_t *t, const int C) {
    __m512i acc[CL];
    for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_si512();
    const __m512i f = flip80();
    const int8_t *w = cb + j0 * k;
    int64_t i = 0;
    for (; i + 64 <= k; i += 64) {
        for (int c = 0; c < pf; c++) _mm_prefetch((const char *) (w + (C + c) * k + i), _MM_HINT_T1);
        __m512i xv = _mm512_loadu_si512(x + i);
        for (int c = 0; c < C; c++)
            acc[c] = _mm512_dpbusd_epi32(acc[c], _mm512_xor_si512(_mm512_loadu_si512(w + c * k + i), f), xv);
    }
    if (i < k) {
        __m512i xv = load_tail(x + i, k - i);
        for (int c = 0; c < C; c++)
            acc[c] = _mm512_dpbusd_epi32(acc[c], _mm512_xor_si512(load_tail(w + c * k + i, k - i), f), xv);
    }
    const __m512i z = _mm512_setzero_si512();
    for (int g = 0; g < C; g += 4) {
        __m128i s = reduce4(acc[g], g + 1 < C ? acc[g + 1] : z, g + 2 < C ? acc[g + 2] : z, g + 3 < C ? acc[g + 3] : z);
        int32_t v[4];
        _mm_storeu_si128((__m128i *) v, s);
        for (int e = 0; e < 4 && g + e < C; e++) t[g + e] = v[e];
    }
}

static void decode(const int8_t *cb, const float *scb, const int8_t *ca, const float *sca, const float *xh,
                   const int32_t *ostart, const int32_t *ocols, int64_t k, int64_t n, int64_t n0, int64_t n1,
                   float *out, int32_t sa) {
    int32_t buf[NB];
    uint32_t corr = 128u * (uint32_t) sa;
    for (int64_t jb = n0; jb < n1; jb += NB) {
        int64_t nb = n1 - jb < NB ? n1 - jb : NB;
        int64_t j = 0;
        for (; j + CL <= nb; j += CL) {
            int64_t left = n1 - (jb + j + CL);
            dtile(cb, ca, k, jb + j, left < CL ? (int) left : CL, buf + j, CL);
        }
        for (; j < nb; j++) dtile(cb, ca, k, jb + j, 0, buf + j, 1);
        for (int64_t l = 0; l < nb; l++) buf[l] = (int32_t) ((uint32_t) buf[l] - corr);
        epilogue_row(cb, scb, sca[0], xh, ocols + ostart[0], ostart[1] - ostart[0], k, n, jb, nb, buf, out);
    }
}

int rv_matmul_int8_f32_avx512vnni(const int8_t *cb, const float *scb, const int8_t *ca, const float *sca,
                                  const float *xh, const int32_t *ostart, const int32_t *ocols, int64_t rows,
                                  int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {
    const int need = RV_CPU_AVX512F | RV_CPU_AVX512BW | RV_CPU_AVX512VL | RV_CPU_FMA | RV_CPU_AVX512VNNI;
    if ((rv_cpu_features() & need) != need) {
        return RV_EISA;
    }
    int st = rv_check_int8(cb, scb, ca, sca, xh, ostart, ocols, out, rows, k, n, n0, n1);
    if (st != RV_OK || rows == 0 || n1 == n0) {
        return st;
    }
    if (k == 0) { /* acc = 0: nothing to multiply (the k loops below would leave the sums unset) */
        return rv_matmul_int8_f32_avx512(cb, scb, ca, sca, xh, ostart, ocols, rows, k, n, n0, n1, out);
    }
    if (rows == 1) {
        decode(cb, scb, ca, sca, xh, ostart, ocols, k, n, n0, n1, out, sum_i8(ca, k));
        return RV_OK;
    }
    /* x made unsigned (ca + 128: the byte ca ^ 0x80), rows padded with zeros to a multiple of 64 */
    int64_t kp = (k + 63) / 64 * 64;
    size_t xbytes = (size_t) (rows * kp), bbytes = (size_t) rows * NB * sizeof(int32_t);
    uint8_t *xu = rv_scratch(xbytes + bbytes); /* the packed activations and the int32 sums */
    if (xu == NULL) {
        return rv_matmul_int8_f32_avx512(cb, scb, ca, sca, xh, ostart, ocols, rows, k, n, n0, n1, out);
    }
    int32_t *buf = (int32_t *) (xu + xbytes);
    const __m512i f = flip80();
    for (int64_t r = 0; r < rows; r++) {
        const int8_t *src = ca + r * k;
        uint8_t *dst = xu + r * kp;
        int64_t i = 0;
        for (; i + 64 <= k; i += 64) _mm512_store_si512(dst + i, _mm512_xor_si512(_mm512_loadu_si512(src + i), f));
        if (i < k) { /* bytes beyond k: 0 (not 0x80) */
            __mmask64 m = (__mmask64) ((1ULL << (k - i)) - 1);
            _mm512_store_si512(dst + i, _mm512_maskz_mov_epi8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), f)));
        }
    }
    batched(cb, scb, xu, kp, sca, xh, ostart, ocols, rows, k, n, n0, n1, out, buf);
    return RV_OK;
}
