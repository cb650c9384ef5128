package dev.revenant.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Facts about the three fixture tokenizers, and how tokenizer_config.json / special_tokens_map.json steer them. */
class HfTokenizerTest {

    @Test
    void specialTokenIdsAndVocabularySizes() {
        Tokenizer l2 = TokenizerFixtures.tokenizer("llama2");
        assertEquals(1, l2.bosId());
        assertEquals(2, l2.eosId());
        assertEquals(32000, l2.vocabSize());
        assertTrue(l2.isSpecial(0) && l2.isSpecial(1) && l2.isSpecial(2));
        assertFalse(l2.isSpecial(3) || l2.isSpecial(-1) || l2.isSpecial(1 << 20));
        assertFalse(l2.cleanUpDefault());

        Tokenizer l3 = TokenizerFixtures.tokenizer("llama3");
        assertEquals(128000, l3.bosId());
        assertEquals(128001, l3.eosId());
        assertEquals(128256, l3.vocabSize());
        assertTrue(l3.isSpecial(128000) && l3.isSpecial(128009) && l3.isSpecial(128255));
        assertFalse(l3.isSpecial(127999));
        assertTrue(l3.cleanUpDefault(), "llama3's tokenizer_config.json sets clean_up_tokenization_spaces: true");

        Tokenizer q3 = TokenizerFixtures.tokenizer("qwen3");
        assertEquals(-1, q3.bosId(), "qwen3 has bos_token: null");
        assertEquals(151645, q3.eosId(), "<|im_end|>");
        assertEquals(151669, q3.vocabSize(), "151643 BPE pieces + 26 added tokens (the model has 151936 embedding rows)");
        assertTrue(q3.isSpecial(151643) && q3.isSpecial(151644) && q3.isSpecial(151645));
        assertFalse(q3.isSpecial(151667), "<think> is an added token but not special");
        assertFalse(q3.cleanUpDefault());
    }

    /**
     * muse-spec.md 3.2 says the KnowMem prompt's trailing space "encodes as a lone ▁ token (id 29871)": true for
     * Meta's Llama-2 vocabulary. The llama2 fixture has Mistral-7B's vocabulary (fixtures README), where "▁" is
     * 28705 (and 29871 is "ข"); the fact that holds for it is the same shape with 28705.
     */
    @Test
    void llama2TrailingSpaceIsALoneMetaspaceToken() {
        Tokenizer t = TokenizerFixtures.tokenizer("llama2");
        int[] ids = t.encode("Answer: ", true);
        assertArrayEquals(new int[] {1, 26307, 28747, 28705}, ids, "<s> ▁Answer : ▁");
        int[] prompt = t.encode("Question: Who wrote it?\nAnswer: ", true);
        assertEquals(28705, prompt[prompt.length - 1]);
        assertEquals(1, prompt[0]);
        // "▁" alone decodes to "" (the Strip decoder removes the leading space), after text to one space
        assertEquals("", t.decode(new int[] {28705}, false, false));
        assertEquals("Answer: ", t.decode(new int[] {26307, 28747, 28705}, false, false));
        assertEquals("ข", t.decode(new int[] {29871}, false, false), "29871 is not the space piece in this vocabulary");
    }

    @Test
    void decodingNothingGivesTheEmptyString() {
        for (String name : TokenizerFixtures.NAMES) {
            Tokenizer t = TokenizerFixtures.tokenizer(name);
            for (boolean skip : new boolean[] {false, true}) {
                for (boolean clean : new boolean[] {false, true}) {
                    assertEquals("", t.decode(new int[0], skip, clean), name);
                }
            }
            assertArrayEquals(new int[0], t.encode("", false), name);
        }
        Tokenizer l2 = TokenizerFixtures.tokenizer("llama2");
        assertEquals("", l2.decode(new int[] {1, 2}, true, false), "only specials, skipped");
    }

    @Test
    void decodeSkipsSpecialsAndCleansUpWhenAsked() {
        Tokenizer l2 = TokenizerFixtures.tokenizer("llama2");
        int[] ids = l2.encode("Hello , world ! I 'm sure it 's done .", true);
        assertEquals("Hello , world ! I 'm sure it 's done .", l2.decode(ids, true, false));
        assertEquals("Hello, world! I'm sure it's done.", l2.decode(ids, true, true));
        assertEquals("Hello , world ! I 'm sure it 's done .", l2.decode(ids, true), "cleanUpDefault() is false");
        assertTrue(l2.decode(ids, false, false).startsWith("<s>"));

        Tokenizer l3 = TokenizerFixtures.tokenizer("llama3");
        int[] withEot = concat(l3.encode("They do n't know .", false), new int[] {128009});
        assertEquals("They do n't know .<|eot_id|>", l3.decode(withEot, false, false));
        assertEquals("They don't know.", l3.decode(withEot, true), "llama3 cleans up by default");

        Tokenizer q3 = TokenizerFixtures.tokenizer("qwen3");
        int[] chat = q3.encode("<|im_start|>user\nhi<think></think><|im_end|>", true);
        assertEquals(151644, chat[0]);
        assertEquals("user\nhi<think></think>", q3.decode(chat, true, false), "<think> is not special, so it stays");
    }

    @Test
    void negativeIdsAreRejectedAndUnknownIdsDropped() {
        Tokenizer l2 = TokenizerFixtures.tokenizer("llama2");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> l2.decode(new int[] {22557, -3}, false, false));
        assertTrue(e.getMessage().contains("-3") && e.getMessage().contains("index 1"), e.getMessage());
        // like the Rust library (and so transformers): an id past the vocabulary has no text
        assertEquals("Hello world", l2.decode(new int[] {22557, 40000, 1526}, false, false));
    }

    @Test
    void closedTokenizerRefusesWork() {
        Tokenizer t = HfTokenizer.load(TokenizerFixtures.dir("llama2"));
        assertArrayEquals(new int[] {22557, 1526}, t.encode("Hello world", false));
        t.close();
        assertThrows(IllegalStateException.class, () -> t.encode("Hello world", false));
        t.close(); // twice is fine
    }

    @Test
    void loadsFromTheTokenizerJsonFileToo() {
        try (Tokenizer t = HfTokenizer.load(TokenizerFixtures.dir("llama2").resolve("tokenizer.json"))) {
            assertArrayEquals(new int[] {1, 22557, 1526}, t.encode("Hello world", true));
        }
    }

    @Test
    void addBosAndAddEosFlagsOverrideThePostProcessor(@TempDir Path tmp) throws IOException {
        Path d = llama2With(tmp, """
                {"add_bos_token": false, "add_eos_token": true, "bos_token": "<s>", "eos_token": "</s>"}""");
        try (Tokenizer t = HfTokenizer.load(d)) {
            assertArrayEquals(new int[] {22557, 1526, 2}, t.encode("Hello world", true));
            assertArrayEquals(new int[] {22557, 1526}, t.encode("Hello world", false));
        }
        // only add_eos_token given: BOS stays as tokenizer.json's template has it
        Files.writeString(d.resolve("tokenizer_config.json"), """
                {"add_eos_token": true, "bos_token": "<s>", "eos_token": "</s>"}""");
        try (Tokenizer t = HfTokenizer.load(d)) {
            assertArrayEquals(new int[] {1, 22557, 1526, 2}, t.encode("Hello world", true));
            assertArrayEquals(new int[] {1, 2}, t.encode("", true), "empty text still gets BOS and EOS");
        }
    }

    @Test
    void withoutAConfigThePostProcessorDecidesAndSpecialTokensMapNamesTokens(@TempDir Path tmp) throws IOException {
        Path d = Files.createDirectory(tmp.resolve("tok"));
        Files.copy(TokenizerFixtures.dir("llama2").resolve("tokenizer.json"), d.resolve("tokenizer.json"));
        try (Tokenizer t = HfTokenizer.load(d)) {
            assertEquals(-1, t.bosId());
            assertEquals(-1, t.eosId());
            assertArrayEquals(new int[] {1, 22557, 1526}, t.encode("Hello world", true), "TemplateProcessing adds <s>");
            assertFalse(t.cleanUpDefault());
        }
        Files.writeString(d.resolve("special_tokens_map.json"), """
                {"bos_token": {"content": "<s>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false},
                 "eos_token": "</s>", "unk_token": "<unk>"}""");
        try (Tokenizer t = HfTokenizer.load(d)) {
            assertEquals(1, t.bosId());
            assertEquals(2, t.eosId());
        }
        // special_tokens_map.json wins over tokenizer_config.json, as in transformers
        Files.writeString(d.resolve("tokenizer_config.json"), """
                {"bos_token": "</s>", "eos_token": "<unk>", "clean_up_tokenization_spaces": true}""");
        try (Tokenizer t = HfTokenizer.load(d)) {
            assertEquals(1, t.bosId());
            assertEquals(2, t.eosId());
            assertTrue(t.cleanUpDefault());
        }
    }

    @Test
    void addEosWithoutAnEosTokenIsAConfigError(@TempDir Path tmp) throws IOException {
        Path d = llama2With(tmp, """
                {"add_bos_token": true, "add_eos_token": true, "bos_token": "<s>", "eos_token": null}""");
        TokenizerException e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(d));
        assertTrue(e.getMessage().contains("tokenizer_config.json") && e.getMessage().contains("add_eos_token"), e.getMessage());
    }

    static Path llama2With(Path tmp, String config) throws IOException {
        Path d = Files.createDirectories(tmp.resolve("tok"));
        Files.copy(TokenizerFixtures.dir("llama2").resolve("tokenizer.json"), d.resolve("tokenizer.json"));
        Files.writeString(d.resolve("tokenizer_config.json"), config);
        return d;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
