package dev.revenant.report;

import dev.revenant.eval.EvalRun;

/** One cell of a sweep as the reports see it: a model (with its role) at one precision, and its numbers (×100). */
public record CellRow(String model, String role, String precision, EvalRun.Summary summary) {
}
