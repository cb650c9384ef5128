package dev.revenant.spark;

import dev.revenant.quant.Precision;
import dev.revenant.sweep.Journal;
import dev.revenant.sweep.Sweep;
import dev.revenant.sweep.SweepPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** The driver's reading of the shared output folder: what is finished, what is left over from a dead job. */
final class OutputFolder {
    private OutputFolder() {
    }

    /**
     * True when {@code e} was computed from the checkpoint {@code identity} names with the plan's settings, on the
     * plan's backend (any backend when the plan says {@code auto}: executors pick their own); a GPTQ/AWQ cell also
     * with the plan's calibration ({@link SweepPlan#evalKey(Precision)}). False for a precision the plan lacks.
     */
    static boolean reusable(Journal.Entry e, SweepPlan plan, Map<String, Object> identity) {
        Precision p = plan.precisions().stream().filter(q -> q.name().equals(e.precision())).findFirst().orElse(null);
        if (p == null) {
            return false;
        }
        String base = plan.evalKey(p) + ";backend=";
        return e.identity().equals(identity) && e.evalKey().startsWith(base)
                && (plan.backend().equals("auto") || e.evalKey().equals(base + plan.backend()));
    }

    /** The journal entry of {@code dir/cell.json}; null when there is none or it is unreadable (an old or foreign folder). */
    static Journal.Entry cellRecord(Path dir) {
        Path f = dir.resolve(CellTask.CELL_RECORD);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        try {
            return Journal.parseLine(Files.readString(f).trim());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Deletes {@code cells/<model>/<precision>.tmp-*} folders: task attempts of a job that is over (this driver holds
     * the output folder's lock, so no live job writes there).
     */
    static void deleteStaleTemps(Path cells, Sweep.Listener listener) throws IOException {
        List<Path> stale;
        try (Stream<Path> s = Files.walk(cells, 2)) {
            stale = s.filter(p -> cells.relativize(p).getNameCount() == 2 && p.getFileName().toString().contains(".tmp-"))
                    .toList();
        }
        for (Path p : stale) {
            listener.log("deleting unfinished cell " + cells.relativize(p));
            Sweep.deleteTree(p);
        }
    }
}
