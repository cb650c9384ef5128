package dev.revenant.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import java.util.stream.Stream;

/**
 * The forward pass against HF transformers' reference outputs (shared/fixtures/models, README there).
 * Tolerances from the fixtures README: logits atol 1e-4 (20× the spread between independent
 * references); hidden states atol 1e-5 + rtol 1e-5; greedy output and per-position argmax exact.
 */
class FixtureParityTest {
    static final int[] LENGTHS = {1, 7, 33, 64};
    static final String[] ARCHS = {"llama", "llama3", "mistral", "qwen2", "qwen3", "gemma", "phi3", "phi"};

    static Stream<Arguments> cases() {
        return Stream.of("reference", "vector", "native").flatMap(b -> Stream.of(ARCHS).map(a -> Arguments.of(a, b)));
    }

    /** Every CPU backend is held to the same tolerances against HF. */
    static Backend backend(String name) {
        org.junit.jupiter.api.Assumptions.assumeTrue(!name.equals("native") || dev.revenant.kernel.NativeLibrary.available(),
                () -> "native backend not built here: " + dev.revenant.kernel.NativeLibrary.unavailableReason());
        return Backends.create(name, 2);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void logitsMatchTransformers(String arch, String backendName) {
        Path dir = Fixtures.model(arch);
        try (Backend be = backend(backendName); Model m = Model.load(dir, be); Checkpoint ref = Checkpoint.open(dir.resolve("reference.safetensors"))) {
            for (int len : LENGTHS) {
                int[] ids = ids(ref.tensor("input_ids." + len));
                float[] got = new Forward(m).run(List.of(m.newCache(len)), List.of(ids), true)[0];
                float[] want = ref.tensor("logits." + len).toFloatArray();
                double[] want64 = ref.tensor("logits64." + len).toDoubleArray();
                assertEquals(want.length, got.length, arch + " L=" + len + ": logits size");
                double d32 = 0;
                double d64 = 0;
                for (int i = 0; i < got.length; i++) {
                    d32 = Math.max(d32, Math.abs(got[i] - want[i]));
                    d64 = Math.max(d64, Math.abs(got[i] - want64[i]));
                }
                System.out.printf("parity %s %s L=%d max|d fp32|=%.3g max|d fp64|=%.3g%n", be.name(), arch, len, d32, d64);
                assertTrue(d32 <= 1e-4, arch + " L=" + len + ": max |logits - HF fp32| = " + d32);
                assertTrue(d64 <= 1e-4, arch + " L=" + len + ": max |logits - HF fp64| = " + d64);
                int vocab = m.config().vocabSize();
                for (int t = 0; t < len; t++) {
                    assertEquals(argmax(want, t * vocab, vocab), argmax(got, t * vocab, vocab), arch + " L=" + len + " argmax at " + t);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void greedyMatchesTransformers(String arch, String backendName) {
        Path dir = Fixtures.model(arch);
        try (Backend be = backend(backendName); Model m = Model.load(dir, be); Checkpoint ref = Checkpoint.open(dir.resolve("reference.safetensors"))) {
            int[] prompt = ids(ref.tensor("greedy.prompt"));
            int[] want = ids(ref.tensor("greedy.output"));
            int[] got = Generator.greedy(m, prompt, want.length - prompt.length, -1);
            assertArrayEquals(want, got, arch + ": greedy continuation");
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void hiddenStatesMatchTransformers(String arch, String backendName) {
        Path dir = Fixtures.model(arch);
        try (Backend be = backend(backendName); Model m = Model.load(dir, be); Checkpoint ref = Checkpoint.open(dir.resolve("reference.safetensors"))) {
            int layers = m.config().numLayers();
            List<float[]> hidden = new ArrayList<>();
            for (int i = 0; i <= layers + 1; i++) {
                hidden.add(null);
            }
            new Forward(m).tap((index, seq, x, off, rows, dim) ->
                    hidden.set(index, java.util.Arrays.copyOfRange(x, off, off + rows * dim)))
                    .run(List.of(m.newCache(33)), List.of(ids(ref.tensor("input_ids.33"))), true);
            for (int i = 0; i < layers; i++) {
                close(arch + " hidden.33." + i, ref.tensor("hidden.33." + i).toFloatArray(), hidden.get(i));
            }
            close(arch + " hidden_prenorm", ref.tensor("hidden_prenorm.33." + layers).toFloatArray(), hidden.get(layers));
            close(arch + " hidden after final norm", ref.tensor("hidden.33." + layers).toFloatArray(), hidden.get(layers + 1));
        }
    }

    static void close(String what, float[] want, float[] got) {
        assertEquals(want.length, got.length, what + ": size");
        for (int i = 0; i < want.length; i++) {
            double tol = 1e-5 + 1e-5 * Math.abs(want[i]);
            assertTrue(Math.abs(want[i] - got[i]) <= tol, what + "[" + i + "]: want " + want[i] + " got " + got[i]);
        }
    }

    static int[] ids(Tensor t) {
        long[] l = t.toLongArray();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = Math.toIntExact(l[i]);
        }
        return out;
    }

    static int argmax(float[] a, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (a[off + i] > a[off + best]) {
                best = i;
            }
        }
        return best;
    }
}
