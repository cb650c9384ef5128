package dev.revenant.kernel.cuda;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;

import dev.revenant.quant.Cast;
import dev.revenant.quant.Precision;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.Quantizers;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import jcuda.driver.CUevent;

/**
 * Kernel benchmarks on the GPU, each against a floor measured in the same process: device-to-device copy
 * bandwidth (bytes read + written per second), then GEMV at batch 1 as a fraction of it (weights streamed
 * from DRAM: enough copies of each weight are cycled to defeat the L2 cache), then the tensor-core GEMM in
 * TFLOP/s. Times are CUDA-event medians.
 */
public final class CudaBench {
    public static final int[][] SHAPES = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
    private static final long COLD_BYTES = 1L << 30; // cycle at least this much weight memory (L2 is 50–60 MB)

    private final CudaBackend be;
    private final PrintStream log;
    private final Map<String, Object> results = new LinkedHashMap<>();

    public CudaBench(CudaBackend be, PrintStream log) {
        this.be = be;
        this.log = log;
    }

    public Map<String, Object> results() {
        return results;
    }

    /**
     * Median milliseconds per op: each of {@code iters} samples times {@code reps} back-to-back runs of
     * {@code op} between two events (so launch gaps of the host do not count as kernel time), after
     * {@code warm} untimed runs.
     */
    static double medianMs(int warm, int iters, int reps, Runnable op) {
        for (int i = 0; i < warm; i++) {
            op.run();
        }
        CUevent a = new CUevent();
        CUevent b = new CUevent();
        cuEventCreate(a, 0);
        cuEventCreate(b, 0);
        double[] t = new double[iters];
        float[] ms = new float[1];
        for (int i = 0; i < iters; i++) {
            cuEventRecord(a, null);
            for (int r = 0; r < reps; r++) {
                op.run();
            }
            cuEventRecord(b, null);
            cuEventSynchronize(b);
            cuEventElapsedTime(ms, a, b);
            t[i] = ms[0] / reps;
        }
        cuEventDestroy(a);
        cuEventDestroy(b);
        Arrays.sort(t);
        return t[iters / 2];
    }

    /** Device-to-device copy of 1 GiB: GB/s counting bytes read and written. */
    public double copyBandwidth() {
        long n = 1L << 30;
        try (DeviceBuffer a = DeviceBuffer.allocate("copy source", n); DeviceBuffer b = DeviceBuffer.allocate("copy target", n)) {
            a.zero();
            double ms = medianMs(3, 20, 1, () -> DeviceBuffer.copy(b.ptr(), a.ptr(), n));
            double gbs = 2.0 * n / (ms * 1e-3) / 1e9;
            log.printf("bench copy 1 GiB d2d: %.3f ms, %.0f GB/s (read + write)%n", ms, gbs);
            results.put("copy_gbs", gbs);
            return gbs;
        }
    }

    /** GEMV (rows = 1) of each precision and shape: µs, GB/s over the weight bytes, fraction of the copy bandwidth. */
    public void gemv(double copyGbs, List<String> precisions, boolean tensor) {
        Random rnd = new Random(1);
        for (int[] s : SHAPES) {
            int n = s[0];
            int k = s[1];
            float[] wv = new float[n * k];
            for (int i = 0; i < wv.length; i++) {
                wv[i] = (float) (rnd.nextGaussian() * 0.02);
            }
            float[] x = new float[k];
            for (int i = 0; i < k; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            try (Arena arena = Arena.ofConfined()) {
                Tensor f32 = Tensor.ofFloats("w", wv, n, k);
                for (String p : precisions) {
                    List<DeviceWeight> copies = new ArrayList<>();
                    try (DeviceBuffer in = DeviceBuffer.of("x", x); DeviceBuffer out = DeviceBuffer.allocate("y", 4L * n)) {
                        DeviceWeight first = upload(p, f32, arena);
                        copies.add(first);
                        int count = (int) Math.max(1, Math.min(256, COLD_BYTES / first.bytes()));
                        for (int c = 1; c < count; c++) {
                            copies.add(DeviceWeight.copyOf(first));
                        }
                        int[] next = {0};
                        int iters = 30;
                        double ms = medianMs(count, iters, copies.size(), () -> {
                            DeviceWeight w = copies.get(next[0]++ % copies.size());
                            w.matmul(be.kernels(), in.ptr(), 1, null, out.ptr(), tensor);
                        });
                        double gbs = first.bytes() / (ms * 1e-3) / 1e9;
                        String key = "gemv " + p + (tensor ? " tc" : "") + " " + n + "x" + k;
                        log.printf("bench %-36s %8.1f us  %7.0f GB/s  %.2f of copy bandwidth (%d cold copies)%n", key, ms * 1e3, gbs,
                                gbs / copyGbs, copies.size());
                        results.put(key + " us", ms * 1e3);
                        results.put(key + " frac_copy", gbs / copyGbs);
                    } catch (RuntimeException e) {
                        log.println("bench gemv " + p + " " + n + "x" + k + " FAILED: " + e);
                    } finally {
                        for (DeviceWeight w : copies) {
                            w.close();
                        }
                    }
                }
            }
        }
    }

    private static DeviceWeight upload(String p, Tensor f32, Arena arena) {
        return switch (p) {
            case "f32" -> DeviceWeight.dense(f32);
            case "bf16" -> DeviceWeight.dense(Cast.to(f32, DType.BF16, arena));
            case "f16" -> DeviceWeight.dense(Cast.to(f32, DType.F16, arena));
            default -> DeviceWeight.packed(quantized(p, f32));
        };
    }

    private static final Map<String, QuantizedWeight> QUANTIZED = new java.util.HashMap<>();

    private static QuantizedWeight quantized(String p, Tensor f32) {
        return QUANTIZED.computeIfAbsent(p + f32.dim(0) + "x" + f32.dim(1), key -> Quantizers.quantize(Precision.parse(p), f32));
    }

    /** The tensor-core GEMM at each M and shape: µs and TFLOP/s. */
    public void gemm(int[] ms, String precision) {
        Random rnd = new Random(2);
        for (int[] s : SHAPES) {
            int n = s[0];
            int k = s[1];
            float[] wv = new float[n * k];
            for (int i = 0; i < wv.length; i++) {
                wv[i] = (float) (rnd.nextGaussian() * 0.02);
            }
            try (Arena arena = Arena.ofConfined(); DeviceWeight w = upload(precision, Tensor.ofFloats("w", wv, n, k), arena)) {
                for (int m : ms) {
                    float[] x = new float[m * k];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) rnd.nextGaussian();
                    }
                    try (DeviceBuffer in = DeviceBuffer.of("x", x); DeviceBuffer out = DeviceBuffer.allocate("y", 4L * m * n)) {
                        double t = medianMs(3, 20, m <= 128 ? 10 : 3, () -> w.matmul(be.kernels(), in.ptr(), m, null, out.ptr(), true));
                        double tflops = 2.0 * m * n * k / (t * 1e-3) / 1e12;
                        String key = "gemm_tc " + precision + " M=" + m + " " + n + "x" + k;
                        log.printf("bench %-36s %9.1f us  %6.1f TFLOP/s%n", key, t * 1e3, tflops);
                        results.put(key + " tflops", tflops);
                    }
                }
            } catch (RuntimeException e) {
                log.println("bench gemm " + precision + " " + n + "x" + k + " FAILED: " + e);
            }
        }
    }
}
