package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.revenant.cli.Main;
import dev.revenant.model.Architecture;
import dev.revenant.model.ConfigLoader;
import dev.revenant.model.ModelConfig;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code revenant quantize --format gguf}: the file read back with an independent GGUF reader. */
class GgufWriterTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Path synth(Path dir, String arch, String... extra) {
        List<String> args = new ArrayList<>(List.of("synth", "--preset", "tiny", "--dtype", "f32", "--seed", "7",
                "--out", dir.toString()));
        if (arch != null) {
            args.addAll(List.of("--arch", arch));
        }
        args.addAll(List.of(extra));
        assertEquals(0, Main.run(args.toArray(String[]::new)), "synth " + arch);
        return dir;
    }

    private record Run(int code, String err) {
    }

    private static Run quantize(String... args) {
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            List<String> a = new ArrayList<>(List.of("quantize"));
            a.addAll(List.of(args));
            int code = Main.run(a.toArray(String[]::new));
            return new Run(code, err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(oldErr);
        }
    }

    @Test
    void headerMetadataAndEveryTensorRoundTrip(@TempDir Path tmp) throws IOException {
        Path model = synth(tmp.resolve("m"), null);
        ModelConfig c = ConfigLoader.load(model);
        for (String p : new String[] {"q8_0", "q4_0"}) {
            Path outDir = tmp.resolve("out-" + p);
            Run r = quantize("--model", model.toString(), "--precision", p, "--format", "gguf", "--out", outDir.toString());
            assertEquals(0, r.code(), r.err());
            Path file = outDir.resolve("model-" + p + ".gguf");
            assertTrue(Files.isRegularFile(file), file.toString());
            GgufFile g = GgufFile.read(file);
            assertEquals(3, g.version());
            GgufPacked.Type type = p.equals("q8_0") ? GgufPacked.Type.Q8_0 : GgufPacked.Type.Q4_0;
            int qType = p.equals("q8_0") ? 8 : 2;

            assertEquals("llama", g.meta().get("general.architecture"));
            assertEquals(p.equals("q8_0") ? 7L : 2L, g.meta().get("general.file_type"));
            assertEquals(32L, g.meta().get("general.alignment"));
            assertEquals((long) c.maxPositions(), g.meta().get("llama.context_length"));
            assertEquals((long) c.hiddenSize(), g.meta().get("llama.embedding_length"));
            assertEquals((long) c.numLayers(), g.meta().get("llama.block_count"));
            assertEquals((long) c.intermediateSize(), g.meta().get("llama.feed_forward_length"));
            assertEquals((long) c.numHeads(), g.meta().get("llama.attention.head_count"));
            assertEquals((long) c.numKvHeads(), g.meta().get("llama.attention.head_count_kv"));
            assertEquals((long) c.headDim(), g.meta().get("llama.rope.dimension_count"));
            assertEquals((float) c.rope().theta(), g.meta().get("llama.rope.freq_base"));
            assertEquals((float) c.normEps(), g.meta().get("llama.attention.layer_norm_rms_epsilon"));
            for (String k : List.of("llama.context_length", "llama.embedding_length", "llama.block_count",
                    "llama.feed_forward_length", "llama.attention.head_count", "llama.attention.head_count_kv",
                    "llama.rope.dimension_count", "general.file_type", "tokenizer.ggml.bos_token_id",
                    "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id")) {
                assertEquals(4, g.metaTypes().get(k), k + " must be uint32 (llama.cpp checks the type)");
            }
            assertEquals(6, g.metaTypes().get("llama.rope.freq_base"));
            assertEquals(6, g.metaTypes().get("llama.attention.layer_norm_rms_epsilon"));
            assertEquals("llama", g.meta().get("tokenizer.ggml.model"));
            List<?> tokens = (List<?>) g.meta().get("tokenizer.ggml.tokens");
            List<?> scores = (List<?>) g.meta().get("tokenizer.ggml.scores");
            List<?> ttype = (List<?>) g.meta().get("tokenizer.ggml.token_type");
            assertEquals(c.vocabSize(), tokens.size());
            assertEquals(c.vocabSize(), scores.size());
            assertEquals(c.vocabSize(), ttype.size());
            assertEquals(List.of("<pad>", "<s>", "</s>", "<0x00>"), tokens.subList(0, 4));
            assertEquals("<0x41>", tokens.get(3 + 'A'));
            assertEquals("<0xFF>", tokens.get(258));
            assertEquals(6, ttype.get(3 + 'A'));
            assertEquals(5, ttype.get(259));
            assertEquals(c.vocabSize(), new HashSet<>(tokens).size(), "token strings must be unique");
            assertEquals(1L, g.meta().get("tokenizer.ggml.bos_token_id"));
            assertEquals(2L, g.meta().get("tokenizer.ggml.eos_token_id"));

            // tensors: names, dims (innermost first), types, sizes, aligned offsets in order, no overlap
            List<Architecture.TensorSpec> specs = Architecture.tensors(c);
            assertEquals(specs.size(), g.tensors().size());
            Set<String> names = new HashSet<>();
            long end = 0;
            for (GgufFile.Info t : g.tensors()) {
                assertTrue(names.add(t.name()), t.name());
                assertEquals(0, t.offset() % 32, t.name());
                assertTrue(t.offset() >= end, t.name() + " overlaps");
                end = t.offset() + GgufFile.byteSize(t);
            }
            assertEquals(g.dataStart() + end, Files.size(file), "file ends with the last tensor");
            try (Checkpoint ck = Checkpoint.open(model)) {
                for (Architecture.TensorSpec s : specs) {
                    String gn = GgufWriter.ggufName(s.name());
                    GgufFile.Info t = g.tensor(gn);
                    long[] shape = s.shape();
                    long[] want = shape.length == 2 ? new long[] {shape[1], shape[0]} : shape.clone();
                    assertArrayEquals(want, t.ne(), gn);
                    boolean linear = s.role() == Architecture.Role.LINEAR;
                    assertEquals(linear ? qType : 0, t.type(), gn);
                    Tensor w = ck.tensor(s.name());
                    byte[] data = g.data(t, GgufFile.byteSize(t));
                    if (linear) {
                        Tensor src = s.name().endsWith("q_proj.weight") ? GgufWriter.permuteRows(w, c.numHeads())
                                : s.name().endsWith("k_proj.weight") ? GgufWriter.permuteRows(w, c.numKvHeads()) : w;
                        assertArrayEquals(GgufBlocks.quantize(src, type).blocks(), data, gn);
                    } else {
                        ByteBuffer bb = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
                        for (long i = 0; i < w.numel(); i++) {
                            assertEquals(Float.floatToRawIntBits(w.getFloat(i)), Float.floatToRawIntBits(bb.getFloat()), gn);
                        }
                    }
                }
            }
            List<String> expected = new ArrayList<>(List.of("token_embd.weight", "output_norm.weight", "output.weight"));
            for (String suffix : List.of("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                    "ffn_gate", "ffn_up", "ffn_down")) {
                expected.add("blk.1." + suffix + ".weight");
            }
            assertTrue(names.containsAll(expected), names.toString());
        }
    }

    @Test
    void permutationPairsRotateHalfDimsAdjacently() {
        // 2 heads of 4 rows, 1 column: row value = its index; per head, HF order (0 1 | 2 3) becomes (0 2 1 3)
        Tensor w = Tensor.ofFloats("w", new float[] {0, 1, 2, 3, 4, 5, 6, 7}, 8, 1);
        assertArrayEquals(new float[] {0, 2, 1, 3, 4, 6, 5, 7}, GgufWriter.permuteRows(w, 2).toFloatArray());
    }

    @Test
    void fileOutTiedEmbeddingsAndRefusals(@TempDir Path tmp) throws IOException {
        Path model = synth(tmp.resolve("m"), null);
        Path file = tmp.resolve("sub/x.gguf");
        Run ok = quantize("--model", model.toString(), "--precision", "q4_0", "--format", "gguf", "--out", file.toString());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(Files.isRegularFile(file));
        assertFalse(Files.exists(tmp.resolve("sub/x.gguf.partial")));

        Run badP = quantize("--model", model.toString(), "--precision", "nf4", "--format", "gguf", "--out", tmp.resolve("y").toString());
        assertNotEquals(0, badP.code());
        assertTrue(badP.err().contains("q8_0 or q4_0"), badP.err());

        Path gemma = synth(tmp.resolve("g"), "gemma");
        Run badF = quantize("--model", gemma.toString(), "--precision", "q8_0", "--format", "gguf", "--out", tmp.resolve("z").toString());
        assertNotEquals(0, badF.code());
        assertTrue(badF.err().contains("llama family only") && badF.err().contains("gemma"), badF.err());

        Run badFormat = quantize("--model", model.toString(), "--precision", "q8_0", "--format", "exl2", "--out", tmp.resolve("w").toString());
        assertNotEquals(0, badFormat.code());
        assertTrue(badFormat.err().contains("expected revenant, gguf, gptq or awq"), badFormat.err());

        Path bpe = tmp.resolve("m");
        ObjectNode tok = (ObjectNode) JSON.readTree(bpe.resolve("tokenizer.json").toFile());
        ((ArrayNode) tok.get("model").get("merges")).add("a b");
        JSON.writeValue(bpe.resolve("tokenizer.json").toFile(), tok);
        Run badTok = quantize("--model", bpe.toString(), "--precision", "q8_0", "--format", "gguf", "--out", tmp.resolve("v").toString());
        assertNotEquals(0, badTok.code());
        assertTrue(badTok.err().contains("only the byte-level tokenizer"), badTok.err());

        Path tied = synth(tmp.resolve("t"), "llama");
        ObjectNode cfg = (ObjectNode) JSON.readTree(tied.resolve("config.json").toFile());
        cfg.put("tie_word_embeddings", true);
        JSON.writeValue(tied.resolve("config.json").toFile(), cfg);
        {
            assertTrue(ConfigLoader.load(tied).tieWordEmbeddings());
            Path tf = tmp.resolve("t.gguf");
            assertEquals(0, quantize("--model", tied.toString(), "--precision", "q8_0", "--format", "gguf", "--out", tf.toString()).code());
            GgufFile g = GgufFile.read(tf);
            assertTrue(g.tensors().stream().noneMatch(t -> t.name().equals("output.weight")));
            assertTrue(g.tensors().stream().anyMatch(t -> t.name().equals("token_embd.weight")));
        }
    }
}
