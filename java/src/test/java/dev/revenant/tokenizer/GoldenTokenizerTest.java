package dev.revenant.tokenizer;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every case of tokenizers/golden.json (transformers.js, cross-checked against transformers and sentencepiece;
 * fixtures README): encode with and without special tokens, decode with specials kept and skipped, no clean-up.
 */
class GoldenTokenizerTest {

    @TestFactory
    Stream<DynamicContainer> everyGoldenCase() {
        return TokenizerFixtures.NAMES.stream().map(name -> DynamicContainer.dynamicContainer(name,
                TokenizerFixtures.cases(name).stream().map(c -> DynamicTest.dynamicTest(c.label(), () -> check(c)))));
    }

    private static void check(TokenizerFixtures.Case c) {
        Tokenizer t = TokenizerFixtures.tokenizer(c.name());
        assertAll(c.label(),
                () -> assertArrayEquals(c.ids(), t.encode(c.text(), false), "encode(text, false)"),
                () -> assertArrayEquals(c.idsWithSpecial(), t.encode(c.text(), true), "encode(text, true)"),
                () -> assertEquals(c.decoded(), t.decode(c.ids(), false, false), "decode(ids, false, false)"),
                () -> assertEquals(c.decodedSkipSpecial(), t.decode(c.idsWithSpecial(), true, false),
                        "decode(ids_with_special, true, false)"));
    }

    /** The summary: how many of the 3 x 47 cases match in all four respects. */
    @Test
    void allGoldenCasesMatch() {
        int total = 0;
        List<String> bad = new ArrayList<>();
        for (String name : TokenizerFixtures.NAMES) {
            Tokenizer t = TokenizerFixtures.tokenizer(name);
            for (TokenizerFixtures.Case c : TokenizerFixtures.cases(name)) {
                total++;
                boolean ok = Arrays.equals(c.ids(), t.encode(c.text(), false))
                        && Arrays.equals(c.idsWithSpecial(), t.encode(c.text(), true))
                        && c.decoded().equals(t.decode(c.ids(), false, false))
                        && c.decodedSkipSpecial().equals(t.decode(c.idsWithSpecial(), true, false));
                if (!ok) {
                    bad.add(c.label());
                }
            }
        }
        System.out.printf("tokenizer goldens: %d/%d cases match%n", total - bad.size(), total);
        assertEquals(141, total, "golden.json should hold 47 cases for each of llama2, llama3, qwen3");
        assertTrue(bad.isEmpty(), "mismatching cases: " + bad);
    }
}
