package dev.revenant.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.Fixtures;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The commands end to end on the llama fixture, checked against HF's reference outputs. */
class CliTest {

    record Run(int code, String out, String err) {
    }

    static synchronized Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static String ids(Tensor t) {
        return Arrays.stream(t.toLongArray()).mapToObj(Long::toString).collect(Collectors.joining(","));
    }

    @Test
    void logitsWritesEveryPositionWithinToleranceOfTransformers(@TempDir Path tmp) {
        Path model = Fixtures.model("llama");
        for (String backend : new String[] {"reference", "vector"}) {
            try (Checkpoint ref = Checkpoint.open(model.resolve("reference.safetensors"))) {
                Path out = tmp.resolve(backend + ".safetensors");
                Run r = run("logits", "--model", model.toString(), "--ids", ids(ref.tensor("input_ids.7")),
                        "--backend", backend, "--threads", "2", "--out", out.toString());
                assertEquals(0, r.code(), r.err());
                try (Checkpoint got = Checkpoint.open(out)) {
                    Tensor logits = got.tensor("logits");
                    assertArrayEquals(new long[] {7, 512}, logits.shape());
                    float[] a = logits.toFloatArray();
                    float[] b = ref.tensor("logits.7").toFloatArray();
                    for (int i = 0; i < a.length; i++) {
                        assertTrue(Math.abs(a[i] - b[i]) <= 1e-4, backend + " logit " + i + ": " + a[i] + " vs " + b[i]);
                    }
                }
            }
        }
    }

    @Test
    void generateJsonEqualsTransformersGreedy() throws Exception {
        Path model = Fixtures.model("qwen3");
        try (Checkpoint ref = Checkpoint.open(model.resolve("reference.safetensors"))) {
            Run r = run("generate", "--model", model.toString(), "--ids", ids(ref.tensor("greedy.prompt")),
                    "--max-new-tokens", "24", "--json");
            assertEquals(0, r.code(), r.err());
            JsonNode j = new ObjectMapper().readTree(r.out());
            long[] output = new long[j.get("output").size()];
            for (int i = 0; i < output.length; i++) {
                output[i] = j.get("output").get(i).asLong();
            }
            assertArrayEquals(ref.tensor("greedy.output").toLongArray(), output);
            assertEquals(24, j.get("generated").size());
        }
    }

    @Test
    void inspectReportsArchitectureAndParameters() throws Exception {
        Run r = run("inspect", Fixtures.model("phi3").toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("phi3", j.get("model_type").asText());
        // phi3 fixture: embed 512×128 + lm_head 512×128 + norm 128 + 2 × (2 norms + qkv 256×128 + o 128×128 + gate_up 768×128 + down 128×384)
        long expect = 2L * 512 * 128 + 128 + 2L * (2 * 128 + 256 * 128 + 128 * 128 + 768 * 128 + 128 * 384);
        assertEquals(expect, j.get("parameters").asLong());
        Run text = run("inspect", Fixtures.model("llama-sharded").toString());
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("in 6 file(s)"), text.out());
    }

    @Test
    void badInputsFailWithAMessageNotAStackTrace(@TempDir Path tmp) {
        Run badIds = run("generate", "--model", Fixtures.model("llama").toString(), "--ids", "5,x,7");
        assertNotEquals(0, badIds.code());
        assertTrue(badIds.err().contains("'x'"), badIds.err());
        Run outOfVocab = run("generate", "--model", Fixtures.model("llama").toString(), "--ids", "5,9999");
        assertNotEquals(0, outOfVocab.code());
        assertTrue(outOfVocab.err().contains("9999") && outOfVocab.err().contains("vocabulary"), outOfVocab.err());
        Run noModel = run("inspect", tmp.toString());
        assertNotEquals(0, noModel.code());
        assertTrue(noModel.err().contains("config.json"), noModel.err());
        Run badBackend = run("logits", "--model", Fixtures.model("llama").toString(), "--ids", "5", "--backend", "tpu",
                "--out", tmp.resolve("x.safetensors").toString());
        assertNotEquals(0, badBackend.code());
        assertTrue(badBackend.err().contains("tpu") && badBackend.err().contains("vector"), badBackend.err());
    }

    @Test
    void promptTextGoesThroughTheModelsTokenizer(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("tiny");
        Run synth = run("synth", "--preset", "tiny", "--dtype", "f32", "--seed", "3", "--out", model.toString());
        assertEquals(0, synth.code(), synth.err());
        Run gen = run("generate", "--model", model.toString(), "--prompt", "Hi!", "--max-new-tokens", "6", "--json");
        assertEquals(0, gen.code(), gen.err());
        JsonNode j = new ObjectMapper().readTree(gen.out());
        // byte tokenizer: BOS 1, then 3 + byte
        assertEquals("[1,75,108,36]", j.get("prompt").toString());
        assertEquals(6, j.get("generated").size());
        assertTrue(j.has("text"), gen.out());
        Run both = run("generate", "--model", model.toString(), "--prompt", "Hi", "--ids", "1,2");
        assertNotEquals(0, both.code());
        assertTrue(both.err().contains("exactly one of --ids and --prompt"), both.err());
    }
}
