package dev.revenant.spark;

import dev.revenant.quant.Precision;
import dev.revenant.quant.QuantConfig;
import dev.revenant.report.CellRow;
import dev.revenant.sweep.Identity;
import dev.revenant.sweep.Journal;
import dev.revenant.sweep.Manifest;
import dev.revenant.sweep.ModelSpec;
import dev.revenant.sweep.PlanFile;
import dev.revenant.sweep.Sweep;
import dev.revenant.sweep.SweepPlan;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@code spark-submit --class dev.revenant.spark.SparkSweep revenant-spark-<version>.jar --plan plan.yaml --out DIR}:
 * the sweep of {@code revenant sweep --plan} with each cell (model × precision) evaluated by a Spark task.
 * <ol>
 * <li>The driver takes the output folder's lock, reads the journal and drops cells it must recompute (as
 * {@link Sweep} does); a cell whose folder holds a matching {@code cell.json} but that the journal lacks (the
 * driver died after the cell finished) is journaled now, not recomputed.</li>
 * <li>Stage 1 hashes every float checkpoint ({@code QuantCache.contentHash}), one task per model, so the driver
 * never reads the weights.</li>
 * <li>Stage 2 runs the cells left, grouped by model into {@link CellChunk}s ({@link CellTask}); quantized weights go
 * to each executor's local disk.</li>
 * <li>The driver journals the new cells in plan order and writes the local sweep's reports
 * ({@link Sweep#writeReports}); the manifest adds every executor and the per-cell costs.</li>
 * </ol>
 */
public final class SparkSweep {
    private SparkSweep() {
    }

    /** What the outcome holds: every cell in plan order, how many were computed and reused, and the task count. */
    public record Result(List<CellRow> cells, int computed, int reused, int tasks) {
    }

    public static void main(String[] args) throws Exception {
        SparkSweepOptions o = SparkSweepOptions.parse(args);
        if (o == null) {
            System.out.println(SparkSweepOptions.USAGE);
            return;
        }
        SparkConf conf = new SparkConf().setAppName("revenant sweep " + o.plan().getFileName());
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            Result r = run(sc, o, new Sweep.Listener() {
                @Override
                public void log(String line) {
                    System.err.println(line);
                }
            });
            System.out.printf(Locale.ROOT, "%d cells: %d computed in %d Spark tasks, %d from the journal%n",
                    r.cells().size(), r.computed(), r.tasks(), r.reused());
            System.out.println("wrote " + o.out().toAbsolutePath().resolve("results.json")
                    + ", results.csv, table.md, reemergence.csv, report.html, charts");
        }
    }

    /** Runs the sweep {@code o} on {@code sc}; the driver's log lines go to {@code listener}. */
    public static Result run(JavaSparkContext sc, SparkSweepOptions o, Sweep.Listener listener) throws Exception {
        SweepPlan plan = PlanFile.load(o.plan(), o.out());
        plan.checkInputs();
        Path out = plan.out();
        try {
            Files.createDirectories(out);
            Files.delete(Files.createTempFile(out, ".write-probe", ".tmp"));
        } catch (IOException e) {
            throw new IllegalArgumentException("--out " + out + ": cannot create or write the output folder ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
        }
        // the local sweep's lock: neither kind of sweep may clean up temps under a live one
        try (FileChannel lockFile = FileChannel.open(out.resolve(".sweep.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock lock = lockFile.tryLock()) {
            if (lock == null) {
                throw new IllegalStateException("--out " + out + ": another revenant sweep is writing there");
            }
            return runLocked(sc, o, plan, listener);
        }
    }

    private static Result runLocked(JavaSparkContext sc, SparkSweepOptions o, SweepPlan plan, Sweep.Listener listener)
            throws Exception {
        String started = Instant.now().toString();
        Path out = plan.out();
        Journal journal = new Journal(out.resolve("journal.jsonl"));
        Map<String, Journal.Entry> journaled = new HashMap<>();
        for (Journal.Entry e : journal.read()) {
            journaled.put(e.key(), e);
        }
        Path cells = out.resolve("cells");
        Files.createDirectories(cells);
        OutputFolder.deleteStaleTemps(cells, listener);
        Map<String, Map<String, Object>> identities = new LinkedHashMap<>();
        for (ModelSpec m : plan.models()) {
            identities.put(m.name(), Identity.of(m.dir()));
        }
        Map<String, String> hashes = hashFloatCheckpoints(sc, plan);
        Map<String, Map<String, Object>> manifestIds = new LinkedHashMap<>();
        for (ModelSpec m : plan.models()) {
            Map<String, Object> id = new TreeMap<>(identities.get(m.name()));
            if (hashes.containsKey(m.name())) {
                id.put("content_sha256", hashes.get(m.name()));
            }
            manifestIds.put(m.name(), id);
        }

        Map<String, Journal.Entry> finished = new HashMap<>();
        Map<String, List<String>> pending = new LinkedHashMap<>();
        int reused = 0;
        for (ModelSpec m : plan.models()) {
            for (Precision p : plan.precisions()) {
                String key = m.name() + "/" + p.name();
                Path dir = cells.resolve(m.name()).resolve(p.name());
                Journal.Entry prev = journaled.get(key);
                if (prev != null && OutputFolder.reusable(prev, plan, identities.get(m.name())) && Files.isDirectory(dir)) {
                    finished.put(key, prev);
                    reused++;
                    continue;
                }
                Journal.Entry rec = OutputFolder.cellRecord(dir);
                if (rec != null && OutputFolder.reusable(rec, plan, identities.get(m.name()))) {
                    listener.log("journaling " + key + ", finished by an earlier job whose driver did not journal it");
                    journal.append(rec);
                    finished.put(key, rec);
                    reused++;
                    continue;
                }
                if (Files.exists(dir)) {
                    listener.log("recomputing " + key + ": its folder is from other settings or unfinished");
                    Sweep.deleteTree(dir);
                }
                pending.computeIfAbsent(m.name(), k -> new ArrayList<>()).add(p.name());
            }
        }

        int total = pending.values().stream().mapToInt(List::size).sum();
        int perTask = o.cellsPerTask() > 0 ? o.cellsPerTask() : Math.max(1, total / Math.max(1, sc.defaultParallelism()));
        List<CellChunk> chunks = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : pending.entrySet()) {
            List<String> ps = e.getValue();
            for (int i = 0; i < ps.size(); i += perTask) {
                chunks.add(new CellChunk(e.getKey(), ps.subList(i, Math.min(ps.size(), i + perTask)),
                        hashes.get(e.getKey()), identities.get(e.getKey())));
            }
        }
        List<CellOutcome> outcomes = List.of();
        if (!chunks.isEmpty()) {
            listener.log(String.format(Locale.ROOT, "%d cells to compute (%d from the journal) in %d tasks of up to %d cells",
                    total, reused, chunks.size(), perTask));
            sc.setJobDescription("revenant sweep: " + total + " cells");
            CellTask task = new CellTask(o.plan().toAbsolutePath().normalize(), sha256(o.plan()), out, o.localCache());
            outcomes = sc.parallelize(chunks, chunks.size()).mapPartitions(task).collect();
            // attempts of tasks whose executor was lost left their temp folders; the job is over, so they are dead
            OutputFolder.deleteStaleTemps(cells, listener);
        }
        Map<String, CellOutcome> byKey = new HashMap<>();
        for (CellOutcome c : outcomes) {
            if (byKey.put(c.key(), c) != null) {
                throw new IllegalStateException("cell " + c.key() + " came back twice from the Spark job");
            }
        }
        int computed = 0;
        for (ModelSpec m : plan.models()) { // plan order, as the local sweep journals
            for (String pn : pending.getOrDefault(m.name(), List.of())) {
                CellOutcome c = byKey.get(m.name() + "/" + pn);
                if (c == null) {
                    throw new IllegalStateException("cell " + m.name() + "/" + pn + " missing from the Spark job's results");
                }
                Journal.Entry e = Journal.parseLine(c.journalLine());
                journal.append(e);
                finished.put(c.key(), e);
                computed++;
            }
        }
        List<CellRow> rows = new ArrayList<>();
        for (ModelSpec m : plan.models()) {
            for (Precision p : plan.precisions()) {
                rows.add(new CellRow(m.name(), m.role(), p.name(), finished.get(m.name() + "/" + p.name()).summary()));
            }
        }
        Map<String, Object> manifest = SparkManifest.of(plan, manifestIds, started, finished.values(), outcomes, sc,
                chunks.size(), perTask);
        Sweep.writeReports(plan, manifest, rows, listener);
        return new Result(rows, computed, reused, chunks.size());
    }

    /** Stage 1: {@code QuantCache.contentHash} of every float checkpoint of the plan, one task per model. */
    private static Map<String, String> hashFloatCheckpoints(JavaSparkContext sc, SweepPlan plan) {
        List<String> dirs = new ArrayList<>();
        Map<String, String> nameOf = new HashMap<>();
        for (ModelSpec m : plan.models()) {
            if (QuantConfig.read(m.dir()).isEmpty()) {
                dirs.add(m.dir().toString());
                nameOf.put(m.dir().toString(), m.name());
            }
        }
        Map<String, String> hashes = new HashMap<>();
        if (dirs.isEmpty()) {
            return hashes;
        }
        sc.setJobDescription("revenant sweep: hash " + dirs.size() + " checkpoints");
        List<String> lines = sc.parallelize(dirs, dirs.size())
                .map(d -> d + "\t" + dev.revenant.sweep.QuantCache.contentHash(Path.of(d))).collect();
        for (String l : lines) {
            int tab = l.lastIndexOf('\t');
            hashes.put(nameOf.get(l.substring(0, tab)), l.substring(tab + 1));
        }
        return hashes;
    }

    /** SHA-256 (hex) of a file's bytes. */
    static String sha256(Path f) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
        try (InputStream in = Files.newInputStream(f)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The Spark version this JVM runs (driver or executor). */
    static String sparkVersion() {
        return org.apache.spark.package$.MODULE$.SPARK_VERSION();
    }
}
