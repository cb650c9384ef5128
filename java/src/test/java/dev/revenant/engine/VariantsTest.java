package dev.revenant.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.ReferenceBackend;
import dev.revenant.safetensors.Checkpoint;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** bf16 and sharded checkpoints of the llama fixture, and batch invariance of the forward pass. */
class VariantsTest {

    @Test
    void bf16WeightsMatchTheBf16Reference() {
        for (String name : new String[] {"reference", "vector"}) {
            bf16On(dev.revenant.kernel.Backends.create(name, 2));
        }
    }

    static void bf16On(Backend backend) {
        try (Backend be = backend; Model m = Model.load(Fixtures.model("llama-bf16"), be);
             Checkpoint ref = Checkpoint.open(Fixtures.model("llama").resolve("reference.safetensors"))) {
            for (int len : FixtureParityTest.LENGTHS) {
                int[] ids = FixtureParityTest.ids(ref.tensor("input_ids." + len));
                float[] got = new Forward(m).run(List.of(m.newCache(len)), List.of(ids), true)[0];
                float[] want = ref.tensor("logits_bf16w." + len).toFloatArray();
                double d = maxDiff(got, want);
                System.out.printf("parity %s llama-bf16 L=%d max|d logits_bf16w|=%.3g%n", be.name(), len, d);
                assertTrue(d <= 1e-4, "llama-bf16 L=" + len + ": max |logits - logits_bf16w| = " + d);
            }
        }
    }

    @Test
    void shardedEqualsSingleFileBitForBit() {
        try (Backend be = new ReferenceBackend(); Model one = Model.load(Fixtures.model("llama"), be);
             Model sharded = Model.load(Fixtures.model("llama-sharded"), be);
             Checkpoint ref = Checkpoint.open(Fixtures.model("llama").resolve("reference.safetensors"))) {
            assertTrue(sharded.checkpoint().files().size() > 1, "llama-sharded should map several shard files");
            int[] ids = FixtureParityTest.ids(ref.tensor("input_ids.33"));
            float[] a = new Forward(one).run(List.of(one.newCache(33)), List.of(ids), true)[0];
            float[] b = new Forward(sharded).run(List.of(sharded.newCache(33)), List.of(ids), true)[0];
            assertArrayEquals(a, b, "sharded logits must equal single-file logits exactly");
        }
    }

    /** Sequences of different lengths together give, per sequence, the bits they give alone. */
    static void assertBatchInvariant(Model m) {
        int vocab = m.config().vocabSize();
        List<int[]> seqs = List.of(seq(5, 3), seq(17, 11), seq(1, 7), seq(40, 2));
        List<float[]> alone = new ArrayList<>();
        for (int[] s : seqs) {
            alone.add(new Forward(m).run(List.of(m.newCache(s.length)), List.of(s), true)[0]);
        }
        List<KvCache> caches = new ArrayList<>();
        for (int[] s : seqs) {
            caches.add(m.newCache(s.length));
        }
        float[][] batched = new Forward(m).run(caches, seqs, true);
        for (int i = 0; i < seqs.size(); i++) {
            assertEquals(seqs.get(i).length * vocab, batched[i].length);
            assertArrayEquals(alone.get(i), batched[i], "sequence " + i + " batched vs alone (bitwise)");
        }
        // decode steps in a batch equal decode steps alone
        List<int[]> next = List.of(new int[] {9}, new int[] {10}, new int[] {11}, new int[] {12});
        float[][] stepBatched = new Forward(m).run(caches, next, false);
        for (int i = 0; i < seqs.size(); i++) {
            KvCache c = m.newCache(64);
            Forward f = new Forward(m);
            f.run(List.of(c), List.of(seqs.get(i)), false);
            float[] stepAlone = f.run(List.of(c), List.of(next.get(i)), false)[0];
            assertArrayEquals(stepAlone, stepBatched[i], "decode step of sequence " + i + " batched vs alone (bitwise)");
        }
    }

    @Test
    void batchedEqualsAloneOnReference() {
        for (String arch : new String[] {"llama", "mistral", "phi"}) {
            try (Backend be = new ReferenceBackend(); Model m = Model.load(Fixtures.model(arch), be)) {
                assertBatchInvariant(m);
            }
        }
    }

    static int[] seq(int len, int seed) {
        int[] s = new int[len];
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            s[i] = 3 + (int) Math.floorMod(x, 509L);
        }
        return s;
    }

    static double maxDiff(float[] a, float[] b) {
        assertEquals(b.length, a.length);
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }
}
