package dev.revenant.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.revenant.engine.Model;
import dev.revenant.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * One {@code revenant eval}: the chosen metrics on one model, written to {@code out} in MUSE's layout
 * ({@code <metric>/log.json} + {@code agg.json}, {@code privleak/log.json} + {@code auc.json}) plus
 * {@code results.csv} ({@code name,verbmem_f,privleak,knowmem_f,knowmem_r}, ×100 as the paper reports).
 * Every file is written to a temporary sibling and moved into place, so none is ever half-written.
 */
public final class EvalRun {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The four headline numbers (NaN for a metric not run). */
    public record Summary(String name, double verbmemF, double privleak, double knowmemF, double knowmemR) {
        public String csvRow() {
            return String.join(",", name, fmt(verbmemF), fmt(privleak), fmt(knowmemF), fmt(knowmemR));
        }

        private static String fmt(double v) {
            return Double.isNaN(v) ? "" : Double.toString(v);
        }
    }

    private EvalRun() {
    }

    public static Summary run(String name, Model model, Tokenizer tok, MuseData data, EvalOptions opt, Path out,
                              IntConsumer progress) throws IOException {
        Files.createDirectories(out);
        MuseEvaluator ev = new MuseEvaluator(model, tok, opt, progress);
        double verbmem = Double.NaN;
        double knowF = Double.NaN;
        double knowR = Double.NaN;
        double privleak = Double.NaN;
        if (opt.metrics().contains("verbmem_f")) {
            verbmem = write(out.resolve("verbmem_f"), ev.verbmem(opt.limited(data.verbmemForget())), opt);
        }
        if (opt.metrics().contains("knowmem_f")) {
            knowF = write(out.resolve("knowmem_f"),
                    ev.knowmem(data.knowmem("forget_qa_icl"), opt.limited(data.knowmem("forget_qa"))), opt);
        }
        if (opt.metrics().contains("knowmem_r")) {
            knowR = write(out.resolve("knowmem_r"),
                    ev.knowmem(data.knowmem("retain_qa_icl"), opt.limited(data.knowmem("retain_qa"))), opt);
        }
        if (opt.metrics().contains("privleak")) {
            Map<String, List<String>> splits = new LinkedHashMap<>();
            for (String s : MuseData.PRIVLEAK_SPLITS) {
                splits.put(s, opt.limited(data.privleak(s)));
            }
            PrivLeakLog log = ev.privleak(splits);
            Map<String, Double> auc = Auc.table(log);
            Path dir = out.resolve("privleak");
            Files.createDirectories(dir);
            atomicWrite(dir.resolve("log.json"), JSON.writeValueAsString(privleakJson(log)));
            atomicWrite(dir.resolve("auc.json"), JSON.writeValueAsString(auc));
            privleak = PrivLeak.of(auc.get(PrivLeak.DEFAULT_KEY), opt.corpus(), PrivLeak.DEFAULT_FEATURE);
        }
        Summary s = new Summary(name, verbmem * 100, privleak, knowF * 100, knowR * 100);
        atomicWrite(out.resolve("results.csv"), "name,verbmem_f,privleak,knowmem_f,knowmem_r\n" + s.csvRow() + "\n");
        return s;
    }

    private static double write(Path dir, MuseEvaluator.RougeRun run, EvalOptions opt) throws IOException {
        Files.createDirectories(dir);
        atomicWrite(dir.resolve("log.json"), JSON.writeValueAsString(run.log()));
        // MUSE's agg.json keys and scale (fractions), plus each mean ×100 as the paper reports it
        Map<String, Double> agg = new LinkedHashMap<>(RougeLog.agg(run.scores(), opt.seed()));
        for (String name : RougeScores.NAMES) {
            agg.put("mean_" + name + "_x100", agg.get("mean_" + name) * 100);
        }
        atomicWrite(dir.resolve("agg.json"), JSON.writeValueAsString(agg));
        return run.meanRougeL();
    }

    private static Map<String, Object> privleakJson(PrivLeakLog log) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, List<PrivLeakLog.Item>> e : log.splits().entrySet()) {
            List<Map<String, Object>> items = new ArrayList<>();
            for (PrivLeakLog.Item it : e.getValue()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("text", it.text());
                for (int j = 0; j < log.features().size(); j++) {
                    m.put(log.features().get(j), it.values()[j]);
                }
                items.add(m);
            }
            out.put(e.getKey(), items);
        }
        return out;
    }

    /** Writes {@code file} through a temporary sibling and an atomic move. */
    static void atomicWrite(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (java.nio.file.AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    public static String describe(Summary s) {
        return String.format(Locale.ROOT, "%s: VerbMem %.1f  KnowMem-forget %.1f  PrivLeak %.1f  KnowMem-retain %.1f",
                s.name(), s.verbmemF(), s.knowmemF(), s.privleak(), s.knowmemR());
    }
}
