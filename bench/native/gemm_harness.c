/*
 * Batched (rows >= 2) F32/BF16 (or rtn-w4-g128, nf4, q8_0, q4_0) GFLOP/s of librevenant_cpu.so's AVX-512 GEMM, several builds of the library in one
 * process, each round timing them back to back (order reversed every other round) after an FMA-peak pass (12
 * independent zmm FMA chains per thread, as FmaPeak does in Java): the ratio to that peak is what compares across
 * rounds on a shared machine. Columns are split as NativeCpuBackend does from 16 rows (bigChunk: about 32 MiB of
 * fp32 weights, whole 48-column blocks, >= 4 chunks per thread, claimed dynamically). Before timing, every library's
 * output must equal the first one's bit for bit.
 *
 *   gcc -O2 -mavx512f -o gemm_harness gemm_harness.c -ldl -lpthread
 *   make -C native OUT=/tmp/old   (at the old commit; likewise /tmp/new)
 *   ./gemm_harness f32|bf16|rtn /tmp/old/librevenant_cpu.so /tmp/new/librevenant_cpu.so
 *   ./gemm_harness bf16|rtn LIB LIB:p   (LIB:p: the panel entry point with a panel rv_panel built, revenant_cpu.h)
 * Environment: ROUNDS (5), SHAPE (4096x4096, OUTxIN), ROWS (64), THREADS (2), CPUCLOCK (time by process CPU
 * time), CHUNK (columns per call). Use an even ROUNDS: the library that runs first in a round (right after the peak
 * pass) tends to lose a few percent, and the order alternates by round (A/A, same library twice, 7 rounds: 0.97-1.10x).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*mm_fn)(const void *, const float *, const float *, int64_t, int64_t, int64_t, int64_t, int64_t, float *);
typedef int (*bnb_fn)(const uint8_t *, const float *, const float *, const float *, const float *, int64_t, int64_t,
                      int64_t, int64_t, int64_t, float *);
typedef int (*rtn_fn)(const uint8_t *, const float *, const float *, int64_t, const float *, const float *, int64_t,
                      int64_t, int64_t, int64_t, int64_t, float *);
/* the panel variants (a library named LIB:p): rv_matmul_bf16p_f32_avx512 / rv_matmul_rtn_u8p_f32_avx512 */
typedef int (*mmp_fn)(const void *, const void *, const float *, const float *, int64_t, int64_t, int64_t, int64_t,
                      int64_t, float *);
typedef int (*rtnp_fn)(const uint8_t *, const uint8_t *, const float *, const float *, int64_t, const float *,
                       const float *, int64_t, int64_t, int64_t, int64_t, int64_t, float *);
typedef int64_t (*pbytes_fn)(int64_t, int64_t, int64_t);
typedef int (*panel_fn)(const void *, int64_t, int64_t, int64_t, int64_t, int64_t, void *);
static void *PW[16], *pw; /* each library's panel, the one in use */

static int cpuclock;
static double now(void) {
    struct timespec t;
    clock_gettime(cpuclock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int N = 4096, K = 4096, T = 2, ROWS = 64, bf16, rtn, bnb, gguf;
static float *S, *Z; /* rtn-w4-g128: scale and zero per group of 128, [K / 128][N] */
static void *W;
static float *X, *OUT[16];
static mm_fn fn;
static float *out;
static long chunk;
static long cursor[1 << 16];
static int iters;

static void *worker(void *arg) {
    (void) arg;
    long nch = (N + chunk - 1) / chunk;
    for (int it = 0; it < iters; it++) {
        long q;
        while ((q = __atomic_fetch_add(&cursor[it], 1, __ATOMIC_RELAXED)) < nch) {
            long j = q * chunk;
            if (rtn && pw)
                ((rtnp_fn) (void *) fn)(W, pw, S, Z, 128, NULL, X, ROWS, K, N, j, j + chunk < N ? j + chunk : N, out);
            else if (pw)
                ((mmp_fn) (void *) fn)(W, pw, NULL, X, ROWS, K, N, j, j + chunk < N ? j + chunk : N, out);
            else if (rtn)
                ((rtn_fn) (void *) fn)(W, S, Z, 128, NULL, X, ROWS, K, N, j, j + chunk < N ? j + chunk : N, out);
            else if (bnb)
                ((bnb_fn) (void *) fn)(W, S, Z, NULL, X, ROWS, K, N, j, j + chunk < N ? j + chunk : N, out);
            else
                fn(W, NULL, X, ROWS, K, N, j, j + chunk < N ? j + chunk : N, out);
        }
    }
    return NULL;
}

static double run(mm_fn f, void *panel, float *o, int its) {
    fn = f;
    pw = panel;
    out = o;
    memset(cursor, 0, sizeof cursor);
    iters = its;
    pthread_t th[16];
    double t0 = now();
    for (long t = 0; t < T; t++) pthread_create(&th[t], NULL, worker, (void *) t);
    for (long t = 0; t < T; t++) pthread_join(th[t], NULL);
    return (now() - t0) / its;
}

static void *fmaworker(void *arg) {
    (void) arg;
    __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a0 = _mm512_set1_ps(0.f), a1 = _mm512_set1_ps(1.f), a2 = _mm512_set1_ps(2.f), a3 = _mm512_set1_ps(3.f),
           a4 = _mm512_set1_ps(4.f), a5 = _mm512_set1_ps(5.f), a6 = _mm512_set1_ps(6.f), a7 = _mm512_set1_ps(7.f),
           a8 = _mm512_set1_ps(8.f), a9 = _mm512_set1_ps(9.f), a10 = _mm512_set1_ps(10.f), a11 = _mm512_set1_ps(11.f);
#define F(A) A = _mm512_fmadd_ps(A, m, c)
    for (long it = 0; it < 20000000; it++) {
        F(a0); F(a1); F(a2); F(a3); F(a4); F(a5); F(a6); F(a7); F(a8); F(a9); F(a10); F(a11);
    }
#undef F
    float s = _mm512_reduce_add_ps(a0) + _mm512_reduce_add_ps(a1) + _mm512_reduce_add_ps(a2) +
              _mm512_reduce_add_ps(a3) + _mm512_reduce_add_ps(a4) + _mm512_reduce_add_ps(a5) +
              _mm512_reduce_add_ps(a6) + _mm512_reduce_add_ps(a7) + _mm512_reduce_add_ps(a8) +
              _mm512_reduce_add_ps(a9) + _mm512_reduce_add_ps(a10) + _mm512_reduce_add_ps(a11);
    volatile float sink = s;
    (void) sink;
    return NULL;
}

static double fmapeak(void) {
    pthread_t th[16];
    double t0 = now();
    for (long t = 0; t < T; t++) pthread_create(&th[t], NULL, fmaworker, NULL);
    for (long t = 0; t < T; t++) pthread_join(th[t], NULL);
    return 20000000.0 * 12 * 32 * T / (now() - t0) / 1e9;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "gemm_harness f32|bf16|rtn|nf4|q8_0|q4_0 lib... (env ROUNDS SHAPE ROWS THREADS CPUCLOCK CHUNK)\n");
        return 1;
    }
    bf16 = !strcmp(argv[1], "bf16");
    rtn = !strcmp(argv[1], "rtn");
    bnb = !strcmp(argv[1], "nf4");
    gguf = !strcmp(argv[1], "q8_0") ? 34 : !strcmp(argv[1], "q4_0") ? 18 : 0;
    int nl = argc - 2;
    int rounds = getenv("ROUNDS") ? atoi(getenv("ROUNDS")) : 5;
    if (getenv("SHAPE")) sscanf(getenv("SHAPE"), "%dx%d", &N, &K);
    if (getenv("THREADS")) T = atoi(getenv("THREADS"));
    if (getenv("ROWS")) ROWS = atoi(getenv("ROWS"));
    cpuclock = getenv("CPUCLOCK") != NULL;
    mm_fn f[16];
    void *hl[16];
    int usep[16];
    for (int l = 0; l < nl; l++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", argv[2 + l]);
        size_t pl = strlen(path);
        usep[l] = pl > 2 && !strcmp(path + pl - 2, ":p");
        if (usep[l]) path[pl - 2] = 0;
        void *h = hl[l] = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
        if (usep[l] && (rtn || bf16)) {
            f[l] = (mm_fn) dlsym(h, rtn ? "rv_matmul_rtn_u8p_f32_avx512" : "rv_matmul_bf16p_f32_avx512");
            if (!f[l]) { fprintf(stderr, "%s: no panel symbol\n", path); return 1; }
            continue;
        }
        usep[l] = 0;
        f[l] = (mm_fn) dlsym(h, rtn ? "rv_matmul_rtn_u8_f32_avx512" : bf16 ? "rv_matmul_bf16_f32_avx512"
                                : bnb ? "rv_matmul_bnb4_f32_avx512" : gguf == 34 ? "rv_matmul_q8_0_f32_avx512"
                                : gguf ? "rv_matmul_q4_0_f32_avx512" : "rv_matmul_f32_f32_avx512");
        if (!f[l]) { fprintf(stderr, "%s: no symbol\n", argv[2 + l]); return 1; }
    }
    long nk = (long) N * K;
    srand(1);
    if (rtn) {
        uint8_t *w = aligned_alloc(64, nk);
        for (long i = 0; i < nk; i++) w[i] = rand() & 15;
        W = w;
        S = aligned_alloc(64, sizeof(float) * (nk / 128));
        Z = aligned_alloc(64, sizeof(float) * (nk / 128));
        for (long i = 0; i < nk / 128; i++) {
            S[i] = rand() / (float) RAND_MAX * 0.01f;
            Z[i] = rand() % 16;
        }
    } else if (bnb) { /* nf4-like: random codes, a 16-entry table, absmax per 64 */
        uint8_t *w = aligned_alloc(64, nk / 2);
        for (long i = 0; i < nk / 2; i++) w[i] = rand() & 255;
        W = w;
        S = aligned_alloc(64, sizeof(float) * (nk / 64));
        Z = aligned_alloc(64, sizeof(float) * 16);
        for (long i = 0; i < nk / 64; i++) S[i] = rand() / (float) RAND_MAX;
        for (int i = 0; i < 16; i++) Z[i] = (i - 7.5f) / 7.5f;
    } else if (gguf) { /* blocks of 32: an fp16 scale (bits 0x1c00-0x23ff: about 2^-8 .. 2^-7), then the codes */
        long nbk = nk / 32;
        uint8_t *w = aligned_alloc(64, (nbk * gguf + 63) / 64 * 64);
        for (long b = 0; b < nbk; b++) {
            uint16_t d = (uint16_t) (0x1c00 + (rand() & 0x7ff));
            memcpy(w + b * gguf, &d, 2);
            for (int i = 2; i < gguf; i++) w[b * gguf + i] = (uint8_t) rand();
        }
        W = w;
    } else if (bf16) {
        uint16_t *w = aligned_alloc(64, nk * 2);
        for (long i = 0; i < nk; i++) w[i] = 0x3c00 + (rand() & 0x3ff) + (rand() % 2 ? 0x8000 : 0);
        W = w;
    } else {
        float *w = aligned_alloc(64, nk * 4);
        for (long i = 0; i < nk; i++) w[i] = rand() / (float) RAND_MAX * 2 - 1;
        W = w;
    }
    X = aligned_alloc(64, sizeof(float) * K * ROWS);
    for (long i = 0; i < (long) K * ROWS; i++) X[i] = rand() / (float) RAND_MAX * 2 - 1;
    for (int l = 0; l < nl; l++) OUT[l] = aligned_alloc(64, sizeof(float) * N * ROWS);
    for (int l = 0; l < nl; l++) /* the panel of a LIB:p library, built by that library */
        if (usep[l]) {
            pbytes_fn pb = (pbytes_fn) dlsym(hl[l], "rv_panel_bytes");
            panel_fn pf = (panel_fn) dlsym(hl[l], "rv_panel");
            const int64_t es = rtn ? 1 : 2, bytes = pb ? pb(es, K, N) : -1;
            if (bytes < 0 || !(PW[l] = aligned_alloc(64, (bytes + 63) / 64 * 64)) ||
                pf(W, es, K, N, 0, (N + 15) / 16, PW[l]) != 0) {
                fprintf(stderr, "%s: no panel\n", argv[2 + l]);
                return 1;
            }
        }
    chunk = (32 << 20) / (4L * K); /* NativeCpuBackend.bigChunk */
    if (chunk > 1024) chunk = 1024;
    if (chunk < 1) chunk = 1;
    long per = (N + 4L * T - 1) / (4L * T);
    if (chunk > per) chunk = per;
    if (chunk >= 48) chunk -= chunk % 48;
    else if (chunk >= 6) chunk -= chunk % 6;
    if (getenv("CHUNK")) chunk = atol(getenv("CHUNK"));
    for (int l = 0; l < nl; l++) {
        run(f[l], PW[l], OUT[l], 1);
        if (l > 0 && memcmp(OUT[0], OUT[l], sizeof(float) * N * ROWS)) {
            fprintf(stderr, "library %d differs from library 0\n", l);
            return 2;
        }
    }
    double flops = 2.0 * ROWS * nk;
    int its = (int) (2e9 / flops) + 1;
    double r[16][64], g[16][64], pk[64];
    printf("%s %dx%d rows %d threads %d chunk %ld its %d\n", argv[1], N, K, ROWS, T, chunk, its);
    for (int rd = 0; rd < rounds; rd++) {
        pk[rd] = fmapeak();
        for (int q = 0; q < nl; q++) {
            int l = rd % 2 ? nl - 1 - q : q;
            double t = run(f[l], PW[l], OUT[l], its);
            g[l][rd] = flops / t / 1e9;
            r[l][rd] = g[l][rd] / pk[rd];
        }
        printf("round %d peak %.0f:", rd, pk[rd]);
        for (int l = 0; l < nl; l++) printf("  [%d] %.1f GFLOP/s %.3f", l, g[l][rd], r[l][rd]);
        printf("\n");
    }
    for (int l = 1; l < nl; l++) { /* same-round speed-up over library 0: what survives the machine's noise */
        double q[64];
        for (int rd = 0; rd < rounds; rd++) q[rd] = g[l][rd] / g[0][rd];
        qsort(q, rounds, sizeof(double), cmpd);
        printf("median speed-up [%d] over [0]: %.3f (range %.3f-%.3f)\n", l, q[rounds / 2], q[0], q[rounds - 1]);
    }
    for (int l = 0; l < nl; l++) {
        qsort(g[l], rounds, sizeof(double), cmpd);
        qsort(r[l], rounds, sizeof(double), cmpd);
        printf("median [%d] %s: %.1f GFLOP/s, %.3f of the FMA peak\n", l, argv[2 + l], g[l][rounds / 2], r[l][rounds / 2]);
    }
    qsort(pk, rounds, sizeof(double), cmpd);
    printf("median FMA peak %.0f GFLOP/s\n", pk[rounds / 2]);
    return 0;
}
