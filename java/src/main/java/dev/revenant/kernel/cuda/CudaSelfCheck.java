package dev.revenant.kernel.cuda;

import dev.revenant.kernel.Elementwise;
import dev.revenant.kernel.PackedReference;
import dev.revenant.kernel.ReferenceBackend;
import dev.revenant.quant.Cast;
import dev.revenant.quant.Precision;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.Quantizers;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * Every CUDA kernel against the CPU reference, with odd sizes (design.md convention 1). Matmuls are held
 * to the rigorous bound of a reordered fp32 sum, {@code K · 2⁻²⁴ · Σ|x·w|} per output (any summation
 * order stays inside it; a wrong index or a lost term does not); elementwise ops mirror the CPU's
 * arithmetic and must agree to 1e-6 relative (norms, attention: reductions in another order) or
 * exactly (RoPE, argmax). Batch invariance is checked bit for bit: each row alone equals the same row
 * in a batch. Used by {@code revenant cuda check} and the {@code gpu} tests.
 */
public final class CudaSelfCheck {
    /** One check's outcome. */
    public record Result(String name, double error, double bound, boolean pass) {
        @Override
        public String toString() {
            return String.format("check %-52s err %-10.3g bound %-10.3g %s", name, error, bound, pass ? "PASS" : "FAIL");
        }
    }

    private final CudaBackend be;
    private final ReferenceBackend ref = new ReferenceBackend();
    private final List<Result> results = new ArrayList<>();
    private final PrintStream log;
    private final Random rnd = new Random(7);

    public CudaSelfCheck(CudaBackend be, PrintStream log) {
        this.be = be;
        this.log = log;
    }

    /** Runs every check; returns the results (also printed one per line). */
    public List<Result> run() {
        int[][] shapes = {{1, 1, 1}, {7, 31, 3}, {33, 127, 9}, {127, 4097, 1}, {64, 256, 17}, {300, 512, 8}};
        for (int[] s : shapes) {
            for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                guard("matmul " + t + " " + shape(s), () -> dense(t, s[0], s[1], s[2], false));
            }
            guard("gemm_tc BF16 " + shape(s), () -> dense(DType.BF16, s[0], s[1], s[2], true));
        }
        int[][] qshapes = {{7, 64, 3}, {33, 256, 9}, {127, 4096, 1}, {64, 384, 17}};
        for (int[] s : qshapes) {
            for (String p : new String[] {"rtn-w4-g128", "rtn-w4-g128-sym", "rtn-w8", "rtn-w3-g64", "rtn-w2-g64", "nf4", "fp4",
                    "q4_0", "q8_0"}) {
                guard("matmul " + p + " " + shape(s), () -> packed(p, s[0], s[1], s[2]));
            }
            guard("gemm_tc rtn-w4-g128 " + shape(s), () -> int4Tensor(s[0], s[1], s[2]));
        }
        guard("matmul rtn-w4 odd K (K=100, g=-1)", () -> packed("rtn-w4", 9, 100, 5));
        int[][] att = {{1, 0, 4, 2, 64, 0}, {1, 37, 8, 2, 128, 0}, {7, 5, 4, 4, 32, 0}, {33, 0, 6, 2, 80, 8}, {5, 100, 2, 1, 256, 16},
                {64, 0, 32, 8, 128, 0}};
        for (int[] a : att) {
            guard(String.format("attention t=%d start=%d h=%d kv=%d d=%d w=%d", a[0], a[1], a[2], a[3], a[4], a[5]),
                    () -> attention(a[0], a[1], a[2], a[3], a[4], a[5]));
        }
        guard("attention_batched + kv_append (3 sequences) == rv_attention each", this::attentionBatched);
        guard("rmsnorm rows=5 dim=4097", () -> rmsnorm(5, 4097, false));
        guard("rmsnorm+1 rows=3 dim=640", () -> rmsnorm(3, 640, true));
        guard("layernorm rows=4 dim=1000", () -> layernorm(4, 1000));
        for (int act = 0; act < 3; act++) {
            int a = act;
            guard("gate_act " + a + " n=10007", () -> gateAct(10007, a));
        }
        guard("rope rows=3 heads=5 d=64 rot=64", () -> rope(3, 5, 64, 32));
        guard("rope rows=2 heads=3 d=80 rot=32", () -> rope(2, 3, 80, 16));
        guard("log_softmax_gather rows=4 vocab=32001", () -> logSoftmax(4, 32001));
        guard("argmax rows=5 vocab=32001 (ties)", () -> argmax(5, 32001));
        return results;
    }

    private static String shape(int[] s) {
        return "N=" + s[0] + " K=" + s[1] + " rows=" + s[2];
    }

    private interface Check {
        void run();
    }

    private void guard(String name, Check c) {
        try {
            c.run();
        } catch (RuntimeException | LinkageError e) {
            add(new Result(name + " [" + e.getClass().getSimpleName() + ": " + e.getMessage() + "]", Double.NaN, 0, false));
        }
    }

    private void add(Result r) {
        results.add(r);
        log.println(r);
        log.flush();
    }

    private float[] randoms(int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextGaussian() * scale);
        }
        return a;
    }

    private Tensor weight(DType t, int n, int k, Arena arena) {
        Tensor f = Tensor.ofFloats("w", randoms(n * k, 0.05f), n, k);
        return t == DType.F32 ? f : Cast.to(f, t, arena);
    }

    // |got - want| ≤ K·2⁻²⁴·Σ|x·w| + tiny, per output; batch invariance: every row alone equals its batched value
    private void compareMatmul(String name, float[] got, float[] want, float[] absSum, int k) {
        double worst = 0;
        double worstBound = 0;
        boolean ok = true;
        for (int i = 0; i < got.length; i++) {
            double bound = k * 0x1p-24 * absSum[i] + 1e-30;
            double err = Math.abs((double) got[i] - want[i]);
            if (!(err <= bound)) {
                ok = false;
            }
            if (err / bound > worst / Math.max(worstBound, 1e-300) || i == 0) {
                worst = err;
                worstBound = bound;
            }
        }
        add(new Result(name, worst, worstBound, ok));
    }

    private static float[] absSums(float[] x, int rows, int k, int n, java.util.function.IntToDoubleFunction w) {
        float[] s = new float[rows * n];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < n; j++) {
                double a = 0;
                for (int i = 0; i < k; i++) {
                    a += Math.abs(x[r * k + i] * w.applyAsDouble(j * k + i));
                }
                s[r * n + j] = (float) a;
            }
        }
        return s;
    }

    private void rowInvariance(String name, DeviceWeight dw, float[] x, int rows, boolean tc) {
        int k = dw.k();
        int n = dw.n();
        float[] all = deviceMatmul(dw, x, rows, tc);
        boolean same = true;
        for (int r = 0; r < rows && same; r++) {
            float[] one = deviceMatmul(dw, java.util.Arrays.copyOfRange(x, r * k, (r + 1) * k), 1, tc);
            for (int j = 0; j < n; j++) {
                if (Float.floatToRawIntBits(one[j]) != Float.floatToRawIntBits(all[r * n + j])) {
                    same = false;
                    break;
                }
            }
        }
        add(new Result(name + " row alone == in batch", same ? 0 : 1, 0, same));
    }

    private float[] deviceMatmul(DeviceWeight dw, float[] x, int rows, boolean tc) {
        try (DeviceBuffer in = DeviceBuffer.of("x", x); DeviceBuffer out = DeviceBuffer.allocate("out", 4L * rows * dw.n())) {
            dw.matmul(be.kernels(), in.ptr(), rows, null, out.ptr(), tc);
            float[] o = new float[rows * dw.n()];
            out.download(0, o, 0, o.length);
            return o;
        }
    }

    private void dense(DType t, int n, int k, int rows, boolean tc) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = weight(t, n, k, arena);
            float[] x = randoms(rows * k, 1f);
            float[] xr = x;
            if (tc) { // tensor cores multiply bf16-rounded activations: the reference gets the same inputs
                xr = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    xr[i] = Tensor.bf16ToFloat(Tensor.floatToBf16(x[i]));
                }
            }
            float[] want = new float[rows * n];
            ref.matmul(w, null, xr, rows, want);
            try (DeviceWeight dw = DeviceWeight.dense(w)) {
                float[] got = deviceMatmul(dw, x, rows, tc);
                float[] xs = xr;
                compareMatmul((tc ? "gemm_tc " : "matmul ") + t + " N=" + n + " K=" + k + " rows=" + rows, got, want,
                        absSums(xs, rows, k, n, i -> w.getFloat(i)), k);
                if (rows > 1) {
                    rowInvariance((tc ? "gemm_tc " : "matmul ") + t + " N=" + n + " K=" + k, dw, x, rows, tc);
                }
            }
        }
    }

    private void packed(String precision, int n, int k, int rows) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = weight(DType.F32, n, k, arena);
            QuantizedWeight q = Quantizers.quantize(Precision.parse(precision), w);
            Tensor deq = q.dequantize(arena);
            float[] x = randoms(rows * k, 1f);
            float[] want = new float[rows * n];
            PackedReference.matmul(q, null, x, rows, want);
            try (DeviceWeight dw = DeviceWeight.packed(q)) {
                float[] got = deviceMatmul(dw, x, rows, false);
                compareMatmul("matmul " + precision + " N=" + n + " K=" + k + " rows=" + rows, got, want,
                        absSums(x, rows, k, n, i -> deq.getFloat(i)), k);
                if (rows > 1) {
                    rowInvariance("matmul " + precision + " N=" + n + " K=" + k, dw, x, rows, false);
                }
            }
        }
    }

    // int4 on tensor cores: the reference multiplies bf16(x) with bf16(dequantized w)
    private void int4Tensor(int n, int k, int rows) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = weight(DType.F32, n, k, arena);
            QuantizedWeight q = Quantizers.quantize(Precision.parse("rtn-w4-g128"), w);
            Tensor deqBf = Cast.to(q.dequantize(arena), DType.BF16, arena);
            float[] x = randoms(rows * k, 1f);
            float[] xr = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                xr[i] = Tensor.bf16ToFloat(Tensor.floatToBf16(x[i]));
            }
            float[] want = new float[rows * n];
            ref.matmul(deqBf, null, xr, rows, want);
            try (DeviceWeight dw = DeviceWeight.packed(q)) {
                float[] got = deviceMatmul(dw, x, rows, true);
                compareMatmul("gemm_tc rtn-w4-g128 N=" + n + " K=" + k + " rows=" + rows, got, want,
                        absSums(xr, rows, k, n, i -> deqBf.getFloat(i)), k);
                if (rows > 1) {
                    rowInvariance("gemm_tc rtn-w4-g128 N=" + n + " K=" + k, dw, x, rows, true);
                }
            }
        }
    }

    private void attention(int tokens, int start, int nHeads, int nKv, int headDim, int window) {
        int len = start + tokens;
        float[] q = randoms(tokens * nHeads * headDim, 1f);
        float[] k = randoms(len * nKv * headDim, 1f);
        float[] v = randoms(len * nKv * headDim, 1f);
        float scale = (float) (1.0 / Math.sqrt(headDim));
        float[] want = new float[q.length];
        ref.attention(q, 0, tokens, start, k, v, nHeads, nKv, headDim, window, scale, want, 0, new float[len]);
        float[] got = new float[q.length];
        be.attention(q, 0, tokens, start, k, v, nHeads, nKv, headDim, window, scale, got, 0, null);
        double err = maxAbs(got, want);
        add(new Result(String.format("attention t=%d start=%d h=%d kv=%d d=%d w=%d", tokens, start, nHeads, nKv, headDim, window),
                err, 1e-5, err <= 1e-5));
    }

    // three sequences (prefill of 4 after 3 cached, decode of 1 after 9, prefill of 6) in one batched launch:
    // each row bit-identical to rv_attention on its own sequence; kv_append must place k/v where they belong
    private void attentionBatched() {
        int nHeads = 8;
        int nKv = 2;
        int headDim = 64;
        int kvDim = nKv * headDim;
        int qDim = nHeads * headDim;
        int[] starts = {3, 9, 0};
        int[] ns = {4, 1, 6};
        int rows = 0;
        int stride = 0;
        for (int s = 0; s < 3; s++) {
            rows += ns[s];
            stride = Math.max(stride, starts[s] + ns[s]);
        }
        float scale = 0.125f;
        float[] q = randoms(rows * qDim, 1f);
        float[] kNew = randoms(rows * kvDim, 1f);
        float[] vNew = randoms(rows * kvDim, 1f);
        float[][] kc = new float[3][];
        float[][] vc = new float[3][];
        int[] seq = new int[rows];
        int[] pos = new int[rows];
        int r = 0;
        for (int s = 0; s < 3; s++) {
            kc[s] = randoms((starts[s] + ns[s]) * kvDim, 1f);
            vc[s] = randoms((starts[s] + ns[s]) * kvDim, 1f);
            for (int t = 0; t < ns[s]; t++, r++) {
                seq[r] = s;
                pos[r] = starts[s] + t;
                System.arraycopy(kNew, r * kvDim, kc[s], pos[r] * kvDim, kvDim);
                System.arraycopy(vNew, r * kvDim, vc[s], pos[r] * kvDim, kvDim);
            }
        }
        float[] want = new float[rows * qDim];
        r = 0;
        for (int s = 0; s < 3; s++) {
            float[] qs = java.util.Arrays.copyOfRange(q, r * qDim, (r + ns[s]) * qDim);
            float[] o = new float[qs.length];
            be.attention(qs, 0, ns[s], starts[s], kc[s], vc[s], nHeads, nKv, headDim, 0, scale, o, 0, null);
            System.arraycopy(o, 0, want, r * qDim, o.length);
            r += ns[s];
        }
        DeviceBuffer[] dk = new DeviceBuffer[3];
        DeviceBuffer[] dv = new DeviceBuffer[3];
        try (DeviceBuffer dq = DeviceBuffer.of("q", q); DeviceBuffer dkn = DeviceBuffer.of("k", kNew);
             DeviceBuffer dvn = DeviceBuffer.of("v", vNew); DeviceBuffer ds = DeviceBuffer.of("seq", seq);
             DeviceBuffer dp = DeviceBuffer.of("pos", pos); DeviceBuffer out = DeviceBuffer.allocate("out", 4L * rows * qDim);
             DeviceBuffer scratch = DeviceBuffer.allocate("scratch", 4L * rows * nHeads * stride);
             DeviceBuffer tab = DeviceBuffer.allocate("table", 8L * 6)) {
            long[] addr = new long[6];
            for (int s = 0; s < 3; s++) {
                float[] kOld = kc[s].clone();
                float[] vOld = vc[s].clone();
                java.util.Arrays.fill(kOld, starts[s] * kvDim, kOld.length, Float.NaN); // kv_append must fill these
                java.util.Arrays.fill(vOld, starts[s] * kvDim, vOld.length, Float.NaN);
                dk[s] = DeviceBuffer.of("kc" + s, kOld);
                dv[s] = DeviceBuffer.of("vc" + s, vOld);
                addr[s] = dk[s].address();
                addr[3 + s] = dv[s].address();
            }
            JCudaDriver.cuMemcpyHtoD(tab.ptr(), Pointer.to(addr), 8L * addr.length);
            be.kernels().kvAppend(dkn.ptr(), dvn.ptr(), rows, kvDim, ds.ptr(), dp.ptr(), tab.ptr(), tab.at(24));
            be.kernels().attentionBatched(dq.ptr(), rows, ds.ptr(), dp.ptr(), tab.ptr(), tab.at(24), nHeads, nKv, headDim, 0,
                    scale, out.ptr(), scratch.ptr(), stride);
            float[] got = download(out, rows * qDim);
            boolean same = true;
            for (int i = 0; i < got.length; i++) {
                same &= Float.floatToRawIntBits(got[i]) == Float.floatToRawIntBits(want[i]);
            }
            add(new Result("attention_batched + kv_append (3 sequences) == rv_attention each (bitwise)", maxAbs(got, want), 0, same));
        } finally {
            for (int s = 0; s < 3; s++) {
                if (dk[s] != null) {
                    dk[s].close();
                }
                if (dv[s] != null) {
                    dv[s].close();
                }
            }
        }
    }

    private static double maxAbs(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            m = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(m, d);
        }
        return m;
    }

    // max relative error |a-b| / max(|b|, 1e-30)
    private static double maxRel(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-30);
            m = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(m, d);
        }
        return m;
    }

    private float[] download(DeviceBuffer b, int n) {
        float[] o = new float[n];
        b.download(0, o, 0, n);
        return o;
    }

    private void rmsnorm(int rows, int dim, boolean plusOne) {
        float[] x = randoms(rows * dim, 2f);
        float[] wv = randoms(dim, 1f);
        float[] want = new float[x.length];
        Elementwise.rmsnorm(x, 0, want, 0, rows, dim, Tensor.ofFloats("w", wv, dim), 1e-6f, plusOne);
        try (DeviceBuffer dx = DeviceBuffer.of("x", x); DeviceBuffer dw = DeviceBuffer.of("w", wv)) {
            be.kernels().rmsnorm(dx.ptr(), dx.ptr(), rows, dim, dw.ptr(), 1e-6f, plusOne);
            double err = maxRel(download(dx, x.length), want);
            add(new Result("rmsnorm" + (plusOne ? "+1" : "") + " rows=" + rows + " dim=" + dim + " (in place)", err, 1e-6, err <= 1e-6));
        }
    }

    private void layernorm(int rows, int dim) {
        float[] x = randoms(rows * dim, 2f);
        float[] wv = randoms(dim, 1f);
        float[] bv = randoms(dim, 1f);
        float[] want = new float[x.length];
        Elementwise.layernorm(x, 0, want, 0, rows, dim, Tensor.ofFloats("w", wv, dim), Tensor.ofFloats("b", bv, dim), 1e-5f);
        try (DeviceBuffer dx = DeviceBuffer.of("x", x); DeviceBuffer dy = DeviceBuffer.allocate("y", 4L * x.length);
             DeviceBuffer dw = DeviceBuffer.of("w", wv); DeviceBuffer db = DeviceBuffer.of("b", bv)) {
            be.kernels().layernorm(dx.ptr(), dy.ptr(), rows, dim, dw.ptr(), db.ptr(), 1e-5f);
            double err = maxAbs(download(dy, x.length), want);
            add(new Result("layernorm rows=" + rows + " dim=" + dim, err, 1e-5, err <= 1e-5));
        }
    }

    private void gateAct(int n, int act) {
        float[] g = randoms(n, 3f);
        float[] u = randoms(n, 1f);
        float[] want = new float[n];
        for (int i = 0; i < n; i++) {
            float a = switch (act) {
                case 0 -> Elementwise.silu(g[i]);
                case 1 -> Elementwise.geluTanh(g[i]);
                default -> Elementwise.gelu(g[i]);
            };
            want[i] = a * u[i];
        }
        try (DeviceBuffer dg = DeviceBuffer.of("gate", g); DeviceBuffer du = DeviceBuffer.of("up", u)) {
            be.kernels().gateAct(dg.ptr(), du.ptr(), n, act);
            double err = maxRel(download(dg, n), want);
            add(new Result("gate_act " + new String[] {"silu", "gelu_tanh", "gelu"}[act] + " n=" + n, err, 1e-6, err <= 1e-6));
        }
    }

    private void rope(int rows, int heads, int headDim, int half) {
        float[] x = randoms(rows * heads * headDim, 1f);
        float[] cos = randoms(rows * half, 1f);
        float[] sin = randoms(rows * half, 1f);
        float[] want = x.clone();
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                int b = (r * heads + h) * headDim;
                for (int i = 0; i < half; i++) {
                    float x1 = want[b + i];
                    float x2 = want[b + i + half];
                    float c = cos[r * half + i];
                    float s = sin[r * half + i];
                    want[b + i] = x1 * c + (-x2) * s;
                    want[b + i + half] = x2 * c + x1 * s;
                }
            }
        }
        try (DeviceBuffer dx = DeviceBuffer.of("x", x); DeviceBuffer dc = DeviceBuffer.of("cos", cos); DeviceBuffer ds = DeviceBuffer.of("sin", sin)) {
            be.kernels().rope(dx.ptr(), rows, heads, headDim, half, dc.ptr(), ds.ptr());
            double err = maxAbs(download(dx, x.length), want);
            add(new Result("rope rows=" + rows + " heads=" + heads + " d=" + headDim + " half=" + half + " (bit-exact)", err, 0, err == 0));
        }
    }

    private void logSoftmax(int rows, int vocab) {
        float[] l = randoms(rows * vocab, 4f);
        int[] t = new int[rows];
        float[] want = new float[rows];
        for (int r = 0; r < rows; r++) {
            t[r] = rnd.nextInt(vocab);
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < vocab; i++) {
                max = Math.max(max, l[r * vocab + i]);
            }
            double sum = 0;
            for (int i = 0; i < vocab; i++) {
                sum += Math.exp(l[r * vocab + i] - max);
            }
            want[r] = (float) (l[r * vocab + t[r]] - max - Math.log(sum));
        }
        try (DeviceBuffer dl = DeviceBuffer.of("logits", l); DeviceBuffer dt = DeviceBuffer.of("targets", t);
             DeviceBuffer out = DeviceBuffer.allocate("out", 4L * rows)) {
            be.kernels().logSoftmaxGather(dl.ptr(), rows, vocab, dt.ptr(), out.ptr());
            double err = maxRel(download(out, rows), want);
            add(new Result("log_softmax_gather rows=" + rows + " vocab=" + vocab, err, 1e-6, err <= 1e-6));
        }
    }

    private void argmax(int rows, int vocab) {
        float[] l = randoms(rows * vocab, 1f);
        int[] want = new int[rows];
        for (int r = 0; r < rows; r++) {
            int a = rnd.nextInt(vocab);
            int b2 = rnd.nextInt(vocab);
            l[r * vocab + a] = 10f; // a tie: the lower index wins
            l[r * vocab + b2] = 10f;
            want[r] = Math.min(a, b2);
        }
        try (DeviceBuffer dl = DeviceBuffer.of("logits", l); DeviceBuffer out = DeviceBuffer.allocate("out", 4L * rows)) {
            be.kernels().argmax(dl.ptr(), rows, vocab, out.ptr());
            int[] got = new int[rows];
            out.download(got, rows);
            boolean ok = java.util.Arrays.equals(got, want);
            add(new Result("argmax rows=" + rows + " vocab=" + vocab + " (ties to lowest)", ok ? 0 : 1, 0, ok));
        }
    }

    /** For callers that want raw device access in checks. */
    static void copyIn(CUdeviceptr dst, float[] src) {
        JCudaDriver.cuMemcpyHtoD(dst, Pointer.to(src), 4L * src.length);
    }
}
