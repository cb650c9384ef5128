// matmul.cu: SIMT matmul, fp32 activations, any shape (ABI.md, section "matmul.cu").
//
//   out[r, n] = sum_k x[r, k] * W[n, k] (+ bias[n])     x [rows, K], out [rows, N], bias nullable.
//
// Geometry (fixed by the ABI, macros below): block RV_MM_THREADS = 128 threads = 4 warps,
// grid (ceil(N / RV_MM_COLS_PER_BLOCK), ceil(rows / RV_MM_ROWS_PER_BLOCK)) = (ceil(N/16), ceil(rows/16)).
// Warp w of block (bx, by) owns the RV_MM_NC = 4 columns n = bx*16 + w*4 + j (j = 0..3) and rows
// by*16 .. min(rows, by*16+16)-1, taken in passes of up to 4 rows. Inside a pass every lane loads
// each x chunk once and uses it for the 4 columns, and each weight chunk once for all rows of the
// pass; later passes re-read the (block's 16) weight rows from L1/L2, not DRAM. Columns >= N are
// clamped to N-1 (computed, never written) so the warp stays converged for the shuffles.
//
// Reduction order (depends on K only, never on rows, pointers, the grid or the geometry):
//   The weight row is cut into chunks of CH consecutive k (CH = 16 bytes of weight storage:
//   f32 4, bf16/f16 8, u8 16, int4 32, nf4 32). Chunk c belongs to lane c % 32; a lane walks its
//   chunks in ascending c and, inside a chunk, k in ascending order, doing
//   acc = fmaf(w[k], x[r, k], acc) with w[k] the dequantized weight (computed in fp32 exactly as the
//   ABI formula reads). The last, partial chunk (K % CH != 0) is processed the same way by its lane
//   (lane (K/CH) % 32), element by element. Then the 32 lane sums are combined with the xor tree
//   16, 8, 4, 2, 1 (rv_warp_sum) and the sum (+ bias[n] with __fadd_rn) is written.
//   Every (row, column) output has its own accumulator, so sharing x between columns and weights
//   between rows never changes its arithmetic. The fast path (16-byte loads, taken when the weight
//   rows, x rows and base pointers are 16-byte aligned) and the scalar path execute exactly the
//   same arithmetic in the same order, so the choice of path never changes a result bit. Group
//   parameters (scale/zero/absmax) are loaded once per chunk when a chunk lies in one group, else
//   per element; the values (and so the results) are the same either way.
//
// Rows: a pass handles nr = min(4, rows left) rows with template NR in {1, 2, 4}; when nr < NR the
// missing rows repeat row nr-1 (computed, never written). Each row's result depends only on that
// row's x, so a row gives identical bits alone or in a batch.
//
// Weight layouts (ABI.md):
//   f32  w[n*K + k]; bf16 (uint16 bits) w[n*K + k]; f16 w[n*K + k]
//   int4 q uint32 [N, ceil(K/8)], code of k in word k/8 bits 4*(k%8)..+3 (low nibble first),
//        W = scale[g*N+n] * (code - zero[g*N+n]), g = k / groupSize
//   u8   q uint8 [N, K], same formula
//   nf4  flat i = n*K + k: byte packed[i/2], even i = high nibble; W = lut[code] * absmax[i/64]
#include "common.cuh"

// (#ifndef only so that an out-of-tree benchmark can build variants; the build never sets them.)
#ifndef RV_MM_WARPS
#define RV_MM_WARPS 4                                    // warps per block
#endif
#ifndef RV_MM_NC
#define RV_MM_NC 4                                       // output columns per warp
#endif
#ifndef RV_MM_ROWS_PER_BLOCK
#define RV_MM_ROWS_PER_BLOCK 16                          // rows per block (grid.y), passes of <= 4
#endif
#ifndef RV_MM_UNR
#define RV_MM_UNR 2                                      // see RV_MM_UNROLL
#endif
#ifndef RV_MM_UNR_INT4
#define RV_MM_UNR_INT4 1                                 // int4: 1 (measured faster on H200)
#endif
// nf4: 2, but 1 on sm_80 where 2 spills (registers)
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#define RV_MM_UNR_NF4 1
#else
#define RV_MM_UNR_NF4 RV_MM_UNR
#endif
#define RV_MM_THREADS (32 * RV_MM_WARPS)                 // 128 threads per block
#define RV_MM_COLS_PER_BLOCK (RV_MM_WARPS * RV_MM_NC)    // 16 columns per block (grid.x)
// Min blocks per SM for __launch_bounds__: caps registers at 65536 / (threads * MINBLOCKS) = 128.
#define RV_MM_MINBLOCKS (512 / RV_MM_THREADS)
// 16-byte weight chunks per column in flight per lane: F::UNR for 1 row (decode, memory-bound),
// half that for 2 rows, 1 for 3..4 rows and for the per-element group-parameter mode (M = 1).
#define RV_MM_UNROLL(F, NR, M) \
    ((M) == 1 ? 1 : (NR) == 1 ? (F::UNR) : (NR) == 2 ? ((F::UNR) + 1) / 2 : 1)

// ---------------------------------------------------------------------------------------------
// Weight formats, NC columns each (column j = warp column j, clamped to N-1). Each provides
//   CH, UNR            elements per 16-byte chunk, chunks in flight per column (1..2 rows)
//   MODES              number of group-parameter modes (template M of deq / params)
//   load(j, c)         the 16 raw bytes of chunk c of column j (fast path only)
//   params<M>(c, p)    group parameters of chunk c for all columns (mode 0: one group per chunk)
//   deq<M>(raw, p, j, i, k) dequantized element i (0..CH-1, compile-time) of the chunk, k its index
//   elem(j, k)         dequantized W[n_j, k] (scalar path and tail), same value as deq
// ---------------------------------------------------------------------------------------------

__device__ __forceinline__ uint32_t rv_word(const uint4& v, int i) {
    return i == 0 ? v.x : (i == 1 ? v.y : (i == 2 ? v.z : v.w));
}

// Exact float of a small unsigned integer (< 2^23) without I2F: 2^23 + u, minus 2^23 (exact).
__device__ __forceinline__ float rv_mm_u2f(uint32_t u) {
    return __fadd_rn(__uint_as_float(0x4B000000u | u), -8388608.0f);
}

template <int NC> struct NoParams { };

template <int NC>
struct MmF32 {
    static constexpr int CH = 4, UNR = RV_MM_UNR, MODES = 1;
    typedef NoParams<NC> P;
    const float* row[NC];
    __device__ __forceinline__ uint4 load(int j, int c) const {
        return __ldg(reinterpret_cast<const uint4*>(row[j]) + c);
    }
    template <int M> __device__ __forceinline__ void params(int, P&) const { }
    template <int M> __device__ __forceinline__ float deq(const uint4& raw, const P&, int, int i, int) const {
        return __uint_as_float(rv_word(raw, i));
    }
    __device__ __forceinline__ float elem(int j, int k) const { return __ldg(row[j] + k); }
};

template <int NC>
struct MmBF16 {
    static constexpr int CH = 8, UNR = RV_MM_UNR, MODES = 1;
    typedef NoParams<NC> P;
    const uint16_t* row[NC];
    __device__ __forceinline__ uint4 load(int j, int c) const {
        return __ldg(reinterpret_cast<const uint4*>(row[j]) + c);
    }
    template <int M> __device__ __forceinline__ void params(int, P&) const { }
    template <int M> __device__ __forceinline__ float deq(const uint4& raw, const P&, int, int i, int) const {
        const uint32_t v = rv_word(raw, i >> 1);
        return (i & 1) ? rv_bf16_hi(v) : rv_bf16_lo(v);
    }
    __device__ __forceinline__ float elem(int j, int k) const { return rv_bf16_to_f32(__ldg(row[j] + k)); }
};

template <int NC>
struct MmF16 {
    static constexpr int CH = 8, UNR = RV_MM_UNR, MODES = 1;
    typedef NoParams<NC> P;
    const __half* row[NC];
    __device__ __forceinline__ uint4 load(int j, int c) const {
        return __ldg(reinterpret_cast<const uint4*>(row[j]) + c);
    }
    template <int M> __device__ __forceinline__ void params(int, P&) const { }
    template <int M> __device__ __forceinline__ float deq(const uint4& raw, const P&, int, int i, int) const {
        const uint32_t v = rv_word(raw, i >> 1);
        return (i & 1) ? rv_f16_to_f32(v >> 16) : rv_f16_to_f32(v);
    }
    // 16-bit integer __ldg, not the __half overload: that one is inline asm, which the compiler may
    // hoist above the tail's bounds check (seen: a read one element past the weights).
    __device__ __forceinline__ float elem(int j, int k) const {
        return rv_f16_to_f32(__ldg(reinterpret_cast<const unsigned short*>(row[j]) + k));
    }
};

template <int NC> struct ScaleZero { float s[NC], z[NC]; };

// Shared by int4 and u8: affine group parameters. Mode 0: groupSize % CH == 0 (one group per chunk,
// loaded once per chunk; as a float4 over the 4 columns when N % 4 == 0 and the arrays are aligned).
// Other group sizes run the scalar path (rv_mm_dispatch), which loads them per element (elem); the
// M = 1 branches below are kept for completeness and are not instantiated.
template <int NC>
struct MmAffine {
    const float* scale[NC];   // scale + n_j
    const float* zero[NC];    // zero + n_j
    int N, groupSize;
    bool v4;                  // NC == 4, N % 4 == 0, scale/zero 16-byte aligned, columns in range
    template <int M, int CH> __device__ __forceinline__ void params_(int c, ScaleZero<NC>& p) const {
        if (M == 0) {
            const size_t gi = (size_t)((c * CH) / groupSize) * (size_t)N;
            if (NC == 4 && v4) {
                const float4 s = __ldg(reinterpret_cast<const float4*>(scale[0] + gi));
                const float4 z = __ldg(reinterpret_cast<const float4*>(zero[0] + gi));
                p.s[0] = s.x; p.s[NC > 1 ? 1 : 0] = s.y; p.s[NC > 2 ? 2 : 0] = s.z; p.s[NC > 3 ? 3 : 0] = s.w;
                p.z[0] = z.x; p.z[NC > 1 ? 1 : 0] = z.y; p.z[NC > 2 ? 2 : 0] = z.z; p.z[NC > 3 ? 3 : 0] = z.w;
            } else {
#pragma unroll
                for (int j = 0; j < NC; j++) { p.s[j] = __ldg(scale[j] + gi); p.z[j] = __ldg(zero[j] + gi); }
            }
        }
    }
    template <int M> __device__ __forceinline__ float affine(float code, const ScaleZero<NC>& p, int j, int k) const {
        if (M == 0) return rv_deq(code, p.s[j], p.z[j]);
        const size_t gi = (size_t)(k / groupSize) * (size_t)N;
        return rv_deq(code, __ldg(scale[j] + gi), __ldg(zero[j] + gi));
    }
    __device__ __forceinline__ float affine_elem(float code, int j, int k) const {
        const size_t gi = (size_t)(k / groupSize) * (size_t)N;
        return rv_deq(code, __ldg(scale[j] + gi), __ldg(zero[j] + gi));
    }
};

template <int NC>
struct MmInt4 : MmAffine<NC> {
    static constexpr int CH = 32, UNR = RV_MM_UNR_INT4, MODES = 2;
    typedef ScaleZero<NC> P;
    const uint32_t* row[NC];   // q + n_j * ceil(K/8)
    __device__ __forceinline__ uint4 load(int j, int c) const {
        return __ldg(reinterpret_cast<const uint4*>(row[j]) + c);
    }
    template <int M> __device__ __forceinline__ void params(int c, P& p) const { this->template params_<M, CH>(c, p); }
    template <int M> __device__ __forceinline__ float deq(const uint4& raw, const P& p, int j, int i, int k) const {
        const uint32_t v = rv_word(raw, i >> 3);
        return this->template affine<M>(rv_mm_u2f((v >> (4 * (i & 7))) & 15u), p, j, k);
    }
    __device__ __forceinline__ float elem(int j, int k) const {
        const uint32_t v = __ldg(row[j] + (k >> 3));
        return this->affine_elem((float)((v >> (4 * (k & 7))) & 15u), j, k);
    }
};

template <int NC>
struct MmU8 : MmAffine<NC> {
    static constexpr int CH = 16, UNR = RV_MM_UNR, MODES = 2;
    typedef ScaleZero<NC> P;
    const uint8_t* row[NC];
    __device__ __forceinline__ uint4 load(int j, int c) const {
        return __ldg(reinterpret_cast<const uint4*>(row[j]) + c);
    }
    template <int M> __device__ __forceinline__ void params(int c, P& p) const { this->template params_<M, CH>(c, p); }
    template <int M> __device__ __forceinline__ float deq(const uint4& raw, const P& p, int j, int i, int k) const {
        const uint32_t v = rv_word(raw, i >> 2);
        return this->template affine<M>(rv_mm_u2f((v >> (8 * (i & 3))) & 255u), p, j, k);
    }
    __device__ __forceinline__ float elem(int j, int k) const {
        return this->affine_elem((float)__ldg(row[j] + k), j, k);
    }
};

template <int NC> struct AbsMax { float a[NC]; };

template <int NC>
struct MmNF4 {
    static constexpr int CH = 32, UNR = RV_MM_UNR_NF4, MODES = 1;
    typedef AbsMax<NC> P;
    const uint8_t* packed;   // whole tensor (rows may start mid-byte)
    const float* absmax;
    const float* lut;        // shared-memory copy of the 16 code values
    size_t base[NC];         // n_j * K (flat index of W[n_j, 0])
    __device__ __forceinline__ uint4 load(int j, int c) const {
        // fast path only when K % 32 == 0: base/2 is a multiple of 16 bytes
        return __ldg(reinterpret_cast<const uint4*>(packed + (base[j] >> 1)) + c);
    }
    // K % 32 == 0 on the fast path: the 32 elements of a chunk lie in one 64-element absmax block.
    template <int M> __device__ __forceinline__ void params(int c, P& p) const {
#pragma unroll
        for (int j = 0; j < NC; j++) p.a[j] = __ldg(absmax + ((base[j] + (size_t)c * CH) >> 6));
    }
    template <int M> __device__ __forceinline__ float deq(const uint4& raw, const P& p, int j, int i, int) const {
        const uint32_t b = (rv_word(raw, i >> 3) >> (8 * ((i & 7) >> 1))) & 255u;
        return __fmul_rn(lut[(i & 1) ? (b & 15u) : (b >> 4)], p.a[j]);   // even flat index: high nibble
    }
    __device__ __forceinline__ float elem(int j, int k) const {
        const size_t i = base[j] + (size_t)k;
        const uint32_t b = __ldg(packed + (i >> 1));
        const uint32_t code = (i & 1) ? (b & 15u) : (b >> 4);
        return __fmul_rn(lut[code], __ldg(absmax + (i >> 6)));
    }
};

// ---------------------------------------------------------------------------------------------
// The shared body: one warp, NC columns, NR rows (rows >= nr repeat row nr-1, not written).
// ---------------------------------------------------------------------------------------------

// One full chunk (fast path): for each group of 4 k, load x once per row, then for each column
// dequantize its 4 weights and for each row acc[r][j] = fma(w, x, acc[r][j]) in ascending k.
template <class F, int JC, int NR, int M>
__device__ __forceinline__ void rv_mm_chunk(const F& f, int j0, const uint4* raw, const typename F::P& p,
                                            int c, const float* __restrict__ xb, const int* xo,
                                            float (*acc)[JC]) {
    constexpr int CH = F::CH;
    const int kc = c * CH;
#pragma unroll
    for (int q = 0; q < CH / 4; q++) {
        float4 xv[NR];
#pragma unroll
        for (int r = 0; r < NR; r++) xv[r] = __ldg(reinterpret_cast<const float4*>(xb + xo[r] + kc) + q);
#pragma unroll
        for (int j = 0; j < JC; j++) {
            float w[4];
#pragma unroll
            for (int e = 0; e < 4; e++) w[e] = f.template deq<M>(raw[j], p, j0 + j, 4 * q + e, kc + 4 * q + e);
#pragma unroll
            for (int r = 0; r < NR; r++) {
                acc[r][j] = fmaf(w[0], xv[r].x, acc[r][j]);
                acc[r][j] = fmaf(w[1], xv[r].y, acc[r][j]);
                acc[r][j] = fmaf(w[2], xv[r].z, acc[r][j]);
                acc[r][j] = fmaf(w[3], xv[r].w, acc[r][j]);
            }
        }
    }
}

// Columns j0 .. j0+JC-1 of the warp's NC columns.
template <class F, int JC, int NR, bool VEC, int M>
__device__ __forceinline__ void rv_mm_warp(const F& f, int j0, const float* __restrict__ x, int K,
                                           int r0, int nr, const float* __restrict__ bias,
                                           float* __restrict__ out, int N, int n0, int lane) {
    constexpr int CH = F::CH, U = RV_MM_UNROLL(F, NR, M);
    // x rows of this pass: xb = row r0; row r at offset xo[r] (floats, <= 3*K, fits an int).
    const float* __restrict__ xb = x + (size_t)r0 * (size_t)K;
    int xo[NR];
    float acc[NR][JC];
#pragma unroll
    for (int r = 0; r < NR; r++) {
        xo[r] = min(r, nr - 1) * K;
#pragma unroll
        for (int j = 0; j < JC; j++) acc[r][j] = 0.0f;
    }
    const int nfull = K / CH;

    if (VEC) {
        int c = lane;
        for (; c + 32 * (U - 1) < nfull; c += 32 * U) {
            uint4 raw[U][JC];
#pragma unroll
            for (int u = 0; u < U; u++)
#pragma unroll
                for (int j = 0; j < JC; j++) raw[u][j] = f.load(j0 + j, c + 32 * u);
            typename F::P p[U];
#pragma unroll
            for (int u = 0; u < U; u++) f.template params<M>(c + 32 * u, p[u]);
#pragma unroll
            for (int u = 0; u < U; u++) rv_mm_chunk<F, JC, NR, M>(f, j0, raw[u], p[u], c + 32 * u, xb, xo, acc);
        }
        for (; c < nfull; c += 32) {
            uint4 raw[JC];
#pragma unroll
            for (int j = 0; j < JC; j++) raw[j] = f.load(j0 + j, c);
            typename F::P p;
            f.template params<M>(c, p);
            rv_mm_chunk<F, JC, NR, M>(f, j0, raw, p, c, xb, xo, acc);
        }
    } else {
        // Scalar path: same chunks, same order, element by element.
        for (int c = lane; c < nfull; c += 32) {
            const int kb = c * CH;
#pragma unroll 2
            for (int e = 0; e < CH; e++) {
                const int k = kb + e;
                float xs[NR];
#pragma unroll
                for (int r = 0; r < NR; r++) xs[r] = __ldg(xb + xo[r] + k);
#pragma unroll
                for (int j = 0; j < JC; j++) {
                    const float w = f.elem(j0 + j, k);
#pragma unroll
                    for (int r = 0; r < NR; r++) acc[r][j] = fmaf(w, xs[r], acc[r][j]);
                }
            }
        }
    }
    // Partial last chunk: lane (nfull % 32), after all its full chunks (it is the lane's next chunk).
    if (nfull * CH < K && lane == (nfull & 31)) {
        for (int k = nfull * CH; k < K; k++) {
            float xs[NR];
#pragma unroll
            for (int r = 0; r < NR; r++) xs[r] = __ldg(xb + xo[r] + k);
#pragma unroll
            for (int j = 0; j < JC; j++) {
                const float w = f.elem(j0 + j, k);
#pragma unroll
                for (int r = 0; r < NR; r++) acc[r][j] = fmaf(w, xs[r], acc[r][j]);
            }
        }
    }

#pragma unroll
    for (int j = 0; j < JC; j++) {
        const int n = n0 + j0 + j;
        const float b = (bias != nullptr && n < N) ? __ldg(bias + n) : 0.0f;
#pragma unroll
        for (int r = 0; r < NR; r++) {
            const float s = rv_warp_sum(acc[r][j]);
            // lane j0+j writes column j0+j (spreads the stores over lanes; every lane holds the sum)
            if (lane == j0 + j && r < nr && n < N) {
                out[(size_t)(r0 + r) * (size_t)N + n] = (bias != nullptr) ? __fadd_rn(s, b) : s;
            }
        }
    }
}

// Columns per sub-pass: all NC for 1..2 rows, NC/2 for 3..4 rows (registers), 1 for the
// per-element group-parameter mode and 2 for the scalar path.
#define RV_MM_JC(NC, NR, VEC, M) \
    ((M) == 1 ? 1 : !(VEC) ? ((NC) >= 2 ? 2 : 1) : (NR) <= 2 ? (NC) : ((NC) >= 2 ? (NC) / 2 : 1))

template <class F, int NC, int NR, bool VEC, int M>
__device__ __forceinline__ void rv_mm_cols(const F& f, const float* x, int K, int r0, int nr,
                                           const float* bias, float* out, int N, int n0, int lane) {
    constexpr int JC = RV_MM_JC(NC, NR, VEC, M);
    static_assert(NC % JC == 0, "column sub-passes must tile NC");
#pragma unroll
    for (int j0 = 0; j0 < NC; j0 += JC)
        rv_mm_warp<F, JC, NR, VEC, M>(f, j0, x, K, r0, nr, bias, out, N, n0, lane);
}

// nr (1..4) rows from r0: NR in {1, 2, 4}. Per-row arithmetic is the same in every case.
template <class F, int NC, bool VEC, int M>
__device__ __forceinline__ void rv_mm_rows4(const F& f, const float* x, int K, int r0, int nr,
                                            const float* bias, float* out, int N, int n0, int lane) {
    if (nr <= 1)      rv_mm_cols<F, NC, 1, VEC, M>(f, x, K, r0, nr, bias, out, N, n0, lane);
    else if (nr <= 2) rv_mm_cols<F, NC, 2, VEC, M>(f, x, K, r0, nr, bias, out, N, n0, lane);
    else              rv_mm_cols<F, NC, 4, VEC, M>(f, x, K, r0, nr, bias, out, N, n0, lane);
}

// The block's rows in passes of 4; passes after the first re-read the weights from L1/L2.
template <class F, int NC, bool VEC, int M>
__device__ __forceinline__ void rv_mm_rows(const F& f, const float* x, int K, int r0, int nr,
                                           const float* bias, float* out, int N, int n0, int lane) {
    for (int p = 0; p < nr; p += 4)
        rv_mm_rows4<F, NC, VEC, M>(f, x, K, r0 + p, min(4, nr - p), bias, out, N, n0, lane);
}

// mode: 0 when the group parameters are constant over each chunk (always for non-affine formats).
template <class F, int NC>
__device__ __forceinline__ void rv_mm_dispatch(const F& f, bool wvec, int mode, const float* x,
                                               int rows, int K, const float* bias, float* out,
                                               int N, int n0, int lane) {
    const int r0 = blockIdx.y * RV_MM_ROWS_PER_BLOCK;
    const int nr = min(RV_MM_ROWS_PER_BLOCK, rows - r0);
    if (nr <= 0) return;
    const bool vec = wvec && (K % 4 == 0) && rv_aligned16(x);
    // A group size that does not tile the chunks (mode 1) takes the scalar path: same arithmetic.
    if (vec && mode == 0) rv_mm_rows<F, NC, true, 0>(f, x, K, r0, nr, bias, out, N, n0, lane);
    else                  rv_mm_rows<F, NC, false, 0>(f, x, K, r0, nr, bias, out, N, n0, lane);
}

// First column of this warp (n0) and column j clamped to N-1.
__device__ __forceinline__ int rv_mm_n0() {
    return blockIdx.x * RV_MM_COLS_PER_BLOCK + (threadIdx.x >> 5) * RV_MM_NC;
}
__device__ __forceinline__ int rv_mm_col(int n0, int j, int N) { return min(n0 + j, N - 1); }

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

extern "C" __global__ void __launch_bounds__(RV_MM_THREADS, RV_MM_MINBLOCKS)
rv_matmul_f32(const float* __restrict__ x, int rows, int K, const float* __restrict__ w,
              const float* __restrict__ bias, float* __restrict__ out, int N) {
    const int lane = threadIdx.x & 31;
    const int n0 = rv_mm_n0();
    if (n0 >= N) return;
    MmF32<RV_MM_NC> f;
#pragma unroll
    for (int j = 0; j < RV_MM_NC; j++) f.row[j] = w + (size_t)rv_mm_col(n0, j, N) * (size_t)K;
    const bool wvec = (K % 4 == 0) && rv_aligned16(w);
    rv_mm_dispatch<MmF32<RV_MM_NC>, RV_MM_NC>(f, wvec, 0, x, rows, K, bias, out, N, n0, lane);
}

extern "C" __global__ void __launch_bounds__(RV_MM_THREADS, RV_MM_MINBLOCKS)
rv_matmul_bf16(const float* __restrict__ x, int rows, int K, const uint16_t* __restrict__ w,
               const float* __restrict__ bias, float* __restrict__ out, int N) {
    const int lane = threadIdx.x & 31;
    const int n0 = rv_mm_n0();
    if (n0 >= N) return;
    MmBF16<RV_MM_NC> f;
#pragma unroll
    for (int j = 0; j < RV_MM_NC; j++) f.row[j] = w + (size_t)rv_mm_col(n0, j, N) * (size_t)K;
    const bool wvec = (K % 8 == 0) && rv_aligned16(w);
    rv_mm_dispatch<MmBF16<RV_MM_NC>, RV_MM_NC>(f, wvec, 0, x, rows, K, bias, out, N, n0, lane);
}

extern "C" __global__ void __launch_bounds__(RV_MM_THREADS, RV_MM_MINBLOCKS)
rv_matmul_f16(const float* __restrict__ x, int rows, int K, const __half* __restrict__ w,
              const float* __restrict__ bias, float* __restrict__ out, int N) {
    const int lane = threadIdx.x & 31;
    const int n0 = rv_mm_n0();
    if (n0 >= N) return;
    MmF16<RV_MM_NC> f;
#pragma unroll
    for (int j = 0; j < RV_MM_NC; j++) f.row[j] = w + (size_t)rv_mm_col(n0, j, N) * (size_t)K;
    const bool wvec = (K % 8 == 0) && rv_aligned16(w);
    rv_mm_dispatch<MmF16<RV_MM_NC>, RV_MM_NC>(f, wvec, 0, x, rows, K, bias, out, N, n0, lane);
}

// int4 / u8 group parameters: columns, and whether the 4 columns' parameters form one float4.
template <int NC>
__device__ __forceinline__ void rv_mm_affine_init(MmAffine<NC>& f, const float* scale, const float* zero,
                                                  int groupSize, int N, int n0) {
#pragma unroll
    for (int j = 0; j < NC; j++) {
        const int n = rv_mm_col(n0, j, N);
        f.scale[j] = scale + n;
        f.zero[j] = zero + n;
    }
    f.N = N;
    f.groupSize = groupSize;
    f.v4 = NC == 4 && (N % 4) == 0 && (n0 % 4) == 0 && n0 + 3 < N && rv_aligned16(scale) && rv_aligned16(zero);
}

extern "C" __global__ void __launch_bounds__(RV_MM_THREADS, RV_MM_MINBLOCKS)
rv_matmul_int4(const float* __restrict__ x, int rows, int K, const uint32_t* __restrict__ q,
               const float* __restrict__ scale, const float* __restrict__ zero, int groupSize,
               const float* __restrict__ bias, float* __restrict__ out, int N) {
    const int lane = threadIdx.x & 31;
    const int n0 = rv_mm_n0();
    if (n0 >= N) return;
    const int kw = (K + 7) / 8;
    MmInt4<RV_MM_NC> f;
#pragma unroll
    for (int j = 0; j < RV_MM_NC; j++) f.row[j] = q + (size_t)rv_mm_col(n0, j, N) * (size_t)kw;
    rv_mm_affine_init<RV_MM_NC>(f, scale, zero, groupSize, N, n0);
    const bool wvec = (kw % 4 == 0) && rv_aligned16(q);
    const int mode = (groupSize % MmInt4<RV_MM_NC>::CH == 0) ? 0 : 1;
    rv_mm_dispatch<MmInt4<RV_MM_NC>, RV_MM_NC>(f, wvec, mode, x, rows, K, bias, out, N, n0, lane);
}

extern "C" __global__ void __launch_bounds__(RV_MM_THREADS, RV_MM_MINBLOCKS)
rv_matmul_u8(const float* __restrict__ x, int rows, int K, const uint8_t* __restrict__ q,
             const float* __restrict__ scale, const float* __restrict__ zero, int groupSize,
             const float* __restrict__ bias, float* __restrict__ out, int N) {
    const int lane = threadIdx.x & 31;
    const int n0 = rv_mm_n0();
    if (n0 >= N) return;
    MmU8<RV_MM_NC> f;
#pragma unroll
    for (int j = 0; j < RV_MM_NC; j++) f.row[j] = q + (size_t)rv_mm_col(n0, j, N) * (size_t)K;
    rv_mm_affine_init<RV_MM_NC>(f, scale, zero, groupSize, N, n0);
    const bool wvec = (K % 16 == 0) && rv_aligned16(q);
    const int mode = (groupSize % MmU8<RV_MM_NC>::CH == 0) ? 0 : 1;
    rv_mm_dispatch<MmU8<RV_MM_NC>, RV_MM_NC>(f, wvec, mode, x, rows, K, bias, out, N, n0, lane);
}

extern "C" __global__ void __launch_bounds__(RV_MM_THREADS, RV_MM_MINBLOCKS)
rv_matmul_nf4(const float* __restrict__ x, int rows, int K, const uint8_t* __restrict__ packed,
              const float* __restrict__ absmax, const float* __restrict__ lut,
              const float* __restrict__ bias, float* __restrict__ out, int N) {
    __shared__ float s_lut[16];
    if (threadIdx.x < 16) s_lut[threadIdx.x] = lut[threadIdx.x];
    __syncthreads();
    const int lane = threadIdx.x & 31;
    const int n0 = rv_mm_n0();
    if (n0 >= N) return;
    MmNF4<RV_MM_NC> f;
    f.packed = packed;
    f.absmax = absmax;
    f.lut = s_lut;
#pragma unroll
    for (int j = 0; j < RV_MM_NC; j++) f.base[j] = (size_t)rv_mm_col(n0, j, N) * (size_t)K;
    const bool wvec = (K % 32 == 0) && rv_aligned16(packed);
    rv_mm_dispatch<MmNF4<RV_MM_NC>, RV_MM_NC>(f, wvec, 0, x, rows, K, bias, out, N, n0, lane);
}
