// attention.cu — causal (optionally sliding-window) GQA attention (see ABI.md): rv_attention for one
// sequence; rv_attention_batched for the stacked rows of several sequences (each row computed exactly as
// rv_attention computes it), and rv_kv_append, which writes the new keys/values into each sequence's cache.
//
// Mirrors dev.revenant.kernel.ReferenceBackend.attention.
// Layout: q, out fp32 [tokens, nHeads·headDim]; kc, vc fp32 [>= start+tokens, nKv·headDim] (row j is
// position j); scratch fp32 [tokens·nHeads·(start+tokens)], block (t, h) owns the slice starting at
// ((size_t)t·nHeads + h)·(start+tokens), indexed by key position j.
// Geometry: block 128 threads (4 warps), grid (tokens, nHeads). Block (t, h): query row t at position
// pos = start + t, head h, kv head h / (nHeads / nKv); keys j in [lo, pos] where
// lo = window > 0 ? max(0, pos − window + 1) : 0.
//
// Pass 1 (scores): one warp per key; warp w takes keys lo+w, lo+w+4, ... (several keys per
//   iteration so many loads are in flight). Lane l accumulates q[d]·k[j,d] (fp32 fmaf) for
//   d = 128·m + 4·l + c, m = 0, 1, ..., c = 0..3, in that order (m outer, c inner), then an
//   xor-shuffle tree (16, 8, 4, 2, 1); s_j = dot·scale (fp32 mul), stored in scratch[j]. The order
//   depends only on headDim (the float4 paths and the scalar fallback add in the same order), so a
//   score is identical whatever warp, batch or path computes it. Block max by fmaxf (exact).
// Pass 2: e_j = (float)exp((double)(s_j − max)) (fp32 subtract, double exp) stored in scratch[j];
//   thread i sums e for keys lo+i, lo+i+128, ... in order (fp32), then a fixed shared-memory tree
//   (64, 32, ..., 1). The order depends only on the number of keys.
// Pass 3: out[d] = Σ_j (e_j / sum)·v[j, d]: thread d (and d+128, d+256, d+384) keeps
//   acc = 0; for j = lo..pos in order: acc = acc + p_j·v[j, d], p_j = e_j / sum, with the division,
//   product and sum each rounded in fp32 (no FMA) — exactly Java's loop for given e_j and sum.
//   V rows are staged through shared memory in chunks of 32 KiB loaded by the whole block (float4
//   path: headDim % 4 == 0, headDim <= 512, 16-byte aligned q/k/v); otherwise read directly.
// NaN scores: fmaxf ignores NaN where Java's Math.max would propagate it; either way a NaN score
//   makes sum and thus every output of that row NaN.

#include <cstdint>

#define RV_ATT_THREADS 128
#define RV_ATT_WARPS (RV_ATT_THREADS / 32)
#define RV_ATT_PCHUNK 256   // max keys per pass-3 chunk (probabilities staged in shared memory)
#define RV_ATT_VFLOATS 8192 // shared V staging buffer: 32 KiB
#define RV_ATT_VLOADS (RV_ATT_VFLOATS / 4 / RV_ATT_THREADS) // float4 loads per thread per chunk (16)

// xor-shuffle tree over the warp; every lane ends with the same value (fp32 addition commutes).
static __device__ __forceinline__ float rv_att_warp_sum(float v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
        v = __fadd_rn(v, __shfl_xor_sync(0xffffffffu, v, off));
    }
    return v;
}

// Pass 1, float4 path: headDim % 4 == 0, headDim <= 128·QV, 16-byte aligned rows.
// KU keys per warp per iteration. Returns this warp's max score (same in every lane).
template <int KU, int QV>
static __device__ __forceinline__ float rv_att_scores_vec(const float* qh, const float* kb, size_t kvDim,
                                                         int headDim, int lo, int nKeys, float scale,
                                                         float* sc, int warp, int lane) {
    float4 qv[QV];
#pragma unroll
    for (int m = 0; m < QV; ++m) {
        const int d = 128 * m + 4 * lane;
        qv[m] = d < headDim ? *reinterpret_cast<const float4*>(qh + d) : make_float4(0.f, 0.f, 0.f, 0.f);
    }
    float wmax = -INFINITY;
    for (int base = warp; base < nKeys; base += RV_ATT_WARPS * KU) {
        float4 kv[KU][QV];
#pragma unroll
        for (int u = 0; u < KU; ++u) {
            const int idx = base + u * RV_ATT_WARPS;
            const float* kr = kb + (size_t)(lo + (idx < nKeys ? idx : 0)) * kvDim;
#pragma unroll
            for (int m = 0; m < QV; ++m) {
                const int d = 128 * m + 4 * lane;
                kv[u][m] = (idx < nKeys && d < headDim) ? *reinterpret_cast<const float4*>(kr + d)
                                                         : make_float4(0.f, 0.f, 0.f, 0.f);
            }
        }
#pragma unroll
        for (int u = 0; u < KU; ++u) {
            float acc = 0.0f;
#pragma unroll
            for (int m = 0; m < QV; ++m) {
                const int d = 128 * m + 4 * lane;
                if (d < headDim) {
                    acc = fmaf(qv[m].x, kv[u][m].x, acc);
                    acc = fmaf(qv[m].y, kv[u][m].y, acc);
                    acc = fmaf(qv[m].z, kv[u][m].z, acc);
                    acc = fmaf(qv[m].w, kv[u][m].w, acc);
                }
            }
            acc = rv_att_warp_sum(acc);
            const int idx = base + u * RV_ATT_WARPS;
            if (idx < nKeys) {
                const float s = __fmul_rn(acc, scale);
                if (lane == 0) {
                    sc[lo + idx] = s;
                }
                wmax = fmaxf(wmax, s);
            }
        }
    }
    return wmax;
}

// Pass 1, scalar fallback (any headDim, any alignment); same per-lane order as the float4 path.
static __device__ float rv_att_scores_scalar(const float* qh, const float* kb, size_t kvDim, int headDim,
                                             int lo, int nKeys, float scale, float* sc, int warp, int lane) {
    float wmax = -INFINITY;
    for (int idx = warp; idx < nKeys; idx += RV_ATT_WARPS) {
        const float* kr = kb + (size_t)(lo + idx) * kvDim;
        float acc = 0.0f;
        for (int m0 = 0; m0 < headDim; m0 += 128) {
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                const int d = m0 + 4 * lane + c;
                if (d < headDim) {
                    acc = fmaf(qh[d], kr[d], acc);
                }
            }
        }
        acc = rv_att_warp_sum(acc);
        const float s = __fmul_rn(acc, scale);
        if (lane == 0) {
            sc[lo + idx] = s;
        }
        wmax = fmaxf(wmax, s);
    }
    return wmax;
}

// One block's work: query row at position `pos` (qRow/outRow point at its [nHeads·headDim] row), head h,
// scores in scRow + h·stride (stride ≥ pos + 1). Shared by the single-sequence and the batched entry.
static __device__ __forceinline__ void rv_att_block(const float* qRow, int pos, const float* kc, const float* vc,
                                                    int nHeads, int nKv, int headDim, int window, float scale,
                                                    float* outRow, float* scRow, size_t stride, int h,
                                                    float* sRed, float* sP, float* sV) {
    if (h >= nHeads || nKv <= 0 || headDim <= 0) {
        return; // uniform per block
    }
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;

    int lo = 0;
    if (window > 0) {
        lo = pos - window + 1;
        if (lo < 0) {
            lo = 0;
        }
    }
    const int nKeys = pos - lo + 1;

    int group = nHeads / nKv;
    if (group < 1) {
        group = 1;
    }
    const size_t kvDim = (size_t)nKv * (size_t)headDim;
    const size_t kvo = (size_t)(h / group) * (size_t)headDim;
    const float* qh = qRow + (size_t)h * (size_t)headDim;
    float* oh = outRow + (size_t)h * (size_t)headDim;
    float* sc = scRow + (size_t)h * stride;
    const float* q = qRow;
    const float* kb = kc + kvo;
    const float* vb = vc + kvo;

    const bool vec = (headDim & 3) == 0 && headDim <= 512 &&
                     ((reinterpret_cast<uintptr_t>(q) | reinterpret_cast<uintptr_t>(kc) |
                       reinterpret_cast<uintptr_t>(vc)) & 15) == 0;

    // ---- pass 1: scores and max ----
    float wmax;
    if (vec && headDim <= 128) {
        wmax = rv_att_scores_vec<16, 1>(qh, kb, kvDim, headDim, lo, nKeys, scale, sc, warp, lane);
    } else if (vec && headDim <= 256) {
        wmax = rv_att_scores_vec<8, 2>(qh, kb, kvDim, headDim, lo, nKeys, scale, sc, warp, lane);
    } else if (vec) {
        wmax = rv_att_scores_vec<4, 4>(qh, kb, kvDim, headDim, lo, nKeys, scale, sc, warp, lane);
    } else {
        wmax = rv_att_scores_scalar(qh, kb, kvDim, headDim, lo, nKeys, scale, sc, warp, lane);
    }
    if (lane == 0) {
        sRed[warp] = wmax;
    }
    __syncthreads(); // also makes the scores in scratch visible to the whole block
    float mx = sRed[0];
#pragma unroll
    for (int w = 1; w < RV_ATT_WARPS; ++w) {
        mx = fmaxf(mx, sRed[w]);
    }
    __syncthreads(); // everyone has read sRed before it is reused

    // ---- pass 2: exponentials and their sum ----
    float part = 0.0f;
    for (int i = tid; i < nKeys; i += RV_ATT_THREADS) {
        const int j = lo + i;
        const float e = (float)exp((double)__fsub_rn(sc[j], mx));
        sc[j] = e;
        part = __fadd_rn(part, e);
    }
    sRed[tid] = part;
    __syncthreads();
#pragma unroll
    for (int s = RV_ATT_THREADS / 2; s > 0; s >>= 1) {
        if (tid < s) {
            sRed[tid] = __fadd_rn(sRed[tid], sRed[tid + s]);
        }
        __syncthreads();
    }
    const float sum = sRed[0];
    // the e_j in scratch are visible to the block after the tree's __syncthreads

    // ---- pass 3: out[d] = Σ_j (e_j / sum) · v[j, d], j in order ----
    if (vec) {
        // V chunk staged in shared memory: rows [c, c + n) of this kv head, row-major, headDim wide.
        int rowsPer = RV_ATT_VFLOATS / headDim; // >= 16
        if (rowsPer > RV_ATT_PCHUNK) {
            rowsPer = RV_ATT_PCHUNK;
        }
        const int q4 = headDim >> 2;
        float acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f, acc3 = 0.0f; // d = tid + 128·a
        float4* sV4 = reinterpret_cast<float4*>(sV);
        for (int c = 0; c < nKeys; c += rowsPer) {
            const int n = min(rowsPer, nKeys - c);
            const int total4 = n * q4; // <= RV_ATT_VFLOATS / 4
            __syncthreads(); // previous chunk fully consumed
            float4 tmp[RV_ATT_VLOADS];
#pragma unroll
            for (int k = 0; k < RV_ATT_VLOADS; ++k) {
                const int e = tid + k * RV_ATT_THREADS;
                if (e < total4) {
                    const int r = e / q4;
                    const int c4 = e - r * q4;
                    tmp[k] = *reinterpret_cast<const float4*>(vb + (size_t)(lo + c + r) * kvDim + 4 * c4);
                }
            }
            for (int i = tid; i < n; i += RV_ATT_THREADS) {
                sP[i] = __fdiv_rn(sc[lo + c + i], sum);
            }
#pragma unroll
            for (int k = 0; k < RV_ATT_VLOADS; ++k) {
                const int e = tid + k * RV_ATT_THREADS;
                if (e < total4) {
                    sV4[e] = tmp[k];
                }
            }
            __syncthreads();
            if (tid < headDim) {
                const float* col = sV + tid;
#pragma unroll 8
                for (int i = 0; i < n; ++i) {
                    acc0 = __fadd_rn(acc0, __fmul_rn(sP[i], col[i * headDim]));
                }
            }
            if (tid + 128 < headDim) {
                const float* col = sV + tid + 128;
#pragma unroll 8
                for (int i = 0; i < n; ++i) {
                    acc1 = __fadd_rn(acc1, __fmul_rn(sP[i], col[i * headDim]));
                }
            }
            if (tid + 256 < headDim) {
                const float* col = sV + tid + 256;
#pragma unroll 8
                for (int i = 0; i < n; ++i) {
                    acc2 = __fadd_rn(acc2, __fmul_rn(sP[i], col[i * headDim]));
                }
            }
            if (tid + 384 < headDim) {
                const float* col = sV + tid + 384;
#pragma unroll 8
                for (int i = 0; i < n; ++i) {
                    acc3 = __fadd_rn(acc3, __fmul_rn(sP[i], col[i * headDim]));
                }
            }
        }
        if (tid < headDim) {
            oh[tid] = acc0;
        }
        if (tid + 128 < headDim) {
            oh[tid + 128] = acc1;
        }
        if (tid + 256 < headDim) {
            oh[tid + 256] = acc2;
        }
        if (tid + 384 < headDim) {
            oh[tid + 384] = acc3;
        }
        return;
    }

    // fallback: V read directly from global memory, two columns per thread per sweep
    for (int d0 = 0; d0 < headDim; d0 += 2 * RV_ATT_THREADS) {
        const int dA = d0 + tid;
        const int dB = d0 + RV_ATT_THREADS + tid;
        const bool hasA = dA < headDim;
        const bool hasB = dB < headDim;
        float accA = 0.0f;
        float accB = 0.0f;
        for (int c = 0; c < nKeys; c += RV_ATT_PCHUNK) {
            const int n = min(RV_ATT_PCHUNK, nKeys - c);
            __syncthreads(); // previous chunk fully consumed
            for (int i = tid; i < n; i += RV_ATT_THREADS) {
                sP[i] = __fdiv_rn(sc[lo + c + i], sum);
            }
            __syncthreads();
            const float* vr = vb + (size_t)(lo + c) * kvDim;
            if (hasB) {
#pragma unroll 4
                for (int i = 0; i < n; ++i) {
                    const float p = sP[i];
                    accA = __fadd_rn(accA, __fmul_rn(p, vr[dA]));
                    accB = __fadd_rn(accB, __fmul_rn(p, vr[dB]));
                    vr += kvDim;
                }
            } else if (hasA) {
#pragma unroll 8
                for (int i = 0; i < n; ++i) {
                    accA = __fadd_rn(accA, __fmul_rn(sP[i], vr[dA]));
                    vr += kvDim;
                }
            }
        }
        if (hasA) {
            oh[dA] = accA;
        }
        if (hasB) {
            oh[dB] = accB;
        }
    }
}

extern "C" __global__ void __launch_bounds__(RV_ATT_THREADS)
rv_attention(const float* q, int tokens, int start, const float* kc, const float* vc, int nHeads, int nKv,
             int headDim, int window, float scale, float* out, float* scratch) {
    __shared__ float sRed[RV_ATT_THREADS];
    __shared__ float sP[RV_ATT_PCHUNK];
    __shared__ __align__(16) float sV[RV_ATT_VFLOATS];
    const int t = blockIdx.x;
    if (t >= tokens) {
        return;
    }
    const size_t qDim = (size_t)nHeads * (size_t)headDim;
    const size_t total = (size_t)start + (size_t)tokens;
    rv_att_block(q + (size_t)t * qDim, start + t, kc, vc, nHeads, nKv, headDim, window, scale, out + (size_t)t * qDim,
                 scratch + (size_t)t * (size_t)nHeads * total, total, blockIdx.y, sRed, sP, sV);
}

// Several sequences in one launch: row r (of all sequences' stacked rows) belongs to sequence rowSeq[r]
// at position rowPos[r]; that sequence's keys/values are at kPtr[rowSeq[r]] / vPtr[rowSeq[r]] (device
// addresses, [≥ pos+1, nKv·headDim]). scratch: rows·nHeads·stride floats, stride ≥ every pos + 1.
// Grid (rows, nHeads), block 128; each block computes exactly what rv_attention computes for that row.
extern "C" __global__ void __launch_bounds__(RV_ATT_THREADS)
rv_attention_batched(const float* q, int rows, const int* rowSeq, const int* rowPos, const long long* kPtr,
                     const long long* vPtr, int nHeads, int nKv, int headDim, int window, float scale, float* out,
                     float* scratch, int stride) {
    __shared__ float sRed[RV_ATT_THREADS];
    __shared__ float sP[RV_ATT_PCHUNK];
    __shared__ __align__(16) float sV[RV_ATT_VFLOATS];
    const int r = blockIdx.x;
    if (r >= rows) {
        return;
    }
    const int s = rowSeq[r];
    const size_t qDim = (size_t)nHeads * (size_t)headDim;
    rv_att_block(q + (size_t)r * qDim, rowPos[r], reinterpret_cast<const float*>(kPtr[s]),
                 reinterpret_cast<const float*>(vPtr[s]), nHeads, nKv, headDim, window, scale, out + (size_t)r * qDim,
                 scratch + (size_t)r * (size_t)nHeads * (size_t)stride, (size_t)stride, blockIdx.y, sRed, sP, sV);
}

// Appends each row's key and value to its sequence's cache: row r goes to position rowPos[r] of the
// caches at kPtr/vPtr[rowSeq[r]]. k, v: [rows, kvDim]. Grid rows, block 256. Pure copies.
extern "C" __global__ void __launch_bounds__(256)
rv_kv_append(const float* k, const float* v, int rows, int kvDim, const int* rowSeq, const int* rowPos,
             const long long* kPtr, const long long* vPtr) {
    const int r = blockIdx.x;
    if (r >= rows) {
        return;
    }
    const int s = rowSeq[r];
    float* kd = reinterpret_cast<float*>(kPtr[s]) + (size_t)rowPos[r] * (size_t)kvDim;
    float* vd = reinterpret_cast<float*>(vPtr[s]) + (size_t)rowPos[r] * (size_t)kvDim;
    const float* ks = k + (size_t)r * (size_t)kvDim;
    const float* vs = v + (size_t)r * (size_t)kvDim;
    for (int i = threadIdx.x; i < kvDim; i += 256) {
        kd[i] = ks[i];
        vd[i] = vs[i];
    }
}
