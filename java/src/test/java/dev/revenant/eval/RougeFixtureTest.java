package dev.revenant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Golden tests: the paper's logged ROUGE scores and agg.json, reproduced from the logged strings. */
class RougeFixtureTest {

    @Test
    void everyLoggedItemIsReproduced() throws Exception {
        int items = 0;
        int exact = 0;
        double maxDiff = 0;
        for (Path dir : MuseLogs.rougeDirs()) {
            RougeLog log = RougeLog.load(dir.resolve("log.json"));
            List<RougeScores> got = log.rescore();
            for (int i = 0; i < got.size(); i++) {
                RougeScores want = log.entries().get(i).logged();
                double d = got.get(i).maxAbsDiff(want);
                assertTrue(d <= 1e-12, MuseLogs.name(dir) + " item " + i + ": got " + got.get(i) + ", logged " + want);
                maxDiff = Math.max(maxDiff, d);
                exact += got.get(i).equals(want) ? 1 : 0;
                items++;
            }
        }
        System.out.printf("ROUGE: %d items, %d bit-identical in all four scores, max |delta| %s%n", items, exact, maxDiff);
        assertEquals(items, exact, "every logged score should be bit-identical");
    }

    @Test
    void aggMeansAndMaximaAreExactAndCisClose() throws Exception {
        ObjectMapper m = new ObjectMapper();
        int exactKeys = 0;
        int numpyMeanExact = 0;
        int means = 0;
        double maxCiDiff = 0;
        double maxCiRatio = 0;
        for (Path dir : MuseLogs.rougeDirs()) {
            JsonNode want = m.readTree(dir.resolve("agg.json").toFile());
            List<RougeScores> scores = RougeLog.load(dir.resolve("log.json")).rescore();
            Map<String, Double> got = RougeLog.agg(scores);
            assertEquals(iterable(want.fieldNames()), List.copyOf(got.keySet()), MuseLogs.name(dir) + ": agg key names/order");
            for (Map.Entry<String, Double> e : got.entrySet()) {
                double w = want.get(e.getKey()).asDouble();
                if (e.getKey().startsWith("max_") || e.getKey().startsWith("mean_")) {
                    assertEquals(w, e.getValue(), 0.0, MuseLogs.name(dir) + " " + e.getKey());
                    exactKeys++;
                } else {
                    maxCiDiff = Math.max(maxCiDiff, Math.abs(w - e.getValue()));
                }
            }
            for (int k = 0; k < RougeScores.NAMES.size(); k++) {
                means++;
                double w = want.get("mean_" + RougeScores.NAMES.get(k)).asDouble();
                numpyMeanExact += NumpyMath.mean(RougeLog.column(scores, k)) == w ? 1 : 0;
                // The seeded bootstrap agrees with scipy's unseeded one to sampling error only.
                String s = RougeScores.NAMES.get(k);
                double width = want.get(s + "_ci_hi").asDouble() - want.get(s + "_ci_lo").asDouble();
                if (width > 0) {
                    maxCiRatio = Math.max(maxCiRatio, Math.max(Math.abs(want.get(s + "_ci_lo").asDouble() - got.get(s + "_ci_lo")),
                            Math.abs(want.get(s + "_ci_hi").asDouble() - got.get(s + "_ci_hi"))) / width);
                }
                assertEquals(want.get(s + "_ci_lo").asDouble(), got.get(s + "_ci_lo"), 0.1 * width + 1e-12, MuseLogs.name(dir) + " " + s + "_ci_lo");
                assertEquals(want.get(s + "_ci_hi").asDouble(), got.get(s + "_ci_hi"), 0.1 * width + 1e-12, MuseLogs.name(dir) + " " + s + "_ci_hi");
            }
        }
        System.out.printf("agg.json: %d max_/mean_ values exact; np.mean-style pairwise mean would match %d/%d; "
                + "max |CI delta| (seeded vs scipy unseeded) %s = %.3f of the CI width%n", exactKeys, numpyMeanExact, means, maxCiDiff, maxCiRatio);
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    @Test
    void knowMemPromptsRebuildTheLoggedPrompts() throws Exception {
        int checked = 0;
        for (Path dir : MuseLogs.rougeDirs()) {
            if (!dir.getFileName().toString().startsWith("knowmem")) {
                continue;
            }
            JsonNode log = new ObjectMapper().readTree(dir.resolve("log.json").toFile());
            // The ten ICL pairs are the same in every prompt: recover them from the first one.
            String first = log.get(0).get("prompt").asText();
            List<QA> icl = KnowMemPromptTest.parseIcl(first);
            assertEquals(10, icl.size(), MuseLogs.name(dir));
            for (JsonNode item : log) {
                String q = item.get("question").asText();
                assertEquals(item.get("prompt").asText(), KnowMemPrompt.build(icl, q), MuseLogs.name(dir) + ": " + q);
                String r = item.get("response").asText();
                assertEquals(r, KnowMemPrompt.truncate(r), "logged responses are already truncated");
                checked++;
            }
        }
        assertTrue(checked > 0);
    }
}
