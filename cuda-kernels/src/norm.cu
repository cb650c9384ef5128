// norm.cu — RMSNorm and LayerNorm over fp32 rows (see ABI.md, "Other families").
//
// Mirrors dev.revenant.kernel.Elementwise.rmsnorm / Elementwise.layernorm.
// Layout: x, y are [rows, dim] fp32 row-major; w (and b) fp32 [dim]. In place (x == y) is allowed.
// Geometry: block 256 threads (fixed, RV_NORM_THREADS), grid rows; one block per row.
// Reduction order (depends only on dim): thread t sums i = t, t+256, t+512, ... sequentially in
// double, then a fixed shared-memory tree (128, 64, ..., 1) in double. Every elementwise fp32/double
// op uses the _rn intrinsics so nvcc cannot contract to FMA; this matches Java's strict arithmetic.
// In place safety: the reductions only read x; each element is read and written by the same thread
// in the final pass, after the last __syncthreads of the reduction.

#include <cstdint>

#define RV_NORM_THREADS 256

// Fixed-order block sum of one double per thread (blockDim == 256). Returns the total in every thread.
// sh must hold RV_NORM_THREADS doubles. Ends with a __syncthreads so sh may be reused afterwards.
static __device__ __forceinline__ double rv_norm_block_sum(double v, double* sh) {
    const int tid = threadIdx.x;
    sh[tid] = v;
    __syncthreads();
#pragma unroll
    for (int s = RV_NORM_THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) {
            sh[tid] = __dadd_rn(sh[tid], sh[tid + s]);
        }
        __syncthreads();
    }
    double total = sh[0];
    __syncthreads();
    return total;
}

// y = rmsnorm(x) per row: ss = Σ x² (double), variance = (float)(ss/dim),
// inv = (float)(1/sqrt((double)(variance + eps))), n = x·inv, y = plusOne ? n·(1+w) : w·n.
extern "C" __global__ void __launch_bounds__(RV_NORM_THREADS)
rv_rmsnorm(const float* x, float* y, int rows, int dim, const float* w, float eps, int plusOne) {
    __shared__ double sh[RV_NORM_THREADS];
    const int r = blockIdx.x;
    if (r >= rows) {
        return; // uniform per block
    }
    const float* xr = x + (size_t)r * (size_t)dim;
    float* yr = y + (size_t)r * (size_t)dim;
    const int tid = threadIdx.x;

    double ss = 0.0;
    for (int i = tid; i < dim; i += RV_NORM_THREADS) {
        double v = (double)xr[i];
        ss = __dadd_rn(ss, __dmul_rn(v, v));
    }
    ss = rv_norm_block_sum(ss, sh);

    const float variance = (float)__ddiv_rn(ss, (double)dim);
    const float inv = (float)__ddiv_rn(1.0, __dsqrt_rn((double)__fadd_rn(variance, eps)));

    for (int i = tid; i < dim; i += RV_NORM_THREADS) {
        const float wi = w[i];
        const float n = __fmul_rn(xr[i], inv);
        yr[i] = plusOne ? __fmul_rn(n, __fadd_rn(1.0f, wi)) : __fmul_rn(wi, n);
    }
}

// y = layernorm(x) per row (biased variance): mean = Σx/dim, var = Σ(x−mean)²/dim in double,
// inv = 1/sqrt(var + eps) in double, y = (float)((x − mean)·inv) · w + b (fp32 mul then add; b 0 if null).
extern "C" __global__ void __launch_bounds__(RV_NORM_THREADS)
rv_layernorm(const float* x, float* y, int rows, int dim, const float* w, const float* b, float eps) {
    __shared__ double sh[RV_NORM_THREADS];
    const int r = blockIdx.x;
    if (r >= rows) {
        return; // uniform per block
    }
    const float* xr = x + (size_t)r * (size_t)dim;
    float* yr = y + (size_t)r * (size_t)dim;
    const int tid = threadIdx.x;

    double sum = 0.0;
    for (int i = tid; i < dim; i += RV_NORM_THREADS) {
        sum = __dadd_rn(sum, (double)xr[i]);
    }
    sum = rv_norm_block_sum(sum, sh);
    const double mean = __ddiv_rn(sum, (double)dim);

    double var = 0.0;
    for (int i = tid; i < dim; i += RV_NORM_THREADS) {
        const double d = __dsub_rn((double)xr[i], mean);
        var = __dadd_rn(var, __dmul_rn(d, d));
    }
    var = rv_norm_block_sum(var, sh);
    var = __ddiv_rn(var, (double)dim);
    const double inv = __ddiv_rn(1.0, __dsqrt_rn(__dadd_rn(var, (double)eps)));

    for (int i = tid; i < dim; i += RV_NORM_THREADS) {
        const float n = (float)__dmul_rn(__dsub_rn((double)xr[i], mean), inv);
        const float bi = b != nullptr ? b[i] : 0.0f;
        yr[i] = __fadd_rn(__fmul_rn(n, w[i]), bi);
    }
}
