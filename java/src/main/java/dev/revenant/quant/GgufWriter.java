package dev.revenant.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.model.Architecture;
import dev.revenant.model.ConfigLoader;
import dev.revenant.model.Family;
import dev.revenant.model.ModelConfig;
import dev.revenant.model.RopeConfig;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.Tensor;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a float llama-family checkpoint as one GGUF v3 file that llama.cpp loads ({@code revenant quantize
 * --format gguf}; formats.md, "GGUF container").
 *
 * <p>Layout (little endian): magic {@code GGUF}, version 3, tensor count (u64), metadata count (u64), the
 * metadata key/value pairs, the tensor infos (name, n_dims, dims innermost first, ggml type, offset relative
 * to the data section), zero padding to {@link #ALIGNMENT}, then the tensor data, each tensor starting at a
 * multiple of {@link #ALIGNMENT}.
 *
 * <p>What goes in, following llama.cpp's {@code convert_hf_to_gguf.py} for {@code LlamaForCausalLM}:
 * <ul>
 *   <li>The Linear weights inside the decoder blocks as Q8_0 or Q4_0 blocks ({@link GgufBlocks}, byte-exact
 *       with ggml's reference quantizers; the same blocks Revenant's own q8_0/q4_0 precisions compute with).
 *       q_proj and k_proj rows are permuted first ({@link #permuteRows}) from HF's rotate-half RoPE layout
 *       to the interleaved pairs llama.cpp's llama architecture rotates.</li>
 *   <li>Embeddings, norms and lm_head as F32 (the values as stored; bf16/f16 widen exactly), as Revenant's
 *       quantized precisions keep them. {@code output.weight} is left out when the embeddings are tied;
 *       llama.cpp then reuses {@code token_embd.weight}.</li>
 *   <li>Only the byte-level tokenizer that {@code revenant synth} writes is exported, as a SentencePiece
 *       ("llama") vocabulary with the same ids: 0 {@code <pad>} (also unk and padding), 1 {@code <s>},
 *       2 {@code </s>}, 3..258 the byte tokens {@code <0x00>..<0xFF>} (type BYTE), then {@code <unused_N>}
 *       up to the model's vocab_size. A real (BPE / SentencePiece) tokenizer.json is refused for now.</li>
 * </ul>
 * Refused with a message: other families, attention/MLP biases, partial rotary, RoPE scaling other than
 * linear, packed (already quantized) checkpoints. Mistral's sliding window is honoured by capping
 * {@code llama.context_length} at the window (llama.cpp's llama architecture has no window).
 */
public final class GgufWriter {
    public static final int ALIGNMENT = 32;
    public static final int VERSION = 3;

    /** ggml type ids (ggml.h {@code enum ggml_type}). */
    public static final int GGML_F32 = 0;
    public static final int GGML_Q4_0 = 2;
    public static final int GGML_Q8_0 = 8;

    /** GGUF metadata value types (gguf.h {@code enum gguf_type}). */
    static final int T_UINT32 = 4;
    static final int T_INT32 = 5;
    static final int T_FLOAT32 = 6;
    static final int T_BOOL = 7;
    static final int T_STRING = 8;
    static final int T_ARRAY = 9;

    /** llama.cpp token types ({@code llama_token_type}). */
    static final int TOKEN_NORMAL = 1;
    static final int TOKEN_CONTROL = 3;
    static final int TOKEN_UNUSED = 5;
    static final int TOKEN_BYTE = 6;

    private static final int BYTE_OFFSET = 3;
    private static final int BYTE_VOCAB = 259;

    private GgufWriter() {
    }

    /** What was written. */
    public record Result(Path file, int tensors, int quantized, long bytes) {
    }

    /** The llama.cpp {@code general.file_type} of a GGUF written at {@code type} (MOSTLY_Q8_0 = 7, MOSTLY_Q4_0 = 2). */
    public static int fileType(GgufPacked.Type type) {
        return type == GgufPacked.Type.Q8_0 ? 7 : 2;
    }

    public static int ggmlType(GgufPacked.Type type) {
        return type == GgufPacked.Type.Q8_0 ? GGML_Q8_0 : GGML_Q4_0;
    }

    /** The precision's block type; anything but q8_0 / q4_0 is refused. */
    public static GgufPacked.Type type(Precision p) {
        return switch (p.name()) {
            case "q8_0" -> GgufPacked.Type.Q8_0;
            case "q4_0" -> GgufPacked.Type.Q4_0;
            default -> throw new IllegalArgumentException("--format gguf writes q8_0 or q4_0 blocks; --precision "
                    + p.name() + " has no GGUF type here (use --precision q8_0 or q4_0, or --format revenant)");
        };
    }

    /**
     * Writes {@code modelDir} (a float llama/mistral checkpoint with Revenant's byte-level tokenizer) to
     * {@code outFile} with the decoder Linear weights as {@code type} blocks. The file appears atomically.
     */
    public static Result write(Path modelDir, GgufPacked.Type type, Path outFile) {
        ModelConfig c = ConfigLoader.load(modelDir);
        checkSupported(modelDir, c);
        if (QuantConfig.read(modelDir).isPresent()) {
            throw new IllegalArgumentException(modelDir + ": already a packed (quantized) checkpoint; GGUF export "
                    + "needs the float model");
        }
        List<Kv> meta = metadata(modelDir, c, type);
        try (Checkpoint ck = Checkpoint.open(modelDir)) {
            List<Entry> entries = entries(c, ck, type);
            return writeFile(outFile, meta, entries, type);
        }
    }

    private static void checkSupported(Path dir, ModelConfig c) {
        if (c.family() != Family.LLAMA && c.family() != Family.MISTRAL) {
            throw new IllegalArgumentException(dir + ": GGUF export supports the llama family only (model_type llama "
                    + "or mistral); this model is model_type '" + c.modelType() + "' (family " + c.family().modelType() + ")");
        }
        if (c.qkvBias() || c.outputBias() || c.mlpBias()) {
            throw new IllegalArgumentException(dir + ": GGUF export of llama models with attention_bias or mlp_bias "
                    + "is not supported yet");
        }
        RopeConfig r = c.rope();
        if (r.rotaryDim() != c.headDim()) {
            throw new IllegalArgumentException(dir + ": GGUF export needs RoPE over the whole head (rotary dimension "
                    + r.rotaryDim() + ", head_dim " + c.headDim() + ")");
        }
        if (r.type() != RopeConfig.Type.DEFAULT && r.type() != RopeConfig.Type.LINEAR) {
            throw new IllegalArgumentException(dir + ": GGUF export supports plain and linear RoPE scaling; this model "
                    + "uses rope type " + r.type().name().toLowerCase(java.util.Locale.ROOT) + " (not supported yet)");
        }
        if ((long) c.hiddenSize() % GgufBlocks.QK != 0 || (long) c.intermediateSize() % GgufBlocks.QK != 0
                || (long) c.qDim() % GgufBlocks.QK != 0) {
            throw new IllegalArgumentException(dir + ": GGUF Q8_0/Q4_0 blocks need hidden_size, intermediate_size and "
                    + "heads × head_dim to be multiples of " + GgufBlocks.QK);
        }
    }

    // ---------------------------------------------------------------- metadata

    /** One metadata key/value pair: {@code type} is the GGUF value type, {@code arrayType} the element type of an array. */
    record Kv(String key, int type, int arrayType, Object value) {
    }

    private static Kv u32(String k, long v) {
        return new Kv(k, T_UINT32, -1, v);
    }

    private static Kv f32(String k, double v) {
        return new Kv(k, T_FLOAT32, -1, (float) v);
    }

    private static Kv str(String k, String v) {
        return new Kv(k, T_STRING, -1, v);
    }

    private static Kv bool(String k, boolean v) {
        return new Kv(k, T_BOOL, -1, v);
    }

    static List<Kv> metadata(Path dir, ModelConfig c, GgufPacked.Type type) {
        List<Kv> kv = new ArrayList<>();
        String name = dir.toAbsolutePath().normalize().getFileName() == null ? "model"
                : dir.toAbsolutePath().normalize().getFileName().toString();
        int ctx = c.maxPositions();
        if (c.family() == Family.MISTRAL && c.slidingWindow() > 0 && c.slidingWindow() < ctx) {
            ctx = c.slidingWindow();
        }
        kv.add(str("general.architecture", "llama"));
        kv.add(str("general.name", name));
        kv.add(u32("general.file_type", fileType(type)));
        kv.add(u32("general.quantization_version", 2));
        kv.add(u32("general.alignment", ALIGNMENT));
        kv.add(u32("llama.vocab_size", c.vocabSize()));
        kv.add(u32("llama.context_length", ctx));
        kv.add(u32("llama.embedding_length", c.hiddenSize()));
        kv.add(u32("llama.block_count", c.numLayers()));
        kv.add(u32("llama.feed_forward_length", c.intermediateSize()));
        kv.add(u32("llama.attention.head_count", c.numHeads()));
        kv.add(u32("llama.attention.head_count_kv", c.numKvHeads()));
        kv.add(u32("llama.attention.key_length", c.headDim()));
        kv.add(u32("llama.attention.value_length", c.headDim()));
        kv.add(f32("llama.attention.layer_norm_rms_epsilon", c.normEps()));
        kv.add(f32("llama.rope.freq_base", c.rope().theta()));
        kv.add(u32("llama.rope.dimension_count", c.rope().rotaryDim()));
        if (c.rope().type() == RopeConfig.Type.LINEAR) {
            kv.add(str("llama.rope.scaling.type", "linear"));
            kv.add(f32("llama.rope.scaling.factor", c.rope().factor()));
        }
        kv.addAll(tokenizer(dir, c));
        return kv;
    }

    /** The byte-level tokenizer of {@code revenant synth} as a SentencePiece vocabulary with the same ids. */
    static List<Kv> tokenizer(Path dir, ModelConfig c) {
        requireByteTokenizer(dir);
        int n = c.vocabSize();
        if (n < BYTE_VOCAB) {
            throw new IllegalArgumentException(dir + ": vocab_size " + n + " is smaller than the byte-level tokenizer's "
                    + BYTE_VOCAB + " tokens");
        }
        String[] tokens = new String[n];
        float[] scores = new float[n];
        int[] types = new int[n];
        tokens[0] = "<pad>";
        tokens[1] = "<s>";
        tokens[2] = "</s>";
        types[0] = TOKEN_CONTROL;
        types[1] = TOKEN_CONTROL;
        types[2] = TOKEN_CONTROL;
        for (int b = 0; b < 256; b++) {
            tokens[BYTE_OFFSET + b] = String.format("<0x%02X>", b);
            types[BYTE_OFFSET + b] = TOKEN_BYTE;
        }
        for (int i = BYTE_VOCAB; i < n; i++) {
            tokens[i] = "<unused_" + i + ">";
            types[i] = TOKEN_UNUSED;
        }
        List<Kv> kv = new ArrayList<>();
        kv.add(str("tokenizer.ggml.model", "llama"));
        kv.add(new Kv("tokenizer.ggml.tokens", T_ARRAY, T_STRING, tokens));
        kv.add(new Kv("tokenizer.ggml.scores", T_ARRAY, T_FLOAT32, scores));
        kv.add(new Kv("tokenizer.ggml.token_type", T_ARRAY, T_INT32, types));
        kv.add(u32("tokenizer.ggml.bos_token_id", 1));
        kv.add(u32("tokenizer.ggml.eos_token_id", 2));
        kv.add(u32("tokenizer.ggml.unknown_token_id", 0));
        kv.add(u32("tokenizer.ggml.padding_token_id", 0));
        kv.add(bool("tokenizer.ggml.add_bos_token", true));
        kv.add(bool("tokenizer.ggml.add_eos_token", false));
        kv.add(bool("tokenizer.ggml.add_space_prefix", false));
        return kv;
    }

    /** Refuses any tokenizer.json but the one {@code ByteTokenizerWriter} writes (checked id by id). */
    static void requireByteTokenizer(Path dir) {
        Path f = dir.resolve("tokenizer.json");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(f));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(f + ": not found; GGUF export needs the model's tokenizer", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(f + ": cannot read: " + e.getMessage(), e);
        }
        String why = byteTokenizerMismatch(root);
        if (why != null) {
            throw new IllegalArgumentException(f + ": GGUF export writes only the byte-level tokenizer of synthesized "
                    + "models (revenant synth) for now; this tokenizer is not it (" + why + "). Exporting BPE / "
                    + "SentencePiece vocabularies is not implemented yet");
        }
    }

    private static String byteTokenizerMismatch(JsonNode root) {
        JsonNode model = root == null ? null : root.get("model");
        if (model == null || !"BPE".equals(model.path("type").asText())) {
            return "model.type is " + (model == null ? "missing" : model.path("type").asText()) + ", not a byte-level BPE";
        }
        if (model.path("merges").size() != 0) {
            return model.path("merges").size() + " merges";
        }
        JsonNode vocab = model.path("vocab");
        if (vocab.size() != BYTE_VOCAB) {
            return vocab.size() + " vocabulary entries, expected " + BYTE_VOCAB;
        }
        String[] specials = {"<pad>", "<s>", "</s>"};
        for (int i = 0; i < specials.length; i++) {
            if (vocab.path(specials[i]).asInt(-1) != i) {
                return specials[i] + " is not id " + i;
            }
        }
        int[] map = gpt2ByteToCodePoint();
        for (int b = 0; b < 256; b++) {
            String s = new String(Character.toChars(map[b]));
            if (vocab.path(s).asInt(-1) != BYTE_OFFSET + b) {
                return "byte " + b + " is not id " + (BYTE_OFFSET + b);
            }
        }
        return null;
    }

    /** GPT-2's bytes_to_unicode (the map ByteTokenizerWriter spells byte tokens with). */
    private static int[] gpt2ByteToCodePoint() {
        int[] map = new int[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? b : next++;
        }
        return map;
    }

    // ---------------------------------------------------------------- tensors

    /** One GGUF tensor: name, dims innermost first, ggml type, byte size and how to produce its bytes. */
    record Entry(String name, long[] ne, int ggmlType, long bytes, Architecture.TensorSpec spec, Source source) {
    }

    interface Source {
        void write(LeOut out) throws IOException;
    }

    static String ggufName(String hf) {
        Map<String, String> top = Map.of("model.embed_tokens.weight", "token_embd.weight", "model.norm.weight",
                "output_norm.weight", "lm_head.weight", "output.weight");
        if (top.containsKey(hf)) {
            return top.get(hf);
        }
        String prefix = "model.layers.";
        if (!hf.startsWith(prefix)) {
            throw new IllegalArgumentException("no GGUF name for tensor " + hf);
        }
        int dot = hf.indexOf('.', prefix.length());
        String layer = hf.substring(prefix.length(), dot);
        String rest = hf.substring(dot + 1);
        String g = switch (rest) {
            case "input_layernorm.weight" -> "attn_norm.weight";
            case "self_attn.q_proj.weight" -> "attn_q.weight";
            case "self_attn.k_proj.weight" -> "attn_k.weight";
            case "self_attn.v_proj.weight" -> "attn_v.weight";
            case "self_attn.o_proj.weight" -> "attn_output.weight";
            case "post_attention_layernorm.weight" -> "ffn_norm.weight";
            case "mlp.gate_proj.weight" -> "ffn_gate.weight";
            case "mlp.up_proj.weight" -> "ffn_up.weight";
            case "mlp.down_proj.weight" -> "ffn_down.weight";
            default -> throw new IllegalArgumentException("no GGUF name for tensor " + hf);
        };
        return "blk." + layer + "." + g;
    }

    private static List<Entry> entries(ModelConfig c, Checkpoint ck, GgufPacked.Type type) {
        List<Entry> out = new ArrayList<>();
        for (Architecture.TensorSpec spec : Architecture.tensors(c)) {
            Tensor t = ck.tensor(spec.name());
            if (!Arrays.equals(t.shape(), spec.shape())) {
                throw new IllegalArgumentException(t.describe() + ": expected shape " + Arrays.toString(spec.shape()));
            }
            long[] shape = spec.shape();
            long[] ne = new long[shape.length];
            for (int i = 0; i < shape.length; i++) {
                ne[i] = shape[shape.length - 1 - i];
            }
            String name = ggufName(spec.name());
            if (spec.role() == Architecture.Role.LINEAR) {
                long bytes = shape[0] * (shape[1] / GgufBlocks.QK) * type.blockBytes();
                int heads = spec.name().endsWith("q_proj.weight") ? c.numHeads()
                        : spec.name().endsWith("k_proj.weight") ? c.numKvHeads() : 0;
                out.add(new Entry(name, ne, ggmlType(type), bytes, spec, o -> {
                    Tensor w = heads > 0 ? permuteRows(t, heads) : t;
                    GgufPacked p = GgufBlocks.quantize(w, type);
                    o.write(p.blocks());
                }));
            } else {
                out.add(new Entry(name, ne, GGML_F32, spec.numel() * 4, spec, o -> writeF32(t, o)));
            }
        }
        return out;
    }

    /**
     * convert_hf_to_gguf's {@code permute(w, n_head, n_head_kv)} for one of q_proj ({@code heads} = attention
     * heads) or k_proj ({@code heads} = kv heads): within each head of {@code d} rows, new row {@code 2i + j}
     * = old row {@code j·d/2 + i} (j ∈ {0, 1}), so HF's rotate-half pairs (i, i + d/2) become adjacent.
     */
    public static Tensor permuteRows(Tensor w, int heads) {
        int rows = (int) w.dim(0);
        int cols = (int) w.dim(1);
        if (rows % heads != 0 || (rows / heads) % 2 != 0) {
            throw new IllegalArgumentException(w.describe() + ": rows not divisible into " + heads + " heads of even size");
        }
        int d = rows / heads;
        float[] v = new float[Math.multiplyExact(rows, cols)];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < d / 2; i++) {
                for (int j = 0; j < 2; j++) {
                    long src = (long) (h * d + j * (d / 2) + i) * cols;
                    int dst = (h * d + 2 * i + j) * cols;
                    for (int k = 0; k < cols; k++) {
                        v[dst + k] = w.getFloat(src + k);
                    }
                }
            }
        }
        return Tensor.ofFloats(w.name(), v, rows, cols);
    }

    private static void writeF32(Tensor t, LeOut o) throws IOException {
        long n = t.numel();
        for (long i = 0; i < n; i++) {
            o.f32(t.getFloat(i));
        }
    }

    // ---------------------------------------------------------------- file

    private static Result writeFile(Path outFile, List<Kv> meta, List<Entry> entries, GgufPacked.Type type) {
        Path abs = outFile.toAbsolutePath().normalize();
        Path tmp = abs.resolveSibling(abs.getFileName() + ".partial");
        int quantized = 0;
        try {
            Files.createDirectories(abs.getParent());
            try (LeOut o = new LeOut(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20))) {
                o.raw("GGUF".getBytes(StandardCharsets.US_ASCII));
                o.u32(VERSION);
                o.u64(entries.size());
                o.u64(meta.size());
                for (Kv kv : meta) {
                    writeKv(o, kv);
                }
                long offset = 0;
                Map<String, Long> offsets = new LinkedHashMap<>();
                for (Entry e : entries) {
                    o.str(e.name());
                    o.u32(e.ne().length);
                    for (long d : e.ne()) {
                        o.u64(d);
                    }
                    o.u32(e.ggmlType());
                    o.u64(offset);
                    offsets.put(e.name(), offset);
                    offset = align(offset + e.bytes());
                }
                o.pad(align(o.pos()) - o.pos());
                long dataStart = o.pos();
                for (Entry e : entries) {
                    long at = o.pos() - dataStart;
                    if (at != offsets.get(e.name())) {
                        throw new IllegalStateException(e.name() + ": data at " + at + ", header says " + offsets.get(e.name()));
                    }
                    e.source().write(o);
                    if (o.pos() - dataStart - at != e.bytes()) {
                        throw new IllegalStateException(e.name() + ": wrote " + (o.pos() - dataStart - at) + " bytes, expected " + e.bytes());
                    }
                    if (e.ggmlType() != GGML_F32) {
                        quantized++;
                    }
                    o.pad(align(o.pos() - dataStart) - (o.pos() - dataStart));
                }
            }
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return new Result(abs, entries.size(), quantized, Files.size(abs));
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort
            }
            throw new UncheckedIOException(abs + ": cannot write GGUF: " + e.getMessage(), e);
        }
    }

    static long align(long x) {
        return (x + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static void writeKv(LeOut o, Kv kv) throws IOException {
        o.str(kv.key());
        o.u32(kv.type());
        if (kv.type() == T_ARRAY) {
            o.u32(kv.arrayType());
            switch (kv.arrayType()) {
                case T_STRING -> {
                    String[] a = (String[]) kv.value();
                    o.u64(a.length);
                    for (String s : a) {
                        o.str(s);
                    }
                }
                case T_FLOAT32 -> {
                    float[] a = (float[]) kv.value();
                    o.u64(a.length);
                    for (float f : a) {
                        o.f32(f);
                    }
                }
                case T_INT32 -> {
                    int[] a = (int[]) kv.value();
                    o.u64(a.length);
                    for (int v : a) {
                        o.u32(v);
                    }
                }
                default -> throw new IllegalStateException("array of type " + kv.arrayType());
            }
        } else {
            writeScalar(o, kv.type(), kv.value());
        }
    }

    private static void writeScalar(LeOut o, int type, Object v) throws IOException {
        switch (type) {
            case T_UINT32, T_INT32 -> o.u32(((Number) v).longValue());
            case T_FLOAT32 -> o.f32((Float) v);
            case T_BOOL -> o.raw(new byte[] {(byte) ((Boolean) v ? 1 : 0)});
            case T_STRING -> o.str((String) v);
            default -> throw new IllegalStateException("type " + type);
        }
    }

    /** A little-endian writer that counts bytes. */
    static final class LeOut implements AutoCloseable {
        private final OutputStream out;
        private final byte[] buf = new byte[8];
        private long pos;

        LeOut(OutputStream out) {
            this.out = out;
        }

        long pos() {
            return pos;
        }

        void raw(byte[] b) throws IOException {
            out.write(b);
            pos += b.length;
        }

        void write(byte[] b) throws IOException {
            raw(b);
        }

        void u32(long v) throws IOException {
            for (int i = 0; i < 4; i++) {
                buf[i] = (byte) (v >>> (8 * i));
            }
            out.write(buf, 0, 4);
            pos += 4;
        }

        void u64(long v) throws IOException {
            for (int i = 0; i < 8; i++) {
                buf[i] = (byte) (v >>> (8 * i));
            }
            out.write(buf, 0, 8);
            pos += 8;
        }

        void f32(float f) throws IOException {
            u32(Float.floatToRawIntBits(f) & 0xFFFFFFFFL);
        }

        void str(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            raw(b);
        }

        void pad(long n) throws IOException {
            for (long i = 0; i < n; i++) {
                out.write(0);
            }
            pos += n;
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }
}
