// logits.cu — per-row log-softmax at a target and greedy argmax over fp32 logits (see ABI.md).
//
// Mirrors dev.revenant.engine.Scorer.logSoftmaxAt and dev.revenant.engine.Generator.argmax.
// Layout: logits fp32 [rows, vocab] row-major (64-bit row offsets); targets int [rows]; out fp32 /
// int [rows]. Geometry: block 256 threads, grid rows; one block per row.
//
// rv_log_softmax_gather: max over the row in fp32 (NaN-propagating like Java's Math.max; the max is
//   exact and order-free); sum of exp((double)l − max) in double: thread i sums indices i, i+256, ...
//   in order, then a fixed shared-memory tree (128, 64, ..., 1); depends only on vocab.
//   out = (float)((double)l[target] − max − log(sum)), all in double, no FMA. A target outside
//   [0, vocab) gives NaN (Java would throw).
// rv_argmax: exactly Java's `best = 0; for i: if (l[i] > l[best]) best = i`. Hence ties → lowest
//   index; NaN never becomes the best, except that a NaN at index 0 can never be beaten (every
//   comparison with it is false), so the result is then 0. Implemented as: l[0] NaN → 0, otherwise
//   the lowest index of the largest non-NaN value (-0 and +0 compare equal, as in Java).

#include <cstdint>

#define RV_LOGITS_THREADS 256

static __device__ __forceinline__ float rv_max_nan(float a, float b) {
    // Math.max semantics for NaN: NaN if either operand is NaN
    if (a != a) return a;
    if (b != b) return b;
    return fmaxf(a, b);
}

extern "C" __global__ void __launch_bounds__(RV_LOGITS_THREADS)
rv_log_softmax_gather(const float* logits, int rows, int vocab, const int* targets, float* out) {
    __shared__ double sh[RV_LOGITS_THREADS];
    __shared__ float shm[RV_LOGITS_THREADS / 32];
    const int r = blockIdx.x;
    if (r >= rows) {
        return; // uniform per block
    }
    const int tid = threadIdx.x;
    const float* lr = logits + (size_t)r * (size_t)vocab;

    // max (fp32, exact; order does not matter)
    float m = -INFINITY;
    for (int i = tid; i < vocab; i += RV_LOGITS_THREADS) {
        m = rv_max_nan(m, lr[i]);
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
        m = rv_max_nan(m, __shfl_xor_sync(0xffffffffu, m, off));
    }
    if ((tid & 31) == 0) {
        shm[tid >> 5] = m;
    }
    __syncthreads();
    float mf = shm[0];
#pragma unroll
    for (int w = 1; w < RV_LOGITS_THREADS / 32; ++w) {
        mf = rv_max_nan(mf, shm[w]);
    }
    const double max = (double)mf;

    // Σ exp(l − max) in double, fixed order
    double s = 0.0;
#pragma unroll 1
    for (int i = tid; i < vocab; i += RV_LOGITS_THREADS) {
        s = __dadd_rn(s, exp(__dsub_rn((double)lr[i], max)));
    }
    sh[tid] = s;
    __syncthreads();
#pragma unroll
    for (int st = RV_LOGITS_THREADS / 2; st > 0; st >>= 1) {
        if (tid < st) {
            sh[tid] = __dadd_rn(sh[tid], sh[tid + st]);
        }
        __syncthreads();
    }
    if (tid == 0) {
        const double sum = sh[0];
        const int target = targets[r];
        float res;
        if (target < 0 || target >= vocab) {
            res = __int_as_float(0x7fc00000);
        } else {
            res = (float)__dsub_rn(__dsub_rn((double)lr[target], max), log(sum));
        }
        out[r] = res;
    }
}

// true when candidate (v, i) beats (bv, bi): larger value, or equal value and lower index.
// Candidates with index < 0 are "none" and never win; NaN values are never candidates.
static __device__ __forceinline__ bool rv_better(float v, int i, float bv, int bi) {
    if (i < 0) return false;
    if (bi < 0) return true;
    return v > bv || (v == bv && i < bi);
}

extern "C" __global__ void __launch_bounds__(RV_LOGITS_THREADS)
rv_argmax(const float* logits, int rows, int vocab, int* out) {
    __shared__ float shv[RV_LOGITS_THREADS / 32];
    __shared__ int shi[RV_LOGITS_THREADS / 32];
    const int r = blockIdx.x;
    if (r >= rows) {
        return; // uniform per block
    }
    const int tid = threadIdx.x;
    const float* lr = logits + (size_t)r * (size_t)vocab;

    float bv = 0.0f;
    int bi = -1;
    for (int i = tid; i < vocab; i += RV_LOGITS_THREADS) {
        const float v = lr[i];
        if (v == v && (bi < 0 || v > bv)) { // indices increase, so '>' keeps the lowest on ties
            bv = v;
            bi = i;
        }
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, bv, off);
        const int oi = __shfl_xor_sync(0xffffffffu, bi, off);
        if (rv_better(ov, oi, bv, bi)) {
            bv = ov;
            bi = oi;
        }
    }
    if ((tid & 31) == 0) {
        shv[tid >> 5] = bv;
        shi[tid >> 5] = bi;
    }
    __syncthreads();
    if (tid == 0) {
        float v = shv[0];
        int idx = shi[0];
#pragma unroll
        for (int w = 1; w < RV_LOGITS_THREADS / 32; ++w) {
            if (rv_better(shv[w], shi[w], v, idx)) {
                v = shv[w];
                idx = shi[w];
            }
        }
        if (vocab <= 0 || idx < 0 || lr[0] != lr[0]) {
            idx = 0; // empty row, all-NaN row, or NaN at index 0: Java's loop returns 0
        }
        out[r] = idx;
    }
}
