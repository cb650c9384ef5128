package dev.revenant.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The golden fixtures, written by Hugging Face's safetensors: fp32, sharded and bf16 copies of one model. */
class CheckpointFixturesTest {

    @Test
    void llamaIsFp32() {
        try (Checkpoint c = Checkpoint.open(Fixtures.model("llama"))) {
            assertTrue(c.names().size() > 10, "names: " + c.names());
            assertTrue(c.has("model.embed_tokens.weight"));
            for (String n : c.names()) {
                assertEquals(DType.F32, c.tensor(n).dtype(), n);
            }
            assertEquals("pt", c.metadata().get("format"));
        }
    }

    @Test
    void shardedEqualsSingleFileBytewise() {
        try (Checkpoint one = Checkpoint.open(Fixtures.model("llama"));
                Checkpoint sharded = Checkpoint.open(Fixtures.model("llama-sharded"))) {
            assertEquals(6, sharded.files().size(), "shards: " + sharded.files());
            assertEquals(new TreeSet<>(one.names()), new TreeSet<>(sharded.names()));
            for (String n : sharded.names()) {
                Tensor a = one.tensor(n);
                Tensor b = sharded.tensor(n);
                assertEquals(a.dtype(), b.dtype(), n);
                assertArrayEquals(a.shape(), b.shape(), n);
                assertEquals(-1, a.data().mismatch(b.data()), n + " differs");
            }
            assertEquals(one.totalBytes(), sharded.totalBytes());
            assertEquals(String.valueOf(sharded.totalBytes()), sharded.metadata().get("total_size"));
        }
    }

    @Test
    void bf16HoldsTheRoundedFp32Weights() {
        try (Checkpoint fp32 = Checkpoint.open(Fixtures.model("llama"));
                Checkpoint bf16 = Checkpoint.open(Fixtures.model("llama-bf16"))) {
            assertEquals(Set.copyOf(fp32.names()), Set.copyOf(bf16.names()));
            long checked = 0;
            for (String n : bf16.names()) {
                Tensor h = bf16.tensor(n);
                Tensor f = fp32.tensor(n);
                assertEquals(DType.BF16, h.dtype(), n);
                assertArrayEquals(f.shape(), h.shape(), n);
                for (long i = 0; i < h.numel(); i++) {
                    short expect = Tensor.floatToBf16(f.getFloat(i));
                    short got = h.data().getAtIndex(Tensor.I16_LE, i);
                    if (expect != got) {
                        throw new AssertionError(n + "[" + i + "]: bf16 bits " + Integer.toHexString(got & 0xFFFF)
                                + ", expected " + Integer.toHexString(expect & 0xFFFF) + " from " + f.getFloat(i));
                    }
                }
                checked += h.numel();
            }
            assertEquals(fp32.totalBytes() / 4, checked);
        }
    }

    @Test
    void referenceLogitsInBothPrecisions() {
        try (Checkpoint ref = Checkpoint.open(Fixtures.dir().resolve("models/llama/reference.safetensors"))) {
            Tensor f32 = ref.tensor("logits.7");
            Tensor f64 = ref.tensor("logits64.7");
            assertEquals(DType.F32, f32.dtype());
            assertArrayEquals(new long[] {7, 512}, f32.shape());
            assertEquals(DType.F64, f64.dtype());
            assertArrayEquals(new long[] {7, 512}, f64.shape());
            // The fp32 and fp64 runs agree to ~3e-6 (FIXTURE.txt), which only holds if both decode right.
            double maxDiff = 0;
            double maxAbs = 0;
            for (long i = 0; i < f32.numel(); i++) {
                maxDiff = Math.max(maxDiff, Math.abs(f32.getFloat(i) - f64.getDouble(i)));
                maxAbs = Math.max(maxAbs, Math.abs(f64.getDouble(i)));
            }
            assertTrue(maxDiff < 1e-4, "max |logits.7 - logits64.7| = " + maxDiff);
            assertTrue(maxAbs > 1, "logits are not all ~0: " + maxAbs);
        }
    }

    @Test
    void rewritingFromMappedTensorsReproducesTheFile(@TempDir Path tmp) {
        try (Checkpoint src = Checkpoint.open(Fixtures.model("llama-sharded"))) {
            List<Tensor> all = new ArrayList<>();
            for (String n : src.names()) {
                all.add(src.tensor(n));
            }
            Path out = tmp.resolve("model.safetensors");
            SafetensorsWriter.write(out, all, src.metadata());
            try (Checkpoint back = Checkpoint.open(out)) {
                assertEquals(src.names(), back.names());
                for (String n : src.names()) {
                    assertEquals(-1, src.tensor(n).data().mismatch(back.tensor(n).data()), n);
                }
            }
        }
    }
}
