package dev.revenant.eval;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The MUSE data files of one corpus folder ({@code data/news} or {@code data/books}), with the exact
 * schemas of muse-spec §4. Errors name the file relative to the corpus folder, the item and what was
 * expected: {@code verbmem/forget.json: item 3 (line 14): missing string field 'gt'}. Fields beyond
 * the schema (e.g. Books' {@code rougeL_target}) are ignored.
 */
public final class MuseData {
    /** Splits of {@code knowmem/<split>.json}. */
    public static final List<String> KNOWMEM_SPLITS = List.of("forget_qa", "retain_qa", "forget_qa_icl", "retain_qa_icl");
    /** Splits of {@code privleak/<split>.json}, in MUSE's evaluation order. */
    public static final List<String> PRIVLEAK_SPLITS = List.of("forget", "retain", "holdout");
    /** Splits of {@code raw/<split>.json}. */
    public static final List<String> RAW_SPLITS = List.of("forget", "holdout", "retain1", "retain2");

    private final Path root;

    private MuseData(Path root) {
        this.root = root;
    }

    /** The corpus folder holding {@code verbmem/}, {@code knowmem/}, {@code privleak/}, {@code raw/}. */
    public static MuseData at(Path corpusDir) {
        return new MuseData(corpusDir);
    }

    public Path root() {
        return root;
    }

    /** {@code verbmem/forget.json}: {@code [{prompt, gt}]}. */
    public List<VerbMemItem> verbmemForget() throws IOException {
        return readVerbMem(root.resolve("verbmem/forget.json"), "verbmem/forget.json");
    }

    /** {@code knowmem/<split>.json}: {@code [{question, answer}]}; split is one of {@link #KNOWMEM_SPLITS}. */
    public List<QA> knowmem(String split) throws IOException {
        String rel = "knowmem/" + check(split, KNOWMEM_SPLITS, "knowmem") + ".json";
        return readQa(root.resolve(rel), rel);
    }

    /** {@code privleak/<split>.json}: {@code [str]}; split is one of {@link #PRIVLEAK_SPLITS}. */
    public List<String> privleak(String split) throws IOException {
        String rel = "privleak/" + check(split, PRIVLEAK_SPLITS, "privleak") + ".json";
        return readStrings(root.resolve(rel), rel);
    }

    /** {@code raw/<split>.json}: {@code [str]}; split is one of {@link #RAW_SPLITS}. */
    public List<String> raw(String split) throws IOException {
        String rel = "raw/" + check(split, RAW_SPLITS, "raw") + ".json";
        return readStrings(root.resolve(rel), rel);
    }

    /** Reads a {@code [{prompt, gt}]} file; {@code display} is the name used in error messages. */
    public static List<VerbMemItem> readVerbMem(Path file, String display) throws IOException {
        return JsonItems.readArrayFile(file, display,
                (i, n) -> new VerbMemItem(JsonItems.string(n, "prompt"), JsonItems.string(n, "gt")));
    }

    /** Reads a {@code [{question, answer}]} file. */
    public static List<QA> readQa(Path file, String display) throws IOException {
        return JsonItems.readArrayFile(file, display,
                (i, n) -> new QA(JsonItems.string(n, "question"), JsonItems.string(n, "answer")));
    }

    /** Reads a {@code [str]} file. */
    public static List<String> readStrings(Path file, String display) throws IOException {
        return JsonItems.readArrayFile(file, display, (i, n) -> JsonItems.stringItem(n));
    }

    private static String check(String split, List<String> known, String what) {
        if (!known.contains(split)) {
            throw new IllegalArgumentException("unknown " + what + " split '" + split + "'; supported: " + String.join(", ", known));
        }
        return split;
    }
}
