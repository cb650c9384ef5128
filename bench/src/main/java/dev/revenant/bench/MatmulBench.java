package dev.revenant.bench;

import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.kernel.ReferenceBackend;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
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
 * matmul {@code out[rows, N] = x[rows, K] · w[N, K]ᵀ} per backend, weight dtype and shape. Weights
 * live off-heap (as a mapped checkpoint would), so rows=1 measures how close decode gets to the
 * memory read bandwidth: GB/s = N·K·bytes(dtype) / time. Checked against ReferenceBackend in setup.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatmulBench {

    @Param({"reference", "vector", "native"})
    public String backend;

    @Param({"f32", "bf16"})
    public String dtype;

    /** N x K (outputs x inputs): a 1B-class attention projection and MLP. */
    @Param({"2048x2048", "5632x2048"})
    public String shape;

    @Param({"1", "16"})
    public String rows;

    /**
     * Weights are replicated until the copies span this many MiB, and each call uses the next copy,
     * so rows=1 streams from DRAM as decode does (this VM reports a 480 MiB L3, which holds one
     * projection many times over). 0: one copy, cache-resident after the first call.
     */
    @Param({"1024"})
    public int spanMiB;

    /** Worker threads of the vector backend; 0 = all cores (Settings.defaultThreads is not consulted here). */
    @Param({"0"})
    public int threads;

    private Arena arena;
    private Backend be;
    private Tensor w;
    private Tensor[] copies;
    private int next;
    private float[] x;
    private float[] out;
    private int r;

    @Setup(Level.Trial)
    public void setup() {
        String[] nk = shape.split("x");
        int n = Integer.parseInt(nk[0]);
        int k = Integer.parseInt(nk[1]);
        r = Integer.parseInt(rows);
        DType dt = switch (dtype) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            default -> throw new IllegalArgumentException("dtype " + dtype + ": expected f32, bf16 or f16");
        };
        arena = Arena.ofShared();
        w = BenchData.weights(arena, dt, n, k, 42);
        long bytes = w.data().byteSize();
        copies = new Tensor[(int) Math.max(1, ((long) spanMiB << 20) / bytes)];
        copies[0] = w;
        for (int i = 1; i < copies.length; i++) {
            MemorySegment seg = arena.allocate(bytes, 64);
            MemorySegment.copy(w.data(), 0, seg, 0, bytes);
            copies[i] = new Tensor("w", dt, w.shape(), seg);
        }
        x = BenchData.floats(r * k, 7);
        out = new float[r * n];
        int t = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        be = Backends.create(backend, t);
        System.out.println();
        System.out.println(Backends.describe(be) + ", weights " + w.describe() + " " + (bytes >> 20) + " MiB × "
                + copies.length + " copies");
        BenchData.checkMatmul(be, new ReferenceBackend(), w, x, r, out);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        be.close();
        arena.close();
    }

    @Benchmark
    public float[] matmul() {
        Tensor cur = copies[next];
        next = next + 1 == copies.length ? 0 : next + 1;
        be.matmul(cur, null, x, r, out);
        return out;
    }

    /** Weights with a deterministic random fill; kept separate from the timed class. */
    static final class BenchData {
        private BenchData() {
        }

        static Tensor weights(Arena arena, DType dt, int n, int k, long seed) {
            MemorySegment seg = arena.allocate((long) n * k * dt.byteSize(), 64);
            SplittableRandom rnd = new SplittableRandom(seed);
            for (long i = 0; i < (long) n * k; i++) {
                float f = (float) (rnd.nextDouble() * 2 - 1);
                switch (dt) {
                    case F32 -> seg.setAtIndex(Tensor.F32_LE, i, f);
                    case BF16 -> seg.setAtIndex(Tensor.I16_LE, i, Tensor.floatToBf16(f));
                    case F16 -> seg.setAtIndex(Tensor.I16_LE, i, Float.floatToFloat16(f));
                    default -> throw new IllegalArgumentException(dt.toString());
                }
            }
            return new Tensor("w", dt, new long[] {n, k}, seg);
        }

        static float[] floats(int count, long seed) {
            SplittableRandom rnd = new SplittableRandom(seed);
            float[] a = new float[count];
            for (int i = 0; i < count; i++) {
                a[i] = (float) (rnd.nextDouble() * 2 - 1);
            }
            return a;
        }

        /** Throws unless {@code be} matches the reference within the tests' tolerance on a sample of outputs. */
        static void checkMatmul(Backend be, Backend ref, Tensor w, float[] x, int rows, float[] out) {
            int n = (int) w.dim(0);
            int k = (int) w.dim(1);
            be.matmul(w, null, x, rows, out);
            // the reference over the full shape takes seconds; check all rows on a stride of columns instead
            int step = Math.max(1, n / 64);
            float[] xr = new float[k];
            for (int j = 0; j < n; j += step) {
                Tensor col = slice(w, j);
                float[] one = new float[1];
                for (int rr = 0; rr < rows; rr++) {
                    System.arraycopy(x, rr * k, xr, 0, k);
                    ref.matmul(col, null, xr, 1, one);
                    double mag = 0;
                    for (int i = 0; i < k; i++) {
                        mag += Math.abs(xr[i] * col.getFloat(i));
                    }
                    float got = out[rr * n + j];
                    if (!(Math.abs(got - one[0]) <= 1e-5 * Math.max(1, mag))) {
                        throw new IllegalStateException(be.name() + " " + w.describe() + ": out[" + rr + "," + j + "] = "
                                + got + ", reference " + one[0]);
                    }
                }
            }
        }

        private static Tensor slice(Tensor w, int j) {
            long rowBytes = w.dim(1) * w.dtype().byteSize();
            return new Tensor("w[" + j + "]", w.dtype(), new long[] {1, w.dim(1)}, w.data().asSlice(j * rowBytes, rowBytes));
        }
    }
}
