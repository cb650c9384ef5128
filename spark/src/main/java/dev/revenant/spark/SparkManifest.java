package dev.revenant.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.quant.Precision;
import dev.revenant.sweep.Journal;
import dev.revenant.sweep.Manifest;
import dev.revenant.sweep.ModelSpec;
import dev.revenant.sweep.SweepPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * results.json's manifest for a distributed sweep: the local sweep's ({@link Manifest}) plus every executor that
 * computed a cell now in the output folder (host, GPU, versions: from each cell's {@code executor.json}) and a
 * {@code spark} block with the job's shape and each new cell's costs.
 */
final class SparkManifest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SparkManifest() {
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> of(SweepPlan plan, Map<String, Map<String, Object>> identities, String started,
                                  Collection<Journal.Entry> finished, List<CellOutcome> outcomes, JavaSparkContext sc,
                                  int tasks, int cellsPerTask) throws IOException {
        Set<String> backends = new TreeSet<>();
        for (Journal.Entry e : finished) {
            int i = e.evalKey().lastIndexOf(";backend=");
            backends.add(i < 0 ? "unknown" : e.evalKey().substring(i + ";backend=".length()));
        }
        // every executor behind a cell of this sweep, also those of earlier jobs whose cells were reused
        Set<Map<String, Object>> executors = new LinkedHashSet<>();
        for (ModelSpec m : plan.models()) {
            for (Precision p : plan.precisions()) {
                Path f = plan.out().resolve("cells").resolve(m.name()).resolve(p.name()).resolve(CellTask.EXECUTOR_RECORD);
                if (Files.isRegularFile(f)) {
                    executors.add(JSON.readValue(f.toFile(), LinkedHashMap.class));
                }
            }
        }
        Set<String> kernels = new LinkedHashSet<>();
        Set<String> gpus = new LinkedHashSet<>();
        for (Map<String, Object> x : executors) {
            kernels.add(String.valueOf(x.get("backend_kernels")));
            if (x.get("gpu") != null) {
                gpus.add(x.get("host") + ": " + x.get("gpu"));
            }
        }
        Map<String, Object> m = Manifest.of(plan, String.join("+", backends),
                kernels.isEmpty() ? "no executor recorded" : String.join("; ", kernels), identities, started,
                Instant.now().toString(), gpus.isEmpty() ? null : String.join("; ", gpus));
        m.put("executors", new ArrayList<>(executors));
        Map<String, Object> spark = new LinkedHashMap<>();
        spark.put("spark_version", sc.version());
        spark.put("master", sc.master());
        spark.put("app_id", sc.sc().applicationId());
        spark.put("default_parallelism", sc.defaultParallelism());
        spark.put("tasks", tasks);
        spark.put("cells_per_task", cellsPerTask);
        List<Map<String, Object>> cells = new ArrayList<>();
        for (CellOutcome c : outcomes) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("model", c.model());
            row.put("precision", c.precision());
            row.put("host", c.executor().host());
            row.put("executor_id", c.executor().executorId());
            row.put("quantize_seconds", c.quantizeSeconds());
            row.put("eval_seconds", c.evalSeconds());
            row.put("finished_by_earlier_attempt", c.alreadyDone());
            cells.add(row);
        }
        spark.put("cells", cells);
        m.put("spark", spark);
        return m;
    }
}
