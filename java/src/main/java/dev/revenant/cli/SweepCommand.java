package dev.revenant.cli;

import dev.revenant.Settings;
import dev.revenant.eval.Corpus;
import dev.revenant.eval.EvalOptions;
import dev.revenant.eval.EvalRun;
import dev.revenant.sweep.Divergence;
import dev.revenant.sweep.Journal;
import dev.revenant.sweep.PlanFile;
import dev.revenant.sweep.Sweep;
import dev.revenant.sweep.SweepPlan;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code revenant sweep}: every model at every precision, resumable, with reports. */
@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = {"Evaluate models (target, retrain, unlearned) at several precisions and report whether forgotten "
                + "knowledge comes back.",
                "Each model × precision cell is written to OUT/cells/<model>/<precision>/ and journaled in OUT/journal.jsonl; "
                        + "rerunning the same command after a crash computes only the missing cells. Writes results.json, "
                        + "results.csv and table.md to --out.",
                "Packed precisions (int8, fp4, nf4, rtn-*, ...) quantize each model once into "
                        + "OUT/cache/<content-sha256>-<precision>/ (a packed checkpoint, as revenant quantize writes) "
                        + "and load it from there, on this run and every later one (GPTQ/AWQ: "
                        + "OUT/cache/<content-sha256>-<precision>-c<calibration key>/, the key naming the calibration's "
                        + "samples, length, seed and text).",
                "Give the sweep either as flags (--models, --precisions, --data, ...) or as --plan PLAN.yaml:",
                "  models:                                  # required",
                "    - {name: target, path: /m/target, role: target}",
                "    - {name: ga_gdr, path: /m/ga_gdr}      # role: target | retrain | unlearned (default unlearned; target for a",
                "                                           #   model named target, as with --models)",
                "  precisions: [bf16, int8, fp4, nf4, rtn-w4-g128]   # required; the first is the full precision",
                "  data: /data/news                         # required",
                "  corpus: news                             # news | books | custom (then auc_retrain: 0.5)",
                "  metrics: [verbmem_f, knowmem_f, knowmem_r, privleak]   # optional, default all",
                "  preset: muse                             # optional",
                "  batch: 8                                 # optional",
                "  limit: 0                                 # optional",
                "  seed: 0                                  # optional",
                "  backend: auto                            # optional",
                "  threads: 2                               # optional",
                "  divergence_tokens: 2048                  # optional; 0 = no divergence from the checkpoint as stored",
                "  calibration:                             # optional; what gptq-*/awq-* precisions calibrate on",
                "    samples: 128                           #   default 128 token windows",
                "    seqlen: 512                            #   default 512 tokens each",
                "    seed: 0                                #   default 0",
                "    file: calib.txt                        #   default the text shipped in the jar (as quantize --calib)",
                "Relative paths resolve against the plan file's folder; errors name the file, line and field."})
final class SweepCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--plan", paramLabel = "PLAN.yaml", description = "the whole sweep as a YAML plan (see above) "
            + "instead of --models, --precisions, --data and the other evaluation flags")
    Path planFile;

    @Option(names = "--models", split = ",", paramLabel = "NAME=DIR",
            description = "models to sweep; a model named 'target' is the target, others are unlearned unless --roles says")
    List<String> models;

    @Option(names = "--roles", split = ",", paramLabel = "NAME=ROLE", description = "role per model: target | retrain | unlearned")
    List<String> roles;

    @Option(names = "--precisions", split = ",", description = "e.g. fp32,bf16,int8,fp4,nf4,rtn-w4-g128; "
            + "the first is the full precision the recovery table compares against")
    List<String> precisions;

    @Option(names = "--data", description = "MUSE corpus folder, e.g. data/news")
    Path data;

    @Option(names = "--corpus", defaultValue = "news", description = "news | books | custom (default: ${DEFAULT-VALUE})")
    String corpus;

    @Option(names = "--auc-retrain", description = "custom corpus: AUC_retrain of forget_holdout_Min-40%%")
    Double aucRetrain;

    @Option(names = "--metrics", defaultValue = "verbmem_f,knowmem_f,knowmem_r,privleak", split = ",",
            description = "subset of verbmem_f,knowmem_f,knowmem_r,privleak (default: all)")
    String[] metrics;

    @Option(names = "--limit", defaultValue = "0", description = "first N items of each file (0 = all)")
    int limit;

    @Option(names = "--batch", defaultValue = "1", description = "items per forward pass (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--preset", defaultValue = "muse", description = "muse | paper (default: ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--seed", defaultValue = "0", description = "sampling and bootstrap seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--backend", defaultValue = "auto", description = "reference | vector | native | cuda | auto (default: ${DEFAULT-VALUE}; auto = cuda when a GPU is present, else native, else vector)")
    String backend;

    @Option(names = "--threads", description = "worker threads (default: the core count, or REVENANT_THREADS)")
    Integer threads;

    @Option(names = "--out", required = true, description = "output folder")
    Path out;

    @picocli.CommandLine.Mixin
    CalibOptions calib = new CalibOptions(); // the plan's calibration: {file, samples, seqlen, seed}

    @Override
    public Integer call() throws Exception {
        SweepPlan plan;
        if (planFile != null) {
            List<String> given = new java.util.ArrayList<>();
            for (picocli.CommandLine.Model.OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
                if (!o.longestName().equals("--plan") && !o.longestName().equals("--out")) {
                    given.add(o.longestName());
                }
            }
            if (!given.isEmpty()) {
                throw new IllegalArgumentException("--plan gives the whole sweep; drop " + String.join(", ", given)
                        + " (or drop --plan)");
            }
            plan = PlanFile.load(planFile, out);
        } else {
            if (models == null || precisions == null || data == null) {
                throw new IllegalArgumentException("give either --plan PLAN.yaml or --models, --precisions and --data");
            }
            plan = flagsPlan();
        }
        return run(plan);
    }

    private SweepPlan flagsPlan() {
        Corpus c;
        if (corpus.equalsIgnoreCase("custom")) {
            if (aucRetrain == null) {
                throw new IllegalArgumentException("--corpus custom needs --auc-retrain");
            }
            c = Corpus.custom(aucRetrain);
        } else {
            if (aucRetrain != null) {
                throw new IllegalArgumentException("--auc-retrain applies to --corpus custom only");
            }
            c = Corpus.parse(corpus);
        }
        EvalOptions opt = new EvalOptions(new LinkedHashSet<>(Arrays.asList(metrics)), c, preset, seed, limit, batch, 128, 32);
        if (calib.calib != null && !java.nio.file.Files.isRegularFile(calib.calib)) {
            throw new IllegalArgumentException("--calib " + calib.calib + ": file not found");
        }
        return new SweepPlan(SweepPlan.parseModels(models, roles), SweepPlan.parsePrecisions(precisions), data, opt,
                backend, threads != null ? threads : Settings.defaultThreads(), out, Divergence.DEFAULT_TOKEN_BUDGET,
                calib.options());
    }

    private static int run(SweepPlan plan) throws Exception {
        plan.checkInputs();
        int total = plan.models().size() * plan.precisions().size();
        CellProgress progress = new CellProgress(total);
        Sweep.Result r;
        try (progress) {
            r = Sweep.run(plan, progress);
        }
        System.out.printf(Locale.ROOT, "%d cells: %d computed, %d from the journal%n", r.cells().size(), r.computed(), r.reused());
        System.out.println("wrote " + plan.out().resolve("results.json") + ", results.csv, table.md, reemergence.csv, report.html, charts" + (java.nio.file.Files.exists(plan.out().resolve("buckets.csv")) ? ", buckets.csv" : ""));
        return 0;
    }

    /**
     * The sweep's progress on stderr: one bar per cell ("cell 3/18, sweep ~0:04:10 left target/nf4": items done of
     * the cell's items, items/s, the cell's elapsed / ETA and its tokens/s through the forward pass; the sweep's
     * remaining time from the mean time of the cells computed so far), a log line per finished cell.
     */
    static final class CellProgress implements Sweep.Listener, AutoCloseable {
        private final int total;
        private int finished;
        private ProgressBar bar;
        private long tokens0;
        private long t0;

        CellProgress(int total) {
            this.total = total;
        }

        @Override
        public void cellStarted(String model, String precision, int items) {
            closeBar();
            String eta = computed == 0 ? "" : String.format(Locale.ROOT, ", sweep ~%s left",
                    duration(secondsComputed / computed * (total - finished)));
            // wide enough for the title, counts, elapsed/ETA, items/s and tokens/s (non-terminals default to 80)
            bar = EvalCommand.bar(String.format(Locale.ROOT, "cell %d/%d%s %s/%s", finished + 1, total, eta, model, precision), items, 160);
            tokens0 = dev.revenant.engine.Forward.tokensRun();
            t0 = System.nanoTime();
        }

        @Override
        public void items(int n) {
            if (bar == null) {
                return;
            }
            bar.stepBy(n);
            double s = (System.nanoTime() - t0) / 1e9;
            long tok = dev.revenant.engine.Forward.tokensRun() - tokens0;
            bar.setExtraMessage(String.format(Locale.ROOT, " %.0f tokens/s", s > 0 ? tok / s : 0.0));
        }

        private int computed;
        private double secondsComputed;

        private static String duration(double s) {
            long t = Math.round(s);
            return String.format(Locale.ROOT, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
        }

        @Override
        public void cellFinished(Journal.Entry e, boolean reused) {
            closeBar();
            finished++;
            if (!reused) {
                computed++;
                secondsComputed += e.seconds();
            }
            log(reused ? String.format(Locale.ROOT, "cell %d/%d %s (journaled, reused)", finished, total, e.key())
                    : String.format(Locale.ROOT, "cell %d/%d %s done in %.1f s: %s", finished, total, e.key(), e.seconds(),
                            EvalRun.describe(e.summary())));
        }

        @Override
        public void log(String line) {
            if (bar != null) {
                System.err.println();
            }
            System.err.println(line);
        }

        private void closeBar() {
            if (bar != null) {
                bar.close();
                bar = null;
            }
        }

        @Override
        public void close() {
            closeBar();
        }
    }
}
