package dev.revenant.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.Fixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The tokenizer fixtures ({@code tokenizers/<name>/}) and their goldens, loaded once per test JVM. */
final class TokenizerFixtures {
    private TokenizerFixtures() {
    }

    static final List<String> NAMES = List.of("llama2", "llama3", "qwen3");
    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();
    private static volatile JsonNode golden;

    /** One case of golden.json. */
    record Case(String name, int index, String text, int[] ids, int[] idsWithSpecial, String decoded, String decodedSkipSpecial) {
        String label() {
            String t = text.length() > 40 ? text.substring(0, 37) + "..." : text;
            return name + " #" + index + " " + t.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
        }
    }

    static Path dir(String name) {
        return Fixtures.dir().resolve("tokenizers").resolve(name);
    }

    /** Shared, never closed (the JVM ends with the tests). */
    static Tokenizer tokenizer(String name) {
        return LOADED.computeIfAbsent(name, n -> HfTokenizer.load(dir(n)));
    }

    static List<Case> cases(String name) {
        JsonNode g = golden;
        if (g == null) {
            try {
                g = new ObjectMapper().readTree(Fixtures.dir().resolve("tokenizers/golden.json").toFile());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            golden = g;
        }
        List<Case> out = new ArrayList<>();
        JsonNode arr = g.get(name);
        for (int i = 0; i < arr.size(); i++) {
            JsonNode c = arr.get(i);
            out.add(new Case(name, i, c.get("text").textValue(), ints(c.get("ids")), ints(c.get("ids_with_special")),
                    c.get("decoded").textValue(), c.get("decoded_skip_special").textValue()));
        }
        return out;
    }

    static int[] ints(JsonNode n) {
        int[] r = new int[n.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = n.get(i).intValue();
        }
        return r;
    }
}
