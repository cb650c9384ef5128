/* Internal helpers shared by the per-ISA translation units (not part of the public API). */
#ifndef RV_COMMON_H
#define RV_COMMON_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "revenant_cpu.h"

#define RV_BLOCK 64

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

#endif
