package dev.revenant.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.VectorBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

class SamplerTest {

    @Test
    void topKOneIsGreedyAndFiltersHold() {
        float[] logits = {0.1f, 2.0f, 1.9f, -3f, 0.5f};
        Sampler s = Sampler.sampling(0.9, 1, 1.0, 42);
        for (int i = 0; i < 50; i++) {
            assertEquals(1, s.next(logits));
        }
        Sampler two = Sampler.sampling(0.9, 2, 1.0, 7);
        int[] counts = new int[5];
        for (int i = 0; i < 2000; i++) {
            counts[two.next(logits)]++;
        }
        assertEquals(2000, counts[1] + counts[2], "top-k 2 only draws the two largest");
        assertTrue(counts[1] > counts[2], "the larger logit is drawn more often");
        // top-p 0.5: token 1 has p ≈ 0.45 under T = 1, so tokens 1 and 2 make the nucleus
        Sampler nucleus = Sampler.sampling(1.0, 0, 0.5, 3);
        for (int i = 0; i < 500; i++) {
            int t = nucleus.next(logits);
            assertTrue(t == 1 || t == 2, "top-p drew " + t);
        }
        assertThrows(IllegalArgumentException.class, () -> Sampler.sampling(0, 50, 1, 1));
    }

    @Test
    void seededSamplingIsReproducibleAndBatchInvariant() {
        try (Backend be = new VectorBackend(2); Model m = Model.load(Fixtures.model("llama"), be)) {
            int[] p1 = VariantsTest.seq(9, 1);
            int[] p2 = VariantsTest.seq(4, 2);
            int[] alone = Generator.generate(m, List.of(p1), 20, -1, List.of(Sampler.sampling(0.9, 50, 1.0, 11))).get(0);
            List<int[]> both = Generator.generate(m, List.of(p2, p1), 20, -1,
                    List.of(Sampler.sampling(0.9, 50, 1.0, 5), Sampler.sampling(0.9, 50, 1.0, 11)));
            assertArrayEquals(alone, both.get(1), "seeded sampling alone vs in a batch");
            int[] other = Generator.generate(m, List.of(p1), 20, -1, List.of(Sampler.sampling(0.9, 50, 1.0, 12))).get(0);
            assertNotEquals(java.util.Arrays.toString(alone), java.util.Arrays.toString(other), "another seed, another draw");
        }
    }
}
