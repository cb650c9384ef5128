package dev.revenant.tokenizer;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Broken tokenizer folders fail at load with the file named and what is wrong with it. */
class HfTokenizerErrorsTest {

    private static TokenizerException fails(Path dir, String... expected) {
        TokenizerException e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(dir));
        assertInstanceOf(IllegalArgumentException.class, e);
        for (String s : expected) {
            assertTrue(e.getMessage().contains(s), "expected '" + s + "' in: " + e.getMessage());
        }
        return e;
    }

    private static Path folder(Path tmp, String tokenizerJson) throws IOException {
        Path d = Files.createDirectories(tmp.resolve("tok"));
        Files.writeString(d.resolve("tokenizer.json"), tokenizerJson);
        return d;
    }

    @Test
    void missingFolder(@TempDir Path tmp) {
        fails(tmp.resolve("nope"), "nope", "does not exist");
    }

    @Test
    void aFileThatIsNotTokenizerJson(@TempDir Path tmp) throws IOException {
        Path f = Files.writeString(tmp.resolve("vocab.txt"), "a\nb\n");
        fails(f, "vocab.txt", "expected a tokenizer folder");
    }

    @Test
    void missingTokenizerJson(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{}");
        fails(tmp, tmp.resolve("tokenizer.json").toString(), "missing");
    }

    @Test
    void malformedTokenizerJsonNamesLineAndColumn(@TempDir Path tmp) throws IOException {
        Path d = folder(tmp, "{\n  \"version\": \"1.0\",\n  \"model\": {\"type\": \"BPE\",, \"vocab\": {}}\n}\n");
        fails(d, "tokenizer.json", "not valid JSON", "line 3, column");
    }

    @Test
    void truncatedTokenizerJson(@TempDir Path tmp) throws IOException {
        String full = Files.readString(TokenizerFixtures.dir("llama2").resolve("tokenizer.json"));
        Path d = folder(tmp, full.substring(0, full.length() / 2));
        TokenizerException e = fails(d, "tokenizer.json", "not valid JSON", "end-of-input");
        assertFalse(e.getMessage().contains("REDACTED"), e.getMessage());
    }

    @Test
    void tokenizerJsonOfTheWrongShape(@TempDir Path tmp) throws IOException {
        fails(folder(tmp, "[1, 2]"), "tokenizer.json", "expected a JSON object");
        fails(folder(tmp, "{\"version\": \"1.0\", \"added_tokens\": []}"), "tokenizer.json", "no \"model\"");
        fails(folder(tmp, "{\"model\": {\"vocab\": {\"a\": \"zero\"}}}"), "tokenizer.json", "model.vocab[\"a\"]", "integer id");
        fails(folder(tmp, "{\"added_tokens\": [{\"content\": \"<s>\"}], \"model\": {}}"), "tokenizer.json", "added_tokens[0]");
    }

    @Test
    void tokenizerJsonRejectedByTheRustLibrary(@TempDir Path tmp) throws IOException {
        Path d = folder(tmp, "{\"version\": \"1.0\", \"model\": {\"type\": \"NoSuchModel\", \"vocab\": {}}}");
        fails(d, d.resolve("tokenizer.json").toString(), "tokenizers library cannot load it");
    }

    @Test
    void malformedTokenizerConfig(@TempDir Path tmp) throws IOException {
        Path d = HfTokenizerTest.llama2With(tmp, "{\n  \"add_bos_token\": true\n  \"eos_token\": \"</s>\"\n}");
        fails(d, "tokenizer_config.json", "not valid JSON", "line 3");
    }

    @Test
    void configValuesOfTheWrongType(@TempDir Path tmp) throws IOException {
        Path d = HfTokenizerTest.llama2With(tmp, "{\"add_bos_token\": \"yes\"}");
        fails(d, "tokenizer_config.json", "add_bos_token", "expected true or false");
        Files.writeString(d.resolve("tokenizer_config.json"), "{\"eos_token\": 2}");
        fails(d, "tokenizer_config.json", "eos_token");
        Files.writeString(d.resolve("tokenizer_config.json"), "[]");
        fails(d, "tokenizer_config.json", "expected a JSON object");
        Files.writeString(d.resolve("tokenizer_config.json"), "{}");
        Files.writeString(d.resolve("special_tokens_map.json"), "{\"bos_token\": ");
        fails(d, "special_tokens_map.json", "not valid JSON");
    }
}
