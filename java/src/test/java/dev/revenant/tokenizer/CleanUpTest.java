package dev.revenant.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** transformers' clean_up_tokenization, rule by rule and in combination. */
class CleanUpTest {

    @Test
    void punctuation() {
        assertEquals("Hello, world!", CleanUp.apply("Hello , world !"));
        assertEquals("Why? Because.", CleanUp.apply("Why ? Because ."));
        assertEquals("a...b", CleanUp.apply("a . . .b"));
    }

    @Test
    void contractions() {
        assertEquals("I'm", CleanUp.apply("I 'm"));
        assertEquals("don't", CleanUp.apply("do n't"));
        assertEquals("it's", CleanUp.apply("it 's"));
        assertEquals("we've", CleanUp.apply("we 've"));
        assertEquals("they're", CleanUp.apply("they 're"));
        assertEquals("I'd", CleanUp.apply("I'd"), "'d and 'll are not in the list");
        assertEquals("I 'd we 'll", CleanUp.apply("I 'd we 'll"));
    }

    @Test
    void quoteWithSpacesOnBothSidesIsJoined() {
        assertEquals("rock'n roll", CleanUp.apply("rock ' n roll"));
        // " ' " runs before " 's": "it ' s" becomes "it's" only through the quote rule
        assertEquals("it's", CleanUp.apply("it ' s"));
    }

    @Test
    void orderAndRepeatsFollowPythonStrReplace() {
        assertEquals("x..", CleanUp.apply("x . ."));
        assertEquals("a  .", CleanUp.apply("a   ."), "one space goes per occurrence, not all");
        assertEquals("no change here", CleanUp.apply("no change here"));
        assertEquals("", CleanUp.apply(""));
        assertEquals("Hello, world! I'm sure it's done.", CleanUp.apply("Hello , world ! I 'm sure it 's done ."));
    }
}
