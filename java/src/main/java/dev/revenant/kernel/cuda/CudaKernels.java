package dev.revenant.kernel.cuda;

import static jcuda.driver.JCudaDriver.cuLaunchKernel;

import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;

/**
 * Typed launches of the kernels of cuda-kernels/ABI.md: argument order and launch geometry exactly as
 * that file fixes them. All launches go to the default stream (ordered); callers synchronize when they
 * read results back (the synchronous copies do).
 */
public final class CudaKernels {
    /**
     * gemm_tc.cu's launch rule (ABI.md): up to {@code TC_SMALL_ROWS} rows, 128 threads and 16 × 32 tiles;
     * more rows, 256 threads and 64 × 128 tiles. The kernel picks the same tile from {@code rows}.
     */
    static final int TC_SMALL_ROWS = 32;

    /** matmul.cu's launch (ABI.md): 128 threads, 16 output columns × up to 16 rows per block. */
    static final int MM_THREADS = 128;
    static final int MM_COLS = 16;
    static final int MM_ROWS = 16;

    /** {block, gridX, gridY} of a tensor-core GEMM launch. */
    static int[] tcGeometry(int rows, int n) {
        return rows <= TC_SMALL_ROWS ? new int[] {128, ceil(n, 32), ceil(rows, 16)} : new int[] {256, ceil(n, 128), ceil(rows, 64)};
    }

    /** Argument of a nullable pointer that is absent. */
    static final CUdeviceptr NULL = new CUdeviceptr();

    private final CudaRuntime rt;

    public CudaKernels(CudaRuntime rt) {
        this.rt = rt;
    }

    public CudaRuntime runtime() {
        return rt;
    }

    private void launch(String family, String kernel, int gx, int gy, int block, Object... args) {
        if (gx <= 0 || gy <= 0) {
            return;
        }
        CUfunction f = rt.function(family, kernel);
        NativePointerObject[] ps = new NativePointerObject[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            ps[i] = switch (a) {
                case CUdeviceptr p -> Pointer.to(p);
                case Integer n -> Pointer.to(new int[] {n});
                case Float x -> Pointer.to(new float[] {x});
                case null -> Pointer.to(NULL);
                default -> throw new IllegalArgumentException(kernel + ": unsupported argument " + a.getClass());
            };
        }
        try {
            cuLaunchKernel(f, gx, gy, 1, block, 1, 1, 0, null, Pointer.to(ps), null);
        } catch (RuntimeException e) {
            throw new IllegalStateException("cuda: launching " + kernel + " (grid " + gx + "x" + gy + ", block " + block
                    + ") failed: " + e.getMessage(), e);
        }
    }

    private static int ceil(int a, int b) {
        return (a + b - 1) / b;
    }

    // ---- matmul.cu: out[rows, N] = x[rows, K] · W[N, K]^T (+ bias) ----

    public void matmulDense(DeviceWeight.Dense w, CUdeviceptr x, int rows, CUdeviceptr bias, CUdeviceptr out) {
        String k = switch (w.type()) {
            case F32 -> "rv_matmul_f32";
            case BF16 -> "rv_matmul_bf16";
            case F16 -> "rv_matmul_f16";
        };
        launch("matmul", k, ceil(w.n(), MM_COLS), ceil(rows, MM_ROWS), MM_THREADS, x, rows, w.k(), w.data().ptr(), bias, out, w.n());
    }

    public void matmulInt4(DeviceWeight.Int4 w, CUdeviceptr x, int rows, CUdeviceptr bias, CUdeviceptr out) {
        launch("matmul", "rv_matmul_int4", ceil(w.n(), MM_COLS), ceil(rows, MM_ROWS), MM_THREADS, x, rows, w.k(), w.q().ptr(), w.scale().ptr(),
                w.zero().ptr(), w.groupSize(), bias, out, w.n());
    }

    public void matmulU8(DeviceWeight.U8 w, CUdeviceptr x, int rows, CUdeviceptr bias, CUdeviceptr out) {
        launch("matmul", "rv_matmul_u8", ceil(w.n(), MM_COLS), ceil(rows, MM_ROWS), MM_THREADS, x, rows, w.k(), w.q().ptr(), w.scale().ptr(),
                w.zero().ptr(), w.groupSize(), bias, out, w.n());
    }

    public void matmulNf4(DeviceWeight.Nf4 w, CUdeviceptr x, int rows, CUdeviceptr bias, CUdeviceptr out) {
        launch("matmul", "rv_matmul_nf4", ceil(w.n(), MM_COLS), ceil(rows, MM_ROWS), MM_THREADS, x, rows, w.k(), w.packed().ptr(),
                w.absmax().ptr(), w.lut().ptr(), bias, out, w.n());
    }

    // ---- gemm_tc.cu: the same products on tensor cores, activations rounded to bf16 ----

    public void gemmBf16(DeviceWeight.Dense w, CUdeviceptr x, int rows, CUdeviceptr bias, CUdeviceptr out) {
        int[] g = tcGeometry(rows, w.n());
        launch("gemm_tc", "rv_gemm_bf16_tc", g[1], g[2], g[0], x, rows, w.k(), w.data().ptr(), bias, out, w.n());
    }

    public void gemmInt4(DeviceWeight.Int4 w, CUdeviceptr x, int rows, CUdeviceptr bias, CUdeviceptr out) {
        int[] g = tcGeometry(rows, w.n());
        launch("gemm_tc", "rv_gemm_int4_tc", g[1], g[2], g[0], x, rows, w.k(), w.q().ptr(), w.scale().ptr(), w.zero().ptr(),
                w.groupSize(), bias, out, w.n());
    }

    // ---- norm.cu, rope.cu, attention.cu, elementwise.cu, logits.cu ----

    /** dtype: 0 f32, 1 bf16, 2 f16. */
    public void embed(CUdeviceptr ids, int rows, CUdeviceptr table, int dtype, int hidden, float scale, CUdeviceptr x) {
        launch("elementwise", "rv_embed", rows, 1, 256, ids, rows, table, dtype, hidden, scale, x);
    }

    public void rmsnorm(CUdeviceptr x, CUdeviceptr y, int rows, int dim, CUdeviceptr w, float eps, boolean plusOne) {
        launch("norm", "rv_rmsnorm", rows, 1, 256, x, y, rows, dim, w, eps, plusOne ? 1 : 0);
    }

    public void layernorm(CUdeviceptr x, CUdeviceptr y, int rows, int dim, CUdeviceptr w, CUdeviceptr b, float eps) {
        launch("norm", "rv_layernorm", rows, 1, 256, x, y, rows, dim, w, b, eps);
    }

    public void rope(CUdeviceptr x, int rows, int heads, int headDim, int half, CUdeviceptr cos, CUdeviceptr sin) {
        launch("rope", "rv_rope", rows, heads, 128, x, rows, heads, headDim, half, cos, sin);
    }

    public void attention(CUdeviceptr q, int tokens, int start, CUdeviceptr kc, CUdeviceptr vc, int nHeads, int nKv,
                          int headDim, int window, float scale, CUdeviceptr out, CUdeviceptr scratch) {
        launch("attention", "rv_attention", tokens, nHeads, 128, q, tokens, start, kc, vc, nHeads, nKv, headDim, window,
                scale, out, scratch);
    }

    /** Every row's attention, rows of several sequences stacked (ABI: rv_attention_batched). */
    public void attentionBatched(CUdeviceptr q, int rows, CUdeviceptr rowSeq, CUdeviceptr rowPos, CUdeviceptr kPtr,
                                 CUdeviceptr vPtr, int nHeads, int nKv, int headDim, int window, float scale, CUdeviceptr out,
                                 CUdeviceptr scratch, int stride) {
        launch("attention", "rv_attention_batched", rows, nHeads, 128, q, rows, rowSeq, rowPos, kPtr, vPtr, nHeads, nKv,
                headDim, window, scale, out, scratch, stride);
    }

    /** Row r's key and value into its sequence's cache at position rowPos[r] (ABI: rv_kv_append). */
    public void kvAppend(CUdeviceptr k, CUdeviceptr v, int rows, int kvDim, CUdeviceptr rowSeq, CUdeviceptr rowPos,
                         CUdeviceptr kPtr, CUdeviceptr vPtr) {
        launch("attention", "rv_kv_append", rows, 1, 256, k, v, rows, kvDim, rowSeq, rowPos, kPtr, vPtr);
    }

    public void add(CUdeviceptr x, CUdeviceptr y, int n) {
        launch("elementwise", "rv_add", ceil(n, 256), 1, 256, x, y, n);
    }

    public void add3(CUdeviceptr x, CUdeviceptr a, CUdeviceptr b, int n) {
        launch("elementwise", "rv_add3", ceil(n, 256), 1, 256, x, a, b, n);
    }

    /** act: 0 SiLU, 1 GELU-tanh, 2 GELU. */
    public void act(CUdeviceptr x, int n, int act) {
        launch("elementwise", "rv_act", ceil(n, 256), 1, 256, x, n, act);
    }

    public void gateAct(CUdeviceptr gate, CUdeviceptr up, int n, int act) {
        launch("elementwise", "rv_gate_act", ceil(n, 256), 1, 256, gate, up, n, act);
    }

    public void gatherRows(CUdeviceptr x, CUdeviceptr idx, int n, int dim, CUdeviceptr y) {
        launch("elementwise", "rv_gather_rows", n, 1, 256, x, idx, n, dim, y);
    }

    public void logSoftmaxGather(CUdeviceptr logits, int rows, int vocab, CUdeviceptr targets, CUdeviceptr out) {
        launch("logits", "rv_log_softmax_gather", rows, 1, 256, logits, rows, vocab, targets, out);
    }

    public void argmax(CUdeviceptr logits, int rows, int vocab, CUdeviceptr out) {
        launch("logits", "rv_argmax", rows, 1, 256, logits, rows, vocab, out);
    }
}
