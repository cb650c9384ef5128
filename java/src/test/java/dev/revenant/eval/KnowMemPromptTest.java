package dev.revenant.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KnowMemPromptTest {

    @Test
    void buildsTheExactPromptWithTrailingSpace() {
        List<QA> icl = List.of(new QA("Who?", "Tonks"), new QA("Where?", "a small church"));
        assertEquals("Question: Who?\nAnswer: Tonks\n\nQuestion: Where?\nAnswer: a small church\n\nQuestion: What?\nAnswer: ",
                KnowMemPrompt.build(icl, "What?"));
        assertEquals("Question: Q\nAnswer: ", KnowMemPrompt.build(List.of(), "Q"));
    }

    @Test
    void truncatesAtTheThreeMarkersInOrder() {
        assertEquals("Dumbledore", KnowMemPrompt.truncate("Dumbledore\n\nQuestion: Who else?\nAnswer: Snape"));
        assertEquals("Dumbledore", KnowMemPrompt.truncate("Dumbledore\nQuestion: Who else?"));
        assertEquals("Dumbledore ", KnowMemPrompt.truncate("Dumbledore Question: Who else?"));
        assertEquals(" a hundred\npoints", KnowMemPrompt.truncate(" a hundred\npoints"));
        assertEquals("", KnowMemPrompt.truncate("\n\nanything"));
        assertEquals("", KnowMemPrompt.truncate("Question: x"));
        // "\n\n" first: the later markers only see what is left.
        assertEquals("a", KnowMemPrompt.truncate("a\nQuestion b\n\nc"));
    }

    /** Recovers the ICL pairs from a logged KnowMem prompt (used by the fixture test). */
    static List<QA> parseIcl(String prompt) {
        String[] blocks = prompt.split("\n\n", -1);
        List<QA> icl = new ArrayList<>();
        for (int i = 0; i < blocks.length - 1; i++) {
            String b = blocks[i];
            int a = b.indexOf("\nAnswer: ");
            icl.add(new QA(b.substring("Question: ".length(), a), b.substring(a + "\nAnswer: ".length())));
        }
        return icl;
    }
}
