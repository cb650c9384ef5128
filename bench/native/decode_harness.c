/*
 * Decode (rows = 1) GB/s of librevenant_cpu.so's AVX-512 packed kernels, several builds of the library in one
 * process, each round timing them back to back (order reversed every other round) after a read-bandwidth pass
 * (a vector sum over 1 GiB, one slice per thread): the ratio to that bandwidth is what compares across rounds
 * on a shared, noisy machine. Weights are replicated over 1 GiB (each call takes the next copy) and split in
 * NativeCpuBackend's chunks (256 KiB of weights, claimed dynamically by the threads). Before timing, every
 * library's output must equal the first one's bit for bit (rows 1..5), so a faster variant is also a valid one.
 *
 *   gcc -O2 -mavx512f -mavx512dq -o decode_harness decode_harness.c -ldl -lpthread
 *   make -C native OUT=/tmp/old   (at the old commit; likewise /tmp/new)
 *   ./decode_harness q4_0|q8_0|rtn-w4-g128|nf4|bf16 /tmp/old/librevenant_cpu.so /tmp/new/librevenant_cpu.so
 * Environment: ROUNDS (5), SHAPE (4096x4096, OUTxIN), THREADS (2), COPIES (1: cache-resident), CPUCLOCK (time
 * by process CPU time: compute ceilings under other load), OFF (byte offset of the weights: Java's byte[] data
 * is 16 bytes into the object), NOCHECK (skip the bit comparison), CHUNK (columns per call).
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
#include <sys/mman.h>

/* HUGE=1: weights (and scales) on 2 MiB transparent huge pages (madvise); HUGEBW=1: the bandwidth pass's buffer too. */
static void *halloc(size_t n, const char *env) {
    if (!getenv(env) || !atoi(getenv(env))) return aligned_alloc(64, n);
    size_t a = 2u << 20, m = (n + a - 1) / a * a;
    void *p = aligned_alloc(a, m);
    if (madvise(p, m, MADV_HUGEPAGE)) perror("madvise");
    return p;
}

typedef int (*gguf_fn)(const uint8_t *, const float *, const float *, int64_t, int64_t, int64_t, int64_t, int64_t, float *);
typedef int (*rtn_fn)(const uint8_t *, const float *, const float *, int64_t, const float *, const float *, int64_t,
                      int64_t, int64_t, int64_t, int64_t, float *);
typedef int (*bnb_fn)(const uint8_t *, const float *, const float *, const float *, const float *, int64_t, int64_t,
                      int64_t, int64_t, int64_t, float *);
typedef int (*bf16_fn)(const uint16_t *, const float *, const float *, int64_t, int64_t, int64_t, int64_t, int64_t, float *);

static int cpuclock;
static double now(void) {
    struct timespec t;
    clock_gettime(cpuclock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

enum { Q8, Q4, RTN, NF4, BF16 };
static const char *names[] = {"q8_0", "q4_0", "rtn-w4-g128", "nf4", "bf16"};
static int N = 4096, K = 4096, T = 2, ROWS = 1;
static int prec;
static long wbytes, copies;
static uint8_t *W;       // copies of the main array
static float *S, *Z;     // rtn scale/zero (or bnb absmax) copies
static long sbytes;
static float *X, *OUT[2];
static float table[16] = {-1.0f, -0.6961928f, -0.52507305f, -0.39491749f, -0.28444138f, -0.18477343f, -0.09105004f, 0.0f,
                          0.0795803f, 0.1609302f, 0.2461123f, 0.33791524f, 0.44070983f, 0.562617f, 0.72295684f, 1.0f};
static void *fn;
static pthread_barrier_t bar;
static int iters;
static long chunk;

static void call(void *f, long c, long n0, long n1, float *out) {
    uint8_t *w = W + c * wbytes;
    switch (prec) {
    case Q8:
    case Q4: ((gguf_fn) f)(w, NULL, X, ROWS, K, N, n0, n1, out); break;
    case RTN: ((rtn_fn) f)(w, S + c * (sbytes / 4), Z + c * (sbytes / 4), 128, NULL, X, ROWS, K, N, n0, n1, out); break;
    case NF4: ((bnb_fn) f)(w, S + c * (sbytes / 4), table, NULL, X, ROWS, K, N, n0, n1, out); break;
    case BF16: ((bf16_fn) f)((uint16_t *) w, NULL, X, ROWS, K, N, n0, n1, out); break;
    }
}

static long cursor[4096];
static void *worker(void *arg) {
    (void) arg;
    long nch = (N + chunk - 1) / chunk;
    for (int it = 0; it < iters; it++) {
        if (T > 1) pthread_barrier_wait(&bar);
        long c = it % copies;
        long q;
        while ((q = __atomic_fetch_add(&cursor[it], 1, __ATOMIC_RELAXED)) < nch) {
            long j = q * chunk;
            call(fn, c, j, j + chunk < N ? j + chunk : N, OUT[0]);
        }
    }
    return NULL;
}

static double run(void *f, int its) {
    fn = f;
    memset(cursor, 0, sizeof cursor);
    iters = its;
    pthread_t th[8];
    double t0 = now();
    for (long t = 0; t < T; t++) pthread_create(&th[t], NULL, worker, (void *) t);
    for (long t = 0; t < T; t++) pthread_join(th[t], NULL);
    return (now() - t0) / its;
}

static char *BW;
static long bwlen = 1L << 30;
static void *bwworker(void *arg) {
    long t = (long) arg;
    long a = bwlen * t / T, b = bwlen * (t + 1) / T;
    __m512i s = _mm512_setzero_si512();
    for (long i = a; i < b; i += 256) {
        s = _mm512_add_epi64(s, _mm512_load_si512(BW + i));
        s = _mm512_add_epi64(s, _mm512_load_si512(BW + i + 64));
        s = _mm512_add_epi64(s, _mm512_load_si512(BW + i + 128));
        s = _mm512_add_epi64(s, _mm512_load_si512(BW + i + 192));
    }
    volatile long sink = _mm512_reduce_add_epi64(s);
    (void) sink;
    return NULL;
}
static double bandwidth(void) {
    pthread_t th[8];
    double best = 0;
    double v[5];
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        for (long t = 0; t < T; t++) pthread_create(&th[t], NULL, bwworker, (void *) t);
        for (long t = 0; t < T; t++) pthread_join(th[t], NULL);
        v[r] = bwlen / (now() - t0) / 1e9;
    }
    // median
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++)
            if (v[j] < v[i]) { double x = v[i]; v[i] = v[j]; v[j] = x; }
    best = v[2];
    return best;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "h PREC lib... (env ROUNDS SHAPE THREADS)\n");
        return 1;
    }
    for (prec = 0; prec < 5 && strcmp(names[prec], argv[1]); prec++)
        ;
    int nl = argc - 2;
    int rounds = getenv("ROUNDS") ? atoi(getenv("ROUNDS")) : 5;
    if (getenv("SHAPE")) sscanf(getenv("SHAPE"), "%dx%d", &N, &K);
    if (getenv("THREADS")) T = atoi(getenv("THREADS"));
    const char *syms[] = {"rv_matmul_q8_0_f32_avx512", "rv_matmul_q4_0_f32_avx512", "rv_matmul_rtn_u8_f32_avx512",
                          "rv_matmul_bnb4_f32_avx512", "rv_matmul_bf16_f32_avx512"};
    void *f[16];
    for (int l = 0; l < nl; l++) {
        void *h = dlopen(argv[2 + l], RTLD_NOW | RTLD_LOCAL);
        if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
        f[l] = dlsym(h, syms[prec]);
    }
    long nk = (long) N * K;
    switch (prec) {
    case Q8: wbytes = nk / 32 * 34; break;
    case Q4: wbytes = nk / 32 * 18; break;
    case RTN: wbytes = nk; sbytes = nk / 128 * 4; break;
    case NF4: wbytes = nk / 2; sbytes = nk / 64 * 4; break;
    case BF16: wbytes = nk * 2; break;
    }
    long total = wbytes + 2 * sbytes;
    copies = ((1L << 30) + total - 1) / total;
    cpuclock = getenv("CPUCLOCK") != NULL;
    if (getenv("COPIES")) copies = atol(getenv("COPIES"));
    long off = getenv("OFF") ? atol(getenv("OFF")) : 0;
    W = (uint8_t *) halloc(wbytes * copies + 64, "HUGE") + off;
    srand(1);
    for (long i = 0; i < wbytes; i++) W[i] = rand();
    if (prec == Q8 || prec == Q4) {
        long bb = prec == Q8 ? 34 : 18;
        for (long b = 0; b < wbytes / bb; b++) {
            uint16_t h = 0x2000 + (rand() & 0x0fff);
            if (rand() % 3 == 0) h |= 0x8000;
            memcpy(W + b * bb, &h, 2);
        }
    }
    if (prec == RTN) for (long i = 0; i < wbytes; i++) W[i] &= 15;
    if (prec == BF16) for (long i = 0; i < wbytes / 2; i++) { uint16_t h = 0x3c00 + (rand() & 0x3ff); memcpy(W + 2 * i, &h, 2); }
    for (long c = 1; c < copies; c++) memcpy(W + c * wbytes, W, wbytes);
    if (sbytes) {
        S = halloc(sbytes * copies, "HUGE");
        Z = halloc(sbytes * copies, "HUGE");
        for (long i = 0; i < sbytes / 4; i++) {
            S[i] = (rand() / (float) RAND_MAX) * 0.01f;
            Z[i] = rand() % 16;
        }
        for (long c = 1; c < copies; c++) {
            memcpy(S + c * (sbytes / 4), S, sbytes);
            memcpy(Z + c * (sbytes / 4), Z, sbytes);
        }
    }
    X = aligned_alloc(64, sizeof(float) * K * 64);
    for (long i = 0; i < (long) K * 64; i++) X[i] = rand() / (float) RAND_MAX * 2 - 1;
    OUT[0] = aligned_alloc(64, sizeof(float) * N * 64);
    OUT[1] = aligned_alloc(64, sizeof(float) * N * 64);
    BW = halloc(bwlen, "HUGEBW");
    memset(BW, 1, bwlen);
    long rowBytes = prec == NF4 ? K / 2 : prec == Q4 ? K / 32 * 18 : prec == Q8 ? K / 32 * 34 : prec == BF16 ? K * 2 : K;
    chunk = (256 << 10) / rowBytes;
    if (chunk > 1024) chunk = 1024;
    if (chunk < 1) chunk = 1;
    long maxc = (N + 4L * T - 1) / (4L * T);
    if (chunk > maxc) chunk = maxc;
    if (chunk >= 4) chunk -= chunk % 4;
    if (getenv("CHUNK")) chunk = atol(getenv("CHUNK"));
    // bits check: A vs B on several rows
    for (int rows = 1; rows <= 5; rows++) {
        ROWS = rows;
        call(f[0], 0, 0, N, OUT[0]);
        for (int l = 1; l < nl; l++) { call(f[l], 0, 0, N, OUT[1]);
        if (memcmp(OUT[0], OUT[1], sizeof(float) * N * rows)) { printf("BITS DIFFER rows=%d\n", rows); if (!getenv("NOCHECK")) return 2; } }
    }
    ROWS = 1;
    pthread_barrier_init(&bar, NULL, T);
    int its = 200;
    static double g[16][64], rt[16][64], bw[64];
    for (int r = 0; r < rounds; r++) {
        bw[r] = bandwidth();
        printf("%s round %d: bw %.2f ", names[prec], r, bw[r]);
        for (int q = 0; q < nl; q++) {
            int l = (r & 1) ? nl - 1 - q : q;
            run(f[l], 10);
            double t = run(f[l], its);
            g[l][r] = total / t / 1e9;
            rt[l][r] = g[l][r] / bw[r];
        }
        for (int l = 0; l < nl; l++) printf(" L%d %.2f (%.2f)", l, g[l][r], rt[l][r]);
        printf("\n");
        fflush(stdout);
    }
    qsort(bw, rounds, sizeof(double), cmpd);
    printf("%s %dx%d T%d median bw %.2f:", names[prec], N, K, T, bw[rounds / 2]);
    for (int l = 0; l < nl; l++) {
        qsort(g[l], rounds, sizeof(double), cmpd);
        qsort(rt[l], rounds, sizeof(double), cmpd);
        printf("  L%d %.2f GB/s ratio %.3f", l, g[l][rounds / 2], rt[l][rounds / 2]);
    }
    printf("\n");
    return 0;
}
