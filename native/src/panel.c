/*
 * panel.c: rv_panel, the weights again in the batched GEMM core's reading order (revenant_cpu.h, "Panels"): for each
 * 16-row vector v, 16-lane group a and 64-block m, the 16 rows' 16 weights of that group as one unit, already
 * transposed to what the core's transposing packs make of them (dwords of 4 / es weights, column by column). Plain
 * C: it runs once per weight, bounded by memory.
 */
#include <string.h>

#include "common.h"

int64_t rv_panel_bytes(int64_t es, int64_t k, int64_t n) {
    if ((es != 1 && es != 2) || k <= 0 || k % 64 != 0 || n <= 0 || (n + 15) / 16 > INT64_MAX / 16 / k / es) {
        return -1;
    }
    return (n + 15) / 16 * 16 * k * es;
}

int rv_panel(const void *w, int64_t es, int64_t k, int64_t n, int64_t v0, int64_t v1, void *panel) {
    if (rv_panel_bytes(es, k, n) < 0 || w == NULL || panel == NULL || v0 < 0 || v0 > v1 || v1 > (n + 15) / 16) {
        return RV_EINVAL;
    }
    const int64_t nb = k / 64, ub = 16 * es; /* bytes of one row's 16 weights */
    const char *src = (const char *) w;
    char *dst = (char *) panel;
    for (int64_t v = v0; v < v1; v++)
        for (int a = 0; a < 4; a++) {
            char *d = dst + ((v * 4 + a) * nb) * 16 * ub;
            for (int64_t m = 0; m < nb; m++, d += 16 * ub)
                for (int c = 0; c < 16; c++) { /* dword q of row c (weights 4 q / es ..) to dword 16 q + c */
                    const int64_t row = 16 * v + c;
                    const char *r = src + (row * k + 64 * m + 16 * a) * es;
                    for (int q = 0; q < 4 * es; q++) {
                        uint32_t t = 0;
                        if (row < n) memcpy(&t, r + 4 * q, 4);
                        memcpy(d + (16 * q + c) * 4, &t, 4);
                    }
                }
        }
    return RV_OK;
}
