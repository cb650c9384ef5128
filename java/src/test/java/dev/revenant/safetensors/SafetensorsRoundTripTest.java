package dev.revenant.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    /** Distinct, position- and seed-dependent bytes, so a shifted or swapped tensor cannot compare equal. */
    static MemorySegment pattern(long bytes, int seed) {
        MemorySegment s = MemorySegment.ofArray(new byte[Math.toIntExact(bytes)]);
        for (long i = 0; i < bytes; i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + seed * 7 + 3));
        }
        return s;
    }

    private static List<Tensor> everyDtype() {
        List<Tensor> out = new ArrayList<>();
        int seed = 0;
        for (DType d : DType.values()) {
            if (d == DType.PACKED) { // the in-memory placeholder of a quantized weight, never in a file
                continue;
            }
            long[] shape = {2, 3};
            out.add(new Tensor("t." + d.name().toLowerCase(), d, shape, pattern(6L * d.byteSize(), seed++)));
        }
        out.add(new Tensor("scalar", DType.F64, new long[0], pattern(8, seed++)));
        out.add(new Tensor("empty", DType.BF16, new long[] {0, 5}, pattern(0, seed++)));
        out.add(new Tensor("odd", DType.U8, new long[] {3}, pattern(3, seed)));
        return out;
    }

    @Test
    void everyDtypeRoundTrips() {
        Path f = dir.resolve("all.safetensors");
        List<Tensor> written = everyDtype();
        Map<String, String> md = new LinkedHashMap<>();
        md.put("format", "pt");
        md.put("note", "ünïcode \"quoted\"");
        SafetensorsWriter.write(f, written, md);
        try (Checkpoint c = Checkpoint.open(f)) {
            assertEquals(written.stream().map(Tensor::name).toList(), c.names(), "names keep the written order");
            assertEquals(md, c.metadata());
            assertEquals(List.of(f.toAbsolutePath().normalize()), c.files());
            long sum = 0;
            for (Tensor w : written) {
                Tensor r = c.tensor(w.name());
                assertEquals(w.dtype(), r.dtype(), w.name());
                assertArrayEquals(w.shape(), r.shape(), w.name());
                assertEquals(-1, w.data().mismatch(r.data()), () -> w.name() + " bytes differ");
                sum += w.data().byteSize();
            }
            assertEquals(sum, c.totalBytes());
        }
    }

    @Test
    void dataAreaIsEightByteAlignedAndContiguous() throws IOException {
        Path f = dir.resolve("aligned.safetensors");
        SafetensorsWriter.write(f, everyDtype(), Map.of("format", "pt"));
        byte[] raw = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, (8 + n) % 8, "data area must start 8-byte aligned, header length " + n);
        String header = new String(raw, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\"}"), header);
        assertTrue(header.stripTrailing().endsWith("}"), "padding is trailing spaces: " + header);
        SafetensorsFile sf = SafetensorsFile.read(f);
        long expectBegin = 0;
        for (SafetensorsFile.TensorInfo t : sf.tensors().values()) {
            assertEquals(expectBegin, t.begin(), t.name() + " starts right after the previous tensor");
            expectBegin = t.end();
        }
        assertEquals(raw.length, sf.dataStart() + expectBegin, "no trailing bytes");
    }

    @Test
    void withoutMetadataThereIsNoMetadataKey() throws IOException {
        Path f = dir.resolve("nomd.safetensors");
        SafetensorsWriter.write(f, List.of(Tensor.ofFloats("x", new float[] {1.5f, -2f}, 2)), null);
        byte[] raw = Files.readAllBytes(f);
        assertTrue(!new String(raw, StandardCharsets.ISO_8859_1).contains("__metadata__"));
        try (Checkpoint c = Checkpoint.open(f)) {
            assertEquals(Map.of(), c.metadata());
            assertArrayEquals(new float[] {1.5f, -2f}, c.tensor("x").toFloatArray());
        }
    }

    @Test
    void nonByteHeapSegmentsAreStaged() {
        // A float[]-backed segment cannot become a ByteBuffer, so the writer copies it through a small
        // buffer. (Its bytes are in native order, little-endian on every platform we run on.)
        float[] values = {1f, -0.5f, 3.25f, Float.MIN_VALUE};
        Tensor t = new Tensor("f", DType.F32, new long[] {4}, MemorySegment.ofArray(values.clone()));
        Path f = dir.resolve("floats.safetensors");
        SafetensorsWriter.write(f, List.of(t), Map.of());
        try (Checkpoint c = Checkpoint.open(f)) {
            assertArrayEquals(values, c.tensor("f").toFloatArray());
        }
    }

    @Test
    void chunkedWritesKeepEveryByte() {
        // Chunks of 7 bytes stand in for the 1 GB chunks of multi-GB tensors; both segment kinds.
        Tensor bytes = new Tensor("bytes", DType.U8, new long[] {50}, pattern(50, 9));
        Tensor floats = new Tensor("floats", DType.F32, new long[] {5}, MemorySegment.ofArray(new float[] {1, 2, 3, 4, 5}));
        Path f = dir.resolve("chunked.safetensors");
        SafetensorsWriter.write(f, List.of(bytes, floats), null, 7);
        try (Checkpoint c = Checkpoint.open(f)) {
            assertEquals(-1, bytes.data().mismatch(c.tensor("bytes").data()));
            assertArrayEquals(new float[] {1, 2, 3, 4, 5}, c.tensor("floats").toFloatArray());
        }
    }

    @Test
    void overwriteIsAtomicAndLeavesNoTemporaryFiles() throws IOException {
        Path f = dir.resolve("model.safetensors");
        SafetensorsWriter.write(f, List.of(Tensor.ofFloats("a", new float[] {1}, 1)), null);
        SafetensorsWriter.write(f, List.of(Tensor.ofFloats("b", new float[] {2, 3}, 2)), null);
        try (Checkpoint c = Checkpoint.open(f); Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("b"), c.names());
            assertEquals(List.of(f), files.toList());
        }
    }

    @Test
    void writerRejectsDuplicateAndReservedNames() {
        Tensor a = Tensor.ofFloats("a", new float[] {1}, 1);
        Path f = dir.resolve("dup.safetensors");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(f, List.of(a, a), null));
        assertTrue(e.getMessage().contains("duplicate tensor name 'a'"), e.getMessage());
        Tensor m = Tensor.ofFloats("__metadata__", new float[] {1}, 1);
        assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(f, List.of(m), null));
        assertTrue(Files.notExists(f));
    }

    @Test
    void streamingWriterRoundTrips() throws IOException {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        int seed = 40;
        for (DType d : List.of(DType.F32, DType.BF16, DType.I64, DType.U8, DType.F8_E4M3)) {
            int s = seed++;
            entries.add(new SafetensorsWriter.Entry("s." + d, d, new long[] {5, 3},
                    dst -> MemorySegment.copy(pattern(dst.byteSize(), s), 0, dst, 0, dst.byteSize())));
        }
        entries.add(new SafetensorsWriter.Entry("none", DType.F32, new long[] {0}, dst -> assertEquals(0, dst.byteSize())));
        Path f = dir.resolve("stream.safetensors");
        SafetensorsWriter.writeStreaming(f, entries, Map.of("generator", "test"));
        SafetensorsFile sf = SafetensorsFile.read(f);
        assertEquals(0, sf.dataStart() % 8);
        try (Checkpoint c = Checkpoint.open(f)) {
            assertEquals(entries.stream().map(SafetensorsWriter.Entry::name).toList(), c.names());
            assertEquals(Map.of("generator", "test"), c.metadata());
            int s = 40;
            for (SafetensorsWriter.Entry e : entries.subList(0, 5)) {
                Tensor t = c.tensor(e.name());
                assertEquals(e.dtype(), t.dtype());
                assertArrayEquals(new long[] {5, 3}, t.shape());
                assertEquals(-1, pattern(t.data().byteSize(), s++).mismatch(t.data()), e.name());
            }
            assertEquals(Files.size(f), sf.dataStart() + c.totalBytes());
        }
    }

    @Test
    void failingSourceLeavesNothingBehind() throws IOException {
        Path f = dir.resolve("fail.safetensors");
        var bad = new SafetensorsWriter.Entry("x", DType.F32, new long[] {4}, dst -> {
            throw new IllegalStateException("source broke");
        });
        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.writeStreaming(f, List.of(bad), null));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.toList(), "temporary file removed, target not created");
        }
    }

    @Test
    void indexRoundTripsThroughCheckpoint() {
        SafetensorsWriter.write(dir.resolve("part-1.safetensors"), List.of(Tensor.ofFloats("b", new float[] {2}, 1)), null);
        SafetensorsWriter.write(dir.resolve("part-2.safetensors"), List.of(Tensor.ofFloats("a", new float[] {1, 1}, 2)), null);
        Map<String, String> wm = new LinkedHashMap<>();
        wm.put("a", "part-2.safetensors");
        wm.put("b", "part-1.safetensors");
        SafetensorsWriter.writeIndex(dir, wm, Map.of("total_size", "12"));
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(List.of("a", "b"), c.names(), "index order");
            assertEquals(List.of(dir.resolve("part-2.safetensors"), dir.resolve("part-1.safetensors")), c.files());
            assertEquals("12", c.metadata().get("total_size"));
            assertEquals(12, c.totalBytes());
            assertEquals(2f, c.tensor("b").getFloat(0));
        }
    }

    /** A sparse file over 2 GiB: offsets past 2^31 must work in the header, the mapping and the slices. */
    @Test
    void tensorsBeyondTwoGigabytes() throws IOException {
        assumeTrue(Files.getFileStore(dir).getUsableSpace() > (8L << 30), "needs disk headroom for a sparse 2.3 GB file");
        long big = 600_000_000L; // F32 elements: 2.4 GB
        List<SafetensorsWriter.Entry> entries = List.of(
                new SafetensorsWriter.Entry("big", DType.F32, new long[] {big}, dst -> {
                    dst.set(Tensor.F32_LE, 0, 1.25f);
                    dst.set(Tensor.F32_LE, dst.byteSize() - 4, -7f);
                }),
                new SafetensorsWriter.Entry("tail", DType.I64, new long[] {2}, dst -> {
                    dst.set(Tensor.I64_LE, 0, Long.MAX_VALUE);
                    dst.set(Tensor.I64_LE, 8, 42L);
                }));
        Path f = dir.resolve("huge.safetensors");
        SafetensorsWriter.writeStreaming(f, entries, null);
        try (Checkpoint c = Checkpoint.open(f)) {
            Tensor t = c.tensor("big");
            assertEquals(big * 4, t.data().byteSize());
            assertEquals(1.25f, t.getFloat(0));
            assertEquals(-7f, t.getFloat(big - 1));
            assertEquals(0f, t.getFloat(big / 2));
            assertArrayEquals(new long[] {Long.MAX_VALUE, 42L}, c.tensor("tail").toLongArray());
            assertEquals(big * 4 + 16, c.totalBytes());
            assertTrue(c.tensor("tail").data().address() - c.tensor("big").data().address() > Integer.MAX_VALUE);
        } finally {
            Files.deleteIfExists(f);
        }
    }
}
