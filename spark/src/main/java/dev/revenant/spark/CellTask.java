package dev.revenant.spark;

import dev.revenant.eval.EvalRun;
import dev.revenant.eval.MuseData;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.kernel.cuda.CudaRuntime;
import dev.revenant.quant.Precision;
import dev.revenant.sweep.Identity;
import dev.revenant.sweep.Journal;
import dev.revenant.sweep.ModelSpec;
import dev.revenant.sweep.PlanFile;
import dev.revenant.sweep.QuantCache;
import dev.revenant.sweep.Sweep;
import dev.revenant.sweep.SweepPlan;
import dev.revenant.tokenizer.HfTokenizer;
import dev.revenant.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.resource.ResourceInformation;

/**
 * The executor side of {@link SparkSweep}: evaluates the cells of its {@link CellChunk}s into the shared
 * {@code OUT/cells/<model>/<precision>/}. Each cell is evaluated into a folder private to this task attempt, gets
 * its journal line as {@code cell.json}, and is then renamed into place; the rename fails when the folder exists,
 * so of two attempts at one cell (a task retried after its executor was lost, a speculative copy) the first to
 * finish wins and the other discards its copy. A retried task skips the cells its dead predecessor finished.
 * Only the driver appends to {@code journal.jsonl}, so no line is written twice.
 */
public final class CellTask implements FlatMapFunction<Iterator<CellChunk>, CellOutcome> {
    /** The journal line of a finished cell, inside the cell's folder. */
    public static final String CELL_RECORD = "cell.json";
    /** The executor that computed the cell ({@link ExecutorInfo#json}), inside the cell's folder. */
    public static final String EXECUTOR_RECORD = "executor.json";
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    // one quantizing thread per cache entry in this JVM (two task slots may share an executor)
    private static final Map<String, Object> CACHE_LOCKS = new ConcurrentHashMap<>();

    private final String planFile;
    private final String planSha256;
    private final String out;
    private final String localCache;

    /** {@code localCache} null: {@code <first spark.local.dir>/revenant-quant-cache} on each executor. */
    CellTask(Path planFile, String planSha256, Path out, Path localCache) {
        this.planFile = planFile.toString();
        this.planSha256 = planSha256;
        this.out = out.toString();
        this.localCache = localCache == null ? null : localCache.toString();
    }

    @Override
    public Iterator<CellOutcome> call(Iterator<CellChunk> chunks) throws Exception {
        List<CellOutcome> done = new ArrayList<>();
        if (!chunks.hasNext()) {
            return done.iterator();
        }
        SweepPlan plan = loadPlan();
        TaskContext tc = TaskContext.get();
        Integer gpu = gpuAddress(tc);
        if (gpu != null) {
            CudaRuntime.selectDevice(gpu);
        }
        MuseData data = MuseData.at(plan.data());
        Path cacheRoot = localCache != null ? Path.of(localCache)
                : Path.of(SparkEnv.get().conf().get("spark.local.dir", "/tmp").split(",")[0].trim(), "revenant-quant-cache");
        try (Backend be = Backends.create(plan.backend(), plan.threads())) {
            String kernels = Backends.describe(be);
            String gpuText = be.name().equals("cuda") ? CudaRuntime.get().describe()
                    : gpu != null ? "GPU " + gpu + " assigned, not used (backend " + be.name() + ")" : null;
            ExecutorInfo info = ExecutorInfo.here(SparkEnv.get().conf().getAppId(), SparkEnv.get().executorId(), SparkSweep.sparkVersion(), be.name(),
                    kernels, gpuText);
            Sweep.Listener log = new Sweep.Listener() {
                @Override
                public void log(String line) {
                    System.err.println("revenant task " + tc.taskAttemptId() + ": " + line);
                }
            };
            log.log(kernels + (gpu != null ? ", GPU address " + gpu : "") + ", quantized cache " + cacheRoot);
            while (chunks.hasNext()) {
                runChunk(chunks.next(), plan, be, data, cacheRoot, info, tc, log, done);
            }
        }
        return done.iterator();
    }

    private void runChunk(CellChunk chunk, SweepPlan plan, Backend be, MuseData data, Path cacheRoot, ExecutorInfo info,
                          TaskContext tc, Sweep.Listener log, List<CellOutcome> done) throws IOException {
        ModelSpec m = plan.models().stream().filter(s -> s.name().equals(chunk.model())).findFirst()
                .orElseThrow(() -> new IllegalStateException(planFile + ": no model '" + chunk.model() + "'"));
        Map<String, Object> identity = Identity.of(m.dir());
        if (!identity.equals(chunk.identity())) {
            // the journal records the driver's identity; an executor computing on other bytes would make it lie
            throw new IllegalStateException("model '" + m.name() + "': " + m.dir() + " on " + info.host()
                    + " is not the checkpoint the driver saw (" + identity + " vs " + chunk.identity()
                    + "); every executor must read the same files (shared storage)");
        }
        Path modelCells = Path.of(out, "cells", m.name());
        Files.createDirectories(modelCells);
        Tokenizer tok = null;
        try {
            for (String pn : chunk.precisions()) {
                Precision p = plan.precisions().stream().filter(q -> q.name().equals(pn)).findFirst()
                        .orElseThrow(() -> new IllegalStateException(planFile + ": no precision '" + pn + "'"));
                Path dir = modelCells.resolve(p.name());
                String evalKey = Sweep.evalKey(plan, be, p);
                if (Files.isRegularFile(dir.resolve(CELL_RECORD))) { // a previous attempt of this task finished it
                    log.log(m.name() + "/" + p.name() + " already finished, skipped");
                    done.add(new CellOutcome(m.name(), p.name(), Files.readString(dir.resolve(CELL_RECORD)).trim(),
                            true, 0, 0, info));
                    continue;
                }
                long q0 = System.nanoTime();
                Path load = m.dir();
                Precision loadAs = p;
                boolean[] written = new boolean[1];
                if (chunk.contentHash() != null && p.kind() != Precision.Kind.FLOAT) {
                    String entry = QuantCache.entryName(chunk.contentHash(), p, plan.calibration());
                    synchronized (CACHE_LOCKS.computeIfAbsent(entry, k -> new Object())) {
                        load = QuantCache.ensure(m.dir(), chunk.contentHash(), p, plan.calibration(), cacheRoot, written);
                    }
                    loadAs = null;
                }
                double quantizeSeconds = written[0] ? (System.nanoTime() - q0) / 1e9 : 0;
                if (tok == null) {
                    tok = HfTokenizer.load(m.dir());
                }
                Path tmp = modelCells.resolve(p.name() + ".tmp-" + info.host() + "-" + ProcessHandle.current().pid()
                        + "-" + tc.taskAttemptId());
                long e0 = System.nanoTime();
                EvalRun.Summary s = Sweep.evaluateCell(m, p, load, loadAs, be, tok, data, plan, tmp, log);
                double evalSeconds = (System.nanoTime() - e0) / 1e9;
                String line = Journal.line(new Journal.Entry(m.name(), p.name(), evalKey, chunk.identity(), s, evalSeconds));
                writeForced(tmp.resolve(EXECUTOR_RECORD), JSON.writeValueAsString(info.json()) + "\n");
                // cell.json last: a folder holding it is complete
                writeForced(tmp.resolve(CELL_RECORD), line + "\n");
                boolean won = publish(tmp, dir);
                log.log(String.format(java.util.Locale.ROOT, "%s/%s %s in %.1f s (quantize %.1f s)", m.name(), p.name(),
                        won ? "done" : "done by another attempt first, this copy discarded", evalSeconds, quantizeSeconds));
                String kept = won ? line : Files.readString(dir.resolve(CELL_RECORD)).trim();
                done.add(new CellOutcome(m.name(), p.name(), kept, !won, quantizeSeconds, evalSeconds, info));
            }
        } finally {
            if (tok != null) {
                tok.close();
            }
        }
    }

    /** Renames {@code tmp} to {@code dir} unless {@code dir} exists; false (and {@code tmp} deleted) when it does. */
    static boolean publish(Path tmp, Path dir) throws IOException {
        if (Files.exists(dir)) {
            Sweep.deleteTree(tmp);
            return false;
        }
        try {
            // rename(2) of a folder onto a non-empty folder fails, so the check above racing another attempt is safe
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (AtomicMoveNotSupportedException e) {
            try {
                Files.move(tmp, dir);
                return true;
            } catch (FileAlreadyExistsException x) {
                Sweep.deleteTree(tmp);
                return false;
            }
        } catch (FileSystemException e) {
            if (Files.isRegularFile(dir.resolve(CELL_RECORD))) {
                Sweep.deleteTree(tmp);
                return false;
            }
            throw e;
        }
    }

    private static void writeForced(Path file, String text) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
    }

    private SweepPlan loadPlan() throws IOException {
        Path f = Path.of(planFile);
        String sha = SparkSweep.sha256(f);
        if (!sha.equals(planSha256)) {
            throw new IllegalStateException("--plan " + f + ": differs on this executor from the file the driver read "
                    + "(SHA-256 " + sha + " vs " + planSha256 + "); put the plan on storage every executor sees, "
                    + "and do not edit it during a run");
        }
        return PlanFile.load(f, Path.of(out));
    }

    /** The task's first {@code gpu} resource address as a device ordinal; null when the task has no GPU. */
    static Integer gpuAddress(TaskContext tc) {
        if (tc == null) {
            return null;
        }
        ResourceInformation r = tc.resourcesJMap().get("gpu");
        if (r == null || r.addresses().length == 0) {
            return null;
        }
        String a = r.addresses()[0];
        try {
            return Integer.parseInt(a.trim());
        } catch (NumberFormatException e) {
            throw new IllegalStateException("spark task gpu resource address '" + a + "' is not a device ordinal; "
                    + "the discovery script must print CUDA ordinals (0, 1, ...)", e);
        }
    }
}
