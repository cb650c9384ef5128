package dev.revenant.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Knowledge recovery, muse-spec §3.7: retention = metric(unlearned) / metric(target) at the same
 * precision, for VerbMem and KnowMem-forget. The paper's "21% in full precision → 83% after 4-bit" is
 * not defined in any readable source; this ratio is a hypothesis that reproduces its worked example.
 */
public final class Recovery {
    public static final String DEFINITION = "retention = metric(unlearned)/metric(target) at the same precision "
            + "(muse-spec 3.7, a hypothesis about the paper's 21%→83%)";

    /**
     * One unlearned model at one precision. Ratios are fractions (NaN = n/a: target 0 or a metric missing);
     * deltas are the ratio minus the same model's ratio at the first precision (NaN when either is n/a).
     */
    public record Row(String model, String precision, double verbmemRatio, double verbmemDelta,
                      double knowmemRatio, double knowmemDelta) {
    }

    private Recovery() {
    }

    /** unlearned / target, or NaN when either is NaN or the target is 0. */
    public static double ratio(double unlearned, double target) {
        if (Double.isNaN(unlearned) || Double.isNaN(target) || target == 0) {
            return Double.NaN;
        }
        return unlearned / target;
    }

    /** Rows for every unlearned model × precision, in the order given; empty when there is no target. */
    public static List<Row> rows(List<CellRow> cells, List<String> precisions) {
        List<Row> out = new ArrayList<>();
        Optional<String> target = cells.stream().filter(c -> c.role().equals("target")).map(CellRow::model).findFirst();
        if (target.isEmpty() || precisions.isEmpty()) {
            return out;
        }
        List<String> unlearned = cells.stream().filter(c -> c.role().equals("unlearned")).map(CellRow::model).distinct().toList();
        String full = precisions.getFirst();
        for (String m : unlearned) {
            double vFull = ratio(metric(cells, m, full, true), metric(cells, target.get(), full, true));
            double kFull = ratio(metric(cells, m, full, false), metric(cells, target.get(), full, false));
            for (String p : precisions) {
                double v = ratio(metric(cells, m, p, true), metric(cells, target.get(), p, true));
                double k = ratio(metric(cells, m, p, false), metric(cells, target.get(), p, false));
                out.add(new Row(m, p, v, v - vFull, k, k - kFull));
            }
        }
        return out;
    }

    private static double metric(List<CellRow> cells, String model, String precision, boolean verbmem) {
        for (CellRow c : cells) {
            if (c.model().equals(model) && c.precision().equals(precision)) {
                return verbmem ? c.summary().verbmemF() : c.summary().knowmemF();
            }
        }
        return Double.NaN;
    }
}
