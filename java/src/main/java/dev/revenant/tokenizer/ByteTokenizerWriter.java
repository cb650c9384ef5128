package dev.revenant.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a minimal byte-level BPE tokenizer (HF {@code tokenizer.json} + {@code tokenizer_config.json}):
 * ids 0, 1, 2 = {@code <pad>}, {@code <s>}, {@code </s>}, then one token per byte (ids 3..258) spelled
 * with GPT-2's byte-to-unicode map, no merges. Any UTF-8 text round-trips. BOS is added with special
 * tokens. Used for synthesized models so text commands work on them without a download.
 */
public final class ByteTokenizerWriter {
    public static final int VOCAB = 259;
    public static final int BYTE_OFFSET = 3;

    private ByteTokenizerWriter() {
    }

    /** GPT-2's reversible byte → printable code point map (bytes_to_unicode, the published table). */
    static int[] byteToCodePoint() {
        int[] map = new int[256];
        boolean[] printable = new boolean[256];
        for (int b = 0; b < 256; b++) {
            printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        }
        int next = 256;
        for (int b = 0; b < 256; b++) {
            map[b] = printable[b] ? b : next++;
        }
        return map;
    }

    public static void write(Path dir) {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<pad>", "<s>", "</s>"};
        for (int i = 0; i < specials.length; i++) {
            ObjectNode t = added.addObject();
            t.put("id", i);
            t.put("content", specials[i]);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", true);
        pre.put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode st = post.putObject("special_tokens");
        ObjectNode bos = st.putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(1);
        bos.putArray("tokens").add("<s>");
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "ByteLevel");
        dec.put("add_prefix_space", false);
        dec.put("trim_offsets", true);
        dec.put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < specials.length; i++) {
            vocab.put(specials[i], i);
        }
        int[] map = byteToCodePoint();
        for (int b = 0; b < 256; b++) {
            vocab.put(new String(Character.toChars(map[b])), BYTE_OFFSET + b);
        }
        model.putArray("merges");
        ObjectNode cfg = json.createObjectNode();
        cfg.put("add_bos_token", true);
        cfg.put("add_eos_token", false);
        cfg.put("bos_token", "<s>");
        cfg.put("eos_token", "</s>");
        cfg.put("pad_token", "<pad>");
        cfg.put("clean_up_tokenization_spaces", false);
        cfg.put("model_max_length", 1_000_000);
        cfg.put("tokenizer_class", "PreTrainedTokenizerFast");
        try {
            Files.createDirectories(dir);
            json.writeValue(dir.resolve("tokenizer.json").toFile(), root);
            json.writeValue(dir.resolve("tokenizer_config.json").toFile(), cfg);
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot write tokenizer files: " + e.getMessage(), e);
        }
    }
}
