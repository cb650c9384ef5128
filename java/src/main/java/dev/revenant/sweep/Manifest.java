package dev.revenant.sweep;

import dev.revenant.Settings;
import dev.revenant.quant.Precision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The manifest block of {@code results.json}: what ran, where, on what, and when. */
public final class Manifest {
    private Manifest() {
    }

    public static Map<String, Object> of(SweepPlan plan, String backend, String kernels, Map<String, Map<String, Object>> identities,
                                  String started, String ended) {
        // the GPU the cells ran on (the runtime is up: the backend was created in this process)
        return of(plan, backend, kernels, identities, started, ended,
                backend.startsWith("cuda") ? dev.revenant.kernel.cuda.CudaRuntime.get().describe() : null);
    }

    /**
     * As above with the GPU description given ({@code gpu} null: none): the Spark driver passes its executors' GPUs,
     * since the driver itself may have none.
     */
    public static Map<String, Object> of(SweepPlan plan, String backend, String kernels, Map<String, Map<String, Object>> identities,
                                         String started, String ended, String gpu) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("revenant_version", Settings.version());
        m.put("jvm", Runtime.version().toString());
        m.put("os_arch", dev.revenant.Settings.osArch());
        m.put("cpu", cpuModel());
        m.put("backend", backend);
        m.put("backend_kernels", kernels);
        if (gpu != null) {
            m.put("gpu", gpu);
        }
        m.put("threads", plan.threads());
        m.put("seed", plan.options().seed());
        m.put("preset", plan.options().preset());
        m.put("corpus", plan.options().corpus().name());
        m.put("auc_retrain", new java.util.TreeMap<>(plan.options().corpus().aucRetrain()));
        m.put("metrics", dev.revenant.eval.EvalOptions.METRICS.stream().filter(plan.options().metrics()::contains).toList());
        m.put("limit", plan.options().limit());
        m.put("batch", plan.options().batch());
        m.put("data", plan.data().toString());
        m.put("precisions", plan.precisions().stream().map(Precision::name).toList());
        List<Map<String, Object>> specs = new java.util.ArrayList<>();
        for (Precision p : plan.precisions()) {
            Map<String, Object> sp = new LinkedHashMap<>();
            sp.put("name", p.name());
            sp.put("kind", p.kind().name().toLowerCase(java.util.Locale.ROOT));
            sp.put("applies_to", p.kind() == Precision.Kind.FLOAT ? "decoder Linear layers cast to " + p.floatType()
                    : "decoder Linear layers quantized (embeddings, norms and lm_head as loaded)");
            specs.add(sp);
        }
        m.put("precision_specs", specs);
        if (plan.precisions().stream().anyMatch(dev.revenant.engine.CalibratedQuantizers::needsCalibration)) {
            Map<String, Object> cal = new LinkedHashMap<>();
            cal.put("samples", plan.calibration().samples());
            cal.put("seqlen", plan.calibration().seqlen());
            cal.put("seed", plan.calibration().seed());
            cal.put("file", plan.calibration().file() == null ? null : plan.calibration().file().toString());
            cal.put("key", plan.calibration().key());
            m.put("calibration", cal);
        }
        List<Map<String, Object>> models = new ArrayList<>();
        for (ModelSpec s : plan.models()) {
            Map<String, Object> mm = new LinkedHashMap<>();
            mm.put("name", s.name());
            mm.put("role", s.role());
            mm.put("path", s.dir().toString());
            mm.put("identity", identities.get(s.name()));
            models.add(mm);
        }
        m.put("models", models);
        m.put("identity_note", "config_sha256 = SHA-256 of config.json; files = each *.safetensors size and mtime (not a content hash); "
                + "content_sha256 (float checkpoints) = SHA-256 over config.json then every *.safetensors file's "
                + "bytes, the key of OUT/cache/<content_sha256>-<precision>/");
        m.put("started", started);
        m.put("ended", ended);
        return m;
    }

    /** The "model name" line of /proc/cpuinfo, or "unknown" where there is none. */
    public static String cpuModel() {
        Path info = Path.of("/proc/cpuinfo");
        try {
            if (Files.isReadable(info)) {
                for (String line : Files.readAllLines(info)) {
                    if (line.startsWith("model name")) {
                        int c = line.indexOf(':');
                        return c < 0 ? line.trim() : line.substring(c + 1).trim();
                    }
                }
            }
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
        return "unknown";
    }
}
