package dev.revenant.sweep;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.revenant.Settings;
import dev.revenant.engine.Calibration;
import dev.revenant.eval.Corpus;
import dev.revenant.eval.EvalOptions;
import dev.revenant.quant.Precision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A sweep plan file ({@code revenant sweep --plan PLAN.yaml}), the YAML form of the sweep flags:
 * <pre>
 * models:                                         # required, a list of mappings
 *   - {name: target, path: /m/target, role: target}
 *   - {name: ga_gdr, path: /m/ga_gdr}             # role: target | retrain | unlearned (default unlearned,
 *                                                 # or target for a model named target, as with --models)
 * precisions: [bf16, int8, fp4, nf4, rtn-w4-g128] # required; the first is the full precision
 * data: /data/news                                # required
 * corpus: news                                    # news | books | custom (custom needs auc_retrain: 0.5)
 * metrics: [verbmem_f, knowmem_f, knowmem_r, privleak]   # optional, default all
 * preset: muse                                    # optional, muse | paper
 * batch: 8                                        # optional, default 1
 * limit: 0                                        # optional, default 0 (all items)
 * seed: 0                                         # optional, default 0
 * backend: auto                                   # optional, default auto
 * threads: 2                                      # optional, default the core count
 * divergence_tokens: 2048                         # optional, default 2048; tokens per split of each cell's
 *                                                 # divergence from the checkpoint as stored (0 = off)
 * calibration:                                    # optional; what GPTQ/AWQ precisions calibrate on
 *   samples: 128                                  # optional, default 128 token windows
 *   seqlen: 512                                   # optional, default 512 tokens per window
 *   seed: 0                                       # optional, default 0 (window offsets)
 *   file: calib.txt                               # optional, default the text shipped in the jar
 * </pre>
 * Relative {@code path}, {@code data} and {@code calibration.file} values resolve against the plan file's folder. The file is read token by
 * token with Jackson's YAML parser (no data binding), so every error names the file, the line and the field:
 * a YAML syntax error, an unknown key (with the allowed ones), a value of the wrong type, a missing required field,
 * an unknown precision, role, metric or corpus, or a key given twice.
 */
public final class PlanFile {
    static final List<String> TOP_KEYS = List.of("models", "precisions", "data", "corpus", "auc_retrain", "metrics",
            "preset", "batch", "limit", "seed", "backend", "threads", "divergence_tokens", "calibration");
    static final List<String> MODEL_KEYS = List.of("name", "path", "role");
    static final List<String> CALIBRATION_KEYS = List.of("samples", "seqlen", "seed", "file");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final Path file;
    private final Path base;

    private PlanFile(Path file) {
        this.file = file.toAbsolutePath().normalize();
        this.base = this.file.getParent();
    }

    /** A value read from the plan and the line its key stands on. */
    private record Field(JsonNode value, int line) {
        Field {
            value = value == null ? com.fasterxml.jackson.databind.node.NullNode.getInstance() : value;
        }
    }

    /** Reads {@code file} and builds the {@link SweepPlan} the equivalent flags build, writing to {@code out}. */
    public static SweepPlan load(Path file, Path out) {
        PlanFile pf = new PlanFile(file);
        if (!Files.isRegularFile(pf.file)) {
            throw new IllegalArgumentException("--plan " + pf.file + ": file not found");
        }
        try {
            return pf.read(out);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String line = loc != null && loc.getLineNr() > 0 ? " line " + loc.getLineNr() : "";
            throw new IllegalArgumentException(pf.file + line + ": YAML syntax error: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException(pf.file + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    private IllegalArgumentException error(int line, String field, String what) {
        return new IllegalArgumentException(file + " line " + line + ": " + field + ": " + what);
    }

    private SweepPlan read(Path out) throws IOException {
        Map<String, Field> top = new LinkedHashMap<>();
        List<ModelSpec> models = new ArrayList<>();
        int modelsLine = 0;
        Calibration.Options calibration = Calibration.Options.DEFAULT;
        try (JsonParser p = YAML.createParser(file.toFile())) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new IllegalArgumentException(file + ": empty plan; expected a mapping with models, precisions, data");
            }
            if (t != JsonToken.START_OBJECT) {
                throw error(line(p), "plan", "expected a mapping of " + String.join(", ", TOP_KEYS) + ", found " + kind(t));
            }
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                int line = line(p);
                if (!TOP_KEYS.contains(key)) {
                    throw error(line, "'" + key + "'", "unknown key; allowed: " + String.join(", ", TOP_KEYS));
                }
                if (top.containsKey(key)) {
                    throw error(line, key, "given twice (first on line " + top.get(key).line() + ")");
                }
                if (key.equals("models")) {
                    modelsLine = line;
                    readModels(p, line, models);
                    top.put(key, new Field(null, line));
                } else if (key.equals("calibration")) {
                    calibration = readCalibration(p, line);
                    top.put(key, new Field(null, line));
                } else {
                    p.nextToken();
                    top.put(key, new Field(YAML.readTree(p), line));
                }
            }
            if (p.nextToken() != null) {
                throw error(line(p), "plan", "unexpected content after the top-level mapping");
            }
        }
        for (String req : List.of("models", "precisions", "data")) {
            if (!top.containsKey(req)) {
                throw new IllegalArgumentException(file + ": missing required field '" + req + "'");
            }
        }
        if (models.isEmpty()) {
            throw error(modelsLine, "models", "needs at least one model");
        }
        List<Precision> precisions = new ArrayList<>();
        Field pf = top.get("precisions");
        for (String n : strings(pf, "precisions")) {
            try {
                precisions.add(Precision.parse(n).requireAvailable());
            } catch (IllegalArgumentException e) {
                throw error(pf.line(), "precisions", e.getMessage());
            }
        }
        if (precisions.isEmpty()) {
            throw error(pf.line(), "precisions", "needs at least one precision");
        }
        Path data = path(string(top.get("data"), "data"));
        String corpusName = top.containsKey("corpus") ? string(top.get("corpus"), "corpus") : "news";
        Corpus corpus;
        if (corpusName.equalsIgnoreCase("custom")) {
            if (!top.containsKey("auc_retrain")) {
                throw error(top.get("corpus").line(), "corpus", "custom needs auc_retrain");
            }
            Field f = top.get("auc_retrain");
            if (!f.value().isNumber()) {
                throw error(f.line(), "auc_retrain", "expected a number, found " + kind(f.value()));
            }
            corpus = Corpus.custom(f.value().doubleValue());
        } else {
            if (top.containsKey("auc_retrain")) {
                throw error(top.get("auc_retrain").line(), "auc_retrain", "applies to corpus: custom only");
            }
            try {
                corpus = Corpus.parse(corpusName);
            } catch (IllegalArgumentException e) {
                throw error(top.get("corpus").line(), "corpus", e.getMessage() + ", custom");
            }
        }
        Set<String> metrics = new LinkedHashSet<>(EvalOptions.METRICS);
        if (top.containsKey("metrics")) {
            Field f = top.get("metrics");
            metrics = new LinkedHashSet<>(strings(f, "metrics"));
            for (String m : metrics) {
                if (!EvalOptions.METRICS.contains(m)) {
                    throw error(f.line(), "metrics", "unknown metric '" + m + "'; supported: "
                            + String.join(", ", EvalOptions.METRICS));
                }
            }
        }
        String preset = top.containsKey("preset") ? string(top.get("preset"), "preset") : "muse";
        if (!preset.equals("muse") && !preset.equals("paper")) {
            throw error(top.get("preset").line(), "preset", "unknown preset '" + preset + "'; supported: muse, paper");
        }
        int batch = (int) integer(top, "batch", 1, 1);
        int limit = (int) integer(top, "limit", 0, 0);
        long seed = integer(top, "seed", 0, Long.MIN_VALUE);
        int threads = (int) integer(top, "threads", Settings.defaultThreads(), 1);
        int divergenceTokens = (int) integer(top, "divergence_tokens", Divergence.DEFAULT_TOKEN_BUDGET, 0);
        String backend = top.containsKey("backend") ? string(top.get("backend"), "backend") : "auto";
        EvalOptions opt = new EvalOptions(metrics, corpus, preset, seed, limit, batch, 128, 32);
        try {
            return new SweepPlan(models, precisions, data, opt, backend, threads, out, divergenceTokens, calibration);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    private void readModels(JsonParser p, int keyLine, List<ModelSpec> models) throws IOException {
        JsonToken t = p.nextToken();
        if (t != JsonToken.START_ARRAY) {
            throw error(keyLine, "models", "expected a list of {name, path, role} mappings, found " + kind(t));
        }
        Set<String> names = new HashSet<>();
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            int itemLine = line(p);
            if (t != JsonToken.START_OBJECT) {
                throw error(itemLine, "models[" + models.size() + "]", "expected a mapping {name, path, role}, found " + kind(t));
            }
            String at = "models[" + models.size() + "]";
            Map<String, Field> f = new LinkedHashMap<>();
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                int line = line(p);
                if (!MODEL_KEYS.contains(key)) {
                    throw error(line, at + ".'" + key + "'", "unknown key; allowed: " + String.join(", ", MODEL_KEYS));
                }
                if (f.containsKey(key)) {
                    throw error(line, at + "." + key, "given twice");
                }
                p.nextToken();
                f.put(key, new Field(YAML.readTree(p), line));
            }
            for (String req : List.of("name", "path")) {
                if (!f.containsKey(req)) {
                    throw error(itemLine, at, "missing required field '" + req + "'");
                }
            }
            String name = string(f.get("name"), at + ".name");
            at = "models[" + models.size() + "] (" + name + ")";
            if (!names.add(name)) {
                throw error(f.get("name").line(), at + ".name", "model name '" + name + "' given twice");
            }
            Path dir = path(string(f.get("path"), at + ".path"));
            String role = f.containsKey("role") ? string(f.get("role"), at + ".role").toLowerCase(Locale.ROOT)
                    : name.equals("target") ? "target" : "unlearned"; // as the flags do
            if (!ModelSpec.ROLES.contains(role)) {
                throw error(f.get("role").line(), at + ".role", "unknown role '" + role + "'; valid: "
                        + String.join(", ", ModelSpec.ROLES));
            }
            try {
                models.add(new ModelSpec(name, role, dir));
            } catch (IllegalArgumentException e) {
                throw error(itemLine, at, e.getMessage());
            }
        }
    }

    // calibration: {samples, seqlen, seed, file}, each optional; defaults of Calibration.Options.DEFAULT
    private Calibration.Options readCalibration(JsonParser p, int keyLine) throws IOException {
        JsonToken t = p.nextToken();
        if (t != JsonToken.START_OBJECT) {
            throw error(keyLine, "calibration", "expected a mapping of " + String.join(", ", CALIBRATION_KEYS)
                    + ", found " + kind(t));
        }
        Map<String, Field> f = new LinkedHashMap<>();
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            int line = line(p);
            if (!CALIBRATION_KEYS.contains(key)) {
                throw error(line, "calibration.'" + key + "'", "unknown key; allowed: " + String.join(", ", CALIBRATION_KEYS));
            }
            if (f.containsKey(key)) {
                throw error(line, "calibration." + key, "given twice (first on line " + f.get(key).line() + ")");
            }
            p.nextToken();
            f.put(key, new Field(YAML.readTree(p), line));
        }
        Calibration.Options d = Calibration.Options.DEFAULT;
        int samples = (int) integer(f, "samples", "calibration.samples", d.samples(), 1);
        int seqlen = (int) integer(f, "seqlen", "calibration.seqlen", d.seqlen(), 2);
        long seed = integer(f, "seed", "calibration.seed", d.seed(), Long.MIN_VALUE);
        Path calibFile = d.file();
        if (f.containsKey("file")) {
            Field ff = f.get("file");
            calibFile = path(string(ff, "calibration.file"));
            if (!Files.isRegularFile(calibFile)) {
                throw error(ff.line(), "calibration.file", calibFile + ": file not found");
            }
        }
        return new Calibration.Options(calibFile, samples, seqlen, seed);
    }

    private Path path(String s) {
        return base.resolve(s).normalize();
    }

    private String string(Field f, String field) {
        if (!f.value().isTextual()) {
            throw error(f.line(), field, "expected a string, found " + kind(f.value()));
        }
        return f.value().textValue();
    }

    private List<String> strings(Field f, String field) {
        if (!f.value().isArray()) {
            throw error(f.line(), field, "expected a list of strings, e.g. [a, b], found " + kind(f.value()));
        }
        List<String> out = new ArrayList<>();
        for (JsonNode n : f.value()) {
            if (!n.isTextual()) {
                throw error(f.line(), field, "expected a list of strings, found an item that is " + kind(n));
            }
            out.add(n.textValue());
        }
        return out;
    }

    private long integer(Map<String, Field> top, String key, long dflt, long min) {
        return integer(top, key, key, dflt, min);
    }

    // the integer at key in fields (named field in errors); any long for a seed, else at most Integer.MAX_VALUE
    private long integer(Map<String, Field> fields, String key, String field, long dflt, long min) {
        Field f = fields.get(key);
        if (f == null) {
            return dflt;
        }
        if (!f.value().isIntegralNumber() || !f.value().canConvertToLong()) {
            throw error(f.line(), field, "expected an integer, found " + kind(f.value()));
        }
        long v = f.value().longValue();
        if (v < min || (!key.equals("seed") && v > Integer.MAX_VALUE)) {
            throw error(f.line(), field, "must be ≥ " + min + ", found " + v);
        }
        return v;
    }

    private static int line(JsonParser p) {
        return p.currentTokenLocation().getLineNr();
    }

    private static String kind(JsonToken t) {
        if (t == null) {
            return "nothing";
        }
        return switch (t) {
            case START_OBJECT -> "a mapping";
            case START_ARRAY -> "a list";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "nothing (null)";
            default -> t.toString();
        };
    }

    private static String kind(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) {
            return "nothing (null)";
        }
        if (n.isObject()) {
            return "a mapping";
        }
        if (n.isArray()) {
            return "a list";
        }
        if (n.isTextual()) {
            return "the string '" + n.textValue() + "'";
        }
        if (n.isNumber()) {
            return "the number " + n.asText();
        }
        if (n.isBoolean()) {
            return "the boolean " + n.asText();
        }
        return n.getNodeType().toString().toLowerCase(Locale.ROOT);
    }
}
