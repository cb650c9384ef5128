package dev.revenant.kernel;

import dev.revenant.quant.Int8Packed;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The CPU backend on the Java Vector API ({@code jdk.incubator.vector}), with a fixed team of
 * {@code threads} workers created once (the calling thread plus {@code threads - 1} platform
 * threads; {@link #close()} stops them).
 *
 * <p>matmul splits the output columns (weight rows) into contiguous chunks of about 64 KiB of
 * weights that the workers claim in order ({@link VectorPool}), so each streams the weight in large
 * contiguous pieces; attention hands out (token, run of query heads sharing a kv head) the same
 * way. Each output element is computed whole by one worker with an order fixed by the shapes (see {@link VectorMatmulF32},
 * {@link VectorMatmulBf16}, {@link VectorAttention}), so neither the chunking, the thread count nor
 * the batch changes a bit.
 *
 * <p>Calls are serialized: one op runs at a time on a backend. No allocation per call (the BF16
 * activation buffer and the per-worker F16 chunk buffers grow to the largest shape seen, once).
 */
public final class VectorBackend implements Backend {

    /** Below this many multiply-adds a matmul runs on the caller alone: waking workers costs more. */
    private static final long PARALLEL_MACS = 1L << 15;
    /** Weight bytes per chunk: fits L2 while the chunk is reused by the row blocks of a prefill. */
    private static final long CHUNK_BYTES = 64 << 10;
    private static final long CHUNK_BYTES_PREFILL = 256 << 10;

    private final int threads;
    private final VectorPool pool;
    private final ReentrantLock lock = new ReentrantLock();
    private final MatmulJob matmulJob = new MatmulJob();
    private final AttentionJob attentionJob = new AttentionJob();
    private final VectorPacked packedJob;
    /** BF16 activations re-laid by VectorMatmulBf16.permuteBf16; grows to the largest rows·K seen. */
    private float[] xPermuted = new float[0];
    /** Per worker: one chunk of F16 weights widened to fp32 (chunk·K floats); grows, never shrinks. */
    private final float[][] f16Chunks;

    public VectorBackend(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("vector backend: threads must be ≥ 1, found " + threads);
        }
        this.threads = threads;
        this.pool = new VectorPool(threads, "revenant-vector");
        this.f16Chunks = new float[threads][0];
        this.packedJob = new VectorPacked(threads);
    }

    @Override
    public String name() {
        return "vector";
    }

    @Override
    public int threads() {
        return threads;
    }

    /** Width of the float vectors the kernels use (512 with AVX-512, 256 with AVX2). */
    public static int vectorBits() {
        return VectorLanes.F.vectorBitSize();
    }

    @Override
    public void matmul(Tensor w, Tensor bias, float[] x, int rows, float[] out) {
        WeightReader.checkMatmul(w, bias, x, rows, out);
        long n = w.dim(0);
        long k = w.dim(1);
        if (n > Integer.MAX_VALUE || k > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(w.describe() + ": matmul dimensions must fit an int");
        }
        if (rows <= 0 || n == 0) {
            return;
        }
        long rowBytes = Math.max(1, k * w.dtype().byteSize());
        long chunk = Math.clamp((rows > 4 ? CHUNK_BYTES_PREFILL : CHUNK_BYTES) / rowBytes, 1, 1024);
        chunk = Math.min(chunk, Math.max(1, (n + 4L * threads - 1) / (4L * threads))); // ≥ 4 chunks per worker
        chunk = chunk > 1 ? chunk & ~1L : 1; // whole pairs of weight rows for the decode kernels
        lock.lock();
        try {
            float[] xs = x;
            if (w.dtype() == DType.BF16) {
                if (xPermuted.length < rows * k) {
                    xPermuted = new float[(int) (rows * k)];
                }
                VectorMatmulBf16.permuteBf16(x, rows, (int) k, xPermuted);
                xs = xPermuted;
            } else if (w.dtype() == DType.F16 && f16Chunks[0].length < chunk * k) {
                for (int t = 0; t < threads; t++) {
                    f16Chunks[t] = new float[(int) (chunk * k)];
                }
            }
            MatmulJob job = matmulJob;
            job.set(w, bias, xs, rows, out, (int) n, (int) k, (int) chunk, f16Chunks);
            try {
                execute(job, (long) rows * n * k >= PARALLEL_MACS);
            } finally {
                job.clear();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Packed weights dequantized inside the kernel ({@link VectorPacked}); LLM.int8 runs its own
     * activation-quantizing op ({@link PackedReference}). Chunks of weight rows as {@link #matmul}, sized
     * for about 16 KiB of packed weights each.
     */
    @Override
    public void matmulPacked(QuantizedWeight w, Tensor bias, float[] x, int rows, float[] out) {
        PackedReference.check(w, bias, x, rows, out);
        if (w instanceof dev.revenant.quant.GptqPacked g) { // groups made contiguous: the RTN kernel on permuted inputs
            matmulPacked(g.body(), bias, g.permuteInput(x, rows), rows, out);
            return;
        }
        if (w instanceof Int8Packed) {
            PackedReference.matmul(w, bias, x, rows, out);
            return;
        }
        long[] s = w.shape();
        int n = (int) s[0];
        int k = (int) s[1];
        if (rows <= 0 || n == 0) {
            return;
        }
        long rowBytes = Math.max(1, w.packedBytes() / n);
        long chunk = Math.clamp((16 << 10) / rowBytes, 1, 1024);
        chunk = Math.min(chunk, Math.max(1, (n + 4L * threads - 1) / (4L * threads))); // ≥ 4 chunks per worker
        lock.lock();
        try {
            packedJob.set(w, bias, x, rows, out, n, k, (int) chunk);
            try {
                execute(packedJob, (long) rows * n * k >= PARALLEL_MACS / 4);
            } finally {
                packedJob.clear();
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void attention(float[] q, int qRow, int tokens, int start, float[] k, float[] v, int nHeads, int nKv,
                          int headDim, int window, float scale, float[] out, int outRow, float[] scratch) {
        checkAttention(q, qRow, tokens, start, k, v, nHeads, nKv, headDim, out, outRow, scratch);
        if (tokens <= 0 || nHeads == 0) {
            return;
        }
        lock.lock();
        try {
            AttentionJob job = attentionJob;
            job.set(q, qRow, tokens, start, k, v, nHeads, nKv, headDim, window, scale, out, outRow, scratch);
            try {
                execute(job, (long) tokens * nHeads * (start + tokens) * headDim >= PARALLEL_MACS);
            } finally {
                job.clear();
            }
        } finally {
            lock.unlock();
        }
    }

    /** On the team, or on the caller alone when waking the workers would cost more than the work. */
    private void execute(VectorPool.Job job, boolean parallel) {
        if (parallel && threads > 1) {
            pool.run(job);
        } else {
            for (int i = 0, n = job.items(); i < n; i++) {
                job.run(i, 0);
            }
        }
    }

    private void checkAttention(float[] q, int qRow, int tokens, int start, float[] k, float[] v, int nHeads, int nKv,
                                int headDim, float[] out, int outRow, float[] scratch) {
        if (nKv <= 0 || nHeads % nKv != 0 || headDim <= 0 || tokens < 0 || start < 0 || qRow < 0 || outRow < 0) {
            throw new IllegalArgumentException("attention: expected nHeads a multiple of nKv > 0, headDim > 0 and"
                    + " non-negative rows, found nHeads=" + nHeads + " nKv=" + nKv + " headDim=" + headDim
                    + " tokens=" + tokens + " start=" + start + " qRow=" + qRow + " outRow=" + outRow);
        }
        long qDim = (long) nHeads * headDim;
        long kvNeed = (long) (start + tokens) * nKv * headDim;
        long scoresNeed = (long) (start + tokens) * threads;
        if ((qRow + (long) tokens) * qDim > q.length || (outRow + (long) tokens) * qDim > out.length
                || kvNeed > k.length || kvNeed > v.length || scoresNeed > scratch.length) {
            throw new IllegalArgumentException("attention of " + tokens + " tokens from position " + start
                    + ": needs q, out ≥ (row + tokens)·" + qDim + ", k, v ≥ " + kvNeed + ", scratch ≥ " + scoresNeed
                    + " floats, found q=" + q.length + " out=" + out.length + " k=" + k.length + " v=" + v.length
                    + " scratch=" + scratch.length);
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            pool.close();
        } finally {
            lock.unlock();
        }
    }

    /** One matmul call: its arguments; item c is the chunk of weight rows [c·chunk, (c + 1)·chunk). */
    private static final class MatmulJob implements VectorPool.Job {
        private MemorySegment w;
        private Tensor weight;
        private Tensor bias;
        private float[] x;
        private float[] out;
        private int rows;
        private int n;
        private int k;
        private int chunk;
        private int chunks;
        private float[][] f16Chunks;

        void set(Tensor weight, Tensor bias, float[] x, int rows, float[] out, int n, int k, int chunk,
                 float[][] f16Chunks) {
            this.f16Chunks = f16Chunks;
            this.weight = weight;
            this.w = weight.data();
            this.bias = bias;
            this.x = x;
            this.rows = rows;
            this.out = out;
            this.n = n;
            this.k = k;
            this.chunk = chunk;
            this.chunks = (n + chunk - 1) / chunk;
        }

        void clear() {
            weight = null;
            w = null;
            bias = null;
            x = null;
            out = null;
        }

        @Override
        public int items() {
            return chunks;
        }

        @Override
        public void run(int c, int worker) {
            int n0 = c * chunk;
            int n1 = Math.min(n, n0 + chunk);
            switch (weight.dtype()) {
                case F32 -> VectorMatmulF32.matmulF32(w, k, x, rows, out, n, n0, n1, bias);
                case BF16 -> VectorMatmulBf16.matmulBf16(w, k, x, rows, out, n, n0, n1, bias);
                case F16 -> VectorMatmulF16.matmulF16(w, k, x, rows, out, n, n0, n1, bias, f16Chunks[worker]);
                default -> throw new IllegalArgumentException(weight.describe() + ": unsupported dtype");
            }
        }
    }

    /**
     * One attention call: its arguments; an item is one token's run of query heads that share a kv
     * head (GQA), so the keys and values the first head pulls into L2 serve the rest; runs are kept
     * short enough that every worker gets some.
     */
    private final class AttentionJob implements VectorPool.Job {
        private float[] q;
        private float[] k;
        private float[] v;
        private float[] out;
        private float[] scratch;
        private int qRow;
        private int tokens;
        private int start;
        private int nHeads;
        private int nKv;
        private int headDim;
        private int window;
        private int outRow;
        private float scale;
        private int run;
        private int runsPerGroup;

        void set(float[] q, int qRow, int tokens, int start, float[] k, float[] v, int nHeads, int nKv, int headDim,
                 int window, float scale, float[] out, int outRow, float[] scratch) {
            this.q = q;
            this.qRow = qRow;
            this.tokens = tokens;
            this.start = start;
            this.k = k;
            this.v = v;
            this.nHeads = nHeads;
            this.nKv = nKv;
            this.headDim = headDim;
            this.window = window;
            this.scale = scale;
            this.out = out;
            this.outRow = outRow;
            this.scratch = scratch;
            int group = nHeads / nKv;
            this.run = (int) Math.clamp((long) tokens * nHeads / (2L * threads), 1, group);
            this.runsPerGroup = (group + run - 1) / run;
        }

        void clear() {
            q = null;
            k = null;
            v = null;
            out = null;
            scratch = null;
        }

        @Override
        public int items() {
            return tokens * nKv * runsPerGroup;
        }

        @Override
        public void run(int item, int worker) {
            int qDim = nHeads * headDim;
            int group = nHeads / nKv;
            int perToken = nKv * runsPerGroup;
            int t = item / perToken;
            int g = item % perToken / runsPerGroup;
            int h0 = g * group + item % runsPerGroup * run;
            int h1 = Math.min(h0 + run, (g + 1) * group);
            int pos = start + t;
            int lo = window > 0 ? Math.max(0, pos - window + 1) : 0;
            int so = worker * (start + tokens);
            for (int h = h0; h < h1; h++) {
                VectorAttention.head(q, (qRow + t) * qDim + h * headDim, k, v, nKv * headDim, g * headDim, headDim, lo,
                        pos, scale, scratch, so, out, (outRow + t) * qDim + h * headDim);
            }
        }
    }
}
