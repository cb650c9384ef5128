package dev.revenant.sweep;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.eval.EvalRun;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code journal.jsonl}: one JSON line per finished cell, appended and forced to disk only after the
 * cell's folder was renamed into place. A crash can leave at most a truncated last line, which
 * {@link #read} cuts off (so the next append starts on a fresh line).
 */
public final class Journal {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One finished cell. Metrics not run are NaN (written as JSON null). */
    public record Entry(String model, String precision, String evalKey, Map<String, Object> identity,
                        EvalRun.Summary summary, double seconds) {
        public String key() {
            return model + "/" + precision;
        }
    }

    private final Path file;

    public Journal(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    /** The entries, in order; a truncated last line is removed from the file. */
    public List<Entry> read() throws IOException {
        List<Entry> out = new ArrayList<>();
        if (!Files.exists(file)) {
            return out;
        }
        byte[] bytes = Files.readAllBytes(file);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--;
        }
        if (end < bytes.length) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(end);
                ch.force(true);
            }
        }
        String[] lines = new String(bytes, 0, end, StandardCharsets.UTF_8).split("\n");
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].isBlank()) {
                continue;
            }
            try {
                out.add(parse(JSON.readTree(lines[i])));
            } catch (JsonProcessingException | RuntimeException e) {
                throw new IOException(file + " line " + (i + 1) + ": not a journal entry (" + e.getMessage() + ")", e);
            }
        }
        return out;
    }

    /** Appends one line and forces it to disk. */
    public void append(Entry e) throws IOException {
        byte[] line = (line(e) + "\n").getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
    }

    /** One entry as the journal's JSON line (no newline); {@link #parseLine} reads it back. */
    public static String line(Entry e) throws JsonProcessingException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", e.model());
        m.put("precision", e.precision());
        m.put("verbmem_f", num(e.summary().verbmemF()));
        m.put("knowmem_f", num(e.summary().knowmemF()));
        m.put("privleak", num(e.summary().privleak()));
        m.put("knowmem_r", num(e.summary().knowmemR()));
        m.put("seconds", e.seconds());
        m.put("identity", e.identity());
        m.put("eval", e.evalKey());
        return JSON.writeValueAsString(m);
    }

    /** Parses one journal line; fails on anything that is not one. */
    public static Entry parseLine(String line) throws JsonProcessingException {
        return parse(JSON.readTree(line));
    }

    private static Double num(double v) {
        return Double.isNaN(v) ? null : v;
    }

    private static double num(JsonNode n) {
        return n == null || n.isNull() ? Double.NaN : n.doubleValue();
    }

    @SuppressWarnings("unchecked")
    private static Entry parse(JsonNode n) {
        String model = n.get("model").textValue();
        String precision = n.get("precision").textValue();
        EvalRun.Summary s = new EvalRun.Summary(model, num(n.get("verbmem_f")), num(n.get("privleak")),
                num(n.get("knowmem_f")), num(n.get("knowmem_r")));
        Map<String, Object> id = JSON.convertValue(n.get("identity"), Map.class);
        return new Entry(model, precision, n.get("eval").textValue(), id, s, n.get("seconds").doubleValue());
    }
}
