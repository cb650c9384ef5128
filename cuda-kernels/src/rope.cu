// rope.cu — rotary position embedding, HF rotate-half layout (see ABI.md, "Other families").
//
// Mirrors dev.revenant.engine.Rope.apply. cos/sin are computed on the host (fp32, per row's
// position, exactly as Rope.apply computes them), so the device does no trigonometry.
// Layout: x fp32 [rows, heads·headDim] row-major, rotated in place; cos, sin fp32 [rows, half]
// (half = rotaryDim/2). Within each head, dim i pairs with i + half for i in [0, half); dims
// [2·half, headDim) are left untouched.
// Geometry: block 128 threads, grid (rows, heads); thread i handles pairs i, i+128, ...
// Arithmetic: x1' = x1·c + (−x2)·s, x2' = x2·c + x1·s, each mul/add rounded separately (no FMA),
// matching Java's fp32 expression evaluation bit for bit.

#include <cstdint>

#define RV_ROPE_THREADS 128

extern "C" __global__ void __launch_bounds__(RV_ROPE_THREADS)
rv_rope(float* x, int rows, int heads, int headDim, int half, const float* cosT, const float* sinT) {
    const int r = blockIdx.x;
    const int h = blockIdx.y;
    if (r >= rows || h >= heads) {
        return;
    }
    float* xh = x + ((size_t)r * (size_t)heads + (size_t)h) * (size_t)headDim;
    const float* cr = cosT + (size_t)r * (size_t)half;
    const float* sr = sinT + (size_t)r * (size_t)half;
    for (int i = threadIdx.x; i < half; i += RV_ROPE_THREADS) {
        const float c = cr[i];
        const float s = sr[i];
        const float x1 = xh[i];
        const float x2 = xh[i + half];
        xh[i] = __fadd_rn(__fmul_rn(x1, c), __fmul_rn(-x2, s));
        xh[i + half] = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
    }
}
