package dev.revenant.kernel;

import dev.revenant.Settings;
import dev.revenant.quant.GgufPacked;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.RtnPacked;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The CPU backend on the C kernels of native/ ({@link NativeLibrary}), with {@code threads} workers
 * ({@link VectorPool}: the caller plus {@code threads - 1} platform threads).
 *
 * <p>matmul with F32 or BF16 weights: the output columns (weight rows) are cut into contiguous
 * chunks of about 512 KiB of weights, at least 4 per worker, that the workers claim in order (one
 * worker: a single call over all columns); each chunk is one downcall {@code rv_matmul_<w>_f32(..., n0, n1, out)} that
 * computes columns [n0, n1) of every row. Each output element is computed whole by one call in the
 * order fixed by K (native/include/revenant_cpu.h), so neither the chunking, the thread count nor
 * the batch changes a bit; the generic, AVX2 and AVX-512 kernels even agree with each other.
 *
 * <p>matmulPacked with GGUF Q8_0/Q4_0 weights ({@link GgufPacked}): the same chunks and downcalls
 * ({@code rv_matmul_q8_0_f32}, {@code rv_matmul_q4_0_f32}), which read the ggml blocks in place: the
 * record's {@code byte[]} goes to C as a heap segment (the downcalls are critical with heap access, as
 * for x and out), so the packed weights are neither copied nor held twice. Their order too is fixed
 * by K alone (revenant_cpu.h). RTN weights of every bit width ({@link RtnPacked}: one code byte per
 * weight, fp32 scale/zero per group) likewise go to {@code rv_matmul_rtn_u8_f32} with the codes, scales
 * and zeros as heap segments; its order (revenant_cpu.h) is VectorPackedDot's with 16 lanes, so on an
 * AVX-512 JVM it matches the {@link VectorBackend} bit for bit. Other packed types go to the
 * {@link VectorBackend}.
 *
 * <p>Panels ({@link #PANEL_MIN_K}): on the AVX-512 kernels a BF16 weight or RTN code array with k > 8192 gets, on
 * its first call of {@link #GEMM_T_ROWS} rows or more, a second copy in the batched core's reading order, kept while
 * the weight is reachable ({@link PanelCache}, keyed by the tensor's segment or the codes array, within the budget).
 * Weights handed to a backend must not be written afterwards: a panel is not rebuilt when its weight's values change.
 *
 * <p>Delegated to an internal {@link VectorBackend} with the same thread count (its own pool;
 * idle helpers of either pool spin about 100 µs, then park): matmul with F16 weights (no C kernel
 * yet), weights whose address is not a multiple of the element size, and attention (no C kernel
 * yet). Bias tensors that are not F32 are added in Java after the call (the same {@code s + b}).
 *
 * <p>Calls are serialized: one op runs at a time on a backend.
 */
public final class NativeCpuBackend implements Backend {

    /** Below this many multiply-adds a matmul runs on the caller alone: waking workers costs more. */
    private static final long PARALLEL_MACS = 1L << 15;
    /**
     * Weight bytes per chunk: long runs keep the prefetcher streaming (decode, 2 threads: 23 GB/s
     * against 21 with 64 KiB chunks); still small enough for ≥ 4 chunks per worker at 2048². The
     * packed decode kernels read a chunk as 4 front-to-back streams (native/src/gguf_avx512.c), so
     * longer chunks give longer streams: 512 KiB against 256 KiB, `bench matmul` batch 1, 2 threads,
     * two rounds, speed-up: q4_0 1.02-1.14, rtn-w4-g128 1.00-1.08 at 4096x4096 and 4096x11008,
     * bf16 0.98-1.10; 1 MiB was no better (q4_0 at 4096x4096 0.92, fewer chunks to balance).
     */
    private static final long CHUNK_BYTES = 512 << 10;
    /**
     * From this many rows the C kernels multiply RTN and bitsandbytes 4-bit weights with {@code k % 64 == 0}, and
     * GGUF blocks, on a batched GEMM core (from {@link #GEMM_T_ROWS} rows, as F32/BF16, native/src/gemm_avx512.h: x
     * packed once per call, each weight decoded once per block of 48 columns and transposed so that a zmm holds 16
     * columns; RV_GEMM_ROWS there), and the columns are cut in wider chunks ({@link #bigChunk}).
     */
    static final int GEMM_ROWS = 16;
    /**
     * From this many rows the batched C kernels take the lane-class GEMM core (native/src/gemm_avx512.h,
     * RV_GEMM_T_ROWS there); from {@link #GEMM_ROWS} (F32/BF16: 2) up to here the dot-product core
     * (gemm_few_avx512.h). Both give the same bits; tests use it to reach each.
     */
    static final int GEMM_T_ROWS = 32;
    /**
     * BF16 weights and RTN codes (group size -1 or a multiple of 16) with more input columns than this get a panel on
     * their first call of {@link #GEMM_T_ROWS} rows or more on the AVX-512 kernels, kept while the weight is reachable
     * ({@link PanelCache}, within the budget): the same values again in the order the GEMM core reads them
     * (native/include/revenant_cpu.h, "Panels"), so that its packs read contiguous runs a group ahead instead of 16
     * rows a row apart. Same bits. gemm_harness, 64 rows, 2 threads, same run, panel / none: 4096x11008 bf16 1.24x
     * (1.20-1.29), rtn-w4-g128 1.19x (1.08-1.23); with the first, untransposed units also 11008x4096 1.18x / 1.05x
     * and 4096x4096 1.10x / 1.12x. Only from this k on (Llama's down_proj), where the gain is largest, so that panels
     * add about a fifth to a model's weights, not a whole second copy.
     */
    static final long PANEL_MIN_K = 8192;
    private static final long GEMM_CHUNK_BYTES = 32 << 20;

    private final NativeLibrary lib;
    private final int threads;
    private final VectorPool pool;
    private final VectorBackend delegate;
    private final PanelCache panels;
    private final ReentrantLock lock = new ReentrantLock();
    private final MatmulJob job = new MatmulJob();

    /**
     * With panels within {@link Settings#panelBudgetBytes()}.
     *
     * @throws IllegalStateException naming the reason when the library is unavailable
     */
    public NativeCpuBackend(int threads) {
        this(threads, Settings.panelBudgetBytes());
    }

    /**
     * @param panelBudget bytes of native memory for weight panels at most (0: none; see {@link #PANEL_MIN_K})
     * @throws IllegalStateException naming the reason when the library is unavailable
     */
    public NativeCpuBackend(int threads, long panelBudget) {
        if (threads < 1) {
            throw new IllegalArgumentException("native backend: threads must be ≥ 1, found " + threads);
        }
        this.lib = NativeLibrary.get();
        this.threads = threads;
        this.pool = new VectorPool(threads, "revenant-native");
        this.delegate = new VectorBackend(threads);
        this.panels = new PanelCache(lib.kernel().equals("avx512") ? panelBudget : 0);
    }

    @Override
    public String name() {
        return "native";
    }

    @Override
    public int threads() {
        return threads;
    }

    /** The instruction set of the C kernels in use: "avx512", "avx2" or "generic". */
    public String kernel() {
        return lib.kernel();
    }

    @Override
    public void matmul(Tensor w, Tensor bias, float[] x, int rows, float[] out) {
        WeightReader.checkMatmul(w, bias, x, rows, out);
        long n = w.dim(0);
        long k = w.dim(1);
        if (n > Integer.MAX_VALUE || k > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(w.describe() + ": matmul dimensions must fit an int");
        }
        DType t = w.dtype();
        if ((t != DType.F32 && t != DType.BF16) || w.data().address() % t.byteSize() != 0) {
            delegate.matmul(w, bias, x, rows, out);
            return;
        }
        if (rows <= 0 || n == 0) {
            return;
        }
        long chunk = rows >= GEMM_ROWS ? bigChunk(Math.max(1, k * t.byteSize()), n, rows >= GEMM_T_ROWS)
                : chunkColumns(Math.max(1, k * t.byteSize()), n, rows > 1 ? 6 : 4);
        boolean cBias = bias != null && bias.dtype() == DType.F32 && bias.data().address() % 4 == 0;
        lock.lock();
        try {
            MemorySegment panel = t == DType.BF16 && panelFits(rows, k) ? panel(w.data(), w.data(), 2, k, n) : null;
            job.set(w.data(), t == DType.BF16 ? Kind.BF16 : Kind.F32, cBias ? bias.data() : MemorySegment.NULL,
                    cBias ? null : bias, x, rows, out, n, k, chunk);
            job.panel = panel;
            runJob(rows, n, k);
        } finally {
            lock.unlock();
        }
    }

    /**
     * GGUF Q8_0/Q4_0, RTN (and GPTQ/AWQ through it) and bitsandbytes fp4/nf4: the C kernels on the packed arrays
     * in place; other packed types (LLM.int8): the internal
     * {@link VectorBackend}.
     */
    @Override
    public void matmulPacked(QuantizedWeight w, Tensor bias, float[] x, int rows, float[] out) {
        if (w instanceof dev.revenant.quant.GptqPacked g) { // groups made contiguous: the RTN kernel on permuted inputs
            PackedReference.check(w, bias, x, rows, out);
            matmulRtn(g.body(), bias, g.permuteInput(x, rows), rows, out);
            return;
        }
        if (w instanceof RtnPacked q) {
            matmulRtn(q, bias, x, rows, out);
            return;
        }
        if (w instanceof dev.revenant.quant.Bnb4Packed b) {
            matmulBnb4(b, bias, x, rows, out);
            return;
        }
        if (w instanceof dev.revenant.quant.Int8Packed q) {
            matmulInt8(q, bias, x, rows, out);
            return;
        }
        if (!(w instanceof GgufPacked g)) {
            delegate.matmulPacked(w, bias, x, rows, out);
            return;
        }
        PackedReference.check(w, bias, x, rows, out);
        long n = g.rows();
        long k = g.cols();
        if (rows <= 0 || n == 0) {
            return;
        }
        long rowBytes = Math.max(1, k / 32 * g.type().blockBytes());
        long chunk = rows >= GEMM_ROWS ? bigChunk(4 * k, n, rows >= GEMM_T_ROWS) : chunkColumns(rowBytes, n, 4);
        boolean cBias = bias != null && bias.dtype() == DType.F32 && bias.data().address() % 4 == 0;
        lock.lock();
        try {
            job.set(MemorySegment.ofArray(g.blocks()), g.type() == GgufPacked.Type.Q8_0 ? Kind.Q8_0 : Kind.Q4_0,
                    cBias ? bias.data() : MemorySegment.NULL, cBias ? null : bias, x, rows, out, n, k, chunk);
            runJob(rows, n, k);
        } finally {
            lock.unlock();
        }
    }

    private void matmulRtn(RtnPacked q, Tensor bias, float[] x, int rows, float[] out) {
        PackedReference.check(q, bias, x, rows, out);
        long n = q.rows();
        long k = q.cols();
        if (rows <= 0 || n == 0) {
            return;
        }
        long chunk = gemm(rows, k) ? bigChunk(4 * k, n, rows >= GEMM_T_ROWS) : chunkColumns(Math.max(1, k), n, 4);
        boolean cBias = bias != null && bias.dtype() == DType.F32 && bias.data().address() % 4 == 0;
        lock.lock();
        try {
            MemorySegment codes = MemorySegment.ofArray(q.codes());
            MemorySegment panel = (q.groupSize() < 0 || q.groupSize() % 16 == 0) && panelFits(rows, k)
                    ? panel(q.codes(), codes, 1, k, n) : null;
            job.set(codes, Kind.RTN, cBias ? bias.data() : MemorySegment.NULL, cBias ? null : bias, x, rows, out, n, k,
                    chunk);
            job.rtn(MemorySegment.ofArray(q.scale()), MemorySegment.ofArray(q.zero()), q.groupSize() < 0 ? -1 : q.groupSize());
            job.panel = panel;
            runJob(rows, n, k);
        } finally {
            lock.unlock();
        }
    }

    private static final float[] FP4_TABLE = table(dev.revenant.quant.Bnb4Packed.Kind.FP4);
    private static final float[] NF4_TABLE = table(dev.revenant.quant.Bnb4Packed.Kind.NF4);

    private static float[] table(dev.revenant.quant.Bnb4Packed.Kind kind) {
        float[] t = new float[16];
        for (int c = 0; c < 16; c++) {
            t[c] = dev.revenant.quant.Bnb4.codeValue(kind, c);
        }
        return t;
    }

    private void matmulBnb4(dev.revenant.quant.Bnb4Packed q, Tensor bias, float[] x, int rows, float[] out) {
        PackedReference.check(q, bias, x, rows, out);
        long n = q.shape()[0];
        long k = q.shape()[1];
        if (rows <= 0 || n == 0) {
            return;
        }
        long chunk = gemm(rows, k) ? bigChunk(4 * k, n, rows >= GEMM_T_ROWS) : chunkColumns(Math.max(1, k / 2), n, 4);
        boolean cBias = bias != null && bias.dtype() == DType.F32 && bias.data().address() % 4 == 0;
        float[] table = q.kind() == dev.revenant.quant.Bnb4Packed.Kind.FP4 ? FP4_TABLE : NF4_TABLE;
        lock.lock();
        try {
            job.set(MemorySegment.ofArray(q.packed()), Kind.BNB4, cBias ? bias.data() : MemorySegment.NULL,
                    cBias ? null : bias, x, rows, out, n, k, chunk);
            job.rtn(MemorySegment.ofArray(q.absmax()), MemorySegment.ofArray(table), 0);
            runJob(rows, n, k);
        } finally {
            lock.unlock();
        }
    }

    // LLM.int8: activations quantized per row in Java (Int8Bnb.prepareRows), the int8 products in C, bias in Java
    private void matmulInt8(dev.revenant.quant.Int8Packed q, Tensor bias, float[] x, int rows, float[] out) {
        PackedReference.check(q, bias, x, rows, out);
        long n = q.rows();
        long k = q.cols();
        if (rows <= 0 || n == 0) {
            return;
        }
        dev.revenant.quant.Int8Bnb.Int8Rows a = dev.revenant.quant.Int8Bnb.prepareRows(x, rows, (int) k);
        // decode: the 4-column tile; batched: whole 6-column tiles (int8_vnni.c), from GEMM_ROWS rows on about
        // 1 MiB of codes per chunk (each call re-packs all of x: rows * k bytes, so wider chunks pay that less often)
        long chunk = rows >= GEMM_ROWS ? bigChunk(Math.max(1, k), n, false) : chunkColumns(Math.max(1, k), n, rows > 1 ? 6 : 4);
        lock.lock();
        try {
            job.set(MemorySegment.ofArray(q.cb()), Kind.INT8, MemorySegment.NULL, bias, a.xh(), rows, out, n, k, chunk);
            job.rtn(MemorySegment.ofArray(q.scb()), MemorySegment.NULL, 0);
            job.int8(MemorySegment.ofArray(a.ca()), MemorySegment.ofArray(a.sca()), MemorySegment.ofArray(a.outlierStart()),
                    MemorySegment.ofArray(a.outlierCols()));
            runJob(rows, n, k);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Columns per chunk: about {@link #CHUNK_BYTES} of weights, ≥ 4 chunks per worker, whole groups of {@code tile}
     * columns when there are that many (4: the AVX-512 decode tile; 6: its batched tile, rows ≥ 2, in rv_matmul_f32/bf16).
     */
    private long chunkColumns(long rowBytes, long n, int tile) {
        long chunk = Math.clamp(CHUNK_BYTES / rowBytes, 1, 1024);
        chunk = Math.min(chunk, Math.max(1, (n + 4L * threads - 1) / (4L * threads))); // ≥ 4 chunks per worker
        return chunk >= tile ? chunk - chunk % tile : chunk;
    }

    private static boolean gemm(int rows, long k) {
        return rows >= GEMM_ROWS && k % 64 == 0 && k > 0;
    }

    /**
     * Columns per chunk from {@link #GEMM_ROWS} rows on: about 1 MiB of weights in whole 6-column tiles (the
     * dot-product core, LLM.int8's tiles), from {@link #GEMM_T_ROWS} rows (lanes: the lane-class core) about
     * {@link #GEMM_CHUNK_BYTES} of weights in whole 48-column blocks; always ≥ 4 chunks per worker. The lane-class
     * core packs (and streams) all of x once per chunk, so wide chunks pay that less often (at 64 rows and k = 11008
     * the x pack took 11 % of a 144-column chunk's time and 5 % of a 480-column one's; gemm_harness, one thread).
     */
    private long bigChunk(long rowBytes, long n, boolean lanes) {
        long chunk = Math.clamp((lanes ? GEMM_CHUNK_BYTES : 1 << 20) / rowBytes, 1, 1024);
        chunk = Math.min(chunk, Math.max(1, (n + 4L * threads - 1) / (4L * threads)));
        int tile = lanes && chunk >= 48 ? 48 : 6;
        return chunk >= tile ? chunk - chunk % tile : chunk;
    }

    /** Whether a call of this many rows and input columns reads a panel (see {@link #PANEL_MIN_K}). */
    private static boolean panelFits(int rows, long k) {
        return rows >= GEMM_T_ROWS && k > PANEL_MIN_K && k % 64 == 0;
    }

    /**
     * The panel of the weight whose array is {@code key} (its values in {@code w}, [n, k], es bytes each), built
     * now on the first call, by the workers in slices of 16-row vectors; null when the budget has no room for it.
     */
    private MemorySegment panel(Object key, MemorySegment w, int es, long k, long n) {
        long bytes = lib.panelBytes(es, k, n);
        return panels.get(key, bytes, dst -> {
            long vectors = (n + 15) / 16;
            long per = Math.max(1, (4L << 20) / (16 * k * es)); // about 4 MiB per downcall: short critical calls
            int items = (int) ((vectors + per - 1) / per);
            VectorPool.Job build = new VectorPool.Job() {
                @Override
                public int items() {
                    return items;
                }

                @Override
                public void run(int item, int worker) {
                    lib.panel(w, es, k, n, item * per, Math.min(vectors, (item + 1) * per), dst);
                }
            };
            if (threads > 1 && items > 1) {
                pool.run(build);
            } else {
                for (int i = 0; i < items; i++) {
                    build.run(i, 0);
                }
            }
        });
    }

    /** Bytes of weight panels this backend holds now (tests and `bench`). */
    public long panelBytes() {
        return panels.used();
    }

    /** Runs the job set under the lock, on the pool when it is worth waking the workers. */
    private void runJob(int rows, long n, long k) {
        try {
            if (threads > 1 && (long) rows * n * k >= PARALLEL_MACS) {
                pool.run(job);
            } else {
                job.columns(0, n); // one call: the hardware prefetcher keeps one stream going
            }
        } finally {
            job.clear();
        }
    }

    @Override
    public void attention(float[] q, int qRow, int tokens, int start, float[] k, float[] v, int nHeads, int nKv,
                          int headDim, int window, float scale, float[] out, int outRow, float[] scratch) {
        delegate.attention(q, qRow, tokens, start, k, v, nHeads, nKv, headDim, window, scale, out, outRow, scratch);
    }

    @Override
    public void close() {
        lock.lock();
        try {
            pool.close();
            delegate.close();
            panels.clear();
        } finally {
            lock.unlock();
        }
    }

    /** The weight format of a {@link MatmulJob}: which C entry point it calls. */
    private enum Kind { F32, BF16, Q8_0, Q4_0, RTN, BNB4, INT8 }

    /** One matmul call; item c computes columns [c·chunk, min(n, (c + 1)·chunk)) of every row. */
    private final class MatmulJob implements VectorPool.Job {
        private MemorySegment w;
        /** BF16 or RTN: the weight's panel, or null. */
        private MemorySegment panel;
        private MemorySegment cBias;
        private MemorySegment scale;
        private MemorySegment zero;
        private long groupSize;
        private MemorySegment ca;
        private MemorySegment sca;
        private MemorySegment ostart;
        private MemorySegment ocols;
        private MemorySegment x;
        private MemorySegment out;
        private Tensor javaBias;
        private float[] outArray;
        private Kind kind;
        private int rows;
        private long n;
        private long k;
        private long chunk;
        private int chunks;

        void set(MemorySegment w, Kind kind, MemorySegment cBias, Tensor javaBias, float[] x, int rows, float[] out,
                 long n, long k, long chunk) {
            this.w = w;
            this.kind = kind;
            this.cBias = cBias;
            this.javaBias = javaBias;
            this.x = MemorySegment.ofArray(x);
            this.out = MemorySegment.ofArray(out);
            this.outArray = out;
            this.rows = rows;
            this.n = n;
            this.k = k;
            this.chunk = chunk;
            this.chunks = (int) ((n + chunk - 1) / chunk);
        }

        /** The RTN scales, zeros and group size, or bnb's absmax and code table (after {@link #set}). */
        void rtn(MemorySegment scale, MemorySegment zero, long groupSize) {
            this.scale = scale;
            this.zero = zero;
            this.groupSize = groupSize;
        }

        /** LLM.int8's quantized activations (after {@link #set}, whose x is the fp16-rounded activations). */
        void int8(MemorySegment ca, MemorySegment sca, MemorySegment ostart, MemorySegment ocols) {
            this.ca = ca;
            this.sca = sca;
            this.ostart = ostart;
            this.ocols = ocols;
        }

        void clear() {
            ca = null;
            sca = null;
            ostart = null;
            ocols = null;
            w = null;
            panel = null;
            scale = null;
            zero = null;
            cBias = null;
            javaBias = null;
            x = null;
            out = null;
            outArray = null;
        }

        @Override
        public int items() {
            return chunks;
        }

        @Override
        public void run(int c, int worker) {
            columns(c * chunk, Math.min(n, (c + 1) * chunk));
        }

        /** Columns [n0, n1) of every row. */
        void columns(long n0, long n1) {
            kernel(n0, n1);
            if (javaBias != null) {
                for (int r = 0; r < rows; r++) {
                    for (long j = n0; j < n1; j++) {
                        outArray[(int) (r * n + j)] += javaBias.getFloat(j);
                    }
                }
            }
        }

        private void kernel(long n0, long n1) {
            switch (kind) {
                case F32 -> lib.matmulF32(w, cBias, x, rows, k, n, n0, n1, out);
                case BF16 -> {
                    if (panel != null) {
                        lib.matmulBf16p(w, panel, cBias, x, rows, k, n, n0, n1, out);
                    } else {
                        lib.matmulBf16(w, cBias, x, rows, k, n, n0, n1, out);
                    }
                }
                case Q8_0 -> lib.matmulQ8_0(w, cBias, x, rows, k, n, n0, n1, out);
                case Q4_0 -> lib.matmulQ4_0(w, cBias, x, rows, k, n, n0, n1, out);
                case RTN -> {
                    if (panel != null) {
                        lib.matmulRtnp(w, panel, scale, zero, groupSize, cBias, x, rows, k, n, n0, n1, out);
                    } else {
                        lib.matmulRtn(w, scale, zero, groupSize, cBias, x, rows, k, n, n0, n1, out);
                    }
                }
                case BNB4 -> lib.matmulBnb4(w, scale, zero, cBias, x, rows, k, n, n0, n1, out);
                case INT8 -> lib.matmulInt8(w, scale, ca, sca, x, ostart, ocols, rows, k, n, n0, n1, out);
            }
        }
    }
}
