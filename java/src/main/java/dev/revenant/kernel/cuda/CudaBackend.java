package dev.revenant.kernel.cuda;

import dev.revenant.Settings;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.WeightReader;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.tensor.Tensor;
import java.util.IdentityHashMap;
import java.util.Map;
import jcuda.driver.CUdeviceptr;

/**
 * The CUDA backend. Weights become resident on first use (keyed by object identity, so a model's tensors
 * are uploaded once) and stay until {@link #close()}. The {@link Backend} ops below copy activations in
 * and results out on every call: they serve kernel tests and CPU-side callers. Whole-model runs go
 * through {@code CudaForward}, which keeps activations and KV caches on the device and only moves
 * token ids in and logits (or log-probabilities) out.
 *
 * <p>Math mode ({@link Settings#cudaMath()}): {@code exact} multiplies fp32 activations on CUDA cores
 * (every output in a fixed order, the parity mode); {@code tensor} rounds activations to bf16 and uses
 * tensor cores for BF16 and int4 weights. Both give a row the same result alone or in a batch.
 */
public final class CudaBackend implements Backend {
    private final CudaRuntime rt;
    private final CudaKernels kernels;
    private final boolean tensor;
    private final Map<Object, DeviceWeight> weights = new IdentityHashMap<>();
    private final Map<Tensor, DeviceBuffer> vectors = new IdentityHashMap<>();
    private final java.util.List<Runnable> onClose = new java.util.ArrayList<>();
    private DeviceBuffer in;
    private DeviceBuffer out;
    private DeviceBuffer kBuf;
    private DeviceBuffer vBuf;
    private DeviceBuffer scratch;

    public CudaBackend() {
        this(Settings.cudaMath().equals("tensor"));
    }

    public CudaBackend(boolean tensorCores) {
        this.rt = CudaRuntime.get();
        this.kernels = new CudaKernels(rt);
        this.tensor = tensorCores;
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int threads() {
        return 1;
    }

    public CudaKernels kernels() {
        return kernels;
    }

    public boolean tensorCores() {
        return tensor;
    }

    /** One line for the log. */
    public String describe() {
        return "backend: cuda (" + rt.describe() + ", " + (tensor ? "tensor-core bf16 math" : "exact fp32 math") + ")";
    }

    /** The resident copy of a dense weight. */
    public synchronized DeviceWeight weight(Tensor w) {
        rt.bind();
        return weights.computeIfAbsent(w, t -> DeviceWeight.dense((Tensor) t));
    }

    /** The resident copy of a packed weight. */
    public synchronized DeviceWeight weight(QuantizedWeight w) {
        rt.bind();
        return weights.computeIfAbsent(w, q -> DeviceWeight.packed((QuantizedWeight) q));
    }

    /** A 1-D tensor (norm weight, bias) resident as fp32; null stays null. */
    public synchronized DeviceBuffer vector(Tensor t) {
        if (t == null) {
            return null;
        }
        rt.bind();
        return vectors.computeIfAbsent(t, v -> DeviceBuffer.of(v.name() + " (fp32)", v.toFloatArray()));
    }

    /** Bytes of weights resident now. */
    public synchronized long residentBytes() {
        long b = 0;
        for (DeviceWeight w : weights.values()) {
            b += w.bytes();
        }
        for (DeviceBuffer v : vectors.values()) {
            b += v.bytes();
        }
        return b;
    }

    private static DeviceBuffer ensure(DeviceBuffer b, String what, long bytes) {
        if (b != null && b.bytes() >= bytes) {
            return b;
        }
        if (b != null) {
            b.close();
        }
        return DeviceBuffer.allocate(what, Math.max(bytes, b == null ? 0 : b.bytes() * 2));
    }

    private static CUdeviceptr ptr(DeviceBuffer b) {
        return b == null ? null : b.ptr();
    }

    @Override
    public synchronized void matmul(Tensor w, Tensor bias, float[] x, int rows, float[] o) {
        WeightReader.checkMatmul(w, bias, x, rows, o);
        run(weight(w), vector(bias), x, rows, o);
    }

    @Override
    public synchronized void matmulPacked(QuantizedWeight w, Tensor bias, float[] x, int rows, float[] o) {
        if (w instanceof dev.revenant.quant.GptqPacked g) { // the RTN kernels on permuted inputs
            run(weight(g.body()), vector(bias), g.permuteInput(x, rows), rows, o);
            return;
        }
        run(weight(w), vector(bias), x, rows, o);
    }

    private void run(DeviceWeight dw, DeviceBuffer bias, float[] x, int rows, float[] o) {
        rt.bind();
        int k = dw.k();
        int n = dw.n();
        in = ensure(in, "matmul input", 4L * rows * k);
        out = ensure(out, "matmul output", 4L * rows * n);
        in.upload(x, 0, rows * k);
        dw.matmul(kernels, in.ptr(), rows, ptr(bias), out.ptr(), tensor);
        out.download(0, o, 0, rows * n);
    }

    @Override
    public synchronized void attention(float[] q, int qRow, int tokens, int start, float[] k, float[] v, int nHeads, int nKv,
                                       int headDim, int window, float scale, float[] o, int outRow, float[] cpuScratch) {
        rt.bind();
        int qDim = nHeads * headDim;
        int kvDim = nKv * headDim;
        int len = start + tokens;
        in = ensure(in, "attention queries", 4L * tokens * qDim);
        out = ensure(out, "attention output", 4L * tokens * qDim);
        kBuf = ensure(kBuf, "attention keys", 4L * len * kvDim);
        vBuf = ensure(vBuf, "attention values", 4L * len * kvDim);
        scratch = ensure(scratch, "attention scores", 4L * tokens * nHeads * len);
        in.upload(q, qRow * qDim, tokens * qDim);
        kBuf.upload(k, 0, len * kvDim);
        vBuf.upload(v, 0, len * kvDim);
        kernels.attention(in.ptr(), tokens, start, kBuf.ptr(), vBuf.ptr(), nHeads, nKv, headDim, window, scale, out.ptr(),
                scratch.ptr());
        out.download(0, o, outRow * qDim, tokens * qDim);
    }

    /** Runs {@code r} when this backend closes (before its weights are freed). */
    public synchronized void onClose(Runnable r) {
        onClose.add(r);
    }

    @Override
    public synchronized void close() {
        rt.bind();
        onClose.forEach(Runnable::run);
        onClose.clear();
        for (DeviceWeight w : weights.values()) {
            w.close();
        }
        weights.clear();
        for (DeviceBuffer b : vectors.values()) {
            b.close();
        }
        vectors.clear();
        for (DeviceBuffer b : new DeviceBuffer[] {in, out, kBuf, vBuf, scratch}) {
            if (b != null) {
                b.close();
            }
        }
        in = out = kBuf = vBuf = scratch = null;
    }
}
