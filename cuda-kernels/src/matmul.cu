// matmul.cu: SIMT matmul, fp32 activations, any shape (ABI.md, section "matmul.cu").
//
//   out[r, n] = sum_k x[r, k] * W[n, k] (+ bias[n])     x [rows, K], out [rows, N], bias nullable.
//
// Geometry (fixed by the ABI): block 256 threads = 8 warps, grid (ceil(N/8), ceil(rows/8)).
// Warp w of block (bx, by) owns column n = bx*8 + w and rows by*8 .. min(rows, by*8+8)-1; it reads
// the weight row n once for all of those rows (one fp32 accumulator per row per lane).
//
// Reduction order (depends on K only, never on rows, pointers or the grid):
//   The weight row is cut into chunks of CH consecutive k (CH = 16 bytes of weight storage:
//   f32 4, bf16/f16 8, u8 16, int4 32, nf4 32). Chunk c belongs to lane c % 32; a lane walks its
//   chunks in ascending c and, inside a chunk, k in ascending order, doing
//   acc = fmaf(w[k], x[r, k], acc) with w[k] the dequantized weight (computed in fp32 exactly as the
//   ABI formula reads). The last, partial chunk (K % CH != 0) is processed the same way by its lane
//   (lane (K/CH) % 32), element by element. Then the 32 lane sums are combined with the xor tree
//   16, 8, 4, 2, 1 (rv_warp_sum) and lane 0 writes sum (+ bias[n] with __fadd_rn).
//   The fast path (16-byte loads, taken when the weight rows, x rows and base pointers are 16-byte
//   aligned) and the scalar path execute exactly the same arithmetic in the same order, so the
//   choice of path never changes a result bit.
//
// Rows: a block handles nr = min(8, rows - by*8) rows, at most 4 per pass (template NR in {1, 2, 4},
// 5..8 rows = two passes); when nr < NR the missing rows repeat row nr-1 (computed, never written). Each row's result depends
// only on that row's x, so a row gives identical bits alone or in a batch.
//
// Weight layouts (ABI.md):
//   f32  w[n*K + k]; bf16 (uint16 bits) w[n*K + k]; f16 w[n*K + k]
//   int4 q uint32 [N, ceil(K/8)], code of k in word k/8 bits 4*(k%8)..+3 (low nibble first),
//        W = scale[g*N+n] * (code - zero[g*N+n]), g = k / groupSize
//   u8   q uint8 [N, K], same formula
//   nf4  flat i = n*K + k: byte packed[i/2], even i = high nibble; W = lut[code] * absmax[i/64]
#include "common.cuh"

#define RV_MM_THREADS 256
#define RV_MM_COLS 8   // columns (warps) per block
#define RV_MM_ROWS 8   // rows per block
// 16-byte weight loads in flight per lane: 4 for 1..2 rows (decode, memory-bound), 1 for 3..4 rows.
#define RV_MM_UNROLL(NR) ((NR) <= 2 ? 4 : 1)
// Min blocks per SM for __launch_bounds__: caps registers at 65536 / (256 * 2) = 128 (no spills).
#define RV_MM_MINBLOCKS 2

// ---------------------------------------------------------------------------------------------
// Weight formats. Each provides
//   CH, SUB           elements per 16-byte chunk, elements per dequantization step (SUB | CH, 4 | SUB)
//   load(c)           the 16 raw bytes of chunk c of row n (fast path only)
//   deq(raw, s, k0, w) dequantize sub-block s (elements k0 .. k0+SUB-1, k0 = c*CH + s*SUB)
//   elem(k)           dequantized W[n, k] (scalar path and tail), same value as deq
// ---------------------------------------------------------------------------------------------

__device__ __forceinline__ uint32_t rv_word(const uint4& v, int i) {
    return i == 0 ? v.x : (i == 1 ? v.y : (i == 2 ? v.z : v.w));
}

struct FmtF32 {
    static constexpr int CH = 4, SUB = 4;
    const float* row;
    __device__ __forceinline__ uint4 load(int c) const {
        return __ldg(reinterpret_cast<const uint4*>(row) + c);
    }
    __device__ __forceinline__ void deq(const uint4& raw, int, int, float* w) const {
        w[0] = __uint_as_float(raw.x); w[1] = __uint_as_float(raw.y);
        w[2] = __uint_as_float(raw.z); w[3] = __uint_as_float(raw.w);
    }
    __device__ __forceinline__ float elem(int k) const { return __ldg(row + k); }
};

struct FmtBF16 {
    static constexpr int CH = 8, SUB = 8;
    const uint16_t* row;
    __device__ __forceinline__ uint4 load(int c) const {
        return __ldg(reinterpret_cast<const uint4*>(row) + c);
    }
    __device__ __forceinline__ void deq(const uint4& raw, int, int, float* w) const {
#pragma unroll
        for (int j = 0; j < 4; j++) {
            uint32_t v = rv_word(raw, j);
            w[2 * j] = rv_bf16_lo(v);
            w[2 * j + 1] = rv_bf16_hi(v);
        }
    }
    __device__ __forceinline__ float elem(int k) const { return rv_bf16_to_f32(__ldg(row + k)); }
};

struct FmtF16 {
    static constexpr int CH = 8, SUB = 8;
    const __half* row;
    __device__ __forceinline__ uint4 load(int c) const {
        return __ldg(reinterpret_cast<const uint4*>(row) + c);
    }
    __device__ __forceinline__ void deq(const uint4& raw, int, int, float* w) const {
#pragma unroll
        for (int j = 0; j < 4; j++) {
            uint32_t v = rv_word(raw, j);
            w[2 * j] = rv_f16_to_f32(v);
            w[2 * j + 1] = rv_f16_to_f32(v >> 16);
        }
    }
    __device__ __forceinline__ float elem(int k) const { return __half2float(__ldg(row + k)); }
};

struct FmtInt4 {
    static constexpr int CH = 32, SUB = 8;
    const uint32_t* row;   // q + n * ceil(K/8)
    const float* scale;    // scale + n (index g*N)
    const float* zero;     // zero + n
    int N, groupSize;
    bool gs8;              // groupSize % 8 == 0: one group per 8-aligned sub-block
    __device__ __forceinline__ uint4 load(int c) const {
        return __ldg(reinterpret_cast<const uint4*>(row) + c);
    }
    __device__ __forceinline__ void deq(const uint4& raw, int s, int k0, float* w) const {
        const uint32_t v = rv_word(raw, s);
        if (gs8) {
            const size_t gi = (size_t)(k0 / groupSize) * (size_t)N;
            const float sc = __ldg(scale + gi), z = __ldg(zero + gi);
#pragma unroll
            for (int e = 0; e < 8; e++) w[e] = rv_deq((float)((v >> (4 * e)) & 15u), sc, z);
        } else {
#pragma unroll
            for (int e = 0; e < 8; e++) {
                const size_t gi = (size_t)((k0 + e) / groupSize) * (size_t)N;
                w[e] = rv_deq((float)((v >> (4 * e)) & 15u), __ldg(scale + gi), __ldg(zero + gi));
            }
        }
    }
    __device__ __forceinline__ float elem(int k) const {
        const uint32_t v = __ldg(row + (k >> 3));
        const size_t gi = (size_t)(k / groupSize) * (size_t)N;
        return rv_deq((float)((v >> (4 * (k & 7))) & 15u), __ldg(scale + gi), __ldg(zero + gi));
    }
};

struct FmtU8 {
    static constexpr int CH = 16, SUB = 8;
    const uint8_t* row;
    const float* scale;
    const float* zero;
    int N, groupSize;
    bool gs8;
    __device__ __forceinline__ uint4 load(int c) const {
        return __ldg(reinterpret_cast<const uint4*>(row) + c);
    }
    __device__ __forceinline__ void deq(const uint4& raw, int s, int k0, float* w) const {
        const uint32_t v0 = rv_word(raw, 2 * s), v1 = rv_word(raw, 2 * s + 1);
        if (gs8) {
            const size_t gi = (size_t)(k0 / groupSize) * (size_t)N;
            const float sc = __ldg(scale + gi), z = __ldg(zero + gi);
#pragma unroll
            for (int e = 0; e < 4; e++) {
                w[e] = rv_deq((float)((v0 >> (8 * e)) & 255u), sc, z);
                w[4 + e] = rv_deq((float)((v1 >> (8 * e)) & 255u), sc, z);
            }
        } else {
#pragma unroll
            for (int e = 0; e < 8; e++) {
                const uint32_t v = e < 4 ? v0 : v1;
                const size_t gi = (size_t)((k0 + e) / groupSize) * (size_t)N;
                w[e] = rv_deq((float)((v >> (8 * (e & 3))) & 255u), __ldg(scale + gi), __ldg(zero + gi));
            }
        }
    }
    __device__ __forceinline__ float elem(int k) const {
        const size_t gi = (size_t)(k / groupSize) * (size_t)N;
        return rv_deq((float)__ldg(row + k), __ldg(scale + gi), __ldg(zero + gi));
    }
};

struct FmtNF4 {
    static constexpr int CH = 32, SUB = 8;
    const uint8_t* packed;   // whole tensor (rows may start mid-byte)
    const float* absmax;
    const float* lut;        // shared-memory copy of the 16 code values
    size_t base;             // n * K (flat index of W[n, 0])
    __device__ __forceinline__ uint4 load(int c) const {
        // fast path only when K % 32 == 0: base/2 is a multiple of 16 bytes
        return __ldg(reinterpret_cast<const uint4*>(packed + (base >> 1)) + c);
    }
    __device__ __forceinline__ void deq(const uint4& raw, int s, int k0, float* w) const {
        const uint32_t v = rv_word(raw, s);
        const float am = __ldg(absmax + ((base + (size_t)k0) >> 6)); // 8 elements, one 64-block
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const uint32_t b = (v >> (8 * j)) & 255u;
            w[2 * j] = __fmul_rn(lut[b >> 4], am);       // even flat index: high nibble
            w[2 * j + 1] = __fmul_rn(lut[b & 15u], am);  // odd: low nibble
        }
    }
    __device__ __forceinline__ float elem(int k) const {
        const size_t i = base + (size_t)k;
        const uint32_t b = __ldg(packed + (i >> 1));
        const uint32_t code = (i & 1) ? (b & 15u) : (b >> 4);
        return __fmul_rn(lut[code], __ldg(absmax + (i >> 6)));
    }
};

// ---------------------------------------------------------------------------------------------
// The shared body: one warp, one column n, NR rows (rows >= nr repeat row nr-1, not written).
// ---------------------------------------------------------------------------------------------

// One full chunk (fast path): dequantize SUB weights at a time, then for each group of 4 k,
// each row: acc[r] = fma(w, x, acc[r]) in ascending k.
template <class F, int NR>
__device__ __forceinline__ void rv_mm_chunk(const F& f, const uint4& raw, int c,
                                            const float* __restrict__ xb, const int* xo,
                                            float* acc) {
    constexpr int CH = F::CH, SUB = F::SUB;
#pragma unroll
    for (int s = 0; s < CH / SUB; s++) {
        const int k0 = c * CH + s * SUB;
        float w[SUB];
        f.deq(raw, s, k0, w);
#pragma unroll
        for (int q = 0; q < SUB / 4; q++) {
#pragma unroll
            for (int r = 0; r < NR; r++) {
                const float4 xv = __ldg(reinterpret_cast<const float4*>(xb + xo[r] + k0) + q);
                acc[r] = fmaf(w[4 * q + 0], xv.x, acc[r]);
                acc[r] = fmaf(w[4 * q + 1], xv.y, acc[r]);
                acc[r] = fmaf(w[4 * q + 2], xv.z, acc[r]);
                acc[r] = fmaf(w[4 * q + 3], xv.w, acc[r]);
            }
        }
    }
}

template <class F, int NR, bool VEC>
__device__ __forceinline__ void rv_mm_warp(const F& f, const float* __restrict__ x, int K, int r0,
                                           int nr, const float* __restrict__ bias,
                                           float* __restrict__ out, int N, int n, int lane) {
    constexpr int CH = F::CH, U = RV_MM_UNROLL(NR);
    // x rows of this block: xb = row r0; row r at offset xo[r] (floats, <= 3*K, fits an int).
    const float* __restrict__ xb = x + (size_t)r0 * (size_t)K;
    int xo[NR];
    float acc[NR];
#pragma unroll
    for (int r = 0; r < NR; r++) {
        xo[r] = min(r, nr - 1) * K;
        acc[r] = 0.0f;
    }
    const int nfull = K / CH;

    if (VEC) {
        int c = lane;
        for (; c + 32 * (U - 1) < nfull; c += 32 * U) {
            uint4 raw[U];
#pragma unroll
            for (int u = 0; u < U; u++) raw[u] = f.load(c + 32 * u);
#pragma unroll
            for (int u = 0; u < U; u++) rv_mm_chunk<F, NR>(f, raw[u], c + 32 * u, xb, xo, acc);
        }
        for (; c < nfull; c += 32) {
            const uint4 raw = f.load(c);
            rv_mm_chunk<F, NR>(f, raw, c, xb, xo, acc);
        }
    } else {
        // Scalar path: same chunks, same order, element by element.
        for (int c = lane; c < nfull; c += 32) {
            const int kb = c * CH;
#pragma unroll 4
            for (int e = 0; e < CH; e++) {
                const int k = kb + e;
                const float w = f.elem(k);
#pragma unroll
                for (int r = 0; r < NR; r++) acc[r] = fmaf(w, __ldg(xb + xo[r] + k), acc[r]);
            }
        }
    }
    // Partial last chunk: lane (nfull % 32), after all its full chunks (it is the lane's next chunk).
    if (nfull * CH < K && lane == (nfull & 31)) {
        for (int k = nfull * CH; k < K; k++) {
            const float w = f.elem(k);
#pragma unroll
            for (int r = 0; r < NR; r++) acc[r] = fmaf(w, __ldg(xb + xo[r] + k), acc[r]);
        }
    }

    const float b = (bias != nullptr) ? __ldg(bias + n) : 0.0f;
#pragma unroll
    for (int r = 0; r < NR; r++) {
        const float s = rv_warp_sum(acc[r]);
        if (lane == 0 && r < nr) {
            out[(size_t)(r0 + r) * (size_t)N + n] = (bias != nullptr) ? __fadd_rn(s, b) : s;
        }
    }
}

// nr rows from r0: NR in {1, 2, 4}; 5..8 rows run as two passes (rows r0..r0+3, then the rest),
// which keeps the register count (and so the occupancy of the decode path) low; the second pass
// re-reads the weight row from L1/L2. Per-row arithmetic is the same in every case.
template <class F, bool VEC>
__device__ __forceinline__ void rv_mm_rows4(const F& f, const float* x, int K, int r0, int nr,
                                            const float* bias, float* out, int N, int n, int lane) {
    if (nr <= 1)      rv_mm_warp<F, 1, VEC>(f, x, K, r0, nr, bias, out, N, n, lane);
    else if (nr <= 2) rv_mm_warp<F, 2, VEC>(f, x, K, r0, nr, bias, out, N, n, lane);
    else              rv_mm_warp<F, 4, VEC>(f, x, K, r0, nr, bias, out, N, n, lane);
}

template <class F, bool VEC>
__device__ __forceinline__ void rv_mm_rows(const F& f, const float* x, int K, int r0, int nr,
                                           const float* bias, float* out, int N, int n, int lane) {
    rv_mm_rows4<F, VEC>(f, x, K, r0, min(nr, 4), bias, out, N, n, lane);
    if (nr > 4) rv_mm_rows4<F, VEC>(f, x, K, r0 + 4, nr - 4, bias, out, N, n, lane);
}

template <class F>
__device__ __forceinline__ void rv_mm_dispatch(const F& f, bool wvec, const float* x, int rows,
                                               int K, const float* bias, float* out, int N, int n,
                                               int lane) {
    const int r0 = blockIdx.y * RV_MM_ROWS;
    const int nr = min(RV_MM_ROWS, rows - r0);
    if (nr <= 0) return;
    const bool vec = wvec && (K % 4 == 0) && rv_aligned16(x);
    if (vec) rv_mm_rows<F, true>(f, x, K, r0, nr, bias, out, N, n, lane);
    else     rv_mm_rows<F, false>(f, x, K, r0, nr, bias, out, N, n, lane);
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

extern "C" __global__ void __launch_bounds__(RV_MM_THREADS, RV_MM_MINBLOCKS)
rv_matmul_f32(const float* __restrict__ x, int rows, int K, const float* __restrict__ w,
              const float* __restrict__ bias, float* __restrict__ out, int N) {
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * RV_MM_COLS + (threadIdx.x >> 5);
    if (n >= N) return;
    FmtF32 f;
    f.row = w + (size_t)n * (size_t)K;
    const bool wvec = (K % 4 == 0) && rv_aligned16(w);
    rv_mm_dispatch(f, wvec, x, rows, K, bias, out, N, n, lane);
}

extern "C" __global__ void __launch_bounds__(RV_MM_THREADS, RV_MM_MINBLOCKS)
rv_matmul_bf16(const float* __restrict__ x, int rows, int K, const uint16_t* __restrict__ w,
               const float* __restrict__ bias, float* __restrict__ out, int N) {
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * RV_MM_COLS + (threadIdx.x >> 5);
    if (n >= N) return;
    FmtBF16 f;
    f.row = w + (size_t)n * (size_t)K;
    const bool wvec = (K % 8 == 0) && rv_aligned16(w);
    rv_mm_dispatch(f, wvec, x, rows, K, bias, out, N, n, lane);
}

extern "C" __global__ void __launch_bounds__(RV_MM_THREADS, RV_MM_MINBLOCKS)
rv_matmul_f16(const float* __restrict__ x, int rows, int K, const __half* __restrict__ w,
              const float* __restrict__ bias, float* __restrict__ out, int N) {
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * RV_MM_COLS + (threadIdx.x >> 5);
    if (n >= N) return;
    FmtF16 f;
    f.row = w + (size_t)n * (size_t)K;
    const bool wvec = (K % 8 == 0) && rv_aligned16(w);
    rv_mm_dispatch(f, wvec, x, rows, K, bias, out, N, n, lane);
}

extern "C" __global__ void __launch_bounds__(RV_MM_THREADS, RV_MM_MINBLOCKS)
rv_matmul_int4(const float* __restrict__ x, int rows, int K, const uint32_t* __restrict__ q,
               const float* __restrict__ scale, const float* __restrict__ zero, int groupSize,
               const float* __restrict__ bias, float* __restrict__ out, int N) {
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * RV_MM_COLS + (threadIdx.x >> 5);
    if (n >= N) return;
    const int kw = (K + 7) / 8;
    FmtInt4 f;
    f.row = q + (size_t)n * (size_t)kw;
    f.scale = scale + n;
    f.zero = zero + n;
    f.N = N;
    f.groupSize = groupSize;
    f.gs8 = (groupSize % 8) == 0;
    const bool wvec = (kw % 4 == 0) && rv_aligned16(q);
    rv_mm_dispatch(f, wvec, x, rows, K, bias, out, N, n, lane);
}

extern "C" __global__ void __launch_bounds__(RV_MM_THREADS, RV_MM_MINBLOCKS)
rv_matmul_u8(const float* __restrict__ x, int rows, int K, const uint8_t* __restrict__ q,
             const float* __restrict__ scale, const float* __restrict__ zero, int groupSize,
             const float* __restrict__ bias, float* __restrict__ out, int N) {
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * RV_MM_COLS + (threadIdx.x >> 5);
    if (n >= N) return;
    FmtU8 f;
    f.row = q + (size_t)n * (size_t)K;
    f.scale = scale + n;
    f.zero = zero + n;
    f.N = N;
    f.groupSize = groupSize;
    f.gs8 = (groupSize % 8) == 0;
    const bool wvec = (K % 16 == 0) && rv_aligned16(q);
    rv_mm_dispatch(f, wvec, x, rows, K, bias, out, N, n, lane);
}

extern "C" __global__ void __launch_bounds__(RV_MM_THREADS, RV_MM_MINBLOCKS)
rv_matmul_nf4(const float* __restrict__ x, int rows, int K, const uint8_t* __restrict__ packed,
              const float* __restrict__ absmax, const float* __restrict__ lut,
              const float* __restrict__ bias, float* __restrict__ out, int N) {
    __shared__ float s_lut[16];
    if (threadIdx.x < 16) s_lut[threadIdx.x] = lut[threadIdx.x];
    __syncthreads();
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * RV_MM_COLS + (threadIdx.x >> 5);
    if (n >= N) return;
    FmtNF4 f;
    f.packed = packed;
    f.absmax = absmax;
    f.lut = s_lut;
    f.base = (size_t)n * (size_t)K;
    const bool wvec = (K % 32 == 0) && rv_aligned16(packed);
    rv_mm_dispatch(f, wvec, x, rows, K, bias, out, N, n, lane);
}
