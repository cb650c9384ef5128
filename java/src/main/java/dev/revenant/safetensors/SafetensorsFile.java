package dev.revenant.safetensors;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.revenant.tensor.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The validated header of one .safetensors file: where each tensor lives in the data area, plus
 * the {@code __metadata__} strings. Reading it touches only the first 8 + N bytes of the file, so
 * it is cheap even for multi-GB shards; the tensor bytes are mapped separately by {@link Checkpoint}.
 */
public final class SafetensorsFile {
    /** The largest header accepted, as in the reference implementation (guards against huge allocations). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";

    /**
     * Duplicate keys would make the tensor set ambiguous (which entry wins?), and trailing tokens mean
     * the header is not one JSON object, so both are rejected rather than silently accepted.
     */
    static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** Where one tensor lives: {@code [begin, end)} relative to the first byte after the header. */
    public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
        public TensorInfo {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        public long byteSize() {
            return end - begin;
        }

        String describe() {
            return dtype + " " + Arrays.toString(shape);
        }
    }

    private final Path path;
    private final long fileSize;
    private final long headerLength;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, long fileSize, long headerLength, Map<String, TensorInfo> tensors,
            Map<String, String> metadata) {
        this.path = path;
        this.fileSize = fileSize;
        this.headerLength = headerLength;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** Reads and validates the header of {@code file}. */
    public static SafetensorsFile read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(file, ch);
        } catch (NoSuchFileException e) {
            throw new SafetensorsException(file + ": no such file", e);
        } catch (IOException e) {
            throw new SafetensorsException(file + ": cannot read: " + e, e);
        }
    }

    /** As {@link #read(Path)} on an already open channel, so that the caller can map the same file. */
    static SafetensorsFile read(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw fail(file, "truncated: the file has " + size + " bytes, expected at least 8 (the header length)");
        }
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, len, 0);
        long n = len.getLong(0);
        // N is unsigned and untrusted: compare before allocating anything of that size.
        if (Long.compareUnsigned(n, size - 8) > 0) {
            throw fail(file, "header length " + Long.toUnsignedString(n) + " beyond the file of size " + size
                    + " (at most " + (size - 8) + " header bytes can follow the length; truncated or not a safetensors file)");
        }
        if (n > MAX_HEADER_BYTES) {
            throw fail(file, "header length " + n + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes (100 MB)");
        }
        ByteBuffer header = ByteBuffer.allocate((int) n);
        readFully(ch, header, 8);
        return parse(file, size, header.array());
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) {
                throw new IOException("unexpected end of file at byte " + pos);
            }
            pos += r;
        }
    }

    /** Validates header bytes of a file of {@code fileSize} bytes. */
    static SafetensorsFile parse(Path file, long fileSize, byte[] header) {
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JacksonException e) {
            throw fail(file, "malformed header JSON: " + e.getOriginalMessage() + at(e.getLocation()), e);
        } catch (IOException e) {
            throw fail(file, "cannot parse the header: " + e, e);
        }
        if (root == null || !root.isObject()) {
            String found = root == null || root.isMissingNode() ? "an empty header" : kind(root);
            throw fail(file, "header must be a JSON object, found " + found);
        }
        long dataSize = fileSize - 8 - header.length;
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (e.getKey().equals(METADATA_KEY)) {
                parseMetadata(file, e.getValue(), metadata);
            } else {
                tensors.put(e.getKey(), parseInfo(file, e.getKey(), e.getValue(), dataSize, fileSize, header.length));
            }
        }
        checkOverlaps(file, tensors.values());
        return new SafetensorsFile(file, fileSize, header.length, tensors, metadata);
    }

    private static TensorInfo parseInfo(Path file, String name, JsonNode node, long dataSize, long fileSize, long n) {
        String where = "tensor '" + name + "': ";
        if (!node.isObject()) {
            throw fail(file, where + "expected an object with dtype, shape and data_offsets, found " + kind(node));
        }
        JsonNode dt = require(file, where, node, "dtype");
        if (!dt.isTextual()) {
            throw fail(file, where + "\"dtype\" must be a string, found " + kind(dt));
        }
        DType dtype;
        try {
            dtype = DType.parse(dt.textValue());
        } catch (IllegalArgumentException ex) {
            throw fail(file, where + ex.getMessage(), ex);
        }
        long[] shape = longs(file, where, require(file, where, node, "shape"), "shape", -1);
        for (long d : shape) {
            if (d < 0) {
                throw fail(file, where + "negative dimension " + d + " in shape " + Arrays.toString(shape));
            }
        }
        long[] off = longs(file, where, require(file, where, node, "data_offsets"), "data_offsets", 2);
        long begin = off[0];
        long end = off[1];
        String offs = "data_offsets [" + begin + ", " + end + "]";
        if (begin < 0 || end < 0) {
            throw fail(file, where + offs + " must not be negative");
        }
        if (begin > end) {
            throw fail(file, where + offs + ": begin " + begin + " > end " + end);
        }
        long expected;
        try {
            expected = Math.multiplyExact(numel(shape), dtype.byteSize());
        } catch (ArithmeticException ex) {
            throw fail(file, where + "shape " + Arrays.toString(shape) + " of " + dtype + " overflows a 64-bit byte count");
        }
        if (end - begin != expected) {
            throw fail(file, where + offs + " hold " + (end - begin) + " bytes, expected " + expected
                    + " (" + dtype + " " + Arrays.toString(shape) + ")");
        }
        if (end > dataSize) {
            throw fail(file, where + offs + " end beyond the data area of " + dataSize + " bytes (file size " + fileSize
                    + ", header " + n + " bytes): truncated file, expected at least " + end + " data bytes");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static JsonNode require(Path file, String where, JsonNode node, String key) {
        JsonNode v = node.get(key);
        if (v == null) {
            throw fail(file, where + "missing \"" + key + "\" (expected dtype, shape and data_offsets)");
        }
        return v;
    }

    /** A JSON array of integers that fit a long; {@code length} -1 means any length. */
    private static long[] longs(Path file, String where, JsonNode node, String key, int length) {
        if (!node.isArray()) {
            throw fail(file, where + "\"" + key + "\" must be an array of integers, found " + kind(node));
        }
        if (length >= 0 && node.size() != length) {
            throw fail(file, where + "\"" + key + "\" must have " + length + " elements, found " + node.size() + ": " + node);
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw fail(file, where + "\"" + key + "\"[" + i + "] must be an integer, found " + kind(v));
            }
            out[i] = v.longValue();
        }
        return out;
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    private static void parseMetadata(Path file, JsonNode node, Map<String, String> out) {
        if (!node.isObject()) {
            throw fail(file, METADATA_KEY + " must be an object of string to string, found " + kind(node));
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw fail(file, METADATA_KEY + " '" + e.getKey() + "': value must be a string, found " + kind(e.getValue()));
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
    }

    /** Sweeps the ranges by start; empty tensors occupy no bytes, so they never overlap. */
    private static void checkOverlaps(Path file, Iterable<TensorInfo> infos) {
        List<TensorInfo> sorted = new ArrayList<>();
        for (TensorInfo t : infos) {
            if (t.byteSize() > 0) {
                sorted.add(t);
            }
        }
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        TensorInfo furthest = null;
        for (TensorInfo t : sorted) {
            if (furthest != null && t.begin() < furthest.end()) {
                throw fail(file, "tensors '" + furthest.name() + "' data_offsets [" + furthest.begin() + ", " + furthest.end()
                        + "] and '" + t.name() + "' data_offsets [" + t.begin() + ", " + t.end()
                        + "] overlap; expected disjoint byte ranges");
            }
            if (furthest == null || t.end() > furthest.end()) {
                furthest = t;
            }
        }
    }

    /** A short description of a JSON value for messages: its type and a clipped rendering. */
    static String kind(JsonNode v) {
        String s = v.toString();
        if (s.length() > 60) {
            s = s.substring(0, 57) + "...";
        }
        return v.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " " + s;
    }

    static String at(JsonLocation loc) {
        return loc == null || loc.getLineNr() < 0 ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
    }

    static SafetensorsException fail(Path file, String message) {
        return new SafetensorsException(file + ": " + message);
    }

    static SafetensorsException fail(Path file, String message, Throwable cause) {
        return new SafetensorsException(file + ": " + message, cause);
    }

    public Path path() {
        return path;
    }

    public long fileSize() {
        return fileSize;
    }

    /** N, the JSON header's byte length. */
    public long headerLength() {
        return headerLength;
    }

    /** Absolute file offset of the data area (8 + N). */
    public long dataStart() {
        return 8 + headerLength;
    }

    /** Tensors in the header's key order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }
}
