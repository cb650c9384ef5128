package dev.revenant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

class RougeTest {

    @Test
    void tokenizerKeepsAsciiAlphanumericRunsOnly() {
        assertEquals(List.of("caf"), Rouge.tokenize("café"));
        assertEquals(List.of("na", "ve", "caf", "s"), Rouge.tokenize("Naïve CAFÉS"));
        assertEquals(List.of("hello", "world", "42"), Rouge.tokenize("  Hello,,, --World!!!\n\t42...  "));
        assertEquals(List.of("don", "t", "stop", "a1b2"), Rouge.tokenize("Don't-stop_A1B2"));
        assertEquals(List.of(), Rouge.tokenize(""));
        assertEquals(List.of(), Rouge.tokenize(" ,.;:!?\n\t "));
        assertEquals(List.of(), Rouge.tokenize("日本語 ü é"));
        // U+0130 lowercases to "i" + U+0307 (in Python and Java alike); U+212A KELVIN SIGN to "k".
        assertEquals(List.of("i", "stanbul"), Rouge.tokenize("İstanbul"));
        assertEquals(List.of("300k"), Rouge.tokenize("300\u212A"));
        // A supplementary character is a separator, not two.
        assertEquals(List.of("a", "b"), Rouge.tokenize("a\uD83D\uDE00b"));
    }

    @Test
    void onlyTwoNonAsciiCodePointsLowercaseToAsciiAlphanumerics() {
        // Measured with Python 3.11 (Unicode 14): [0x130, 0x212a]. The tokenizer can only differ from
        // Python's where str.lower() and toLowerCase(Locale.ROOT) disagree on these.
        List<Integer> found = new ArrayList<>();
        for (int cp = 0x80; cp <= Character.MAX_CODE_POINT; cp++) {
            if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) {
                continue;
            }
            String l = new String(Character.toChars(cp)).toLowerCase(Locale.ROOT);
            if (l.chars().anyMatch(c -> (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
                found.add(cp);
            }
        }
        assertEquals(List.of(0x130, 0x212A), found);
    }

    @Test
    void rougeLUsesTheLongestCommonSubsequence() {
        Rouge.Score s = Rouge.rougeL("the cat sat on the mat", "the cat on the mat");
        double p = 5.0 / 5;
        double r = 5.0 / 6;
        assertEquals(new Rouge.Score(p, r, 2 * p * r / (p + r)), s);
        // Order matters for LCS, not for ROUGE-1.
        assertEquals(1.0 / 3, Rouge.rougeL("a b c", "c b a").recall(), 0.0);
        assertEquals(1.0, Rouge.rouge1("a b c", "c b a").fmeasure(), 0.0);
        assertEquals(new Rouge.Score(1, 1, 1), Rouge.rougeL("Golden Snitch!", "golden, snitch"));
    }

    @Test
    void emptySidesScoreZero() {
        Rouge.Score zero = new Rouge.Score(0, 0, 0);
        assertEquals(zero, Rouge.rougeL("", "anything"));
        assertEquals(zero, Rouge.rougeL("anything", ""));
        assertEquals(zero, Rouge.rougeL("...", "!!!"));
        assertEquals(zero, Rouge.rouge1("", ""));
        assertEquals(zero, Rouge.rouge1("abc", ""));
        assertEquals(zero, Rouge.rougeL("abc", "xyz"));
    }

    @Test
    void rouge1ClipsRepeatedUnigrams() {
        Rouge.Score s = Rouge.rouge1("the the the cat", "the cat cat");
        // hits = min(3,1) + min(1,2) = 2
        double p = 2.0 / 3;
        double r = 2.0 / 4;
        assertEquals(new Rouge.Score(p, r, 2 * p * r / (p + r)), s);
    }

    @Test
    void knownValueFromTheLogs() {
        // knowmem_f item 0 of ga_klr: gt "the Golden Snitch", response "The Golden Ball" -> 2/3.
        RougeScores s = RougeScores.of("the Golden Snitch", "The Golden Ball");
        assertEquals(new RougeScores(0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 0.6666666666666666), s);
    }
}
