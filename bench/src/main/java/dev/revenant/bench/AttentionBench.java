package dev.revenant.bench;

import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.kernel.ReferenceBackend;
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
 * Causal GQA attention of the last {@code tokens} positions of a {@code ctx}-long sequence with a
 * TinyLlama-1.1B layer's heads (32 query heads over 4 kv heads, headDim 64). tokens=1 is a decode
 * step. Checked against ReferenceBackend in setup.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class AttentionBench {
    private static final int HEADS = 32;
    private static final int KV = 4;
    private static final int HEAD_DIM = 64;

    @Param({"reference", "vector"})
    public String backend;

    @Param({"128", "1024"})
    public int ctx;

    @Param({"1"})
    public int tokens;

    /** Worker threads of the vector backend; 0 = all cores. */
    @Param({"0"})
    public int threads;

    private Backend be;
    private float[] q;
    private float[] k;
    private float[] v;
    private float[] out;
    private float[] scratch;
    private float scale;

    @Setup(Level.Trial)
    public void setup() {
        if (tokens < 1 || tokens > ctx) {
            throw new IllegalArgumentException("tokens must be in [1, ctx], found " + tokens);
        }
        q = floats(tokens * HEADS * HEAD_DIM, 1);
        k = floats(ctx * KV * HEAD_DIM, 2);
        v = floats(ctx * KV * HEAD_DIM, 3);
        out = new float[tokens * HEADS * HEAD_DIM];
        scale = (float) (1 / Math.sqrt(HEAD_DIM));
        be = Backends.create(backend, threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
        scratch = new float[ctx * be.threads()];
        System.out.println();
        System.out.println(Backends.describe(be) + ", ctx " + ctx + ", tokens " + tokens);
        float[] ref = new float[out.length];
        new ReferenceBackend().attention(q, 0, tokens, ctx - tokens, k, v, HEADS, KV, HEAD_DIM, 0, scale, ref, 0,
                new float[ctx]);
        attention();
        for (int i = 0; i < out.length; i++) {
            if (!(Math.abs(out[i] - ref[i]) <= 1e-5)) {
                throw new IllegalStateException(backend + ": out[" + i + "] = " + out[i] + ", reference " + ref[i]);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        be.close();
    }

    @Benchmark
    public float[] attention() {
        be.attention(q, 0, tokens, ctx - tokens, k, v, HEADS, KV, HEAD_DIM, 0, scale, out, 0, scratch);
        return out;
    }

    private static float[] floats(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return a;
    }
}
