package dev.revenant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Golden tests: the paper's auc.json and PPL/zlib features, reproduced from privleak/log.json. */
class PrivLeakFixtureTest {

    @Test
    void everyAucKeyIsReproducedExactly() throws Exception {
        int keys = 0;
        int exact = 0;
        int countExact = 0;
        double maxDiff = 0;
        double maxCountDiff = 0;
        for (Path run : MuseLogs.runs()) {
            Path dir = run.resolve("privleak");
            PrivLeakLog log = PrivLeakLog.load(dir.resolve("log.json"));
            JsonNode want = new ObjectMapper().readTree(dir.resolve("auc.json").toFile());
            Map<String, Double> got = Auc.table(log);
            List<String> wantKeys = new java.util.ArrayList<>();
            want.fieldNames().forEachRemaining(wantKeys::add);
            assertEquals(90, wantKeys.size());
            assertEquals(wantKeys, List.copyOf(got.keySet()), run + ": key set and order");
            for (String k : wantKeys) {
                double w = want.get(k).asDouble();
                double g = got.get(k);
                keys++;
                exact += Double.compare(g, w) == 0 ? 1 : 0;
                maxDiff = Math.max(maxDiff, Math.abs(g - w));
                String[] parts = k.split("_", 3);
                double c = Auc.mannWhitney(log.feature(parts[0], parts[2]), log.feature(parts[1], parts[2]));
                countExact += Double.compare(c, w) == 0 ? 1 : 0;
                maxCountDiff = Math.max(maxCountDiff, Math.abs(c - w));
                assertEquals(w, g, 0.0, run.getFileName() + " " + k);
            }
        }
        System.out.printf("AUC (sklearn procedure): %d/%d keys bit-identical, max |delta| %s; "
                + "exact pair count: %d/%d bit-identical, max |delta| %s%n", exact, keys, maxDiff, countExact, keys, maxCountDiff);
    }

    @Test
    void privLeakOfTheBooksRunMatchesTheTable() throws Exception {
        // muse-spec §3.4: temp/ga_klr gives PrivLeak -37.9 on BOOKS.
        PrivLeakLog log = PrivLeakLog.load(MuseLogs.root().resolve("ga_klr/privleak/log.json"));
        double auc = Auc.table(log).get(PrivLeak.DEFAULT_KEY);
        assertEquals(0.3349, auc, 0.0);
        double p = PrivLeak.of(auc, Corpus.BOOKS, PrivLeak.DEFAULT_FEATURE);
        assertEquals(-37.9, p, 0.05);
        assertEquals((0.3349 - 0.5392999999999999) / 0.5392999999999999 * 100, p, 0.0);
    }

    @Test
    void pplZlibIsRecomputedFromTextAndPpl() throws Exception {
        int items = 0;
        int exact = 0;
        double maxRel = 0;
        int lengthMismatches = 0;
        for (Path run : MuseLogs.runs()) {
            PrivLeakLog log = PrivLeakLog.load(run.resolve("privleak/log.json"));
            int ppl = log.features().indexOf("PPL");
            int zlib = log.features().indexOf("PPL/zlib");
            for (List<PrivLeakLog.Item> split : log.splits().values()) {
                for (PrivLeakLog.Item it : split) {
                    double want = it.values()[zlib];
                    double got = MiaFeatures.pplZlib(it.values()[ppl], it.text());
                    items++;
                    exact += Double.compare(got, want) == 0 ? 1 : 0;
                    maxRel = Math.max(maxRel, Math.abs(got - want) / Math.abs(want));
                    // The compressed length Python must have used, recovered from the logged ratio.
                    long implied = Math.round(it.values()[ppl] / want);
                    lengthMismatches += implied == MiaFeatures.zlibLength(it.text()) ? 0 : 1;
                    // Logged PPL is torch's fp32 loss widened to double.
                    assertEquals(it.values()[ppl], (double) (float) it.values()[ppl], 0.0);
                }
            }
        }
        System.out.printf("PPL/zlib: %d/%d bit-identical, max relative |delta| %s; Deflater length != implied zlib length for %d texts%n",
                exact, items, maxRel, lengthMismatches);
        assertTrue(items >= 600);
        assertEquals(items, exact);
        assertEquals(0, lengthMismatches);
    }
}
