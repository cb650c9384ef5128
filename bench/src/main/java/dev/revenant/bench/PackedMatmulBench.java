package dev.revenant.bench;

import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.kernel.ReferenceBackend;
import dev.revenant.quant.Cast;
import dev.revenant.quant.Precision;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.Quantizers;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * matmul {@code out[rows, N] = x[rows, K] · w[N, K]ᵀ} with the weight at one of the precisions decode runs on:
 * bf16 ({@code Backend.matmul}) and the packed formats ({@code Backend.matmulPacked}: LLM.int8, GGUF q8_0/q4_0,
 * RTN, bitsandbytes fp4/nf4), at the Llama-7B projection shapes. The weight is replicated until the copies span
 * {@code spanMiB} and each call takes the next copy, so rows = 1 streams its weights from DRAM as decode does:
 * GB/s = the packed bytes setup prints / the time per call. Before timing, the first rows of the output are
 * checked against {@link ReferenceBackend} over every column (tolerance 1e-5 of Σ|x·w| per output, w the
 * dequantized weight).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xmx6g"})
public class PackedMatmulBench {

    @Param({"native", "vector"})
    public String backend;

    /** A name of {@code revenant quantize --help} (QuantSpec), bf16 or a packed format. */
    @Param({"bf16", "int8", "q8_0", "q4_0", "rtn-w4-g128", "fp4", "nf4"})
    public String precision;

    /** N x K (outputs x inputs): Llama-7B attention projection, MLP up/gate, MLP down. */
    @Param({"4096x4096", "11008x4096", "4096x11008"})
    public String shape;

    /** Activation rows: 1 = decode, 64 = a prefill / scoring batch. */
    @Param({"1", "64"})
    public int rows;

    /** Worker threads of the backend. */
    @Param({"2"})
    public int threads;

    /** The copies span at least this many MiB (at most 256 copies); 0: one copy, cache-resident after the first call. */
    @Param({"1024"})
    public int spanMiB;

    private Arena arena;
    private Backend be;
    private Tensor[] dense;
    private QuantizedWeight[] packed;
    private int copies;
    private int next;
    private float[] x;
    private float[] out;

    @Setup(Level.Trial)
    public void setup() {
        String[] nk = shape.split("x");
        int n = Integer.parseInt(nk[0]);
        int k = Integer.parseInt(nk[1]);
        Precision p = Precision.parse(precision);
        arena = Arena.ofShared();
        Tensor src = MatmulBench.BenchData.weights(arena, DType.F32, n, k, 42);
        x = MatmulBench.BenchData.floats(rows * k, 7);
        out = new float[rows * n];
        be = Backends.create(backend, threads);
        long bytes;
        Tensor ref; // the weight as the reference backend sees it, and F32 values for the tolerance
        Tensor values;
        if (p.kind() == Precision.Kind.FLOAT) {
            Tensor w = Cast.to(src, p.floatType(), arena);
            bytes = w.data().byteSize();
            copies = copies(bytes);
            dense = new Tensor[copies];
            dense[0] = w;
            for (int i = 1; i < copies; i++) {
                MemorySegment seg = arena.allocate(bytes, 64);
                MemorySegment.copy(w.data(), 0, seg, 0, bytes);
                dense[i] = new Tensor(w.name(), w.dtype(), w.shape(), seg);
            }
            ref = w;
            values = Cast.to(w, DType.F32, arena);
        } else {
            QuantizedWeight q = Quantizers.quantize(p, src);
            bytes = q.packedBytes();
            copies = copies(bytes);
            packed = new QuantizedWeight[copies];
            packed[0] = q;
            for (int i = 1; i < copies; i++) {
                packed[i] = Quantizers.copy(q);
            }
            ref = null;
            values = q.dequantize(arena);
        }
        System.out.println();
        System.out.printf("%s %s %s rows %d: %d packed bytes (GB/s = %d / (µs/op) / 1000) x %d copies%n",
                Backends.describe(be), precision, shape, rows, bytes, bytes, copies);
        check(ref, values, n, k);
    }

    private int copies(long bytes) {
        return (int) Math.max(1, Math.min(256, ((long) spanMiB << 20) / Math.max(1, bytes)));
    }

    /** Output rows 0 .. min(rows, 2) - 1 of this backend against the reference backend, every column. */
    private void check(Tensor dense0, Tensor values, int n, int k) {
        int rr = Math.min(rows, 2);
        call(0);
        float[] want = new float[rr * n];
        ReferenceBackend reference = new ReferenceBackend();
        if (dense0 != null) {
            reference.matmul(dense0, null, x, rr, want);
        } else {
            reference.matmulPacked(packed[0], null, x, rr, want);
        }
        for (int r = 0; r < rr; r++) {
            for (int j = 0; j < n; j++) {
                double mag = 0;
                for (int i = 0; i < k; i++) {
                    mag += Math.abs((double) x[r * k + i] * values.data().getAtIndex(Tensor.F32_LE, (long) j * k + i));
                }
                float got = out[r * n + j];
                float w = want[r * n + j];
                if (!(Math.abs(got - w) <= 1e-5 * Math.max(1, mag))) {
                    throw new IllegalStateException(be.name() + " " + precision + " " + shape + ": out[" + r + "," + j
                            + "] = " + got + ", reference " + w);
                }
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        be.close();
        arena.close();
    }

    private void call(int c) {
        if (dense != null) {
            be.matmul(dense[c], null, x, rows, out);
        } else {
            be.matmulPacked(packed[c], null, x, rows, out);
        }
    }

    @Benchmark
    public float[] matmul() {
        call(next);
        next = next + 1 == copies ? 0 : next + 1;
        return out;
    }
}
