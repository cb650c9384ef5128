package dev.revenant.spark;

import java.nio.file.Path;

/**
 * {@link SparkSweep}'s arguments: {@code --plan PLAN.yaml --out DIR [--local-cache DIR] [--cells-per-task N]}.
 * {@code cellsPerTask} 0 = as many as spread the cells over the cluster's cores ({@code defaultParallelism}).
 */
public record SparkSweepOptions(Path plan, Path out, Path localCache, int cellsPerTask) {
    static final String USAGE = """
            Usage: spark-submit [spark options] --class dev.revenant.spark.SparkSweep revenant-spark-<version>.jar \\
                     --plan PLAN.yaml --out DIR [--local-cache DIR] [--cells-per-task N]
              --plan PLAN.yaml     the sweep, as for 'revenant sweep --plan' (on storage every executor reads)
              --out DIR            shared output folder (NFS / HDFS-mounted path every executor writes)
              --local-cache DIR    executor-local folder for quantized weights
                                   (default: <first spark.local.dir>/revenant-quant-cache)
              --cells-per-task N   precisions of one model per Spark task (default: cells / defaultParallelism)""";

    public SparkSweepOptions {
        if (plan == null) {
            throw new IllegalArgumentException("--plan PLAN.yaml is required\n" + USAGE);
        }
        if (out == null) {
            throw new IllegalArgumentException("--out DIR is required\n" + USAGE);
        }
        if (cellsPerTask < 0) {
            throw new IllegalArgumentException("--cells-per-task: expected a count ≥ 1 (or 0 = automatic), found " + cellsPerTask);
        }
    }

    /** The options of {@code args}; null for {@code --help}. */
    static SparkSweepOptions parse(String... args) {
        Path plan = null;
        Path out = null;
        Path cache = null;
        int perTask = 0;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                return null;
            }
            if (!a.equals("--plan") && !a.equals("--out") && !a.equals("--local-cache") && !a.equals("--cells-per-task")) {
                throw new IllegalArgumentException("unknown argument '" + a + "'\n" + USAGE);
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + ": missing value\n" + USAGE);
            }
            String v = args[++i];
            switch (a) {
                case "--plan" -> plan = Path.of(v);
                case "--out" -> out = Path.of(v);
                case "--local-cache" -> cache = Path.of(v);
                default -> {
                    try {
                        perTask = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--cells-per-task: expected a count, found '" + v + "'", e);
                    }
                }
            }
        }
        return new SparkSweepOptions(plan, out, cache, perTask);
    }
}
