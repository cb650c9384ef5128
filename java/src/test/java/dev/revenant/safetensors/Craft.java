package dev.revenant.safetensors;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Hand-made safetensors bytes for the validation tests, independent of {@link SafetensorsWriter}. */
final class Craft {
    private Craft() {
    }

    /** 8-byte little-endian {@code headerLength}, then {@code rest} verbatim. */
    static Path raw(Path file, long headerLength, byte[] rest) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + rest.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(rest);
        return Files.write(file, b.array());
    }

    /** A file with header {@code json} (length taken from it) followed by {@code dataBytes} bytes 0, 1, 2, ... */
    static Path file(Path file, String json, int dataBytes) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        byte[] rest = new byte[h.length + dataBytes];
        System.arraycopy(h, 0, rest, 0, h.length);
        for (int i = 0; i < dataBytes; i++) {
            rest[h.length + i] = (byte) i;
        }
        return raw(file, h.length, rest);
    }

    /** Asserts that reading {@code file} fails with a message containing the file and every fragment. */
    static SafetensorsException rejects(Path file, String... fragments) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.read(file));
        assertMentions(e, file.toString());
        assertMentions(e, fragments);
        // Checkpoint.open must report the same problem.
        SafetensorsException viaOpen = assertThrows(SafetensorsException.class, () -> Checkpoint.open(file).close());
        assertMentions(viaOpen, file.toString());
        assertMentions(viaOpen, fragments);
        return e;
    }

    static void assertMentions(Throwable e, String... fragments) {
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), () -> "message lacks '" + f + "': " + e.getMessage());
        }
    }
}
