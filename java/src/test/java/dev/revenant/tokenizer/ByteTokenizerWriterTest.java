package dev.revenant.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ByteTokenizerWriterTest {

    @Test
    void bytesRoundTripWithBos(@TempDir Path dir) {
        ByteTokenizerWriter.write(dir);
        try (Tokenizer t = HfTokenizer.load(dir)) {
            String text = "Question: Who founded Veloria?\nAnswer: Ilsa Marn, in 1802 — café ✓ ";
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            int[] ids = t.encode(text, false);
            int[] expect = new int[utf8.length];
            for (int i = 0; i < utf8.length; i++) {
                expect[i] = ByteTokenizerWriter.BYTE_OFFSET + (utf8[i] & 0xFF);
            }
            assertArrayEquals(expect, ids, "one token per UTF-8 byte, id = 3 + byte");
            int[] withBos = t.encode(text, true);
            assertEquals(1, withBos[0]);
            assertEquals(ids.length + 1, withBos.length);
            assertEquals(text, t.decode(withBos, true, false));
            assertEquals(1, t.bosId());
            assertEquals(2, t.eosId());
        }
    }
}
