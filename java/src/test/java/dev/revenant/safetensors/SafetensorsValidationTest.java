package dev.revenant.safetensors;

import static dev.revenant.safetensors.Craft.file;
import static dev.revenant.safetensors.Craft.rejects;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One hand-crafted bad file per validation rule; each message must name the file, the tensor and the numbers. */
class SafetensorsValidationTest {
    @TempDir
    Path dir;

    private static final String F32_2X2 = "{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}";

    @Test
    void fileShorterThanEightBytes() throws IOException {
        Path f = Files.write(dir.resolve("short.safetensors"), new byte[] {1, 2, 3, 4, 5});
        rejects(f, "truncated", "5 bytes", "expected at least 8");
    }

    @Test
    void emptyFile() throws IOException {
        Path f = Files.write(dir.resolve("empty.safetensors"), new byte[0]);
        rejects(f, "truncated", "0 bytes");
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        Path f = Craft.raw(dir.resolve("beyond.safetensors"), 1000, new byte[20]);
        rejects(f, "header length 1000 beyond the file of size 28");
    }

    @Test
    void headerLengthWithHighBitIsUnsigned() throws IOException {
        Path f = Craft.raw(dir.resolve("huge.safetensors"), -1L, new byte[4]);
        rejects(f, "header length 18446744073709551615 beyond the file of size 12");
    }

    @Test
    void headerLengthOverLimit() throws IOException {
        // A sparse 150 MB file: the length fits the file but breaks the 100 MB cap, checked before allocating.
        Path f = dir.resolve("big-header.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(150_000_000L);
            byte[] len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(120_000_000L).array();
            raf.write(len);
        }
        rejects(f, "header length 120000000", "limit of 100000000");
    }

    @Test
    void malformedJson() throws IOException {
        Path f = file(dir.resolve("bad-json.safetensors"), "{\"a\": {\"dtype\": \"F32\",", 0);
        SafetensorsException e = rejects(f, "malformed header JSON", "end-of-input");
        assertTrue(e.getCause() instanceof com.fasterxml.jackson.core.JacksonException, "keeps Jackson's exception");
    }

    @Test
    void trailingGarbageAfterJson() throws IOException {
        Path f = file(dir.resolve("trailing.safetensors"), "{} {}", 0);
        rejects(f, "malformed header JSON");
    }

    @Test
    void headerNotAnObject() throws IOException {
        rejects(file(dir.resolve("array.safetensors"), "[1, 2]", 0), "header must be a JSON object", "array [1,2]");
    }

    @Test
    void emptyHeader() throws IOException {
        rejects(Craft.raw(dir.resolve("zero.safetensors"), 0, new byte[0]), "header must be a JSON object", "empty header");
    }

    @Test
    void entryNotAnObject() throws IOException {
        rejects(file(dir.resolve("num.safetensors"), "{\"w\": 3}", 0), "tensor 'w'", "expected an object", "number 3");
    }

    @Test
    void missingDataOffsets() throws IOException {
        Path f = file(dir.resolve("missing.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4);
        rejects(f, "tensor 'w'", "missing \"data_offsets\"");
    }

    @Test
    void dtypeNotAString() throws IOException {
        Path f = file(dir.resolve("dtype.safetensors"), "{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        rejects(f, "tensor 'w'", "\"dtype\" must be a string", "number 4");
    }

    @Test
    void shapeNotAnArray() throws IOException {
        Path f = file(dir.resolve("shape.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8);
        rejects(f, "tensor 'w'", "\"shape\" must be an array of integers", "string");
    }

    @Test
    void fractionalDimension() throws IOException {
        Path f = file(dir.resolve("frac.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4);
        rejects(f, "tensor 'w'", "\"shape\"[0] must be an integer", "1.5");
    }

    @Test
    void offsetsNeedTwoElements() throws IOException {
        Path f = file(dir.resolve("offs.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4);
        rejects(f, "tensor 'w'", "\"data_offsets\" must have 2 elements, found 1");
    }

    @Test
    void unknownDtype() throws IOException {
        Path f = file(dir.resolve("dtype.safetensors"), "{\"a.weight\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        rejects(f, "tensor 'a.weight'", "unknown dtype 'F33'", "F32", "BF16", "F8_E5M2");
    }

    @Test
    void negativeDimension() throws IOException {
        Path f = file(dir.resolve("neg.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,0]}}", 0);
        rejects(f, "tensor 'w'", "negative dimension -3", "[2, -3]");
    }

    @Test
    void byteSizeDiffersFromShape() throws IOException {
        Path f = file(dir.resolve("model.safetensors"), "{\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12);
        SafetensorsException e = rejects(f, "tensor 'a.weight'");
        assertEquals(f + ": tensor 'a.weight': data_offsets [0, 12] hold 12 bytes, expected 16 (F32 [2, 2])", e.getMessage());
    }

    @Test
    void shapeOverflowingLong() throws IOException {
        String json = "{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}";
        rejects(file(dir.resolve("overflow.safetensors"), json, 8), "tensor 'w'", "overflows");
    }

    @Test
    void offsetsReversed() throws IOException {
        Path f = file(dir.resolve("rev.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8);
        rejects(f, "tensor 'w'", "data_offsets [8, 4]", "begin 8 > end 4");
    }

    @Test
    void offsetsOutsideDataArea() throws IOException {
        Path f = file(dir.resolve("outside.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[100,104]}}", 16);
        rejects(f, "tensor 'w'", "data_offsets [100, 104]", "beyond the data area of 16 bytes");
    }

    @Test
    void truncatedData() throws IOException {
        // The header promises 16 data bytes; only 10 are there.
        Path f = file(dir.resolve("trunc.safetensors"), "{\"a\":" + F32_2X2 + "}", 10);
        rejects(f, "tensor 'a'", "data_offsets [0, 16]", "data area of 10 bytes", "truncated file");
    }

    @Test
    void overlappingTensors() throws IOException {
        String json = "{\"first\":" + F32_2X2 + ",\"second\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}";
        rejects(file(dir.resolve("overlap.safetensors"), json, 24), "'first'", "'second'", "[0, 16]", "[8, 24]", "overlap");
    }

    @Test
    void tensorInsideAnotherOverlaps() throws IOException {
        // 'inner' lies wholly inside 'outer'; listed first so that header order differs from offset order.
        String json = "{\"inner\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[20,24]},"
                + "\"outer\":{\"dtype\":\"U8\",\"shape\":[32],\"data_offsets\":[0,32]}}";
        rejects(file(dir.resolve("span.safetensors"), json, 32), "'outer' data_offsets [0, 32]", "'inner' data_offsets [20, 24]", "overlap");
    }

    @Test
    void emptyTensorsMayShareOffsets() throws IOException {
        String json = "{\"e1\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[4,4]},\"a\":"
                + "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"e2\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[4,4]}}";
        SafetensorsFile sf = SafetensorsFile.read(file(dir.resolve("empty-tensors.safetensors"), json, 8));
        assertEquals(List.of("e1", "a", "e2"), List.copyOf(sf.tensors().keySet()), "header key order is kept");
    }

    @Test
    void metadataMustBeStrings() throws IOException {
        Path f = file(dir.resolve("md.safetensors"), "{\"__metadata__\":{\"format\":\"pt\",\"step\":3}}", 0);
        rejects(f, "__metadata__ 'step'", "must be a string", "number 3");
    }

    @Test
    void metadataMustBeAnObject() throws IOException {
        rejects(file(dir.resolve("md2.safetensors"), "{\"__metadata__\":[\"x\"]}", 0), "__metadata__ must be an object", "array");
    }

    @Test
    void duplicateTensorNames() throws IOException {
        String json = "{\"w\":" + F32_2X2 + ",\"w\":" + F32_2X2 + "}";
        rejects(file(dir.resolve("dup.safetensors"), json, 16), "malformed header JSON", "Duplicate field 'w'");
    }

    @Test
    void headerWithoutTensorsIsValid() throws IOException {
        Path f = file(dir.resolve("none.safetensors"), "{\"__metadata__\":{\"k\":\"v\"}}   ", 0);
        SafetensorsFile sf = SafetensorsFile.read(f);
        assertEquals(Map.of(), sf.tensors());
        assertEquals(Map.of("k", "v"), sf.metadata());
        try (Checkpoint c = Checkpoint.open(f)) {
            assertEquals(List.of(), c.names());
            assertEquals(0, c.totalBytes());
            assertEquals(Map.of("k", "v"), c.metadata());
        }
    }

    @Test
    void missingFile() {
        Path f = dir.resolve("absent.safetensors");
        Craft.assertMentions(org.junit.jupiter.api.Assertions.assertThrows(SafetensorsException.class,
                () -> SafetensorsFile.read(f)), f.toString(), "no such file");
    }
}
