package dev.revenant.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.ReferenceBackend;
import dev.revenant.kernel.VectorBackend;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whole-model agreement of the vector backend with the reference (relative 1e-5 of the largest logit:
 * both accumulate in fp32, only the summation order differs), and its determinism: 1 thread and 2
 * threads give the same bits, a sequence alone and in a batch give the same bits.
 */
class BackendAgreementTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama", "llama3", "mistral", "qwen2", "qwen3", "gemma", "phi3", "phi", "llama-bf16"})
    void vectorAgreesWithReferenceAndIsDeterministic(String arch) {
        int[] ids = VariantsTest.seq(64, 5);
        try (Backend ref = new ReferenceBackend(); Backend v1 = new VectorBackend(1); Backend v2 = new VectorBackend(2);
             Model mr = Model.load(Fixtures.model(arch), ref); Model m1 = Model.load(Fixtures.model(arch), v1);
             Model m2 = Model.load(Fixtures.model(arch), v2)) {
            float[] r = logits(mr, ids);
            float[] a = logits(m1, ids);
            float[] b = logits(m2, ids);
            double scale = 0;
            double diff = 0;
            for (int i = 0; i < r.length; i++) {
                scale = Math.max(scale, Math.abs(r[i]));
                diff = Math.max(diff, Math.abs(r[i] - b[i]));
            }
            System.out.printf("agreement %s: max |vector - reference| = %.3g, relative %.3g%n", arch, diff, diff / scale);
            assertTrue(diff <= 1e-5 * scale, arch + ": vector vs reference " + diff + " > 1e-5 × " + scale);
            assertArrayEquals(a, b, arch + ": 1 thread vs 2 threads must be bit-identical");
            VariantsTest.assertBatchInvariant(m2);
        }
    }

    static float[] logits(Model m, int[] ids) {
        return new Forward(m).run(List.of(m.newCache(ids.length)), List.of(ids), true)[0];
    }
}
