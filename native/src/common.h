/* Internal helpers shared by the per-ISA translation units (not part of the public API). */
#ifndef RV_COMMON_H
#define RV_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "revenant_cpu.h"

#define RV_BLOCK 64

/* Per-thread scratch memory of at least size bytes, 64-byte aligned, grown as needed and freed when the thread
 * ends (dispatch.c); NULL when it cannot be had. The next call on the same thread may move it. */
void *rv_scratch(size_t size);

/* The decode kernels' buffer for x in lane order (rtn_avx512.c, bnb4_avx512.c): the whole row of len floats from the
 * per-thread scratch when it is longer than the stack block st of stlen floats (then *blk = len: each region of
 * columns is read front to back, not in stripes of stlen codes per pass), else st (*blk = stlen: x blocks, partial
 * sums carried between them; the same sums in the same order, so the same bits). */
static inline float *rv_lane_buf(int64_t len, float *st, int64_t stlen, int64_t *blk) {
    float *h = len > stlen ? rv_scratch(sizeof(float) * (size_t) len) : NULL;
    *blk = h != NULL ? len : stlen;
    return h != NULL ? h : st;
}

static inline int rv_check(const void *w, const void *x, const void *out, int64_t rows, int64_t k, int64_t n,
                           int64_t n0, int64_t n1) {
    if (rows < 0 || k < 0 || n < 0 || n0 < 0 || n0 > n1 || n1 > n) {
        return RV_EINVAL;
    }
    if (rows > 0 && n1 > n0 && (out == NULL || (k > 0 && (w == NULL || x == NULL)))) {
        return RV_EINVAL;
    }
    return RV_OK;
}

static inline float rv_bf16(uint16_t v) {
    uint32_t u = (uint32_t) v << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Step 2 of the fixed order (revenant_cpu.h): the 64 partial sums to one. */
static inline float rv_fold64(const float *p) {
    float q[16], h8[8], h4[4];
    for (int l = 0; l < 16; l++) {
        q[l] = (p[l] + p[l + 16]) + (p[l + 32] + p[l + 48]);
    }
    for (int l = 0; l < 8; l++) {
        h8[l] = q[l] + q[l + 8];
    }
    for (int l = 0; l < 4; l++) {
        h4[l] = h8[l] + h8[l + 4];
    }
    float h20 = h4[0] + h4[2];
    float h21 = h4[1] + h4[3];
    return h20 + h21;
}

#define RV_QK 32
#define RV_Q8_0_BYTES 34
#define RV_Q4_0_BYTES 18

/* Arguments of the GGUF block matmuls: those of rv_check, and k a multiple of 32. */
static inline int rv_check_gguf(const void *w, const void *x, const void *out, int64_t rows, int64_t k, int64_t n,
                                int64_t n0, int64_t n1) {
    int st = rv_check(w, x, out, rows, k, n, n0, n1);
    return st != RV_OK ? st : (k % RV_QK != 0 ? RV_EINVAL : RV_OK);
}

/* IEEE fp16 (little-endian at p) to fp32, exact (Java's Float.float16ToFloat): the 15 magnitude
 * bits shifted into an fp32 whose exponent is 112 too small, times 2^112 (exact, subnormals too);
 * infinities and NaNs (payload kept) apart. */
static inline float rv_f16(const uint8_t *p) {
    uint32_t h = (uint32_t) p[0] | (uint32_t) p[1] << 8;
    uint32_t sign = (h & 0x8000u) << 16;
    uint32_t mag = h & 0x7fffu;
    uint32_t u;
    float f;
    if (mag >= 0x7c00u) {
        u = sign | 0x7f800000u | (mag & 0x3ffu) << 13;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    u = mag << 13;
    memcpy(&f, &u, sizeof f);
    f *= 0x1p112f;
    memcpy(&u, &f, sizeof u);
    u |= sign;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Step 2 of the GGUF order (revenant_cpu.h): the 32 partial sums to one. */
static inline float rv_fold32(const float *p) {
    float q[16], h8[8], h4[4];
    for (int l = 0; l < 16; l++) {
        q[l] = p[l] + p[l + 16];
    }
    for (int l = 0; l < 8; l++) {
        h8[l] = q[l] + q[l + 8];
    }
    for (int l = 0; l < 4; l++) {
        h4[l] = h8[l] + h8[l + 4];
    }
    float h20 = h4[0] + h4[2];
    float h21 = h4[1] + h4[3];
    return h20 + h21;
}

/* Arguments of the RTN matmul: those of rv_check, scale and zero given when there is work, gs == -1 or >= 1. */
static inline int rv_check_rtn(const void *codes, const void *scale, const void *zero, int64_t gs, const void *x,
                               const void *out, int64_t rows, int64_t k, int64_t n, int64_t n0, int64_t n1) {
    int st = rv_check(codes, x, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    if (gs == 0 || gs < -1) {
        return RV_EINVAL;
    }
    if (rows > 0 && n1 > n0 && k > 0 && (scale == NULL || zero == NULL)) {
        return RV_EINVAL;
    }
    return RV_OK;
}

/* The RTN weight (j, i): scale * ((float) code - zero), as RtnPacked.dequantize (two roundings). */
static inline float rv_rtn_w(const uint8_t *codes, const float *scale, const float *zero, int64_t gs, int64_t k,
                             int64_t n, int64_t j, int64_t i) {
    int64_t g = gs < 0 ? 0 : i / gs;
    float d = (float) codes[j * k + i] - zero[g * n + j];
    return scale[g * n + j] * d;
}

static inline int rv_check_bnb4(const void *packed, const void *absmax, const void *table, const void *x,
                                const void *out, int64_t rows, int64_t k, int64_t n, int64_t n0, int64_t n1) {
    int st = rv_check(packed, x, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    if (rows > 0 && n1 > n0 && k > 0 && (absmax == NULL || table == NULL)) {
        return RV_EINVAL;
    }
    return RV_OK;
}

/* The bnb 4-bit weight of flat element e: table[code] * absmax[e / 64], as Bnb4Packed.dequantize (one rounding). */
static inline float rv_bnb4_w(const uint8_t *packed, const float *absmax, const float *table, int64_t e) {
    uint8_t b = packed[e >> 1];
    int code = (e & 1) == 0 ? b >> 4 : b & 15;
    return table[code] * absmax[e / 64];
}

/* f rounded to the nearest IEEE fp16 value (ties to even; beyond 65504 to infinity), as a float: Java's
 * Float.float16ToFloat(Float.floatToFloat16(f)). */
static inline float rv_round_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint32_t sign = u & 0x80000000u;
    uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) {
        return f;
    }
    if (a < 0x38800000u) { /* below 2^-14: fp16 subnormals, a quantum of 2^-24 (rintf rounds half to even) */
        float r = rintf(fabsf(f) * 0x1p24f) * 0x1p-24f;
        return sign ? -r : r;
    }
    uint32_t r = (a + 0xfffu + ((a >> 13) & 1u)) & ~0x1fffu;
    if (r >= 0x47800000u) {
        r = 0x7f800000u;
    }
    r |= sign;
    float out;
    memcpy(&out, &r, sizeof out);
    return out;
}

static inline int rv_check_int8(const void *cb, const void *scb, const void *ca, const void *sca, const void *xh,
                                const void *ostart, const void *ocols, const void *out, int64_t rows, int64_t k,
                                int64_t n, int64_t n0, int64_t n1) {
    int st = rv_check(cb, ca, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    if (rows > 0 && n1 > n0 && (scb == NULL || sca == NULL || ostart == NULL || (k > 0 && xh == NULL))) {
        return RV_EINVAL;
    }
    return RV_OK;
}

/*
 * One LLM.int8 output from its exact int32 dot product (Int8Bnb.rowOut): fp16(acc * 6.200012e-05f * sca * scb),
 * then, when the row has outlier columns, the fp16 part summed in fp32 in ascending column order (products of
 * fp16 values are exact in fp32) and an fp16 add.
 */
static inline float rv_int8_out(int32_t acc, float sca, float scb, const float *xr, const int8_t *wr,
                                const int32_t *oc, int32_t no) {
    float v = rv_round_f16((float) acc * 6.200012e-05f * sca * scb);
    if (no > 0) {
        float part = 0.0f;
        for (int32_t t = 0; t < no; t++) {
            int32_t j = oc[t];
            float prod = xr[j] * rv_round_f16(((float) wr[j] * scb) / 127.0f);
            part = part + prod;
        }
        v = rv_round_f16(v + rv_round_f16(part));
    }
    return v;
}

#endif
