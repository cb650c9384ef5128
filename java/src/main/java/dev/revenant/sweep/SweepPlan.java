package dev.revenant.sweep;

import dev.revenant.engine.CalibratedQuantizers;
import dev.revenant.engine.Calibration;
import dev.revenant.eval.EvalOptions;
import dev.revenant.quant.Precision;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What one {@code revenant sweep} evaluates: every model at every precision (a cell each), with one set of
 * evaluation options, on one backend. The first precision is the "full" one the reports compare against.
 * {@code divergenceTokens} is the per-split token budget of each cell's divergence from the checkpoint as stored
 * ({@link Divergence}; 0 = not measured). {@code calibration} is the calibration GPTQ/AWQ precisions quantize
 * with (the plan's {@code calibration:} key; {@link Calibration.Options#DEFAULT} otherwise).
 */
public record SweepPlan(List<ModelSpec> models, List<Precision> precisions, Path data, EvalOptions options,
                        String backend, int threads, Path out, int divergenceTokens, Calibration.Options calibration) {

    /** A plan with the default divergence budget ({@link Divergence#DEFAULT_TOKEN_BUDGET}). */
    public SweepPlan(List<ModelSpec> models, List<Precision> precisions, Path data, EvalOptions options,
                     String backend, int threads, Path out) {
        this(models, precisions, data, options, backend, threads, out, Divergence.DEFAULT_TOKEN_BUDGET);
    }

    /** A plan with the default calibration ({@link Calibration.Options#DEFAULT}). */
    public SweepPlan(List<ModelSpec> models, List<Precision> precisions, Path data, EvalOptions options,
                     String backend, int threads, Path out, int divergenceTokens) {
        this(models, precisions, data, options, backend, threads, out, divergenceTokens, Calibration.Options.DEFAULT);
    }

    public SweepPlan {
        models = List.copyOf(models);
        precisions = List.copyOf(precisions);
        if (models.isEmpty()) {
            throw new IllegalArgumentException("a sweep needs at least one model");
        }
        if (precisions.isEmpty()) {
            throw new IllegalArgumentException("a sweep needs at least one precision");
        }
        Set<String> names = new HashSet<>();
        long targets = 0;
        for (ModelSpec m : models) {
            if (!names.add(m.name())) {
                throw new IllegalArgumentException("model name '" + m.name() + "' given twice");
            }
            targets += m.role().equals("target") ? 1 : 0;
        }
        if (targets > 1) {
            throw new IllegalArgumentException("at most one model may have role target, found " + targets);
        }
        Set<String> ps = new HashSet<>();
        for (Precision p : precisions) {
            if (!ps.add(p.name())) {
                throw new IllegalArgumentException("precision '" + p.name() + "' given twice");
            }
        }
        if (divergenceTokens < 0) {
            throw new IllegalArgumentException("divergence_tokens must be ≥ 0, found " + divergenceTokens);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("--threads must be ≥ 1, found " + threads);
        }
        if (calibration == null) {
            throw new IllegalArgumentException("calibration options missing (use Calibration.Options.DEFAULT)");
        }
        data = data.toAbsolutePath().normalize();
        out = out.toAbsolutePath().normalize();
    }

    /** The same plan writing to {@code out} on {@code backend} with {@code threads} threads. */
    public SweepPlan with(String backend, int threads, Path out) {
        return new SweepPlan(models, precisions, data, options, backend, threads, out, divergenceTokens, calibration);
    }

    /**
     * Parses {@code name=DIR,...} and {@code name=role,...} (the CLI's flags). A model called {@code target}
     * is the target unless roles say otherwise; every other model is {@code unlearned} unless roles say so.
     */
    public static List<ModelSpec> parseModels(List<String> models, List<String> roles) {
        Map<String, Path> dirs = pairs(models, "--models", "name=DIR");
        Map<String, String> roleOf = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : pairs(roles, "--roles", "name=ROLE").entrySet()) {
            roleOf.put(e.getKey(), e.getValue().toString().toLowerCase(Locale.ROOT));
        }
        for (String n : roleOf.keySet()) {
            if (!dirs.containsKey(n)) {
                throw new IllegalArgumentException("--roles names model '" + n + "', which --models does not give; models: "
                        + String.join(", ", dirs.keySet()));
            }
        }
        List<ModelSpec> out = new ArrayList<>();
        for (Map.Entry<String, Path> e : dirs.entrySet()) {
            String role = roleOf.getOrDefault(e.getKey(), e.getKey().equals("target") ? "target" : "unlearned");
            out.add(new ModelSpec(e.getKey(), role, e.getValue()));
        }
        return out;
    }

    private static Map<String, Path> pairs(List<String> items, String flag, String form) {
        Map<String, Path> m = new LinkedHashMap<>();
        for (String it : items == null ? List.<String>of() : items) {
            int eq = it.indexOf('=');
            if (eq <= 0 || eq == it.length() - 1) {
                throw new IllegalArgumentException(flag + ": expected " + form + ", found '" + it + "'");
            }
            String name = it.substring(0, eq).trim();
            if (m.put(name, Path.of(it.substring(eq + 1).trim())) != null) {
                throw new IllegalArgumentException(flag + ": model name '" + name + "' given twice");
            }
        }
        return m;
    }

    /** Parses each name, failing on an unknown one (with the valid list) or one this build cannot run. */
    public static List<Precision> parsePrecisions(List<String> names) {
        List<Precision> out = new ArrayList<>();
        for (String n : names) {
            out.add(Precision.parse(n).requireAvailable());
        }
        return out;
    }

    /** Fails, naming the model and the folder, when a model folder or its config.json is missing. */
    public void checkInputs() {
        for (ModelSpec m : models) {
            if (!Files.isDirectory(m.dir())) {
                throw new IllegalArgumentException("model '" + m.name() + "': folder " + m.dir() + " does not exist");
            }
            if (!Files.isRegularFile(m.dir().resolve("config.json"))) {
                throw new IllegalArgumentException("model '" + m.name() + "': " + m.dir().resolve("config.json") + " not found");
            }
        }
        if (!Files.isDirectory(data)) {
            throw new IllegalArgumentException("--data " + data + ": not a folder");
        }
    }

    /**
     * The settings that change the numbers of a cell at {@code p}: {@link #evalKey()}, plus for GPTQ/AWQ precisions the
     * calibration's {@linkplain Calibration.Options#key() key} (sample count, length, seed, text content).
     */
    public String evalKey(Precision p) {
        return CalibratedQuantizers.needsCalibration(p) ? evalKey() + ";calibration=" + calibration.key() : evalKey();
    }

    /** The settings that change every cell's numbers; a journaled cell is reused only when they match. */
    public String evalKey() {
        return "metrics=" + String.join("+", EvalOptions.METRICS.stream().filter(options.metrics()::contains).toList())
                + ";corpus=" + options.corpus().name() + ":" + new java.util.TreeMap<>(options.corpus().aucRetrain())
                + ";preset=" + options.preset() + ";seed=" + options.seed() + ";limit=" + options.limit()
                + ";maxnew=" + options.verbmemMaxNew() + "/" + options.knowmemMaxNew() + ";data=" + data
                + ";divergence=" + (divergenceTokens == 0 ? "off"
                : "v" + Divergence.VERSION + "/" + divergenceTokens + "/" + Divergence.MAX_TEXT_TOKENS);
    }
}
