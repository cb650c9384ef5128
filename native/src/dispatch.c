/*
 * Runtime CPU-feature dispatch: detected once when the library loads (constructor), then the
 * dispatching entry points call through a function pointer. Compiled with baseline x86-64 flags.
 */
#include <pthread.h>
#include <stdlib.h>

#include "common.h"

/* rv_scratch: one block per thread under a pthread key (freed by the key's destructor when the thread ends). */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_ok;
struct scratch {
    size_t size;
    void *p;
};
static void scratch_free(void *v) {
    struct scratch *s = v;
    free(s->p);
    free(s);
}
static void scratch_init(void) {
    scratch_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}
void *rv_scratch(size_t size) {
    pthread_once(&scratch_once, scratch_init);
    if (!scratch_ok) return NULL;
    struct scratch *s = pthread_getspecific(scratch_key);
    if (s == NULL) {
        s = calloc(1, sizeof *s);
        if (s == NULL || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->size < size) {
        free(s->p);
        s->p = aligned_alloc(64, (size + 63) / 64 * 64);
        s->size = s->p == NULL ? 0 : size;
    }
    return s->p;
}

typedef int (*rv_mm_f32_fn)(const float *, const float *, const float *, int64_t, int64_t, int64_t, int64_t,
                            int64_t, float *);
typedef int (*rv_mm_bf16_fn)(const uint16_t *, const float *, const float *, int64_t, int64_t, int64_t, int64_t,
                             int64_t, float *);

typedef int (*rv_mm_gguf_fn)(const uint8_t *, const float *, const float *, int64_t, int64_t, int64_t, int64_t,
                             int64_t, float *);

typedef int (*rv_mm_rtn_fn)(const uint8_t *, const float *, const float *, int64_t, const float *, const float *,
                            int64_t, int64_t, int64_t, int64_t, int64_t, float *);

static int features = -1;
static const char *kernel = "generic";
static rv_mm_f32_fn mm_f32 = rv_matmul_f32_f32_generic;
static rv_mm_bf16_fn mm_bf16 = rv_matmul_bf16_f32_generic;
static rv_mm_gguf_fn mm_q8_0 = rv_matmul_q8_0_f32_generic;
static rv_mm_gguf_fn mm_q4_0 = rv_matmul_q4_0_f32_generic;
static rv_mm_rtn_fn mm_rtn = rv_matmul_rtn_u8_f32_generic;
typedef int (*rv_mm_bnb4_fn)(const uint8_t *, const float *, const float *, const float *, const float *, int64_t,
                             int64_t, int64_t, int64_t, int64_t, float *);
static rv_mm_bnb4_fn mm_bnb4 = rv_matmul_bnb4_f32_generic;
typedef int (*rv_mm_int8_fn)(const int8_t *, const float *, const int8_t *, const float *, const float *,
                             const int32_t *, const int32_t *, int64_t, int64_t, int64_t, int64_t, int64_t, float *);
static rv_mm_int8_fn mm_int8 = rv_matmul_int8_f32_generic;

static int detect(void) {
    __builtin_cpu_init();
    int f = 0;
    if (__builtin_cpu_supports("avx2")) f |= RV_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) f |= RV_CPU_FMA;
    if (__builtin_cpu_supports("avx512f")) f |= RV_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw")) f |= RV_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512vl")) f |= RV_CPU_AVX512VL;
#if __GNUC__ >= 10
    if (__builtin_cpu_supports("avx512bf16")) f |= RV_CPU_AVX512BF16;
#endif
    if (__builtin_cpu_supports("avx512vnni")) f |= RV_CPU_AVX512VNNI;
    return f;
}

__attribute__((constructor)) static void rv_init(void) {
    int f = detect();
    const int avx512 = RV_CPU_AVX512F | RV_CPU_AVX512BW | RV_CPU_AVX512VL | RV_CPU_FMA;
    const int avx2 = RV_CPU_AVX2 | RV_CPU_FMA;
    if ((f & avx512) == avx512) {
        kernel = "avx512";
        mm_f32 = rv_matmul_f32_f32_avx512;
        mm_bf16 = rv_matmul_bf16_f32_avx512;
        mm_q8_0 = rv_matmul_q8_0_f32_avx512;
        mm_q4_0 = rv_matmul_q4_0_f32_avx512;
        mm_rtn = rv_matmul_rtn_u8_f32_avx512;
        mm_bnb4 = rv_matmul_bnb4_f32_avx512;
        mm_int8 = (f & RV_CPU_AVX512VNNI) ? rv_matmul_int8_f32_avx512vnni : rv_matmul_int8_f32_avx512;
    } else if ((f & avx2) == avx2) {
        kernel = "avx2";
        mm_f32 = rv_matmul_f32_f32_avx2;
        mm_bf16 = rv_matmul_bf16_f32_avx2;
        mm_q8_0 = rv_matmul_q8_0_f32_avx2;
        mm_q4_0 = rv_matmul_q4_0_f32_avx2;
        mm_rtn = rv_matmul_rtn_u8_f32_avx2;
        mm_bnb4 = rv_matmul_bnb4_f32_avx2;
        mm_int8 = rv_matmul_int8_f32_avx2;
    }
    __atomic_store_n(&features, f, __ATOMIC_RELEASE);
}

int rv_cpu_features(void) {
    int f = __atomic_load_n(&features, __ATOMIC_ACQUIRE);
    return f >= 0 ? f : detect();
}

const char *rv_kernel_name(void) {
    return kernel;
}

int rv_matmul_f32_f32(const float *w, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,
                      int64_t n0, int64_t n1, float *out) {
    return mm_f32(w, bias, x, rows, k, n, n0, n1, out);
}

int rv_matmul_bf16_f32(const uint16_t *w, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,
                       int64_t n0, int64_t n1, float *out) {
    return mm_bf16(w, bias, x, rows, k, n, n0, n1, out);
}

/* The panel only where the AVX-512 GEMM core runs (the other kernels read the row-major array alone). */
int rv_matmul_bf16p_f32(const uint16_t *w, const uint16_t *panel, const float *bias, const float *x, int64_t rows,
                        int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {
    if (panel != NULL && mm_bf16 == rv_matmul_bf16_f32_avx512)
        return rv_matmul_bf16p_f32_avx512(w, panel, bias, x, rows, k, n, n0, n1, out);
    return mm_bf16(w, bias, x, rows, k, n, n0, n1, out);
}

int rv_matmul_rtn_u8p_f32(const uint8_t *codes, const uint8_t *panel, const float *scale, const float *zero,
                          int64_t gs, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,
                          int64_t n0, int64_t n1, float *out) {
    if (panel != NULL && mm_rtn == rv_matmul_rtn_u8_f32_avx512)
        return rv_matmul_rtn_u8p_f32_avx512(codes, panel, scale, zero, gs, bias, x, rows, k, n, n0, n1, out);
    return mm_rtn(codes, scale, zero, gs, bias, x, rows, k, n, n0, n1, out);
}

int rv_matmul_q8_0_f32(const uint8_t *w, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,
                       int64_t n0, int64_t n1, float *out) {
    return mm_q8_0(w, bias, x, rows, k, n, n0, n1, out);
}

int rv_matmul_q4_0_f32(const uint8_t *w, const float *bias, const float *x, int64_t rows, int64_t k, int64_t n,
                       int64_t n0, int64_t n1, float *out) {
    return mm_q4_0(w, bias, x, rows, k, n, n0, n1, out);
}

int rv_matmul_rtn_u8_f32(const uint8_t *codes, const float *scale, const float *zero, int64_t gs, const float *bias,
                         const float *x, int64_t rows, int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {
    return mm_rtn(codes, scale, zero, gs, bias, x, rows, k, n, n0, n1, out);
}

int rv_matmul_bnb4_f32(const uint8_t *packed, const float *absmax, const float *table, const float *bias,
                       const float *x, int64_t rows, int64_t k, int64_t n, int64_t n0, int64_t n1, float *out) {
    return mm_bnb4(packed, absmax, table, bias, x, rows, k, n, n0, n1, out);
}

int rv_matmul_int8_f32(const int8_t *cb, const float *scb, const int8_t *ca, const float *sca, const float *xh,
                       const int32_t *ostart, const int32_t *ocols, int64_t rows, int64_t k, int64_t n, int64_t n0,
                       int64_t n1, float *out) {
    return mm_int8(cb, scb, ca, sca, xh, ostart, ocols, rows, k, n, n0, n1, out);
}
