package dev.revenant.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Bandwidth;
import dev.revenant.kernel.FmaPeak;
import dev.revenant.quant.Cast;
import dev.revenant.quant.Precision;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.Quantizers;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code revenant bench matmul}: one weight matrix at one precision, against both floors measured in the
 * same run: bytes the kernel reads over read bandwidth, and flops over the FMA peak. Weights are
 * replicated over ≥ 1 GiB and each call uses the next copy, so they come from DRAM as in decode.
 */
@Command(name = "matmul", mixinStandardHelpOptions = true,
        description = "GB/s and GFLOP/s of one matmul (weights OUTxIN at --precision, --batch rows), with this machine's "
                + "read bandwidth and FMA peak measured in the same run and the ratios to them.")
final class BenchMatmul implements Callable<Integer> {
    @Option(names = "--shape", defaultValue = "4096x4096", description = "OUTxIN (default: ${DEFAULT-VALUE})")
    String shape;

    @Option(names = "--batch", defaultValue = "1", description = "activation rows M (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--iters", defaultValue = "0",
            description = "timed calls (default 0: as many as take about 2 s, at least 20, after at least 1 s of warm-up calls)")
    int iters;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Mixin
    BackendOptions backend = new BackendOptions();

    @Override
    public Integer call() throws Exception {
        String[] d = shape.toLowerCase().split("x");
        if (d.length != 2) {
            throw new IllegalArgumentException("--shape: expected OUTxIN, e.g. 4096x11008, found '" + shape + "'");
        }
        int out = Integer.parseInt(d[0].trim());
        int in = Integer.parseInt(d[1].trim());
        Precision p = backend.precision() == null ? Precision.parse("bf16") : backend.precision();
        try (Arena arena = Arena.ofShared(); Backend be = backend.create()) {
            Tensor src = random(out, in, arena);
            float[] x = new float[batch * in];
            SplittableRandom r = new SplittableRandom(1);
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextDouble(-1, 1);
            }
            float[] y = new float[batch * out];
            String kernel;
            long packed;
            long wBytes;
            long[] ns;
            if (p.kind() == Precision.Kind.FLOAT) {
                Tensor w = Cast.to(src, p.floatType(), arena);
                kernel = "matmul" + p.floatType().name().charAt(0) + p.floatType().name().substring(1).toLowerCase();
                packed = w.data().byteSize();
                wBytes = w.data().byteSize();
                int copies = copies(wBytes);
                Tensor[] reps = new Tensor[copies];
                for (int c = 0; c < copies; c++) {
                    MemorySegment m = arena.allocate(wBytes, 64);
                    m.copyFrom(w.data());
                    reps[c] = new Tensor(w.name(), w.dtype(), w.shape(), m);
                }
                ns = time(copies, i -> be.matmul(reps[i % copies], null, x, batch, y));
            } else {
                // the packed kernel on the packed record; copies of its arrays (one quantization) so they come from DRAM
                QuantizedWeight q = Quantizers.quantize(p, src);
                // the native backend runs every packed format in C; vector: the Vector API kernels
                kernel = PackedKernels.name(q) + (be.name().equals("reference") ? " (reference)"
                        : be instanceof dev.revenant.kernel.NativeCpuBackend nb ? " (native C, " + nb.kernel() + ")" : " (vector)");
                packed = q.packedBytes();
                wBytes = packed;
                int copies = copies(wBytes);
                QuantizedWeight[] reps = new QuantizedWeight[copies];
                for (int c = 0; c < copies; c++) {
                    reps[c] = Quantizers.copy(q);
                }
                ns = time(copies, i -> be.matmulPacked(reps[i % copies], null, x, batch, y));
            }
            Arrays.sort(ns);
            double sec = ns[ns.length / 2] / 1e9;
            double readBw = Bandwidth.readBytesPerSecond(1L << 30, be.threads(), 5);
            double peak = FmaPeak.gflops(be.threads(), 3);
            double gbps = wBytes / sec / 1e9;
            double gflops = 2.0 * batch * out * (double) in / sec / 1e9;
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("precision", p.name());
            o.put("kernel", kernel);
            o.put("backend", be.name());
            o.put("threads", be.threads());
            o.put("shape", out + "x" + in);
            o.put("batch", batch);
            o.put("median_ms", sec * 1e3);
            o.put("calls", ns.length);
            o.put("weight_bytes_read", wBytes);
            o.put("packed_bytes", packed);
            o.put("gbps", gbps);
            o.put("gflops", gflops);
            o.put("read_bw_gbps", readBw / 1e9);
            o.put("fma_peak_gflops", peak);
            o.put("ratio_bw", gbps / (readBw / 1e9));
            o.put("ratio_fma", gflops / peak);
            o.put("cpu", BenchCommand.cpuModel());
            if (be instanceof dev.revenant.kernel.NativeCpuBackend nb) {
                o.put("panel_bytes", nb.panelBytes()); // weight panels held (revenant_cpu.h, "Panels")
            }
            if (json) {
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(o));
            } else {
                System.out.printf("matmul %s %dx%d batch %d (%s, %s, %d threads): median %.3f ms%n", p.name(), out, in, batch,
                        kernel, be.name(), be.threads(), sec * 1e3);
                System.out.printf("  %.2f GB/s of weights (%.2f of %.2f GB/s read bandwidth), %.1f GFLOP/s (%.2f of %.1f GFLOP/s FMA peak)%n",
                        gbps, gbps / (readBw / 1e9), readBw / 1e9, gflops, gflops / peak, peak);
                if (o.get("panel_bytes") instanceof Long pb && pb > 0) {
                    System.out.printf("  weight panels: %.1f MiB (a copy of each weight in the GEMM's reading order)%n", pb / 1048576.0);
                }
            }
        }
        return 0;
    }

    /**
     * Times calls {@code call(i)} (i counting on from the warm-up, so each call takes the next weight copy): warm-up
     * until at least 1 s and 8 calls, and one call per copy (the native backend builds a weight's panel on its first
     * batched call), have passed (the JIT compiles the Java side of the call; a handful of calls left
     * it interpreted and the timings 10-40 % slow at batch 1), then {@code --iters} calls, or by default as many as take
     * about 2 s (at least 20, at most 5000). Returns each timed call's nanoseconds.
     */
    private long[] time(int copies, java.util.function.IntConsumer call) {
        int i = 0;
        long w0 = System.nanoTime();
        while (i < Math.max(8, copies) || System.nanoTime() - w0 < 1_000_000_000L) {
            call.accept(i++);
        }
        double perCall = (System.nanoTime() - w0) / (double) i;
        int n = iters > 0 ? iters : (int) Math.max(20, Math.min(5000, 2e9 / perCall));
        long[] ns = new long[n];
        for (int t = 0; t < n; t++) {
            long t0 = System.nanoTime();
            call.accept(i++);
            ns[t] = System.nanoTime() - t0;
        }
        return ns;
    }

    /** Copies enough to span ≥ 1 GiB (at most 256), so each call reads its weights from DRAM. */
    private static int copies(long bytes) {
        return (int) Math.max(1, Math.min(256, ((1L << 30) + bytes - 1) / Math.max(1, bytes)));
    }

    private static Tensor random(int out, int in, Arena arena) {
        long n = (long) out * in;
        MemorySegment m = arena.allocate(n * 4, 64);
        SplittableRandom r = new SplittableRandom(7);
        for (long i = 0; i < n; i++) {
            m.setAtIndex(Tensor.F32_LE, i, (float) (r.nextDouble(-1, 1) * 0.02));
        }
        return new Tensor("bench.weight", DType.F32, new long[] {out, in}, m);
    }
}
