/*
 * Portable LLM.int8 kernel (quant/Int8Bnb.matmulPerRow after Java's activation quantization): the int8 dot
 * product is exact in int32, so every instruction set gives the same bits whatever its summation order.
 */
#include "common.h"

int rv_matmul_int8_f32_generic(const int8_t *cb, const float *scb, const int8_t *ca, const float *sca, const float *xh,
                               const int32_t *ostart, const int32_t *ocols, int64_t rows, int64_t k, int64_t n,
                               int64_t n0, int64_t n1, float *out) {
    int st = rv_check_int8(cb, scb, ca, sca, xh, ostart, ocols, out, rows, k, n, n0, n1);
    if (st != RV_OK) {
        return st;
    }
    for (int64_t j = n0; j < n1; j++) {
        const int8_t *wr = cb + j * k;
        for (int64_t r = 0; r < rows; r++) {
            const int8_t *ar = ca + r * k;
            int32_t acc = 0;
            for (int64_t i = 0; i < k; i++) {
                acc += (int32_t) ar[i] * wr[i];
            }
            out[r * n + j] = rv_int8_out(acc, sca[r], scb[j], xh + r * k, wr, ocols + ostart[r], ostart[r + 1] - ostart[r]);
        }
    }
    return RV_OK;
}
