// gemm_tc.cu: tensor-core GEMM (ABI.md, section "gemm_tc.cu"), the fast path for prefill/scoring.
//
//   out[r, n] = sum_k bf16(x[r, k]) * W[n, k] (+ bias[n])   x fp32 [rows, K], out fp32 [rows, N]
//
//   rv_gemm_bf16_tc(x, rows, K, w, bias, out, N)                           w bf16 bits [N, K]
//   rv_gemm_int4_tc(x, rows, K, q, scale, zero, groupSize, bias, out, N)   int4 as in matmul.cu,
//       W = scale[g*N+n] * (code - zero[g*N+n]) in fp32 (__fmul_rn/__fadd_rn), g = k / groupSize,
//       then rounded to bf16 (RNE) into shared memory.
//
// Geometry (Java launches exactly this):
//   block RV_TC_THREADS = 128 threads (4 warps), grid (ceil(N / RV_TC_BN), ceil(rows / RV_TC_BM))
//   with RV_TC_BM = 64, RV_TC_BN = 64; 0 bytes of dynamic shared memory (20 KB static).
//   Block (bx, by) computes rows by*64 .. +63, columns bx*64 .. +63; warp w computes the 32x32
//   sub-tile at rows (w >> 1)*32, columns (w & 1)*32, as 2 x 4 mma tiles of 16x8.
//
// Data path: x is read as fp32, rounded to bf16 (RNE, Tensor.floatToBf16) and stored to shared
// memory; W tiles are copied (bf16) or dequantized (int4) into shared memory; both tiles are laid
// out [row][k] with k contiguous (row stride 40 bf16 = 80 bytes: conflict-free for ldmatrix and for
// 32-bit fragment loads). Fragments come from ldmatrix.x4 (or plain 32-bit shared loads when
// RV_TC_LDMATRIX is 0; both give the same fragments) and feed
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (A = x tile row-major, B = W^T, i.e. W [N, K]
// row-major is the "col" operand). Global loads of tile t+1 go to registers while tile t is
// multiplied (two shared buffers, one __syncthreads per tile).
//
// Reduction order: K is walked in ascending chunks of RV_TC_BK = 32 (two k16 mma steps each, k 0-15
// then 16-31), one fp32 accumulator per output, no split-K. Every output depends only on its own
// x row and W column (padding rows/columns/k are zeros), so a row gives identical bits alone or in
// any batch. Bias is added last with __fadd_rn.
#include "common.cuh"

#define RV_TC_BM 64          // rows per block (grid.y = ceil(rows / RV_TC_BM))
#define RV_TC_BN 64          // columns per block (grid.x = ceil(N / RV_TC_BN))
#define RV_TC_BK 32          // k per shared-memory tile
#define RV_TC_THREADS 128    // threads per block (4 warps, 2 x 2 over the 64 x 64 tile)
#define RV_TC_LDS (RV_TC_BK + 8)  // shared row stride in bf16 (80 bytes)

#ifndef RV_TC_LDMATRIX
#define RV_TC_LDMATRIX 1
#endif

// ---------------------------------------------------------------------------------------------
// PTX wrappers
// ---------------------------------------------------------------------------------------------

// D = A * B + D, m16n8k16, bf16 inputs, fp32 accumulate.
// a[0]: (row g, k 2t..2t+1)  a[1]: (row g+8, k 2t..)  a[2]: (row g, k 2t+8..)  a[3]: (row g+8, k 2t+8..)
// b[0]: (k 2t..2t+1, col g)  b[1]: (k 2t+8.., col g)
// d[0], d[1]: (row g, cols 2t, 2t+1)   d[2], d[3]: (row g+8, cols 2t, 2t+1)     g = lane/4, t = lane%4
__device__ __forceinline__ void rv_mma_bf16(float* d, const uint32_t* a, const uint32_t* b) {
    asm(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Four 8x8 b16 matrices; lanes 8i..8i+7 give the row addresses of matrix i; register i of lane l
// receives row l/4, elements 2*(l%4), 2*(l%4)+1 of matrix i.
__device__ __forceinline__ void rv_ldmatrix_x4(uint32_t* r, const void* smem_row) {
    const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem_row));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr)
                 : "memory");
}

typedef uint16_t rv_tile_t[RV_TC_BM][RV_TC_LDS];
typedef uint16_t rv_btile_t[RV_TC_BN][RV_TC_LDS];

// ---------------------------------------------------------------------------------------------
// A loader: fp32 x -> bf16 shared tile [BM][BK]. 512 float4 slots, 4 per thread.
// ---------------------------------------------------------------------------------------------
struct RvTcALoader {
    const float* x;
    int rows, K, m0;
    bool vec;          // K % 4 == 0 and x 16-byte aligned
    float4 v[4];

    __device__ __forceinline__ void load(int k0, int tid) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int slot = tid + RV_TC_THREADS * i;
            const int row = slot >> 3;
            const int k = k0 + (slot & 7) * 4;
            const int gr = m0 + row;
            float4 t = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (gr < rows) {
                const float* p = x + (size_t)gr * (size_t)K + k;
                if (vec) {
                    if (k < K) t = __ldg(reinterpret_cast<const float4*>(p));
                } else {
                    if (k + 0 < K) t.x = __ldg(p + 0);
                    if (k + 1 < K) t.y = __ldg(p + 1);
                    if (k + 2 < K) t.z = __ldg(p + 2);
                    if (k + 3 < K) t.w = __ldg(p + 3);
                }
            }
            v[i] = t;
        }
    }
    __device__ __forceinline__ void store(rv_tile_t& s, int tid) const {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int slot = tid + RV_TC_THREADS * i;
            const int row = slot >> 3;
            const int kq = (slot & 7) * 4;
            uint2 p;
            p.x = rv_pack_bf16x2(v[i].x, v[i].y);
            p.y = rv_pack_bf16x2(v[i].z, v[i].w);
            *reinterpret_cast<uint2*>(&s[row][kq]) = p;
        }
    }
};

// ---------------------------------------------------------------------------------------------
// B loaders: W [N, K] -> bf16 shared tile [BN][BK] (n-major, k contiguous). 256 slots of 8 k,
// 2 per thread.
// ---------------------------------------------------------------------------------------------
struct RvTcBLoaderBF16 {
    const uint16_t* w;
    int N, K, n0;
    bool vec;          // K % 8 == 0 and w 16-byte aligned
    uint4 v[2];

    __device__ __forceinline__ void load(int k0, int tid) {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int slot = tid + RV_TC_THREADS * i;
            const int row = slot >> 2;
            const int k = k0 + (slot & 3) * 8;
            const int gn = n0 + row;
            uint4 t = make_uint4(0u, 0u, 0u, 0u);
            if (gn < N) {
                const uint16_t* p = w + (size_t)gn * (size_t)K + k;
                if (vec) {
                    if (k < K) t = __ldg(reinterpret_cast<const uint4*>(p));
                } else {
                    uint32_t e[8];
#pragma unroll
                    for (int j = 0; j < 8; j++) e[j] = (k + j < K) ? (uint32_t)__ldg(p + j) : 0u;
                    t.x = e[0] | (e[1] << 16);
                    t.y = e[2] | (e[3] << 16);
                    t.z = e[4] | (e[5] << 16);
                    t.w = e[6] | (e[7] << 16);
                }
            }
            v[i] = t;
        }
    }
    __device__ __forceinline__ void store(rv_btile_t& s, int k0, int tid) const {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int slot = tid + RV_TC_THREADS * i;
            *reinterpret_cast<uint4*>(&s[slot >> 2][(slot & 3) * 8]) = v[i];
        }
    }
};

struct RvTcBLoaderInt4 {
    const uint32_t* q;     // [N, kw]
    const float* scale;    // [groups, N]
    const float* zero;
    int N, K, kw, groupSize, n0;
    bool gs8;              // groupSize % 8 == 0: one group per word (8 codes)
    uint32_t word[2];
    float sc[2], zr[2];

    __device__ __forceinline__ void load(int k0, int tid) {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int slot = tid + RV_TC_THREADS * i;
            const int row = slot >> 2;
            const int kb = k0 + (slot & 3) * 8;    // first k of this word
            const int gn = n0 + row;
            uint32_t wv = 0u;
            float s = 0.0f, z = 0.0f;
            if (gn < N && kb < K) {
                wv = __ldg(q + (size_t)gn * (size_t)kw + (kb >> 3));
                if (gs8) {
                    const size_t gi = (size_t)(kb / groupSize) * (size_t)N + gn;
                    s = __ldg(scale + gi);
                    z = __ldg(zero + gi);
                }
            }
            word[i] = wv;
            sc[i] = s;
            zr[i] = z;
        }
    }
    __device__ __forceinline__ void store(rv_btile_t& s, int k0, int tid) const {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int slot = tid + RV_TC_THREADS * i;
            const int row = slot >> 2;
            const int kb = k0 + (slot & 3) * 8;
            const int gn = n0 + row;
            const bool ok = gn < N;
            float f[8];
#pragma unroll
            for (int e = 0; e < 8; e++) {
                const int k = kb + e;
                float val = 0.0f;
                if (ok && k < K) {
                    const float code = (float)((word[i] >> (4 * e)) & 15u);
                    if (gs8) {
                        val = rv_deq(code, sc[i], zr[i]);
                    } else {
                        const size_t gi = (size_t)(k / groupSize) * (size_t)N + gn;
                        val = rv_deq(code, __ldg(scale + gi), __ldg(zero + gi));
                    }
                }
                f[e] = val;
            }
            uint4 p;
            p.x = rv_pack_bf16x2(f[0], f[1]);
            p.y = rv_pack_bf16x2(f[2], f[3]);
            p.z = rv_pack_bf16x2(f[4], f[5]);
            p.w = rv_pack_bf16x2(f[6], f[7]);
            *reinterpret_cast<uint4*>(&s[row][(slot & 3) * 8]) = p;
        }
    }
};

// ---------------------------------------------------------------------------------------------
// Warp compute on one shared tile pair: 32 x 32 per warp, k 0..15 then 16..31.
// ---------------------------------------------------------------------------------------------
__device__ __forceinline__ void rv_tc_tile(const rv_tile_t& As, const rv_btile_t& Bs, int wm,
                                           int wn, int lane, float (*acc)[4][4]) {
#pragma unroll
    for (int kk = 0; kk < RV_TC_BK; kk += 16) {
        uint32_t a[2][4], b[4][2];
#if RV_TC_LDMATRIX
#pragma unroll
        for (int mi = 0; mi < 2; mi++) {
            // lanes 0-7: rows 0-7, k kk (a0); 8-15: rows 8-15, k kk (a1);
            // 16-23: rows 0-7, k kk+8 (a2); 24-31: rows 8-15, k kk+8 (a3)
            rv_ldmatrix_x4(a[mi], &As[wm * 32 + mi * 16 + (lane & 15)][kk + (lane >> 4) * 8]);
        }
#pragma unroll
        for (int nj = 0; nj < 2; nj++) {
            // lanes 0-7: n 0-7, k kk (b0 of tile 2nj); 8-15: n 0-7, k kk+8 (b1 of tile 2nj);
            // 16-23: n 8-15, k kk (b0 of tile 2nj+1); 24-31: n 8-15, k kk+8 (b1 of tile 2nj+1)
            uint32_t r[4];
            rv_ldmatrix_x4(r, &Bs[wn * 32 + nj * 16 + (lane & 7) + ((lane >> 4) << 3)]
                                 [kk + ((lane >> 3) & 1) * 8]);
            b[2 * nj][0] = r[0];
            b[2 * nj][1] = r[1];
            b[2 * nj + 1][0] = r[2];
            b[2 * nj + 1][1] = r[3];
        }
#else
        const int g = lane >> 2, t = lane & 3;
#pragma unroll
        for (int mi = 0; mi < 2; mi++) {
            const int r0 = wm * 32 + mi * 16 + g;
            a[mi][0] = *reinterpret_cast<const uint32_t*>(&As[r0][kk + 2 * t]);
            a[mi][1] = *reinterpret_cast<const uint32_t*>(&As[r0 + 8][kk + 2 * t]);
            a[mi][2] = *reinterpret_cast<const uint32_t*>(&As[r0][kk + 2 * t + 8]);
            a[mi][3] = *reinterpret_cast<const uint32_t*>(&As[r0 + 8][kk + 2 * t + 8]);
        }
#pragma unroll
        for (int ni = 0; ni < 4; ni++) {
            const int c0 = wn * 32 + ni * 8 + g;
            b[ni][0] = *reinterpret_cast<const uint32_t*>(&Bs[c0][kk + 2 * t]);
            b[ni][1] = *reinterpret_cast<const uint32_t*>(&Bs[c0][kk + 2 * t + 8]);
        }
#endif
#pragma unroll
        for (int mi = 0; mi < 2; mi++) {
#pragma unroll
            for (int ni = 0; ni < 4; ni++) rv_mma_bf16(acc[mi][ni], a[mi], b[ni]);
        }
    }
}

template <class BL>
__device__ __forceinline__ void rv_gemm_tc_run(RvTcALoader& al, BL& bl, int K,
                                               const float* __restrict__ bias,
                                               float* __restrict__ out, int rows, int N,
                                               rv_tile_t* As, rv_btile_t* Bs) {
    const int tid = threadIdx.x;
    const int lane = tid & 31, warp = tid >> 5;
    const int wm = warp >> 1, wn = warp & 1;
    const int m0 = blockIdx.y * RV_TC_BM, n0 = blockIdx.x * RV_TC_BN;

    float acc[2][4][4];
#pragma unroll
    for (int mi = 0; mi < 2; mi++)
#pragma unroll
        for (int ni = 0; ni < 4; ni++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[mi][ni][e] = 0.0f;

    const int nkt = (K + RV_TC_BK - 1) / RV_TC_BK;
    if (nkt > 0) {
        al.load(0, tid);
        bl.load(0, tid);
        al.store(As[0], tid);
        bl.store(Bs[0], 0, tid);
        __syncthreads();
        for (int kt = 0; kt < nkt; kt++) {
            const int cur = kt & 1;
            const bool more = kt + 1 < nkt;
            if (more) {   // next tile's global loads overlap this tile's mma
                al.load((kt + 1) * RV_TC_BK, tid);
                bl.load((kt + 1) * RV_TC_BK, tid);
            }
            rv_tc_tile(As[cur], Bs[cur], wm, wn, lane, acc);
            if (more) {   // buffer cur^1 was last read in iteration kt-1, before its closing barrier
                al.store(As[cur ^ 1], tid);
                bl.store(Bs[cur ^ 1], (kt + 1) * RV_TC_BK, tid);
            }
            __syncthreads();
        }
    }

    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int mi = 0; mi < 2; mi++) {
#pragma unroll
        for (int ni = 0; ni < 4; ni++) {
            const int r = m0 + wm * 32 + mi * 16 + g;
            const int c = n0 + wn * 32 + ni * 8 + 2 * t;
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int rr = r + (e >> 1) * 8;
                const int cc = c + (e & 1);
                if (rr < rows && cc < N) {
                    float v = acc[mi][ni][e];
                    if (bias != nullptr) v = __fadd_rn(v, __ldg(bias + cc));
                    out[(size_t)rr * (size_t)N + cc] = v;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

extern "C" __global__ void __launch_bounds__(RV_TC_THREADS)
rv_gemm_bf16_tc(const float* __restrict__ x, int rows, int K, const uint16_t* __restrict__ w,
                const float* __restrict__ bias, float* __restrict__ out, int N) {
    __shared__ __align__(16) rv_tile_t As[2];
    __shared__ __align__(16) rv_btile_t Bs[2];
    RvTcALoader al;
    al.x = x;
    al.rows = rows;
    al.K = K;
    al.m0 = blockIdx.y * RV_TC_BM;
    al.vec = (K % 4 == 0) && rv_aligned16(x);
    RvTcBLoaderBF16 bl;
    bl.w = w;
    bl.N = N;
    bl.K = K;
    bl.n0 = blockIdx.x * RV_TC_BN;
    bl.vec = (K % 8 == 0) && rv_aligned16(w);
    rv_gemm_tc_run(al, bl, K, bias, out, rows, N, As, Bs);
}

extern "C" __global__ void __launch_bounds__(RV_TC_THREADS)
rv_gemm_int4_tc(const float* __restrict__ x, int rows, int K, const uint32_t* __restrict__ q,
                const float* __restrict__ scale, const float* __restrict__ zero, int groupSize,
                const float* __restrict__ bias, float* __restrict__ out, int N) {
    __shared__ __align__(16) rv_tile_t As[2];
    __shared__ __align__(16) rv_btile_t Bs[2];
    RvTcALoader al;
    al.x = x;
    al.rows = rows;
    al.K = K;
    al.m0 = blockIdx.y * RV_TC_BM;
    al.vec = (K % 4 == 0) && rv_aligned16(x);
    RvTcBLoaderInt4 bl;
    bl.q = q;
    bl.scale = scale;
    bl.zero = zero;
    bl.N = N;
    bl.K = K;
    bl.kw = (K + 7) / 8;
    bl.groupSize = groupSize;
    bl.n0 = blockIdx.x * RV_TC_BN;
    bl.gs8 = (groupSize % 8) == 0;
    rv_gemm_tc_run(al, bl, K, bias, out, rows, N, As, Bs);
}
