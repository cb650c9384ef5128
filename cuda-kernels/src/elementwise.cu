// elementwise.cu — embedding lookup, residual adds, activations, row gather (see ABI.md).
//
// Mirrors dev.revenant.engine.Forward.embed, Elementwise.addInPlace, Forward's phi parallel-block
// add, Elementwise.silu / geluTanh / gelu (with Elementwise.erf, the Numerical Recipes erfc
// Chebyshev fit — NOT CUDA's erf), and Forward.mlp's act(gate)·up.
// All arithmetic uses the _rn intrinsics (fp32 and double) so nvcc cannot contract to FMA: every
// operation is rounded exactly where Java rounds it. Activations are evaluated in double like Java,
// then rounded to fp32. exp/tanh are CUDA's double versions (≤ 1–2 ulp in double), which agree
// with Java's Math.exp/tanh after the final rounding to fp32 except in rare double-rounding cases.
// Geometry: rv_embed and rv_gather_rows: block 256, grid rows (one block per row, threads stride
// the row). rv_add, rv_add3, rv_act, rv_gate_act: block 256, grid ceil(n/256), one element per thread.
// Offsets are 64-bit wherever a product can exceed 2^31 (id·hidden, row·dim).

#include <cstdint>
#include <cuda_fp16.h>

#define RV_EW_THREADS 256

// ---- activations (double, strict) -------------------------------------------------------------

// Elementwise.erf: |error| < 1.2e-7, evaluated with the same operation order as the Java source.
static __device__ __forceinline__ double rv_erf_nr(double x) {
    const double z = fabs(x);
    const double t = __ddiv_rn(1.0, __dadd_rn(1.0, __dmul_rn(0.5, z)));
    // t·(1.00002368 + t·(0.37409196 + ... + t·(-0.82215223 + t·0.17087277)))
    double p = __dmul_rn(t, 0.17087277);
    p = __dmul_rn(t, __dadd_rn(-0.82215223, p));
    p = __dmul_rn(t, __dadd_rn(1.48851587, p));
    p = __dmul_rn(t, __dadd_rn(-1.13520398, p));
    p = __dmul_rn(t, __dadd_rn(0.27886807, p));
    p = __dmul_rn(t, __dadd_rn(-0.18628806, p));
    p = __dmul_rn(t, __dadd_rn(0.09678418, p));
    p = __dmul_rn(t, __dadd_rn(0.37409196, p));
    p = __dmul_rn(t, __dadd_rn(1.00002368, p));
    // -z*z - 1.26551223 + p, left to right
    const double arg = __dadd_rn(__dsub_rn(__dmul_rn(-z, z), 1.26551223), p);
    const double r = __dmul_rn(t, exp(arg));
    return x >= 0.0 ? __dsub_rn(1.0, r) : __dsub_rn(r, 1.0);
}

// Elementwise.silu: (float)(x / (1.0 + exp(-x)))
static __device__ __forceinline__ float rv_silu(float x) {
    const double xd = (double)x;
    return (float)__ddiv_rn(xd, __dadd_rn(1.0, exp((double)(-x))));
}

// Elementwise.geluTanh: (float)(0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x·x·x))))
static __device__ __forceinline__ float rv_gelu_tanh(float x) {
    const double SQRT_2_OVER_PI = 0x1.9884533d43651p-1; // Math.sqrt(2.0 / Math.PI)
    const double xd = (double)x;
    const double cube = __dmul_rn(__dmul_rn(__dmul_rn(0.044715, xd), xd), xd);
    const double inner = __dmul_rn(SQRT_2_OVER_PI, __dadd_rn(xd, cube));
    return (float)__dmul_rn(__dmul_rn(0.5, xd), __dadd_rn(1.0, tanh(inner)));
}

// Elementwise.gelu: (float)(0.5·x·(1 + erf(x/√2))) with the NR erf
static __device__ __forceinline__ float rv_gelu(float x) {
    const double SQRT_2 = 0x1.6a09e667f3bcdp+0; // Math.sqrt(2.0)
    const double xd = (double)x;
    const double e = rv_erf_nr(__ddiv_rn(xd, SQRT_2));
    return (float)__dmul_rn(__dmul_rn(0.5, xd), __dadd_rn(1.0, e));
}

// act 0 SiLU, 1 GELU-tanh, 2 GELU (anything else: identity)
static __device__ __forceinline__ float rv_activate(float x, int act) {
    switch (act) {
        case 0: return rv_silu(x);
        case 1: return rv_gelu_tanh(x);
        case 2: return rv_gelu(x);
        default: return x;
    }
}

// ---- kernels ------------------------------------------------------------------------------------

// x[r, i] = table[ids[r]·hidden + i] (· scale when scale != 1, one fp32 rounding).
// dtype 0 f32, 1 bf16 (uint16 bits << 16), 2 f16. A negative id gives a NaN row (Java would throw;
// the host validates ids against the vocabulary before launching).
extern "C" __global__ void __launch_bounds__(RV_EW_THREADS)
rv_embed(const int* ids, int rows, const void* table, int dtype, int hidden, float scale, float* x) {
    const int r = blockIdx.x;
    if (r >= rows) {
        return;
    }
    const int id = ids[r];
    float* xr = x + (size_t)r * (size_t)hidden;
    if (id < 0) {
        for (int i = threadIdx.x; i < hidden; i += RV_EW_THREADS) {
            xr[i] = __int_as_float(0x7fc00000);
        }
        return;
    }
    const size_t base = (size_t)id * (size_t)hidden;
    const bool scaled = scale != 1.0f;
    for (int i = threadIdx.x; i < hidden; i += RV_EW_THREADS) {
        float e;
        if (dtype == 1) {
            const uint16_t bits = ((const uint16_t*)table)[base + i];
            e = __uint_as_float(((uint32_t)bits) << 16);
        } else if (dtype == 2) {
            e = __half2float(((const __half*)table)[base + i]);
        } else {
            e = ((const float*)table)[base + i];
        }
        xr[i] = scaled ? __fmul_rn(e, scale) : e;
    }
}

// x[i] = x[i] + y[i]
extern "C" __global__ void __launch_bounds__(RV_EW_THREADS)
rv_add(float* x, const float* y, int n) {
    const size_t i = (size_t)blockIdx.x * RV_EW_THREADS + threadIdx.x;
    if (i < (size_t)n) {
        x[i] = __fadd_rn(x[i], y[i]);
    }
}

// x[i] = (a[i] + b[i]) + x[i]   (phi parallel block: o + mlp + residual)
extern "C" __global__ void __launch_bounds__(RV_EW_THREADS)
rv_add3(float* x, const float* a, const float* b, int n) {
    const size_t i = (size_t)blockIdx.x * RV_EW_THREADS + threadIdx.x;
    if (i < (size_t)n) {
        x[i] = __fadd_rn(__fadd_rn(a[i], b[i]), x[i]);
    }
}

// x[i] = act(x[i])
extern "C" __global__ void __launch_bounds__(RV_EW_THREADS)
rv_act(float* x, int n, int act) {
    const size_t i = (size_t)blockIdx.x * RV_EW_THREADS + threadIdx.x;
    if (i < (size_t)n) {
        x[i] = rv_activate(x[i], act);
    }
}

// gate[i] = act(gate[i]) · up[i]
extern "C" __global__ void __launch_bounds__(RV_EW_THREADS)
rv_gate_act(float* gate, const float* up, int n, int act) {
    const size_t i = (size_t)blockIdx.x * RV_EW_THREADS + threadIdx.x;
    if (i < (size_t)n) {
        gate[i] = __fmul_rn(rv_activate(gate[i], act), up[i]);
    }
}

// y[r, :] = x[idx[r], :] for r < n, rows of width dim. A negative idx gives a NaN row.
extern "C" __global__ void __launch_bounds__(RV_EW_THREADS)
rv_gather_rows(const float* x, const int* idx, int n, int dim, float* y) {
    const int r = blockIdx.x;
    if (r >= n) {
        return;
    }
    const int src = idx[r];
    float* yr = y + (size_t)r * (size_t)dim;
    if (src < 0) {
        for (int i = threadIdx.x; i < dim; i += RV_EW_THREADS) {
            yr[i] = __int_as_float(0x7fc00000);
        }
        return;
    }
    const float* xr = x + (size_t)src * (size_t)dim;
    for (int i = threadIdx.x; i < dim; i += RV_EW_THREADS) {
        yr[i] = xr[i];
    }
}
