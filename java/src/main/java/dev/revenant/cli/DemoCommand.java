package dev.revenant.cli;

import dev.revenant.Settings;
import dev.revenant.sweep.PlanFile;
import dev.revenant.sweep.Sweep;
import dev.revenant.sweep.SweepPlan;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code revenant demo}: the sweep of the bundled demo ({@code models/demo/plan.yaml}: a target, a retrain model and
 * six unlearned models of a small Llama trained on made-up biographies, at full precision, int8, fp4, nf4 and
 * rtn-w4-g128), run with {@link Sweep} exactly as {@code revenant sweep --plan} runs it, then the table printed.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run the bundled unlearning demo: the sweep of models/demo/plan.yaml (target, retrain and six "
                + "unlearned models of a small Llama, at bf16, int8, fp4, nf4 and rtn-w4-g128, on made-up "
                + "biographies) as 'revenant sweep --plan' runs it; prints the table and where the report is.",
                "The demo folder is --demo, else REVENANT_DEMO, else models/demo of the repository the launcher "
                        + "runs from (or the one the jar was built in)."})
final class DemoCommand implements Callable<Integer> {
    static final String PLAN = "plan.yaml";

    @Option(names = "--out", description = "folder for the sweep's cells and reports (default: a new temporary folder)")
    Path out;

    @Option(names = "--demo", paramLabel = "DIR", description = "the demo folder holding plan.yaml (default: models/demo)")
    Path demo;

    @Option(names = "--threads", description = "worker threads (default: the core count, or REVENANT_THREADS)")
    Integer threads;

    @Option(names = "--backend", defaultValue = "auto", description = "reference | vector | native | cuda | auto (default: ${DEFAULT-VALUE})")
    String backend;

    @Override
    public Integer call() throws Exception {
        Path dir = locate(demo);
        Path o = out != null ? out : Files.createTempDirectory("revenant-demo");
        SweepPlan plan = plan(dir, o, backend, threads != null ? threads : Settings.defaultThreads());
        System.out.printf(Locale.ROOT, "revenant demo: %d models × %d precisions from %s%n", plan.models().size(),
                plan.precisions().size(), dir);
        long t0 = System.nanoTime();
        Sweep.Result r;
        try (SweepCommand.CellProgress progress = new SweepCommand.CellProgress(plan.models().size() * plan.precisions().size())) {
            r = Sweep.run(plan, progress);
        }
        System.out.println();
        String table = Files.readString(plan.out().resolve("table.md"), StandardCharsets.UTF_8);
        int div = table.indexOf("\n## Divergence"); // the demo measures no divergence (plan: divergence_tokens 0)
        System.out.print(div < 0 ? table : table.substring(0, div + 1));
        System.out.printf(Locale.ROOT, "%n%d cells (%d computed, %d reused) in %.0f s.%n", r.cells().size(), r.computed(),
                r.reused(), (System.nanoTime() - t0) / 1e9);
        System.out.println("Report: " + plan.out().resolve("report.html") + " (and table.md, results.json, results.csv, "
                + "buckets.csv, reemergence.csv in " + plan.out() + ")");
        System.out.println("What the models are and how they were made: " + dir.resolve("README.md"));
        return 0;
    }

    /** The demo's plan, with this run's output folder, backend and thread count. */
    static SweepPlan plan(Path demoDir, Path out, String backend, int threads) {
        SweepPlan p = PlanFile.load(demoDir.resolve(PLAN), out);
        return p.with(backend, threads, p.out());
    }

    /**
     * The demo folder: {@code given}, else {@link Settings#demoDir()}, else {@code models/demo} under
     * {@link Settings#home()} (the launcher's repository), the repository the running jar or classes folder sits in
     * ({@code ROOT/java/target/...}), the working directory or its parent. Fails listing where it looked.
     */
    static Path locate(Path given) {
        if (given != null) {
            return check(given.toAbsolutePath().normalize());
        }
        if (Settings.demoDir() != null) {
            return check(Settings.demoDir());
        }
        List<Path> roots = new ArrayList<>();
        if (Settings.home() != null) {
            roots.add(Settings.home());
        }
        Path code = codeLocation();
        if (code != null && code.getParent() != null && code.getParent().getParent() != null) {
            roots.add(code.getParent().getParent().getParent()); // ROOT/java/target/{x.jar,classes}
        }
        Path cwd = Path.of("").toAbsolutePath();
        roots.add(cwd);
        if (cwd.getParent() != null) {
            roots.add(cwd.getParent());
        }
        List<Path> tried = new ArrayList<>();
        for (Path root : roots) {
            if (root == null) {
                continue;
            }
            Path d = root.resolve("models").resolve("demo").normalize();
            if (Files.isRegularFile(d.resolve(PLAN))) {
                return d;
            }
            tried.add(d);
        }
        throw new IllegalArgumentException("the bundled demo (models/demo/" + PLAN + ") was not found; looked in "
                + tried + ". Run from a clone of the repository, or pass --demo DIR.");
    }

    private static Path check(Path d) {
        if (!Files.isRegularFile(d.resolve(PLAN))) {
            throw new IllegalArgumentException("demo folder " + d + ": " + PLAN + " not found");
        }
        return d;
    }

    private static Path codeLocation() {
        try {
            var src = DemoCommand.class.getProtectionDomain().getCodeSource();
            return src == null ? null : Path.of(src.getLocation().toURI()).toAbsolutePath().normalize();
        } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
            return null;
        }
    }
}
