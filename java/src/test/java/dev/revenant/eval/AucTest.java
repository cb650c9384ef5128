package dev.revenant.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AucTest {

    @Test
    void directionMembersWithLowerScoresGiveLowAuc() {
        // MUSE: A = non-member (label 0), B = member (label 1), roc_curve on -score, so
        // AUC = P(score_B < score_A) + 1/2 P(tie).
        double[] forget = {1, 2, 3};
        double[] holdout = {4, 5, 6};
        assertEquals(1.0, Auc.of(holdout, forget), 0.0);
        assertEquals(0.0, Auc.of(forget, holdout), 0.0);
    }

    @Test
    void tiesCountHalf() {
        assertEquals(0.5, Auc.of(new double[] {1, 1}, new double[] {1, 1}), 0.0);
        assertEquals(0.5, Auc.of(new double[] {1, 2, 3}, new double[] {1, 2, 3}), 0.0);
        // pairs (a, b): b < a for (2,1); ties (1,1),(2,2); b > a for (1,2) -> (1 + 0.5*2)/4
        assertEquals(0.5, Auc.of(new double[] {1, 2}, new double[] {1, 2}), 0.0);
        assertEquals(0.75, Auc.of(new double[] {2, 2}, new double[] {1, 2}), 0.0);
        assertEquals(0.75, Auc.mannWhitney(new double[] {2, 2}, new double[] {1, 2}), 0.0);
        // -0.0 and 0.0 are one tie group, as in numpy.
        assertEquals(0.5, Auc.of(new double[] {-0.0}, new double[] {0.0}), 0.0);
    }

    @Test
    void rocCurveDropsCollinearPoints() {
        // decision values descending: 0.9(+) 0.8(+) 0.7(-) 0.6(-) 0.5(+)
        RocCurve c = RocCurve.of(new boolean[] {true, true, false, false, true}, new double[] {0.9, 0.8, 0.7, 0.6, 0.5});
        // points (fps, tps): (0,1) (0,2) (1,2) (2,2) (2,3); (1,2) lies on the segment and is dropped.
        assertArrayEquals(new double[] {0, 0, 0, 1, 1}, c.fpr(), 0.0);
        assertArrayEquals(new double[] {0, 1.0 / 3, 2.0 / 3, 2.0 / 3, 1}, c.tpr(), 0.0);
        assertEquals(Double.POSITIVE_INFINITY, c.thresholds()[0], 0.0);
        assertEquals(2.0 / 3, c.area(), 1e-15);
    }

    @Test
    void agreesWithThePairCountOnRandomTiedData() {
        SplittableRandom r = new SplittableRandom(7);
        for (int t = 0; t < 200; t++) {
            double[] a = new double[1 + r.nextInt(60)];
            double[] b = new double[1 + r.nextInt(60)];
            for (int i = 0; i < a.length; i++) {
                a[i] = r.nextInt(10);
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = r.nextInt(10);
            }
            assertEquals(Auc.mannWhitney(a, b), Auc.of(a, b), 1e-14);
        }
    }

    @Test
    void rejectsNanAndEmptySplits() {
        assertThrows(IllegalArgumentException.class, () -> Auc.of(new double[] {Double.NaN}, new double[] {1}));
        assertThrows(IllegalArgumentException.class, () -> Auc.of(new double[0], new double[] {1}));
        assertThrows(IllegalArgumentException.class, () -> RocCurve.area(new double[] {0, 1, 0.5}, new double[] {0, 1, 1}));
    }

    @Test
    void tableHasEveryOrderedSplitPairTimesEveryFeature() {
        PrivLeakLog log = new PrivLeakLog(Map.of("forget", List.of(new PrivLeakLog.Item("a", new double[] {1, 2}))),
                List.of("PPL", "Min-40%"));
        assertEquals(List.of("forget_forget_PPL", "forget_forget_Min-40%"), List.copyOf(Auc.table(log).keySet()));
        assertEquals(0.5, Auc.table(log).get("forget_forget_PPL"), 0.0);
    }

    @Test
    void privLeakConstantsAndFormula() {
        assertEquals(0.47719999999999996, Corpus.NEWS.aucRetrain("Min-40%"), 0.0);
        assertEquals(0.5392999999999999, Corpus.BOOKS.aucRetrain("Min-40%"), 0.0);
        assertEquals(0.2773, Corpus.BOOKS.aucRetrain("PPL/zlib"), 0.0);
        assertEquals(0.0, PrivLeak.of(0.47719999999999996, Corpus.NEWS, "Min-40%"), 0.0);
        assertEquals(-100.0, PrivLeak.of(0.0, Corpus.custom(0.5), "Min-40%"), 0.0);
        assertEquals(Corpus.BOOKS, Corpus.parse("Books"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Corpus.parse("wiki"));
        assertEquals("unknown corpus 'wiki'; supported: news, books", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Corpus.custom(0));
        assertThrows(IllegalArgumentException.class, () -> Corpus.NEWS.aucRetrain("Min-45%"));
        assertEquals("forget_holdout_Min-40%", PrivLeak.DEFAULT_KEY);
    }
}
