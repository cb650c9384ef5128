package dev.revenant.safetensors;

import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * A memory-mapped safetensors checkpoint: one file, or shards listed by a
 * {@code model.safetensors.index.json}. Every shard is mapped once, read-only, into a shared arena
 * owned by this object; tensors are zero-copy slices of those mappings, so weights never reach the
 * Java heap and any thread may read them. They become invalid when the checkpoint is closed.
 */
public final class Checkpoint implements AutoCloseable {
    public static final String INDEX_NAME = "model.safetensors.index.json";
    public static final String SINGLE_NAME = "model.safetensors";

    private final Path path;
    private final Arena arena;
    private final List<Path> files;
    private final Map<String, Tensor> tensors;
    private final List<String> names;
    private final Map<String, String> metadata;
    private final long totalBytes;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Checkpoint(Path path, Arena arena, List<Path> files, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.files = List.copyOf(files);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.names = List.copyOf(tensors.keySet());
        this.metadata = Collections.unmodifiableMap(metadata);
        long sum = 0;
        for (Tensor t : tensors.values()) {
            sum += t.data().byteSize();
        }
        this.totalBytes = sum;
    }

    /**
     * Opens a .safetensors file, a {@code *.index.json}, or a folder holding either (the index wins,
     * then {@code model.safetensors}, then the folder's only *.safetensors file).
     */
    public static Checkpoint open(Path path) {
        Path p = path.toAbsolutePath().normalize();
        if (Files.isDirectory(p)) {
            return openResolved(p, resolveDirectory(p));
        }
        if (!Files.exists(p)) {
            throw new SafetensorsException(p + ": no such file or directory (expected a .safetensors file, an "
                    + INDEX_NAME + " or a folder holding one)");
        }
        return openResolved(p, p);
    }

    private static Path resolveDirectory(Path dir) {
        if (Files.isRegularFile(dir.resolve(INDEX_NAME))) {
            return dir.resolve(INDEX_NAME);
        }
        if (Files.isRegularFile(dir.resolve(SINGLE_NAME))) {
            return dir.resolve(SINGLE_NAME);
        }
        List<Path> found;
        try (Stream<Path> s = Files.list(dir)) {
            found = s.filter(f -> f.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(f))
                    .sorted().toList();
        } catch (IOException e) {
            throw new SafetensorsException(dir + ": cannot list the folder: " + e, e);
        }
        if (found.size() == 1) {
            return found.get(0);
        }
        if (found.isEmpty()) {
            throw new SafetensorsException(dir + ": no checkpoint in this folder: expected " + INDEX_NAME + ", "
                    + SINGLE_NAME + " or a single *.safetensors file");
        }
        throw new SafetensorsException(dir + ": ambiguous checkpoint: no " + INDEX_NAME + " or " + SINGLE_NAME
                + ", and " + found.size() + " *.safetensors files "
                + found.stream().limit(10).map(f -> f.getFileName().toString()).toList() + (found.size() > 10 ? "..." : "")
                + "; open one of them directly");
    }

    private static Checkpoint openResolved(Path shown, Path file) {
        Arena arena = Arena.ofShared();
        try {
            return file.getFileName().toString().endsWith(".json")
                    ? openSharded(shown, file, arena)
                    : openSingle(shown, file, arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static Checkpoint openSingle(Path shown, Path file, Arena arena) {
        Mapped m = map(file, arena);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (SafetensorsFile.TensorInfo info : m.header().tensors().values()) {
            tensors.put(info.name(), m.tensor(info.name(), info));
        }
        return new Checkpoint(shown, arena, List.of(file), tensors, m.header().metadata());
    }

    private static Checkpoint openSharded(Path shown, Path indexFile, Arena arena) {
        ShardIndex index = ShardIndex.read(indexFile);
        // Map each distinct shard once, in order of first mention.
        Map<Path, Mapped> shards = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : index.weightMap().entrySet()) {
            Path shard = e.getValue();
            if (!shards.containsKey(shard)) {
                if (!Files.isRegularFile(shard)) {
                    throw new SafetensorsException(indexFile + ": shard '" + indexFile.getParent().relativize(shard)
                            + "' (holding tensor '" + e.getKey() + "') not found: expected the file " + shard);
                }
                shards.put(shard, map(shard, arena));
            }
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : index.weightMap().entrySet()) {
            Mapped m = shards.get(e.getValue());
            SafetensorsFile.TensorInfo info = m.header().tensors().get(e.getKey());
            if (info == null) {
                throw new SafetensorsException(indexFile + ": tensor '" + e.getKey() + "' is listed in shard '"
                        + e.getValue().getFileName() + "', but " + e.getValue() + " has no such tensor (it holds "
                        + m.header().tensors().size() + " tensors)");
            }
            tensors.put(e.getKey(), m.tensor(e.getKey(), info));
        }
        return new Checkpoint(shown, arena, new ArrayList<>(shards.keySet()), tensors, index.metadata());
    }

    /** One shard: its validated header and the whole file mapped read-only. */
    private record Mapped(SafetensorsFile header, MemorySegment segment) {
        Tensor tensor(String name, SafetensorsFile.TensorInfo info) {
            MemorySegment data = segment.asSlice(header.dataStart() + info.begin(), info.byteSize());
            return new Tensor(name, info.dtype(), info.shape(), data);
        }
    }

    private static Mapped map(Path file, Arena arena) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            SafetensorsFile header = SafetensorsFile.read(file, ch);
            // One mapping per file, sized as validated; it stays valid after the channel closes.
            return new Mapped(header, ch.map(FileChannel.MapMode.READ_ONLY, 0, header.fileSize(), arena));
        } catch (NoSuchFileException e) {
            throw new SafetensorsException(file + ": no such file", e);
        } catch (IOException e) {
            throw new SafetensorsException(file + ": cannot read or map: " + e, e);
        }
    }

    /** Tensor names, in the file's header order or the index's weight_map order. */
    public List<String> names() {
        return names;
    }

    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    /** The tensor called {@code name}, a zero-copy view valid until {@link #close()}. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            List<String> near = suggest(name, tensors.keySet());
            throw new SafetensorsException("checkpoint " + path + ": no tensor '" + name + "' among its "
                    + tensors.size() + " tensors" + (near.isEmpty() ? "" : "; did you mean " + near + "?"));
        }
        return t;
    }

    public Optional<Tensor> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The single file's {@code __metadata__}, or the index's {@code "metadata"} (values as text). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The mapped .safetensors files, in shard order. */
    public List<Path> files() {
        return files;
    }

    /** Sum of all tensors' byte sizes. */
    public long totalBytes() {
        return totalBytes;
    }

    /** The path this checkpoint was opened from (absolute). */
    public Path path() {
        return path;
    }

    /** Unmaps every shard; tensors obtained from this checkpoint must not be used afterwards. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close();
        }
    }

    /**
     * Up to three names close to {@code wanted}: same suffix or prefix (a missing/extra "model."
     * prefix is the usual mistake), else a small edit distance. Only runs on the error path.
     */
    static List<String> suggest(String wanted, Iterable<String> names) {
        record Scored(String name, int score) {
        }
        List<Scored> scored = new ArrayList<>();
        int limit = Math.max(2, wanted.length() / 4);
        for (String n : names) {
            if (n.endsWith("." + wanted) || wanted.endsWith("." + n) || n.startsWith(wanted + ".")) {
                scored.add(new Scored(n, 0));
            } else if (Math.abs(n.length() - wanted.length()) <= limit) {
                int d = editDistance(wanted, n, limit);
                if (d <= limit) {
                    scored.add(new Scored(n, d));
                }
            }
        }
        scored.sort(Comparator.comparingInt(Scored::score).thenComparing(Scored::name));
        return scored.stream().limit(3).map(Scored::name).toList();
    }

    /** Levenshtein distance, giving up (returning limit + 1) once every cell of a row exceeds limit. */
    private static int editDistance(String a, String b, int limit) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            int rowMin = cur[0];
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
                rowMin = Math.min(rowMin, cur[j]);
            }
            if (rowMin > limit) {
                return limit + 1;
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
