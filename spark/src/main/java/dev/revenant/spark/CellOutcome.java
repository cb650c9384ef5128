package dev.revenant.spark;

import java.io.Serializable;

/**
 * What a task sends back for one cell: the journal line (as {@code cell.json} in the cell's folder holds it), whether
 * the task found the cell already finished (a retried task, or another attempt that renamed first) and the cell's
 * costs for the scaling study: seconds spent quantizing into the executor's cache (0 when it was there) and
 * seconds loading and evaluating.
 */
public record CellOutcome(String model, String precision, String journalLine, boolean alreadyDone,
                          double quantizeSeconds, double evalSeconds, ExecutorInfo executor) implements Serializable {

    public String key() {
        return model + "/" + precision;
    }
}
