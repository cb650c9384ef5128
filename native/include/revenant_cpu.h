/*
 * revenant_cpu.h: the one public header of librevenant_cpu.so (design.md, convention 4).
 *
 * Every function returns an int status: RV_OK (0) or a positive RV_E* code; Java
 * (NativeLibrary) turns a non-zero status into an exception naming the op.
 *
 * Matmul contract (the Java Backend contract, convention 8):
 *   out[r*n + j] = sum_k x[r*k + i] * w[j*k + i]  (+ bias[j])   for r in [0, rows), j in [n0, n1)
 * w is [n, k] row-major (F32 or BF16, little-endian, no alignment required), x is [rows, k]
 * fp32, out is [rows, n] fp32; bias is [n] fp32 or NULL. Only columns [n0, n1) are written, so
 * callers split n across threads. From 16 rows (F32/BF16; RTN and bnb 4-bit with k % 64 == 0; GGUF) the AVX-512
 * kernels run the GEMM core of src/gemm_avx512.h, which packs x once per call and keeps a per-thread heap scratch
 * (packed x, 48 columns of transposed weights and partial sums: about 2 MiB at 64 rows and k = 4096; without it,
 * the other paths below, same bits); F32/BF16 at 2-15 rows run src/gemm_few_avx512.h (about 144 KiB of stack;
 * AVX2, BF16 only: 48 KiB; the VNNI LLM.int8 kernel keeps its own per-thread scratch, src/int8_vnni.c). Callers
 * split n in multiples of 48 columns for the core (6 below 16 rows); any split is correct, whole blocks are faster,
 * and since each call packs all of x, wide chunks pay that less often.
 *
 * Fixed reduction order, the same for every ISA, rows value and [n0, n1) split (so the
 * generic, AVX2 and AVX-512 kernels give bit-identical results):
 *   1. 64 partial sums p[0..63], p[j] = fma(x[i], w[i], p[j]) for i = 64m + j over the full
 *      64-element blocks i < k64 = k - k % 64, in increasing m;
 *   2. q[l] = (p[l] + p[l+16]) + (p[l+32] + p[l+48])            l < 16
 *      h8[l] = q[l] + q[l+8], h4[l] = h8[l] + h8[l+4], h2[l] = h4[l] + h4[l+2], s = h2[0] + h2[1];
 *   3. s = fma(x[i], w[i], s) for the tail i in [k64, k), in order;
 *   4. out = s + bias[j] when bias is given.
 * BF16 weights are widened exactly (shift left 16); x is never rounded to bf16 (so no
 * vdpbf16ps: it rounds both operands to bf16).
 *
 * GGUF block matmuls (rv_matmul_q8_0_f32, rv_matmul_q4_0_f32): w is [n, k] as ggml blocks of 32
 * along each row, k a multiple of 32 (else RV_EINVAL), read in place (no alignment required):
 *   Q8_0 block, 34 bytes: fp16 d (LE), int8 q[32];            w = q * d
 *   Q4_0 block, 18 bytes: fp16 d (LE), uint8 qs[16];          w = (q - 8) * d, element j < 16 is
 *                                                             the low nibble of qs[j], j + 16 the high one
 * Each w is exact in fp32 (at most 19 significant bits), so it equals the Java dequantize value
 * (GgufBlocks). Fixed reduction order, the same for every ISA, rows value and [n0, n1) split:
 *   1. 32 partial sums p[0..31], p[l] = fma(x[i], w[i], p[l]) for i = 32b + l, blocks b in order;
 *   2. q[l] = p[l] + p[l+16] (l < 16), h8[l] = q[l] + q[l+8], h4[l] = h8[l] + h8[l+4],
 *      h2[l] = h4[l] + h4[l+2], s = h2[0] + h2[1];
 *   3. out = s + bias[j] when bias is given.
 * (No int8 dot products: x is never quantized.)
 *
 * RTN matmul (rv_matmul_rtn_u8_f32, quant/RtnPacked): codes is [n, k] row-major, one unsigned byte per
 * weight; scale and zero are fp32 [groups, n] (index g*n + j); column i is in group i / gs (gs == -1:
 * one group per row, gs >= 1 otherwise, else RV_EINVAL). w = scale * ((float) code - zero), rounded
 * after the subtraction and after the product (no FMA: RtnPacked.dequantize). Fixed reduction order,
 * the same for every ISA, rows value, group size path and [n0, n1) split; it is VectorPackedDot's
 * order with 16 lanes (so the Java vector backend on AVX-512 gives the same bits):
 *   1. 64 partial sums p[0..63], p[j] = fma(x[i], w[i], p[j]) for i = 64m + j, i < k64 = k - k % 64;
 *   2. p[l] = fma(x[i], w[i], p[l]) for i = k64 + 16m + l, over the whole 16-blocks below k16 = k - k % 16;
 *   3. s = the fold of step 2 of the F32 order (q[l] = (p[l] + p[l+16]) + (p[l+32] + p[l+48]), ...);
 *   4. s = s + x[i] * w[i] (product rounded, then the add: no FMA) for i in [k16, k), in order;
 *   5. out = s + bias[j] when bias is given.
 *
 * bitsandbytes 4-bit matmul (rv_matmul_bnb4_f32, quant/Bnb4Packed): packed holds the n*k codes of the row-major
 * flattened weight, two per byte, the even element in the high nibble; absmax is fp32, one per block of 64
 * flattened elements; table is the 16 fp32 code values (NF4, or FP4 with its sign). w = table[code] * absmax[e / 64]
 * for flat element e = j*k + i (one rounding). Fixed reduction order: the RTN order above, steps 1-5.
 *
 * LLM.int8 matmul (rv_matmul_int8_f32, quant/Int8Bnb.matmulPerRow): cb int8 [n, k] and scb fp32 [n] (the weight);
 * ca int8 [rows, k], sca fp32 [rows] and xh fp32 [rows, k] (the activations quantized per row, and rounded to
 * fp16, by Java); the outlier columns of row r are ocols[ostart[r] .. ostart[r+1]) ascending. acc = sum ca*cb in
 * int32 (exact: any order); out = fp16(acc * 6.200012e-05f * sca[r] * scb[j]) and, with outliers,
 * fp16(out + fp16(sum_t xh[r, c_t] * fp16((cb[j, c_t] * scb[j]) / 127))) summed in fp32 in column order. No bias.
 */
#ifndef REVENANT_CPU_H
#define REVENANT_CPU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RV_OK 0
/** A null pointer, a negative size, or [n0, n1) not inside [0, n). */
#define RV_EINVAL 1
/** The kernel's instruction set is not supported by this CPU. */
#define RV_EISA 2

/* rv_cpu_features() bits */
#define RV_CPU_AVX2 (1 << 0)
#define RV_CPU_FMA (1 << 1)
#define RV_CPU_AVX512F (1 << 2)
#define RV_CPU_AVX512BW (1 << 3)
#define RV_CPU_AVX512VL (1 << 4)
#define RV_CPU_AVX512BF16 (1 << 5)
#define RV_CPU_AVX512VNNI (1 << 6)

/** Bitmask of RV_CPU_* features this CPU has (detected once, at load). */
int rv_cpu_features(void);

/** Name of the instruction set the dispatching entry points use: "avx512", "avx2" or "generic". */
const char *rv_kernel_name(void);

/* Dispatching entry points: pick the best kernel for this CPU. */
int rv_matmul_f32_f32(const float *w, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,
                      int64_t n0, int64_t n1, float *out);
int rv_matmul_bf16_f32(const uint16_t *w, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,
                       int64_t n0, int64_t n1, float *out);

int rv_matmul_q8_0_f32(const uint8_t *w, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,
                       int64_t n0, int64_t n1, float *out);
int rv_matmul_q4_0_f32(const uint8_t *w, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,
                       int64_t n0, int64_t n1, float *out);

/* Per instruction set (tests and benchmarks call them directly; the avx2/avx512 ones return
 * RV_EISA on a CPU without the features). */
int rv_matmul_f32_f32_generic(const float *w, const float *bias, const float *x, int64_t rows, int64_t k,
                              int64_t n, int64_t n0, int64_t n1, float *out);
int rv_matmul_bf16_f32_generic(const uint16_t *w, const float *bias, const float *x, int64_t rows, int64_t k,
                               int64_t n, int64_t n0, int64_t n1, float *out);
int rv_matmul_f32_f32_avx2(const float *w, const float *bias, const float *x, int64_t rows, int64_t k,
                           int64_t n, int64_t n0, int64_t n1, float *out);
int rv_matmul_bf16_f32_avx2(const uint16_t *w, const float *bias, const float *x, int64_t rows, int64_t k,
                            int64_t n, int64_t n0, int64_t n1, float *out);
int rv_matmul_f32_f32_avx512(const float *w, const float *bias, const float *x, int64_t rows, int64_t k,
                             int64_t n, int64_t n0, int64_t n1, float *out);
int rv_matmul_bf16_f32_avx512(const uint16_t *w, const float *bias, const float *x, int64_t rows, int64_t k,
                              int64_t n, int64_t n0, int64_t n1, float *out);

#define RV_DECLARE_GGUF(SFX)                                                                                   \
    int rv_matmul_q8_0_f32_##SFX(const uint8_t *w, const float *bias, const float *x, int64_t rows, int64_t k,  \
                                 int64_t n, int64_t n0, int64_t n1, float *out);                                \
    int rv_matmul_q4_0_f32_##SFX(const uint8_t *w, const float *bias, const float *x, int64_t rows, int64_t k,  \
                                 int64_t n, int64_t n0, int64_t n1, float *out);
RV_DECLARE_GGUF(generic)
RV_DECLARE_GGUF(avx2)
RV_DECLARE_GGUF(avx512)
#undef RV_DECLARE_GGUF

int rv_matmul_rtn_u8_f32(const uint8_t *codes, const float *scale, const float *zero, int64_t gs, const float *bias,
                         const float *x, int64_t rows, int64_t k, int64_t n, int64_t n0, int64_t n1, float *out);
#define RV_DECLARE_RTN(SFX)                                                                                    \
    int rv_matmul_rtn_u8_f32_##SFX(const uint8_t *codes, const float *scale, const float *zero, int64_t gs,    \
                                   const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,      \
                                   int64_t n0, int64_t n1, float *out);
RV_DECLARE_RTN(generic)
RV_DECLARE_RTN(avx2)
RV_DECLARE_RTN(avx512)
#undef RV_DECLARE_RTN

/*
 * Panels (rv_panel, rv_matmul_bf16p_f32, rv_matmul_rtn_u8p_f32): a second copy of BF16 weights or RTN codes, es bytes
 * per weight (BF16 2, RTN 1), k % 64 == 0, in the order the batched GEMM core reads them (src/gemm_avx512.h): for each
 * vector of 16 rows v, each 16-lane group a < 4 of a 64-block and each block m < k / 64, a unit of 16 rows x 16
 * weights (256 es bytes), transposed in dwords: dword d < 4 es of the unit holds, for the 16 rows c in turn, the
 * weights l = 4 d / es .. of row c (little-endian), so that one 64-byte load is 16 columns' dword d:
 *   unit(v, a, m) = panel + ((v * 4 + a) * (k / 64) + m) * 256 es
 *   unit[((l es / 4) * 16 + c) * 4 + l es % 4 ..] = the es bytes of w[16 v + c, 64 m + 16 a + l]   (0 past row n)
 * rv_panel_bytes gives its size (ceil(n / 16) * 16 * k * es); rv_panel writes the vectors [v0, v1) of it, so callers
 * can split the work. The p matmuls take the row-major array and its panel and give the plain ones' bits: from
 * RV_GEMM_T_ROWS rows on AVX-512 the core packs whole 16-row vectors from the panel, which it reads as contiguous runs
 * (a group's units of one vector: k / 64 * 256 * es bytes) instead of 16 rows a row apart; elsewhere the panel is not
 * read. A NULL panel is the plain matmul.
 */
int64_t rv_panel_bytes(int64_t es, int64_t k, int64_t n);
int rv_panel(const void *w, int64_t es, int64_t k, int64_t n, int64_t v0, int64_t v1, void *panel);
int rv_matmul_bf16p_f32(const uint16_t *w, const uint16_t *panel, const float *bias, const float *x, int64_t rows,
                        int64_t k, int64_t n, int64_t n0, int64_t n1, float *out);
int rv_matmul_bf16p_f32_avx512(const uint16_t *w, const uint16_t *panel, const float *bias, const float *x,
                               int64_t rows, int64_t k, int64_t n, int64_t n0, int64_t n1, float *out);
int rv_matmul_rtn_u8p_f32(const uint8_t *codes, const uint8_t *panel, const float *scale, const float *zero,
                          int64_t gs, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,
                          int64_t n0, int64_t n1, float *out);
int rv_matmul_rtn_u8p_f32_avx512(const uint8_t *codes, const uint8_t *panel, const float *scale, const float *zero,
                                 int64_t gs, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,
                                 int64_t n0, int64_t n1, float *out);

int rv_matmul_bnb4_f32(const uint8_t *packed, const float *absmax, const float *table, const float *bias,
                       const float *x, int64_t rows, int64_t k, int64_t n, int64_t n0, int64_t n1, float *out);
#define RV_DECLARE_BNB4(SFX)                                                                                   \
    int rv_matmul_bnb4_f32_##SFX(const uint8_t *packed, const float *absmax, const float *table, const float *bias, \
                                 const float *x, int64_t rows, int64_t k, int64_t n, int64_t n0, int64_t n1,   \
                                 float *out);
RV_DECLARE_BNB4(generic)
RV_DECLARE_BNB4(avx2)
RV_DECLARE_BNB4(avx512)
#undef RV_DECLARE_BNB4

int rv_matmul_int8_f32(const int8_t *cb, const float *scb, const int8_t *ca, const float *sca, const float *xh,
                       const int32_t *ostart, const int32_t *ocols, int64_t rows, int64_t k, int64_t n, int64_t n0,
                       int64_t n1, float *out);
#define RV_DECLARE_INT8(SFX)                                                                                   \
    int rv_matmul_int8_f32_##SFX(const int8_t *cb, const float *scb, const int8_t *ca, const float *sca,        \
                                 const float *xh, const int32_t *ostart, const int32_t *ocols, int64_t rows,    \
                                 int64_t k, int64_t n, int64_t n0, int64_t n1, float *out);
RV_DECLARE_INT8(generic)
RV_DECLARE_INT8(avx2)
RV_DECLARE_INT8(avx512)
/* vpdpbusd (AVX-512 VNNI): the same bits as the others; RV_EISA without avx512vnni. */
RV_DECLARE_INT8(avx512vnni)
#undef RV_DECLARE_INT8

#ifdef __cplusplus
}
#endif
#endif
