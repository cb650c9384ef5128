package dev.revenant.sweep;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A checkpoint's identity, cheap to compute on multi-GB models: the SHA-256 of {@code config.json}
 * plus each {@code *.safetensors} file's size and modification time. Rewriting the weights in place
 * (same size, new mtime) or editing the config changes it; a journaled cell whose identity differs is recomputed.
 * It is not a content hash of the weights (hashing 16 GB per run is what this avoids).
 */
public final class Identity {
    private Identity() {
    }

    /** {@code {"config_sha256": hex, "files": {"model.safetensors": "size=...;mtime=..."}}}, keys sorted. */
    public static Map<String, Object> of(Path dir) throws IOException {
        Map<String, Object> id = new TreeMap<>();
        id.put("config_sha256", sha256(dir.resolve("config.json")));
        Map<String, String> files = new TreeMap<>();
        List<Path> shards;
        try (Stream<Path> s = Files.list(dir)) {
            shards = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
        for (Path p : shards) {
            files.put(p.getFileName().toString(), "size=" + Files.size(p) + ";mtime=" + Files.getLastModifiedTime(p).toMillis());
        }
        id.put("files", files);
        return id;
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
