package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** VectorBackend.attention against ReferenceBackend, GQA (4 query heads over 2 kv heads), and its determinism. */
class VectorAttentionTest {
    private static final int HEADS = 4;
    private static final int KV = 2;
    private static VectorBackend one;
    private static VectorBackend two;

    @BeforeAll
    static void open() {
        one = new VectorBackend(1);
        two = new VectorBackend(2);
    }

    @AfterAll
    static void close() {
        one.close();
        two.close();
    }

    static Stream<Arguments> cases() {
        return Stream.of(32, 48).flatMap(hd -> Stream.of(0, 16).flatMap(win -> Stream.of(0, 10)
                .flatMap(start -> Stream.of(1, 33).map(tokens -> Arguments.of(hd, win, start, tokens)))));
    }

    /** One sequence's inputs: q rows start at qRow = 2 and out rows at outRow = 1, to exercise the offsets. */
    private record Case(int headDim, int window, int start, int tokens, float[] q, float[] k, float[] v) {
        static Case of(int headDim, int window, int start, int tokens) {
            int ctx = start + tokens;
            return new Case(headDim, window, start, tokens, Weights.floats((tokens + 2) * HEADS * headDim, 1),
                    Weights.floats(ctx * KV * headDim, 2), Weights.floats(ctx * KV * headDim, 3));
        }

        float[] run(Backend be) {
            float[] out = new float[(tokens + 1) * HEADS * headDim];
            float[] scratch = new float[(start + tokens) * be.threads()];
            be.attention(q, 2, tokens, start, k, v, HEADS, KV, headDim, window, (float) (1 / Math.sqrt(headDim)), out,
                    1, scratch);
            return out;
        }
    }

    /**
     * Outputs are convex combinations of v rows (|v| < 1). The scores differ from the reference by
     * fp32 reordering (≈ 1e-7 relative), which moves the softmax weights by about as much, and p·v
     * here uses fused multiply-adds: 1e-5 absolute is a wide margin that any indexing bug exceeds.
     */
    @ParameterizedTest(name = "headDim={0} window={1} start={2} tokens={3}")
    @MethodSource("cases")
    void matchesReference(int headDim, int window, int start, int tokens) {
        Case c = Case.of(headDim, window, start, tokens);
        float[] ref = c.run(new ReferenceBackend());
        for (VectorBackend be : new VectorBackend[] {one, two}) {
            float[] out = c.run(be);
            for (int i = 0; i < out.length; i++) {
                int at = i;
                assertTrue(Math.abs(out[i] - ref[i]) <= 1e-5, () -> "threads=" + be.threads() + " out[" + at + "] = "
                        + out[at] + ", reference " + ref[at]);
            }
        }
    }

    @ParameterizedTest(name = "headDim={0} window={1} start={2} tokens={3}")
    @MethodSource("cases")
    void sameBitsWhateverTheThreadCount(int headDim, int window, int start, int tokens) {
        Case c = Case.of(headDim, window, start, tokens);
        for (int rep = 0; rep < 3; rep++) {
            assertArrayEquals(VectorMatmulTest.bits(c.run(one)), VectorMatmulTest.bits(c.run(two)));
        }
    }

    /** Prefill of 33 tokens gives the same bits as feeding them one at a time (decode). */
    @Test
    void prefillEqualsTokenByToken() {
        Case c = Case.of(48, 16, 10, 33);
        float[] batch = c.run(two);
        int qDim = HEADS * 48;
        for (int t = 0; t < c.tokens(); t++) {
            float[] q1 = Arrays.copyOfRange(c.q(), (2 + t) * qDim, (3 + t) * qDim);
            float[] out = new float[qDim];
            float[] scratch = new float[(c.start() + t + 1) * 2];
            two.attention(q1, 0, 1, c.start() + t, c.k(), c.v(), HEADS, KV, 48, 16, (float) (1 / Math.sqrt(48)), out, 0,
                    scratch);
            assertArrayEquals(VectorMatmulTest.bits(Arrays.copyOfRange(batch, (1 + t) * qDim, (2 + t) * qDim)),
                    VectorMatmulTest.bits(out), "token " + t);
        }
    }

    @Test
    void rejectsShortScratch() {
        Case c = Case.of(32, 0, 0, 4);
        float[] out = new float[5 * HEADS * 32];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> two.attention(c.q(), 2, 4, 0,
                c.k(), c.v(), HEADS, KV, 32, 0, 0.1f, out, 1, new float[4]));
        assertTrue(e.getMessage().contains("scratch"), e.getMessage());
    }
}
