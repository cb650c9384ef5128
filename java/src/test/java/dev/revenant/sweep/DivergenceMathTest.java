package dev.revenant.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.engine.Generator;
import dev.revenant.report.DivergenceReport;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The KL and top-1 arithmetic of {@link Divergence} on hand-made logits with known answers. */
class DivergenceMathTest {

    @Test
    void identicalLogitsGiveExactlyZeroAndFullAgreement() {
        float[] x = {0.5f, -3f, 12.25f, 12.25f, 7f, -1e3f, 0f};
        assertEquals(0.0, Divergence.kl(x, 0, x.clone(), 0, x.length));
        Divergence.Accumulator acc = new Divergence.Accumulator();
        float[] two = new float[2 * x.length];
        System.arraycopy(x, 0, two, 0, x.length);
        for (int i = 0; i < x.length; i++) {
            two[x.length + i] = -x[i];
        }
        acc.add(two, two.clone(), 2, x.length);
        DivergenceReport.Stats s = acc.stats();
        assertEquals(new DivergenceReport.Stats(0.0, 0.0, 1.0, 2, 1), s);
    }

    @Test
    void twoTokenVocabularyMatchesTheClosedForm() {
        // p = softmax(0, a) = (1 − p1, p1), q = softmax(0, b)
        double[][] cases = {{0.0, 1.0}, {2.0, -1.5}, {-4.0, 3.0}, {0.25, 0.125}};
        for (double[] c : cases) {
            float a = (float) c[0];
            float b = (float) c[1];
            double p1 = 1 / (1 + Math.exp(-a));
            double q1 = 1 / (1 + Math.exp(-b));
            double want = (1 - p1) * Math.log((1 - p1) / (1 - q1)) + p1 * Math.log(p1 / q1);
            double got = Divergence.kl(new float[] {0f, a}, 0, new float[] {0f, b}, 0, 2);
            assertEquals(want, got, 1e-12, a + " vs " + b);
            assertTrue(got > 0);
        }
        // shifting every logit of a row leaves its distribution unchanged
        assertEquals(0.0, Divergence.kl(new float[] {1f, 3f}, 0, new float[] {101f, 103f}, 0, 2), 1e-12);
    }

    @Test
    void klReadsRowsAtTheirOffsetsAndIsAsymmetric() {
        // p = (1/2, 1/4, 1/4) from logits log(2,1,1); q = uniform
        float l2 = (float) Math.log(2);
        float[] p = {9f, 9f, l2, 0f, 0f};
        float[] q = {7f, 5f, 5f, 5f};
        double pq = 0.5 * Math.log(0.5 * 3) + 2 * 0.25 * Math.log(0.25 * 3);
        assertEquals(pq, Divergence.kl(p, 2, q, 1, 3), 1e-7); // float log(2) rounding
        double qp = 3 * (1.0 / 3) * Math.log(1.0 / 3) - (1.0 / 3) * (Math.log(0.5) + 2 * Math.log(0.25));
        assertEquals(qp, Divergence.kl(q, 1, p, 2, 3), 1e-7);
        assertTrue(Math.abs(pq - qp) > 1e-3);
    }

    @Test
    void argmaxTiesGoToTheLowestIndexAsGenerator() {
        float[] x = {1f, 4f, 4f, -2f, 4f};
        assertEquals(Generator.argmax(x), Divergence.argmax(x, 0, x.length));
        assertEquals(1, Divergence.argmax(x, 0, x.length));
        assertEquals(0, Divergence.argmax(x, 2, 3));
    }

    @Test
    void aggregatesMeanMaxAgreementOverPositions() {
        // row 0: same argmax (index 1); row 1: argmax differs (0 vs 1); row 2: identical
        float[] ref = {0f, 1f, 2f, 0f, 0f, 0f};
        float[] cell = {0f, 3f, 0f, 2f, 0f, 0f};
        Divergence.Accumulator acc = new Divergence.Accumulator();
        acc.add(ref, cell, 3, 2);
        double k0 = Divergence.kl(ref, 0, cell, 0, 2);
        double k1 = Divergence.kl(ref, 2, cell, 2, 2);
        DivergenceReport.Stats s = acc.stats();
        assertEquals((k0 + k1) / 3, s.klMean(), 1e-15);
        assertEquals(Math.max(k0, k1), s.klMax());
        assertEquals(2.0 / 3, s.top1Agreement());
        assertEquals(3, s.positions());
        assertEquals(1, s.texts());
        assertTrue(Double.isNaN(new Divergence.Accumulator().stats().klMean()), "no positions: n/a");
    }

    @Test
    void selectCutsTextsAndStopsAtTheBudget() {
        dev.revenant.tokenizer.Tokenizer tok = new dev.revenant.tokenizer.Tokenizer() {
            @Override
            public int[] encode(String text, boolean special) {
                int[] ids = new int[text.length() + (special ? 1 : 0)];
                return ids;
            }

            @Override
            public String decode(int[] ids, boolean s, boolean c) {
                return "";
            }

            @Override
            public int bosId() {
                return 0;
            }

            @Override
            public int eosId() {
                return -1;
            }

            @Override
            public int vocabSize() {
                return 1;
            }

            @Override
            public boolean isSpecial(int id) {
                return false;
            }

            @Override
            public boolean cleanUpDefault() {
                return false;
            }

            @Override
            public void close() {
            }
        };
        List<int[]> s = Divergence.select(List.of("a".repeat(599), "bb", "c".repeat(100), "d"), tok, 560);
        assertEquals(List.of(512, 3, 45), s.stream().map(a -> a.length).toList());
    }
}
