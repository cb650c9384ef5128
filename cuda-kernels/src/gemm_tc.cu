// gemm_tc.cu: tensor-core GEMM (ABI.md, section "gemm_tc.cu"), the fast path for prefill/scoring.
//
//   out[r, n] = sum_k bf16(x[r, k]) * W[n, k] (+ bias[n])   x fp32 [rows, K], out fp32 [rows, N]
//
//   rv_gemm_bf16_tc(x, rows, K, w, bias, out, N)                           w bf16 bits [N, K]
//   rv_gemm_int4_tc(x, rows, K, q, scale, zero, groupSize, bias, out, N)   int4 as in matmul.cu,
//       W = scale[g*N+n] * (code - zero[g*N+n]) in fp32 (__fmul_rn/__fadd_rn), g = k / groupSize,
//       then rounded to bf16 (RNE) into shared memory.
//
// Geometry (Java launches exactly this, for both kernels; 0 bytes of dynamic shared memory):
//   rows <= RV_TCS_ROWS (32):  block RV_TCS_THREADS = 128, grid (ceil(N / 32), ceil(rows / 16))
//   rows >  RV_TCS_ROWS:       block RV_TCG_THREADS = 256, grid (ceil(N / 128), ceil(rows / 64))
// The kernel picks the same configuration from `rows` (block (bx, by) covers columns bx*BN..,
// rows by*BM..). Static shared memory: bf16 40 KB, int4 24 KB.
//   S (decode, rows <= 32): tile 16 x 32, 4 warps side by side in n, one m16n8 tile each.
//   G (rows > 32):          tile 64 x 128, 8 warps 2 x 4, 32 x 32 (2 x 4 mma tiles) each.
//
// Data path (bf16): W tiles by cp.async (16 bytes, zero-fill past N / K) into 4 shared stages; x
// tiles either by cp.async as fp32 (S) and rounded to bf16 while building the A fragments, or
// (G) loaded to registers two tiles ahead, rounded to bf16 and stored to two shared buffers. int4:
// W words and x both register-staged two tiles ahead, dequantized/rounded, two shared buffers.
// bf16 shared tiles are [row][k] with 16-byte chunks XOR-swizzled (rv_swz); fragments by ldmatrix;
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (A = x tile, B = W [N, K] as "col").
// Rounding fp32 -> bf16 is Tensor.floatToBf16 (RNE, NaN payload kept): cvt.rn.bf16x2.f32, with
// rv_pack_bf16x2 redoing any batch that holds a NaN.
//
// Reduction order (unchanged from the first 64 x 64 kernel, so results are bit-identical to it):
// one fp32 accumulator per output, mma k16 steps k = 0, 16, ..., ceil(K / 32) * 32 - 16 in
// ascending order (x and W zero past K), no split-K. Every output depends only on its own x row
// and W column, whatever the tile configuration, so a row gives identical bits alone or in any
// batch. Bias is added last with __fadd_rn.
#include "common.cuh"

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
                 : "r"(addr));
}

// ---------------------------------------------------------------------------------------------
// Pipelined path. One templated body (RvTcCfg: tile, warps, stages, how x is staged), two
// configurations picked by rows (RvTcCfgS, RvTcCfgG below).
//
//   W tile: cp.async 16 bytes (zero-fill beyond N / K) into STAGES shared buffers [BN][BK] bf16,
//           16-byte chunks XOR-swizzled (conflict-free ldmatrix, no padding); scalar fallback when
//           K % 8 != 0 or w is not 16-byte aligned (plain loads + st.shared into the same slot).
//   x tile, AREG = true : loaded to registers (float4) two tiles ahead (two register sets),
//           rounded to bf16, stored to two swizzled bf16 buffers [BM][BK]; fragments by ldmatrix.
//   x tile, AREG = false: cp.async fp32 into STAGES buffers [BM][BK + 8] (scalar fallback when
//           K % 4 != 0 or x is not 16-byte aligned); fragments built with 64-bit shared loads and
//           rounded to bf16 just before the mma.
// ---------------------------------------------------------------------------------------------

// cp.async 16 bytes global -> shared; src_bytes 0 writes 16 zero bytes (src is then not read).
__device__ __forceinline__ void rv_cp_async16(void* smem, const void* gmem, int src_bytes) {
    const uint32_t s = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes)
                 : "memory");
}
__device__ __forceinline__ void rv_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void rv_cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

__device__ __forceinline__ void rv_ldmatrix_x2(uint32_t* r, const void* smem_row) {
    const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem_row));
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n"
                 : "=r"(r[0]), "=r"(r[1])
                 : "r"(addr));
}

// Element offset (bf16 units) of 16-byte chunk c of row r in a swizzled [rows][BK] bf16 tile.
// BK = 32 (4 chunks, 64-byte rows): chunk ^ ((r >> 1) & 3); BK >= 64: chunk ^ (r & 7). Any 8
// consecutive rows at the same logical chunk then hit 8 distinct 16-byte bank groups.
// Two floats -> packed bf16x2 with one cvt.rn.bf16x2.f32 (RNE, subnormals kept): bit-identical to
// rv_pack_bf16x2 unless an input is NaN (cvt gives the canonical NaN, rv_f32_to_bf16 keeps the
// payload), so callers check rv_nan2 over a whole batch and redo that batch with rv_pack_bf16x2
// (one rarely taken branch per batch keeps the fast path branch-free).
__device__ __forceinline__ uint32_t rv_pack_bf16x2_cvt(float lo, float hi) {
    uint32_t r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));   // hi -> upper half
    return r;
}
__device__ __forceinline__ bool rv_nan2(float a, float b) { return (a != a) | (b != b); }

template <int BK>
__device__ __forceinline__ int rv_swz(int r, int c) {
    static_assert(BK == 32 || BK == 64 || BK == 128, "BK");
    const int p = (BK == 32) ? (c ^ ((r >> 1) & 3)) : (c ^ (r & 7));
    return r * BK + p * 8;
}

template <int BM_, int BN_, int BK_, int WM_, int WN_, int STAGES_, bool AREG_>
struct RvTcCfg {
    static constexpr int BM = BM_, BN = BN_, BK = BK_, WM = WM_, WN = WN_, STAGES = STAGES_;
    static constexpr bool AREG = AREG_;
    static constexpr int THREADS = WM * WN * 32;
    static constexpr int MI = BM / WM / 16;           // m16 tiles per warp
    static constexpr int NI = BN / WN / 8;            // n8 tiles per warp
    static constexpr int CH = BK / 8;                 // 16-byte bf16 chunks per tile row
    static constexpr int ALDF = BK + 8;               // fp32 x tile row stride (AREG = false)
    static constexpr int B_ELEMS = BN * BK;           // bf16 per W stage
    static constexpr int A_ELEMS = AREG ? BM * BK : 0;        // bf16 per x buffer (2 buffers)
    static constexpr int AF_ELEMS = AREG ? 0 : BM * ALDF;     // fp32 per x stage
    static constexpr int SMEM = STAGES * B_ELEMS * 2 + 2 * A_ELEMS * 2 + STAGES * AF_ELEMS * 4;
    static constexpr int A_CHUNKS = AREG ? (BM * CH) / THREADS : (BM * BK / 4) / THREADS;
    static constexpr int B_CHUNKS = (BN * CH) / THREADS;
    static_assert(MI >= 1 && NI >= 1 && (NI == 1 || NI % 2 == 0), "warp tile");
    static_assert(BM % (WM * 16) == 0 && BN % (WN * 8) == 0, "tile");
    static_assert(A_CHUNKS >= 1 && A_CHUNKS * THREADS == (AREG ? BM * CH : BM * BK / 4), "A chunks");
    static_assert(B_CHUNKS >= 1 && B_CHUNKS * THREADS == BN * CH, "B chunks");
    static_assert(SMEM <= 48 * 1024, "static shared memory");
};

// rows <= RV_TCS_ROWS (decode): 16 x 32 tile, 4 warps side by side in n (one n8 tile each), x via
// cp.async fp32, 4 stages of BK = 64.
#define RV_TCS_ROWS 32
#define RV_TCS_BM 16
#define RV_TCS_BN 32
#define RV_TCS_THREADS 128
typedef RvTcCfg<RV_TCS_BM, RV_TCS_BN, 64, 1, 4, 4, false> RvTcCfgS;
// rows > RV_TCS_ROWS: 64 x 128 tile, 8 warps 2 x 4 (32 x 32 each), 4 W stages (40 KB).
#define RV_TCG_BM 64
#define RV_TCG_BN 128
#define RV_TCG_THREADS 256
typedef RvTcCfg<RV_TCG_BM, RV_TCG_BN, 32, 2, 4, 4, true> RvTcCfgG;
#define RV_TCP_THREADS_MAX 256

template <class C>
struct RvTcPipe {
    const float* x;
    const uint16_t* w;
    int rows, K, N, m0, n0, Kpad;   // Kpad = ceil(K / 32) * 32: last k16 step is below Kpad
    bool avec, bvec;

    // W tile kt -> stage buffer (cp.async or scalar fallback)
    __device__ __forceinline__ void issue_b(uint16_t* Bs, int kt, int tid) const {
        const int k0 = kt * C::BK;
#pragma unroll
        for (int i = 0; i < C::B_CHUNKS; i++) {
            const int idx = tid + C::THREADS * i;
            const int r = idx / C::CH, c = idx % C::CH;
            const int gn = n0 + r, k = k0 + c * 8;
            uint16_t* dst = Bs + rv_swz<C::BK>(r, c);
            const bool in = gn < N && k < K;
            if (bvec) {
                const uint16_t* src = in ? w + (size_t)gn * (size_t)K + k : w;
                rv_cp_async16(dst, src, in ? 16 : 0);
            } else {
                uint32_t e[8];
#pragma unroll
                for (int j = 0; j < 8; j++)
                    e[j] = (in && k + j < K) ? (uint32_t)__ldg(w + (size_t)gn * (size_t)K + k + j) : 0u;
                uint4 t;
                t.x = e[0] | (e[1] << 16);
                t.y = e[2] | (e[3] << 16);
                t.z = e[4] | (e[5] << 16);
                t.w = e[6] | (e[7] << 16);
                *reinterpret_cast<uint4*>(dst) = t;
            }
        }
    }

    __device__ __forceinline__ float4 ld_x4(int gr, int k) const {
        float4 t = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (gr < rows) {
            const float* p = x + (size_t)gr * (size_t)K + k;
            if (avec) {
                if (k < K) t = __ldg(reinterpret_cast<const float4*>(p));
            } else {
                if (k + 0 < K) t.x = __ldg(p + 0);
                if (k + 1 < K) t.y = __ldg(p + 1);
                if (k + 2 < K) t.z = __ldg(p + 2);
                if (k + 3 < K) t.w = __ldg(p + 3);
            }
        }
        return t;
    }

    // AREG = false: fp32 x tile kt -> stage buffer [BM][ALDF]
    __device__ __forceinline__ void issue_af(float* Af, int kt, int tid) const {
        const int k0 = kt * C::BK;
#pragma unroll
        for (int i = 0; i < C::A_CHUNKS; i++) {
            const int idx = tid + C::THREADS * i;
            const int r = idx / (C::BK / 4), c = idx % (C::BK / 4);
            const int gr = m0 + r, k = k0 + c * 4;
            float* dst = Af + r * C::ALDF + c * 4;
            if (avec) {
                const bool in = gr < rows && k < K;
                const float* src = in ? x + (size_t)gr * (size_t)K + k : x;
                rv_cp_async16(dst, src, in ? 16 : 0);
            } else {
                *reinterpret_cast<float4*>(dst) = ld_x4(gr, k);
            }
        }
    }

    // AREG = true: x tile kt -> registers, then (store_a) rounded to bf16 into a swizzled buffer
    __device__ __forceinline__ void load_a(float4* areg, int kt, int tid) const {
        const int k0 = kt * C::BK;
#pragma unroll
        for (int i = 0; i < C::A_CHUNKS; i++) {
            const int idx = tid + C::THREADS * i;
            const int r = idx / C::CH, c = idx % C::CH;
            areg[2 * i] = ld_x4(m0 + r, k0 + c * 8);
            areg[2 * i + 1] = ld_x4(m0 + r, k0 + c * 8 + 4);
        }
    }
    __device__ __forceinline__ void store_a(const float4* areg, uint16_t* As, int tid) const {
#pragma unroll
        for (int i = 0; i < C::A_CHUNKS; i++) {
            const int idx = tid + C::THREADS * i;
            const int r = idx / C::CH, c = idx % C::CH;
            const float4 u = areg[2 * i], v = areg[2 * i + 1];
            uint4 p;
            p.x = rv_pack_bf16x2_cvt(u.x, u.y);
            p.y = rv_pack_bf16x2_cvt(u.z, u.w);
            p.z = rv_pack_bf16x2_cvt(v.x, v.y);
            p.w = rv_pack_bf16x2_cvt(v.z, v.w);
            if (__builtin_expect(rv_nan2(u.x, u.y) | rv_nan2(u.z, u.w) | rv_nan2(v.x, v.y) |
                                     rv_nan2(v.z, v.w), 0)) {
                p.x = rv_pack_bf16x2(u.x, u.y);
                p.y = rv_pack_bf16x2(u.z, u.w);
                p.z = rv_pack_bf16x2(v.x, v.y);
                p.w = rv_pack_bf16x2(v.z, v.w);
            }
            *reinterpret_cast<uint4*>(As + rv_swz<C::BK>(r, c)) = p;
        }
    }

    // One shared tile: k16 steps kk = 0, 16, ... below BK (and below Kpad)
    __device__ __forceinline__ void compute(const uint16_t* Bs, const uint16_t* As, const float* Af,
                                            int k0, int wm, int wn, int lane,
                                            float (*acc)[C::NI][4]) const {
        constexpr int KS = C::BK / 16;
        // AREG = false: all of this tile's x fragments first (fp32 pairs -> bf16x2), one NaN check
        uint32_t af[C::AREG ? 1 : KS][C::MI][4];
        if (!C::AREG) {
            const int g = lane >> 2, t = lane & 3;
            float2 v[C::AREG ? 1 : KS][C::MI][4];
            bool nan = false;
#pragma unroll
            for (int j = 0; j < KS; j++) {
#pragma unroll
                for (int mi = 0; mi < C::MI; mi++) {
                    const float* p = Af + (wm * (C::BM / C::WM) + mi * 16 + g) * C::ALDF + j * 16 + 2 * t;
                    v[j][mi][0] = *reinterpret_cast<const float2*>(p);
                    v[j][mi][1] = *reinterpret_cast<const float2*>(p + 8 * C::ALDF);
                    v[j][mi][2] = *reinterpret_cast<const float2*>(p + 8);
                    v[j][mi][3] = *reinterpret_cast<const float2*>(p + 8 * C::ALDF + 8);
#pragma unroll
                    for (int q = 0; q < 4; q++) {
                        af[j][mi][q] = rv_pack_bf16x2_cvt(v[j][mi][q].x, v[j][mi][q].y);
                        nan |= rv_nan2(v[j][mi][q].x, v[j][mi][q].y);
                    }
                }
            }
            if (__builtin_expect(nan, 0)) {
#pragma unroll
                for (int j = 0; j < KS; j++)
#pragma unroll
                    for (int mi = 0; mi < C::MI; mi++)
#pragma unroll
                        for (int q = 0; q < 4; q++)
                            af[j][mi][q] = rv_pack_bf16x2(v[j][mi][q].x, v[j][mi][q].y);
            }
        }
#pragma unroll
        for (int kk = 0; kk < C::BK; kk += 16) {
            if (kk >= 32 && k0 + kk >= Kpad) break;   // same k16 steps as the 64x64 kernel
            uint32_t a[C::MI][4], b[C::NI][2];
            if (C::AREG) {
#pragma unroll
                for (int mi = 0; mi < C::MI; mi++) {
                    const int r = wm * (C::BM / C::WM) + mi * 16 + (lane & 15);
                    rv_ldmatrix_x4(a[mi], As + rv_swz<C::BK>(r, (kk >> 3) + (lane >> 4)));
                }
            } else {
#pragma unroll
                for (int mi = 0; mi < C::MI; mi++)
#pragma unroll
                    for (int q = 0; q < 4; q++) a[mi][q] = af[C::AREG ? 0 : kk / 16][mi][q];
            }
            if (C::NI == 1) {
                // lanes 0-7: n 0-7 at k kk (b0); lanes 8-15: n 0-7 at k kk+8 (b1)
                const int r = wn * (C::BN / C::WN) + (lane & 7);
                rv_ldmatrix_x2(b[0], Bs + rv_swz<C::BK>(r, (kk >> 3) + ((lane >> 3) & 1)));
            } else {
#pragma unroll
                for (int nj = 0; nj < C::NI / 2; nj++) {
                    const int r = wn * (C::BN / C::WN) + nj * 16 + (lane & 7) + ((lane >> 4) << 3);
                    uint32_t q[4];
                    rv_ldmatrix_x4(q, Bs + rv_swz<C::BK>(r, (kk >> 3) + ((lane >> 3) & 1)));
                    b[2 * nj][0] = q[0];
                    b[2 * nj][1] = q[1];
                    b[2 * nj + 1][0] = q[2];
                    b[2 * nj + 1][1] = q[3];
                }
            }
#pragma unroll
            for (int mi = 0; mi < C::MI; mi++) {
#pragma unroll
                for (int ni = 0; ni < C::NI; ni++) rv_mma_bf16(acc[mi][ni], a[mi], b[ni]);
            }
        }
    }
};

template <class C>
__device__ __forceinline__ void rv_gemm_tcp_run(const float* __restrict__ x, int rows, int K,
                                                const uint16_t* __restrict__ w,
                                                const float* __restrict__ bias,
                                                float* __restrict__ out, int N, unsigned char* smem) {
    const int tid = threadIdx.x;
    if (tid >= C::THREADS) return;   // never taken when launched as ABI.md says
    const int lane = tid & 31, warp = tid >> 5;
    const int wm = warp / C::WN, wn = warp % C::WN;

    uint16_t* Bs = reinterpret_cast<uint16_t*>(smem);                         // [STAGES][BN*BK]
    uint16_t* As = Bs + C::STAGES * C::B_ELEMS;                               // [2][BM*BK]
    float* Af = reinterpret_cast<float*>(smem + C::STAGES * C::B_ELEMS * 2);  // [STAGES][BM*ALDF]

    RvTcPipe<C> p;
    p.x = x;
    p.w = w;
    p.rows = rows;
    p.K = K;
    p.N = N;
    p.m0 = blockIdx.y * C::BM;
    p.n0 = blockIdx.x * C::BN;
    p.Kpad = (K + 31) / 32 * 32;
    p.avec = (K % 4 == 0) && rv_aligned16(x);
    p.bvec = (K % 8 == 0) && rv_aligned16(w);

    float acc[C::MI][C::NI][4];
#pragma unroll
    for (int mi = 0; mi < C::MI; mi++)
#pragma unroll
        for (int ni = 0; ni < C::NI; ni++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[mi][ni][e] = 0.0f;

    const int nkt = (K + C::BK - 1) / C::BK;
    // prologue: tiles 0 .. STAGES-2 in flight (one commit group per tile, empty groups past the end)
#pragma unroll
    for (int s = 0; s < C::STAGES - 1; s++) {
        if (s < nkt) {
            p.issue_b(Bs + s * C::B_ELEMS, s, tid);
            if (!C::AREG) p.issue_af(Af + s * C::BM * C::ALDF, s, tid);
        }
        rv_cp_async_commit();
    }
    // x (AREG): tile 0 stored now; tiles 1 and 2 in registers (two sets, loaded two iterations
    // before they are stored, so their latency spans two tiles of mma)
    float4 ra[C::AREG ? 2 * C::A_CHUNKS : 1], rb[C::AREG ? 2 * C::A_CHUNKS : 1];
    if (C::AREG && nkt > 0) {
        p.load_a(ra, 0, tid);
        p.store_a(ra, As, tid);
        if (nkt > 1) p.load_a(ra, 1, tid);
        if (nkt > 2) p.load_a(rb, 2, tid);
    }
    // one iteration: tile kt from stage kt % STAGES; set r holds x tile kt+1, reloaded with kt+3
    auto step = [&](int kt, float4* r) {
        rv_cp_async_wait<C::STAGES - 2>();   // this thread's copies of tile kt have landed
        __syncthreads();                     // ... everyone's; and stage (kt-1) % STAGES is free
        {
            const int nt = kt + C::STAGES - 1;
            if (nt < nkt) {
                const int s = nt % C::STAGES;
                p.issue_b(Bs + s * C::B_ELEMS, nt, tid);
                if (!C::AREG) p.issue_af(Af + s * C::BM * C::ALDF, nt, tid);
            }
            rv_cp_async_commit();
        }
        const int s = kt % C::STAGES;
        p.compute(Bs + s * C::B_ELEMS, As + (kt & 1) * C::A_ELEMS, Af + s * C::BM * C::ALDF,
                  kt * C::BK, wm, wn, lane, acc);
        if (C::AREG && kt + 1 < nkt) {
            // x buffer (kt+1)&1 was last read in iteration kt-1, before this iteration's barrier
            p.store_a(r, As + ((kt + 1) & 1) * C::A_ELEMS, tid);
            if (kt + 3 < nkt) p.load_a(r, kt + 3, tid);
        }
    };
    for (int kt = 0; kt < nkt; kt += 2) {
        step(kt, ra);
        if (kt + 1 < nkt) step(kt + 1, rb);
    }
    rv_cp_async_wait<0>();

    const int g = lane >> 2, t = lane & 3;
    const int m0 = blockIdx.y * C::BM, n0 = blockIdx.x * C::BN;
    const bool pair = (N % 2 == 0) && ((reinterpret_cast<uintptr_t>(out) & 7u) == 0);
#pragma unroll
    for (int mi = 0; mi < C::MI; mi++) {
#pragma unroll
        for (int ni = 0; ni < C::NI; ni++) {
            const int r = m0 + wm * (C::BM / C::WM) + mi * 16 + g;
            const int c = n0 + wn * (C::BN / C::WN) + ni * 8 + 2 * t;
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int rr = r + h * 8;
                if (rr >= rows || c >= N) continue;
                float v0 = acc[mi][ni][2 * h], v1 = acc[mi][ni][2 * h + 1];
                float* o = out + (size_t)rr * (size_t)N + c;
                if (pair) {   // N even: c + 1 < N too
                    if (bias != nullptr) {
                        v0 = __fadd_rn(v0, __ldg(bias + c));
                        v1 = __fadd_rn(v1, __ldg(bias + c + 1));
                    }
                    *reinterpret_cast<float2*>(o) = make_float2(v0, v1);
                } else {
                    if (bias != nullptr) v0 = __fadd_rn(v0, __ldg(bias + c));
                    o[0] = v0;
                    if (c + 1 < N) {
                        if (bias != nullptr) v1 = __fadd_rn(v1, __ldg(bias + c + 1));
                        o[1] = v1;
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// int4 path (rv_gemm_int4_tc): same tiles, warps and k16 steps as the bf16 path; the W tile is
// loaded to registers (one 32-bit word = 8 codes per 16-byte shared chunk, plus its group's scale
// and zero), dequantized exactly as the first kernel did (rv_deq in fp32, rounded to bf16 by
// rv_pack_bf16x2) and stored
// to two swizzled shared buffers, like the x tile: both are loaded two tiles ahead (two register
// sets) and stored one tile ahead.
// ---------------------------------------------------------------------------------------------
template <class C>
struct RvTcInt4Regs {
    uint32_t word[C::B_CHUNKS];
    float sc[C::B_CHUNKS], zr[C::B_CHUNKS];
};

template <class C>
struct RvTcInt4Loader {
    const uint32_t* q;
    const float* scale;
    const float* zero;
    int N, K, kw, groupSize, n0;
    bool gs8;

    __device__ __forceinline__ void load(RvTcInt4Regs<C>& b, int kt, int tid) const {
#pragma unroll
        for (int i = 0; i < C::B_CHUNKS; i++) {
            const int idx = tid + C::THREADS * i;
            const int r = idx / C::CH, c = idx % C::CH;
            const int gn = n0 + r, kb = kt * C::BK + c * 8;
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
            b.word[i] = wv;
            b.sc[i] = s;
            b.zr[i] = z;
        }
    }
    __device__ __forceinline__ void store(const RvTcInt4Regs<C>& b, uint16_t* Bs, int kt,
                                          int tid) const {
#pragma unroll
        for (int i = 0; i < C::B_CHUNKS; i++) {
            const int idx = tid + C::THREADS * i;
            const int r = idx / C::CH, c = idx % C::CH;
            const int gn = n0 + r, kb = kt * C::BK + c * 8;
            const bool ok = gn < N;
            float f[8];
#pragma unroll
            for (int e = 0; e < 8; e++) {
                const int k = kb + e;
                float val = 0.0f;
                if (ok && k < K) {
                    const float code = (float)((b.word[i] >> (4 * e)) & 15u);
                    if (gs8) {
                        val = rv_deq(code, b.sc[i], b.zr[i]);
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
            *reinterpret_cast<uint4*>(Bs + rv_swz<C::BK>(r, c)) = p;
        }
    }
};

template <class C>
__device__ __forceinline__ void rv_gemm_tc4_run(const float* __restrict__ x, int rows, int K,
                                                const RvTcInt4Loader<C>& bl,
                                                const float* __restrict__ bias,
                                                float* __restrict__ out, int N, unsigned char* smem) {
    static_assert(C::AREG, "int4 path stages x through registers");
    const int tid = threadIdx.x;
    if (tid >= C::THREADS) return;   // never taken when launched as ABI.md says
    const int lane = tid & 31, warp = tid >> 5;
    const int wm = warp / C::WN, wn = warp % C::WN;
    uint16_t* Bs = reinterpret_cast<uint16_t*>(smem);   // [2][BN*BK]
    uint16_t* As = Bs + 2 * C::B_ELEMS;                  // [2][BM*BK]

    RvTcPipe<C> p;
    p.x = x;
    p.w = nullptr;
    p.rows = rows;
    p.K = K;
    p.N = N;
    p.m0 = blockIdx.y * C::BM;
    p.n0 = blockIdx.x * C::BN;
    p.Kpad = (K + 31) / 32 * 32;
    p.avec = (K % 4 == 0) && rv_aligned16(x);
    p.bvec = false;

    float acc[C::MI][C::NI][4];
#pragma unroll
    for (int mi = 0; mi < C::MI; mi++)
#pragma unroll
        for (int ni = 0; ni < C::NI; ni++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[mi][ni][e] = 0.0f;

    const int nkt = (K + C::BK - 1) / C::BK;
    float4 ra[2 * C::A_CHUNKS], rb[2 * C::A_CHUNKS];
    RvTcInt4Regs<C> wa, wb;
    if (nkt > 0) {
        p.load_a(ra, 0, tid);
        bl.load(wa, 0, tid);
        p.store_a(ra, As, tid);
        bl.store(wa, Bs, 0, tid);
        if (nkt > 1) {
            p.load_a(ra, 1, tid);
            bl.load(wa, 1, tid);
        }
        if (nkt > 2) {
            p.load_a(rb, 2, tid);
            bl.load(wb, 2, tid);
        }
    }
    auto step = [&](int kt, float4* r, RvTcInt4Regs<C>& wr) {
        __syncthreads();   // tile kt stored by everyone; buffers (kt+1)&1 no longer read
        p.compute(Bs + (kt & 1) * C::B_ELEMS, As + (kt & 1) * C::A_ELEMS, nullptr, kt * C::BK, wm,
                  wn, lane, acc);
        if (kt + 1 < nkt) {
            p.store_a(r, As + ((kt + 1) & 1) * C::A_ELEMS, tid);
            bl.store(wr, Bs + ((kt + 1) & 1) * C::B_ELEMS, kt + 1, tid);
            if (kt + 3 < nkt) {
                p.load_a(r, kt + 3, tid);
                bl.load(wr, kt + 3, tid);
            }
        }
    };
    for (int kt = 0; kt < nkt; kt += 2) {
        step(kt, ra, wa);
        if (kt + 1 < nkt) step(kt + 1, rb, wb);
    }

    const int g = lane >> 2, t = lane & 3;
    const int m0 = p.m0, n0 = p.n0;
#pragma unroll
    for (int mi = 0; mi < C::MI; mi++) {
#pragma unroll
        for (int ni = 0; ni < C::NI; ni++) {
            const int r = m0 + wm * (C::BM / C::WM) + mi * 16 + g;
            const int c = n0 + wn * (C::BN / C::WN) + ni * 8 + 2 * t;
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int rr = r + (e >> 1) * 8, cc = c + (e & 1);
                if (rr < rows && cc < N) {
                    float v = acc[mi][ni][e];
                    if (bias != nullptr) v = __fadd_rn(v, __ldg(bias + cc));
                    out[(size_t)rr * (size_t)N + cc] = v;
                }
            }
        }
    }
}

// int4 decode tile (rows <= RV_TCS_ROWS): 16 x 32, 4 warps, x and W both register-staged.
typedef RvTcCfg<RV_TCS_BM, RV_TCS_BN, 64, 1, 4, 2, true> RvTcCfgS4;

template <class C>
__device__ __forceinline__ void rv_gemm_int4_tc_cfg(const float* x, int rows, int K,
                                                    const uint32_t* q, const float* scale,
                                                    const float* zero, int groupSize,
                                                    const float* bias, float* out, int N,
                                                    unsigned char* smem) {
    RvTcInt4Loader<C> bl;
    bl.q = q;
    bl.scale = scale;
    bl.zero = zero;
    bl.N = N;
    bl.K = K;
    bl.kw = (K + 7) / 8;
    bl.groupSize = groupSize;
    bl.n0 = blockIdx.x * C::BN;
    bl.gs8 = (groupSize % 8) == 0;
    rv_gemm_tc4_run<C>(x, rows, K, bl, bias, out, N, smem);
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

extern "C" __global__ void __launch_bounds__(RV_TCP_THREADS_MAX)
rv_gemm_bf16_tc(const float* __restrict__ x, int rows, int K, const uint16_t* __restrict__ w,
                const float* __restrict__ bias, float* __restrict__ out, int N) {
    constexpr int SM_S = RvTcCfgS::SMEM, SM_G = RvTcCfgG::SMEM;
    constexpr int SMEM = SM_S > SM_G ? SM_S : SM_G;
    __shared__ __align__(128) unsigned char smem[SMEM];
    if (rows <= RV_TCS_ROWS) {
        rv_gemm_tcp_run<RvTcCfgS>(x, rows, K, w, bias, out, N, smem);
    } else {
        rv_gemm_tcp_run<RvTcCfgG>(x, rows, K, w, bias, out, N, smem);
    }
}

extern "C" __global__ void __launch_bounds__(RV_TCP_THREADS_MAX)
rv_gemm_int4_tc(const float* __restrict__ x, int rows, int K, const uint32_t* __restrict__ q,
                const float* __restrict__ scale, const float* __restrict__ zero, int groupSize,
                const float* __restrict__ bias, float* __restrict__ out, int N) {
    constexpr int SM_S = 2 * (RvTcCfgS4::B_ELEMS + RvTcCfgS4::A_ELEMS) * 2;
    constexpr int SM_G = 2 * (RvTcCfgG::B_ELEMS + RvTcCfgG::A_ELEMS) * 2;
    constexpr int SMEM = SM_S > SM_G ? SM_S : SM_G;
    __shared__ __align__(128) unsigned char smem[SMEM];
    if (rows <= RV_TCS_ROWS) {
        rv_gemm_int4_tc_cfg<RvTcCfgS4>(x, rows, K, q, scale, zero, groupSize, bias, out, N, smem);
    } else {
        rv_gemm_int4_tc_cfg<RvTcCfgG>(x, rows, K, q, scale, zero, groupSize, bias, out, N, smem);
    }
}
