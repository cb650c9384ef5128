package dev.revenant.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.tokenizer.HfTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Calibration token samples for GPTQ/AWQ. As the GPTQ authors' {@code datautils} does for WikiText-2/C4:
 * the texts are joined with blank lines, tokenized once (no special tokens), and {@code samples} windows
 * of {@code seqlen} tokens start at seeded random offsets. The default text ships in the jar
 * ({@code dev/revenant/calibration/default.txt}, written for this project).
 *
 * @param samples the token windows
 * @param source  where they came from, for logs and manifests
 */
public record Calibration(List<int[]> samples, String source) {
    public static final int DEFAULT_SAMPLES = 128;
    public static final int DEFAULT_SEQLEN = 512;
    public static final String DEFAULT_RESOURCE = "/dev/revenant/calibration/default.txt";

    /** What the user asked for: a file (null = the shipped text), sample count and length, seed. */
    public record Options(Path file, int samples, int seqlen, long seed) {
        public static final Options DEFAULT = new Options(null, DEFAULT_SAMPLES, DEFAULT_SEQLEN, 0);

        public Options {
            if (samples < 1) {
                throw new IllegalArgumentException("--calib-samples must be at least 1, found " + samples);
            }
            if (seqlen < 2) {
                throw new IllegalArgumentException("--calib-seqlen must be at least 2, found " + seqlen);
            }
        }

        /** A short description for logs and cache keys. */
        public String describe() {
            return (file == null ? "default text" : file.toString()) + ", " + samples + " x " + seqlen + " tokens, seed " + seed;
        }

        /**
         * 12 hex digits of SHA-256 over the sample count, length, seed and the calibration text's bytes (the file's, or
         * the shipped text's): equal keys mean the same calibration samples, so cached GPTQ/AWQ weights and journaled
         * cells computed with them may be reused. The file's path is not part of it, only its content.
         */
        public String key() {
            byte[] text;
            if (file == null) {
                text = shipped().getBytes(StandardCharsets.UTF_8);
            } else {
                try {
                    text = Files.readAllBytes(file);
                } catch (IOException e) {
                    throw new IllegalArgumentException(file + ": cannot read calibration text: " + e.getMessage(), e);
                }
            }
            java.security.MessageDigest md;
            try {
                md = java.security.MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 missing from the JDK", e);
            }
            md.update(("calibration v1;samples=" + samples + ";seqlen=" + seqlen + ";seed=" + seed + ";text=")
                    .getBytes(StandardCharsets.UTF_8));
            md.update(text);
            return java.util.HexFormat.of().formatHex(md.digest()).substring(0, 12);
        }
    }

    /**
     * Samples for the model in {@code modelDir}, tokenized with its {@code tokenizer.json}. A model folder without
     * a tokenizer gets seeded random token ids in {@code [3, vocab)} (said in {@link #source()}), as the golden
     * fixture models, which ship no tokenizer, need.
     */
    public static Calibration load(Path modelDir, int vocab, Options o) {
        if (!Files.exists(modelDir.resolve("tokenizer.json"))) {
            if (o.file() != null) {
                throw new IllegalArgumentException(modelDir + ": no tokenizer.json to tokenize --calib " + o.file() + " with");
            }
            return random(vocab, o);
        }
        String text = o.file() == null ? shipped() : read(o.file());
        int[] ids;
        try (HfTokenizer tok = HfTokenizer.load(modelDir)) {
            ids = tok.encode(text, false);
        }
        String what = o.file() == null ? "the shipped calibration text" : o.file().toString();
        if (ids.length < 2) {
            throw new IllegalArgumentException(what + ": tokenizes to " + ids.length + " tokens; calibration needs text");
        }
        int len = Math.min(o.seqlen(), ids.length - 1);
        Random r = new Random(o.seed());
        List<int[]> out = new ArrayList<>();
        for (int s = 0; s < o.samples(); s++) {
            int start = r.nextInt(ids.length - len);
            out.add(java.util.Arrays.copyOfRange(ids, start, start + len));
        }
        String note = len < o.seqlen() ? " (text has only " + ids.length + " tokens: windows shortened)" : "";
        return new Calibration(out, what + ": " + o.samples() + " x " + len + " tokens, seed " + o.seed() + note);
    }

    /** Seeded uniform token ids in {@code [3, vocab)} (ids 0..2 are pad/bos/eos in most vocabularies). */
    public static Calibration random(int vocab, Options o) {
        Random r = new Random(o.seed());
        List<int[]> out = new ArrayList<>();
        int lo = Math.min(3, vocab - 1);
        for (int s = 0; s < o.samples(); s++) {
            int[] t = new int[o.seqlen()];
            for (int i = 0; i < t.length; i++) {
                t[i] = lo + r.nextInt(vocab - lo);
            }
            out.add(t);
        }
        return new Calibration(out, "random token ids (no tokenizer.json): " + o.samples() + " x " + o.seqlen()
                + ", seed " + o.seed());
    }

    /** Total tokens over all samples. */
    public long tokens() {
        long n = 0;
        for (int[] s : samples) {
            n += s.length;
        }
        return n;
    }

    static String shipped() {
        try (InputStream in = Calibration.class.getResourceAsStream(DEFAULT_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the jar lacks " + DEFAULT_RESOURCE + " (a broken build); pass --calib FILE");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + DEFAULT_RESOURCE + ": " + e.getMessage(), e);
        }
    }

    /**
     * A calibration file: a JSON array of strings (or of objects with a "text" field), JSON lines of the same,
     * or plain text (used as it is).
     */
    static String read(Path file) {
        String raw;
        try {
            raw = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read calibration text: " + e.getMessage(), e);
        }
        String t = raw.stripLeading();
        ObjectMapper m = new ObjectMapper();
        List<String> texts = new ArrayList<>();
        if (t.startsWith("[")) {
            try {
                JsonNode arr = m.readTree(t);
                for (int i = 0; i < arr.size(); i++) {
                    texts.add(text(arr.get(i), file, "item " + i));
                }
            } catch (IOException e) {
                throw new IllegalArgumentException(file + ": starts with '[' but is not a JSON array: " + e.getMessage(), e);
            }
        } else if (t.startsWith("{") || t.startsWith("\"")) {
            String[] lines = raw.split("\n");
            for (int i = 0; i < lines.length; i++) {
                if (!lines[i].isBlank()) {
                    try {
                        texts.add(text(m.readTree(lines[i]), file, "line " + (i + 1)));
                    } catch (IOException e) {
                        throw new IllegalArgumentException(file + ": line " + (i + 1) + ": not JSON: " + e.getMessage(), e);
                    }
                }
            }
        } else {
            return raw;
        }
        return String.join("\n\n", texts);
    }

    private static String text(JsonNode n, Path file, String where) {
        if (n.isTextual()) {
            return n.asText();
        }
        if (n.isObject() && n.path("text").isTextual()) {
            return n.get("text").asText();
        }
        throw new IllegalArgumentException(file + ": " + where + ": expected a string or an object with a string 'text'");
    }
}
