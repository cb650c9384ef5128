package dev.revenant.sweep;

import dev.revenant.engine.Model;
import dev.revenant.eval.EvalRun;
import dev.revenant.eval.MuseData;
import dev.revenant.eval.MuseEvaluator;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.quant.Precision;
import dev.revenant.quant.QuantConfig;
import dev.revenant.report.CellRow;
import dev.revenant.report.DivergenceReport;
import dev.revenant.report.HtmlReport;
import dev.revenant.report.Reemergence;
import dev.revenant.report.Reports;
import dev.revenant.report.SameBucket;
import dev.revenant.tokenizer.HfTokenizer;
import dev.revenant.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import java.util.stream.Stream;

/**
 * Runs a {@link SweepPlan}: each cell (model × precision) is evaluated into
 * {@code out/cells/<model>/<precision>.tmp-<pid>}, renamed atomically to {@code out/cells/<model>/<precision>}
 * once complete, and only then journaled ({@link Journal}). On start the journal is read, stale
 * {@code .tmp-*} folders are deleted, and a cell is skipped when the journal has it with the same checkpoint
 * identity and evaluation settings and its folder exists. So after a crash or {@code kill -9} a rerun computes
 * only the missing cells, and since every cell is deterministic the reports equal an uninterrupted run's.
 */
public final class Sweep {

    /** What a sweep reports as it goes (the CLI draws a bar and prints the log lines). */
    public interface Listener {
        /** A cell is about to be evaluated over {@code items} items. */
        default void cellStarted(String model, String precision, int items) {
        }

        /** Items done within the current cell. */
        default void items(int n) {
        }

        /** A cell is done: computed now ({@code reused} false) or taken from the journal. */
        default void cellFinished(Journal.Entry e, boolean reused) {
        }

        /** One log line. */
        default void log(String line) {
        }
    }

    /** The outcome: every cell (in plan order) and how many were computed in this run. */
    public record Result(List<CellRow> cells, int computed, int reused) {
    }

    private Sweep() {
    }

    public static Result run(SweepPlan plan, Listener listener) throws Exception {
        return run(plan, listener, true);
    }

    /**
     * {@code cacheQuantized} false loads each packed cell with {@code Model.load(dir, backend, precision)} instead of
     * from {@code out/cache} (tests compare the two paths).
     */
    static Result run(SweepPlan plan, Listener listener, boolean cacheQuantized) throws Exception {
        plan.checkInputs();
        prepareOut(plan.out());
        // one sweep per folder at a time: the stale-temp cleanup below would delete a live run's cell
        try (FileChannel lockFile = FileChannel.open(plan.out().resolve(".sweep.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock lock = lockFile.tryLock()) {
            if (lock == null) {
                throw new IllegalStateException("--out " + plan.out() + ": another revenant sweep is writing there");
            }
            return runLocked(plan, listener, cacheQuantized);
        }
    }

    private static Result runLocked(SweepPlan plan, Listener listener, boolean cacheQuantized) throws Exception {
        String started = Instant.now().toString();
        MuseData data = MuseData.at(plan.data());
        Journal journal = new Journal(plan.out().resolve("journal.jsonl"));
        Map<String, Journal.Entry> done = new HashMap<>();
        for (Journal.Entry e : journal.read()) {
            done.put(e.key(), e);
        }
        Path cells = plan.out().resolve("cells");
        Files.createDirectories(cells);
        deleteStaleTemps(cells, listener);
        Map<String, Map<String, Object>> identities = new LinkedHashMap<>();
        for (ModelSpec m : plan.models()) {
            identities.put(m.name(), Identity.of(m.dir()));
        }
        // the content hash (recorded in the manifest) also keys the quantized-weights cache; computed once per model per run
        boolean packed = cacheQuantized && plan.precisions().stream().anyMatch(p -> p.kind() != Precision.Kind.FLOAT);
        Path cacheRoot = plan.out().resolve("cache");
        Map<String, String> contentHashes = new HashMap<>();
        Map<String, Map<String, Object>> manifestIds = new LinkedHashMap<>();
        for (ModelSpec m : plan.models()) {
            Map<String, Object> id = new java.util.TreeMap<>(identities.get(m.name()));
            if (QuantConfig.read(m.dir()).isEmpty()) { // every float checkpoint's content hash goes into the manifest
                String h = QuantCache.contentHash(m.dir());
                if (packed) {
                    contentHashes.put(m.name(), h);
                }
                id.put("content_sha256", h);
            }
            manifestIds.put(m.name(), id);
        }
        if (packed) {
            QuantCache.deleteStaleTemps(cacheRoot);
        }
        List<CellRow> rows = new ArrayList<>();
        int computed = 0;
        int reused = 0;
        String backendName;
        String backendKernels;
        try (Backend be = Backends.create(plan.backend(), plan.threads())) {
            backendName = be.name();
            backendKernels = Backends.describe(be);
            listener.log(backendKernels);
            for (ModelSpec m : plan.models()) {
                Tokenizer tok = null;
                try {
                    for (Precision p : plan.precisions()) {
                        Path dir = cells.resolve(m.name()).resolve(p.name());
                        String evalKey = evalKey(plan, be, p);
                        Journal.Entry prev = done.get(m.name() + "/" + p.name());
                        if (prev != null && Files.isDirectory(dir) && prev.evalKey().equals(evalKey)
                                && prev.identity().equals(identities.get(m.name()))) {
                            rows.add(new CellRow(m.name(), m.role(), p.name(), prev.summary()));
                            reused++;
                            listener.cellFinished(prev, true);
                            continue;
                        }
                        if (tok == null) {
                            tok = HfTokenizer.load(m.dir());
                        }
                        Path load = m.dir();
                        Precision loadAs = p;
                        String hash = contentHashes.get(m.name());
                        if (hash != null && p.kind() != Precision.Kind.FLOAT) {
                            boolean[] written = new boolean[1];
                            load = QuantCache.ensure(m.dir(), hash, p, plan.calibration(), cacheRoot, written);
                            loadAs = null;
                            listener.log((written[0] ? "quantized " : "reusing quantized ") + m.name() + " at " + p.name()
                                    + " in " + plan.out().relativize(load));
                        }
                        Journal.Entry e = runCell(m, p, load, loadAs, be, tok, data, plan, dir, evalKey,
                                identities.get(m.name()), listener);
                        journal.append(e);
                        rows.add(new CellRow(m.name(), m.role(), p.name(), e.summary()));
                        computed++;
                        listener.cellFinished(e, false);
                    }
                } finally {
                    if (tok != null) {
                        tok.close();
                    }
                }
            }
        }
        Map<String, Object> manifest = Manifest.of(plan, backendName, backendKernels, manifestIds, started,
                Instant.now().toString());
        writeReports(plan, manifest, rows, listener);
        return new Result(rows, computed, reused);
    }

    /**
     * Writes results.json (with {@code manifest}), results.csv, table.md, the charts and report.html for {@code rows}
     * (plan order) from the cells under {@code plan.out()/cells}; the local sweep and the Spark driver both end here.
     */
    public static void writeReports(SweepPlan plan, Map<String, Object> manifest, List<CellRow> rows, Listener listener)
            throws IOException {
        Path cells = plan.out().resolve("cells");
        List<String> precisionNames = plan.precisions().stream().map(Precision::name).toList();
        SameBucket.Data buckets = null;
        if (BucketDiagnostics.enabled) {
            long t0 = System.nanoTime();
            buckets = BucketDiagnostics.of(plan, listener::log);
            if (buckets != null) {
                listener.log(String.format(java.util.Locale.ROOT, "same-bucket diagnostics: %d rows in %.1f s",
                        buckets.rows().size(), (System.nanoTime() - t0) / 1e9));
            }
        }
        // per-item re-emergence vs each model's first precision, from the cells' verbmem_f/knowmem_f logs
        Reemergence.Data reemergence = Reemergence.of(cells, plan.models().stream().map(ModelSpec::name).toList(),
                precisionNames);
        // per-cell divergence from the checkpoint as stored, from the cells' divergence.json (absent in older cells)
        DivergenceReport.Data divergence = DivergenceReport.of(cells,
                plan.models().stream().map(ModelSpec::name).toList(), precisionNames);
        Reports.write(plan.out(), manifest, precisionNames, rows, buckets, reemergence, divergence);
        HtmlReport.write(plan.out(), manifest, precisionNames, rows, new HtmlReport.Extras(buckets, reemergence, divergence));
    }

    private static Journal.Entry runCell(ModelSpec m, Precision p, Path loadDir, Precision loadAs, Backend be, Tokenizer tok, MuseData data, SweepPlan plan,
                                         Path dir, String evalKey, Map<String, Object> identity, Listener listener)
            throws IOException {
        long t0 = System.nanoTime();
        Path tmp = dir.resolveSibling(p.name() + ".tmp-" + ProcessHandle.current().pid());
        EvalRun.Summary s = evaluateCell(m, p, loadDir, loadAs, be, tok, data, plan, tmp, listener);
        // a folder left by a crash between rename and journal append is not journaled: replace it
        deleteTree(dir);
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, dir);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new Journal.Entry(m.name(), p.name(), evalKey, identity, s, seconds);
    }

    /**
     * Evaluates one cell (model {@code m} at {@code p}, weights from {@code loadDir} cast to {@code loadAs}, or as
     * stored when null) into the folder {@code tmp}, deleted first. Moving {@code tmp} into place is the caller's:
     * the local sweep replaces, the Spark runner ({@code dev.revenant.spark}) lets the first finished attempt win.
     */
    public static EvalRun.Summary evaluateCell(ModelSpec m, Precision p, Path loadDir, Precision loadAs, Backend be,
                                               Tokenizer tok, MuseData data, SweepPlan plan, Path tmp, Listener listener)
            throws IOException {
        deleteTree(tmp);
        listener.cellStarted(m.name(), p.name(), MuseEvaluator.itemCount(data, plan.options()));
        EvalRun.Summary s;
        try (Model model = Model.load(loadDir, be, loadAs, plan.calibration(), null)) {
            s = EvalRun.run(m.name(), model, tok, data, plan.options(), tmp, listener::items);
            if (plan.divergenceTokens() > 0) {
                // the reference is always the checkpoint as stored (m.dir()), not the quantized cache the cell loaded
                long d0 = System.nanoTime();
                Map<String, DivergenceReport.Stats> div = Divergence.write(tmp, model, m.dir(), be, tok, data,
                        plan.options(), plan.divergenceTokens());
                StringBuilder line = new StringBuilder("divergence of " + m.name() + " at " + p.name() + " from as stored:");
                div.forEach((split, st) -> line.append(String.format(java.util.Locale.ROOT,
                        " %s KL mean %.4g top-1 %.3f (%d positions);", split, st.klMean(), st.top1Agreement(),
                        st.positions())));
                listener.log(line.append(String.format(java.util.Locale.ROOT, " %.1f s",
                        (System.nanoTime() - d0) / 1e9)).toString());
            }
        }
        return s;
    }

    /**
     * The journal's evaluation key of a cell at {@code p} computed on {@code be}: the plan's settings (with the
     * calibration for GPTQ/AWQ, {@link SweepPlan#evalKey(Precision)}) plus the backend.
     */
    public static String evalKey(SweepPlan plan, Backend be, Precision p) {
        return plan.evalKey(p) + ";backend=" + be.name();
    }

    private static void prepareOut(Path out) {
        try {
            Files.createDirectories(out);
            Path probe = Files.createTempFile(out, ".write-probe", ".tmp");
            Files.delete(probe);
        } catch (IOException | SecurityException e) {
            throw new IllegalArgumentException("--out " + out + ": cannot create or write the output folder ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
        }
    }

    /** Deletes {@code cells/<model>/<precision>.tmp-*} folders left by a run that died mid-cell. */
    private static void deleteStaleTemps(Path cells, Listener listener) throws IOException {
        List<Path> stale;
        try (Stream<Path> s = Files.walk(cells, 2)) {
            stale = s.filter(p -> cells.relativize(p).getNameCount() == 2 && p.getFileName().toString().contains(".tmp-"))
                    .toList();
        }
        for (Path p : stale) {
            listener.log("deleting unfinished cell " + cells.relativize(p));
            deleteTree(p);
        }
    }

    /** Deletes {@code p} and everything under it; nothing when it does not exist. */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
