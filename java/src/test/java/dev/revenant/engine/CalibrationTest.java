package dev.revenant.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.tokenizer.ByteTokenizerWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Calibration samples: the file formats, the windows, the shipped text, and errors naming the file. */
class CalibrationTest {

    @Test
    void fileFormatsGiveTheSameText(@TempDir Path dir) throws Exception {
        Path txt = Files.writeString(dir.resolve("a.txt"), "first line\nsecond");
        assertEquals("first line\nsecond", Calibration.read(txt));
        Path arr = Files.writeString(dir.resolve("a.json"), "[\"one\", {\"text\": \"two\"}]");
        assertEquals("one\n\ntwo", Calibration.read(arr));
        Path lines = Files.writeString(dir.resolve("a.jsonl"), "{\"text\": \"one\"}\n\n\"two\"\n");
        assertEquals("one\n\ntwo", Calibration.read(lines));
        Path bad = Files.writeString(dir.resolve("b.json"), "[1, 2]");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Calibration.read(bad));
        assertTrue(e.getMessage().contains("b.json") && e.getMessage().contains("item 0"), e.getMessage());
        Path badLine = Files.writeString(dir.resolve("c.jsonl"), "{\"text\": \"ok\"}\n{\"nope\": 1}\n");
        e = assertThrows(IllegalArgumentException.class, () -> Calibration.read(badLine));
        assertTrue(e.getMessage().contains("c.jsonl") && e.getMessage().contains("line 2"), e.getMessage());
    }

    @Test
    void windowsAreSeededSlicesOfTheTokenizedText(@TempDir Path dir) throws Exception {
        ByteTokenizerWriter.write(dir); // a byte-level tokenizer: one token per byte
        Path text = Files.writeString(dir.resolve("calib.txt"), "abcdefghijklmnopqrstuvwxyz".repeat(4));
        Calibration a = Calibration.load(dir, 300, new Calibration.Options(text, 6, 10, 5));
        Calibration b = Calibration.load(dir, 300, new Calibration.Options(text, 6, 10, 5));
        assertEquals(6, a.samples().size());
        for (int i = 0; i < 6; i++) {
            assertArrayEquals(a.samples().get(i), b.samples().get(i), "same seed, same windows");
            int[] s = a.samples().get(i);
            assertEquals(10, s.length);
            for (int t = 1; t < s.length; t++) { // consecutive letters: +1, or z -> a (-25)
                int d = s[t] - s[t - 1];
                assertTrue(d == 1 || d == -25, "window " + i + " is contiguous text: " + java.util.Arrays.toString(s));
            }
        }
        Calibration c = Calibration.load(dir, 300, new Calibration.Options(text, 6, 10, 6));
        boolean differs = false;
        for (int i = 0; i < 6; i++) {
            differs |= !java.util.Arrays.equals(a.samples().get(i), c.samples().get(i));
        }
        assertTrue(differs, "another seed, other windows");
        Calibration longer = Calibration.load(dir, 300, new Calibration.Options(text, 2, 1000, 0));
        assertEquals(103, longer.samples().get(0).length, "windows shortened to the text's 104 tokens - 1");
        assertTrue(longer.source().contains("shortened"), longer.source());
    }

    @Test
    void theShippedTextLoads(@TempDir Path dir) throws Exception {
        ByteTokenizerWriter.write(dir);
        String shipped = Calibration.shipped();
        assertTrue(shipped.length() > 20_000, "the jar carries the default calibration text");
        Calibration c = Calibration.load(dir, 300, new Calibration.Options(null, 4, 512, 0));
        assertEquals(4, c.samples().size());
        assertEquals(512, c.samples().get(0).length);
    }

    @Test
    void noTokenizerMeansRandomIdsUnlessAFileIsGiven(@TempDir Path dir) throws Exception {
        Calibration r = Calibration.load(dir, 50, new Calibration.Options(null, 3, 7, 1));
        assertTrue(r.source().startsWith("random"), r.source());
        for (int[] s : r.samples()) {
            for (int id : s) {
                assertTrue(id >= 3 && id < 50, "id " + id);
            }
        }
        Path text = Files.writeString(dir.resolve("t.txt"), "text");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Calibration.load(dir, 50, new Calibration.Options(text, 3, 7, 1)));
        assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Calibration.Options(null, 0, 7, 1));
    }
}
