// common.cuh: helpers shared by the Revenant CUDA kernels (see ABI.md).
//
// Everything here is deterministic: the warp reduction uses a fixed xor tree (16, 8, 4, 2, 1) and
// the bf16 conversions are the exact bit manipulations of Tensor.bf16ToFloat / Tensor.floatToBf16.
#pragma once

#include <stdint.h>
#include <cuda_fp16.h>

#define RV_WARP 32
#define RV_FULL_MASK 0xffffffffu

// bf16 bits (in the low 16 bits of v) -> float. Tensor.bf16ToFloat.
__device__ __forceinline__ float rv_bf16_to_f32(uint32_t v) {
    return __uint_as_float((v & 0xffffu) << 16);
}

// Low / high bf16 of a packed pair (element with the lower index sits in the low 16 bits).
__device__ __forceinline__ float rv_bf16_lo(uint32_t w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float rv_bf16_hi(uint32_t w) { return __uint_as_float(w & 0xffff0000u); }

// float -> bf16 bits, round to nearest even; NaN stays NaN (quiet bit set). Tensor.floatToBf16.
__device__ __forceinline__ uint32_t rv_f32_to_bf16(float f) {
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return ((u >> 16) | 0x0040u) & 0xffffu;
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    return u >> 16;
}

// Two floats -> packed bf16x2 (lo in the low 16 bits).
__device__ __forceinline__ uint32_t rv_pack_bf16x2(float lo, float hi) {
    return rv_f32_to_bf16(lo) | (rv_f32_to_bf16(hi) << 16);
}

// fp16 bits (low 16 bits) -> float.
__device__ __forceinline__ float rv_f16_to_f32(uint32_t v) {
    return __half2float(__ushort_as_half((unsigned short)(v & 0xffffu)));
}

// Sum over the warp with the fixed xor tree 16, 8, 4, 2, 1; every lane ends with the same value.
__device__ __forceinline__ float rv_warp_sum(float v) {
    v = __fadd_rn(v, __shfl_xor_sync(RV_FULL_MASK, v, 16));
    v = __fadd_rn(v, __shfl_xor_sync(RV_FULL_MASK, v, 8));
    v = __fadd_rn(v, __shfl_xor_sync(RV_FULL_MASK, v, 4));
    v = __fadd_rn(v, __shfl_xor_sync(RV_FULL_MASK, v, 2));
    v = __fadd_rn(v, __shfl_xor_sync(RV_FULL_MASK, v, 1));
    return v;
}

__device__ __forceinline__ double rv_warp_sum_d(double v) {
    v = __dadd_rn(v, __shfl_xor_sync(RV_FULL_MASK, v, 16));
    v = __dadd_rn(v, __shfl_xor_sync(RV_FULL_MASK, v, 8));
    v = __dadd_rn(v, __shfl_xor_sync(RV_FULL_MASK, v, 4));
    v = __dadd_rn(v, __shfl_xor_sync(RV_FULL_MASK, v, 2));
    v = __dadd_rn(v, __shfl_xor_sync(RV_FULL_MASK, v, 1));
    return v;
}

__device__ __forceinline__ float rv_warp_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(RV_FULL_MASK, v, 16));
    v = fmaxf(v, __shfl_xor_sync(RV_FULL_MASK, v, 8));
    v = fmaxf(v, __shfl_xor_sync(RV_FULL_MASK, v, 4));
    v = fmaxf(v, __shfl_xor_sync(RV_FULL_MASK, v, 2));
    v = fmaxf(v, __shfl_xor_sync(RV_FULL_MASK, v, 1));
    return v;
}

// Dequantized affine code: scale * (code - zero), fp32, no contraction (ABI.md).
__device__ __forceinline__ float rv_deq(float code, float scale, float zero) {
    return __fmul_rn(scale, __fadd_rn(code, -zero));
}

// True when p is 16-byte aligned.
__device__ __forceinline__ bool rv_aligned16(const void* p) {
    return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}
