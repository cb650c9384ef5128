package dev.revenant.eval;

import dev.revenant.engine.Generator;
import dev.revenant.engine.Model;
import dev.revenant.engine.Sampler;
import dev.revenant.engine.Scorer;
import dev.revenant.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Runs the MUSE metrics on one model (muse-spec §3): VerbMem, KnowMem (forget and retain) and PrivLeak,
 * item by item as MUSE does but {@code batch} items per forward pass; every item's result equals its
 * batch-1 result bit for bit (the engine's batch invariance, and one seeded sampler per item).
 */
public final class MuseEvaluator {
    /** One metric's per-item log (MUSE's fields) and its aggregate. */
    public record RougeRun(List<Map<String, Object>> log, List<RougeScores> scores) {
        public double meanRougeL() {
            return RougeLog.mean(RougeLog.column(scores, 0));
        }
    }

    private final Model model;
    private final Tokenizer tok;
    private final EvalOptions opt;
    private final IntConsumer progress;

    /** @param progress called with the number of items just finished */
    public MuseEvaluator(Model model, Tokenizer tok, EvalOptions opt, IntConsumer progress) {
        this.model = model;
        this.tok = tok;
        this.opt = opt;
        this.progress = progress;
    }

    /** VerbMem on verbmem/forget.json: 128 new tokens, ROUGE-L F1 of (gt truncated to 128 tokens, output). */
    public RougeRun verbmem(List<VerbMemItem> items) {
        List<Map<String, Object>> log = new ArrayList<>();
        List<RougeScores> scores = new ArrayList<>();
        for (int from = 0; from < items.size(); from += opt.batch()) {
            List<VerbMemItem> chunk = items.subList(from, Math.min(items.size(), from + opt.batch()));
            List<int[]> prompts = new ArrayList<>();
            List<Sampler> samplers = new ArrayList<>();
            for (int i = 0; i < chunk.size(); i++) {
                prompts.add(tok.encode(chunk.get(i).prompt(), true));
                samplers.add(opt.preset().equals("paper")
                        ? Sampler.sampling(0.9, 50, 1.0, opt.seed() + from + i) : Sampler.greedy());
            }
            List<int[]> outs = Generator.generate(model, prompts, opt.verbmemMaxNew(), tok.eosId(), samplers);
            for (int i = 0; i < chunk.size(); i++) {
                VerbMemItem it = chunk.get(i);
                int[] gtIds = tok.encode(it.gt(), true);
                String gtShort = tok.decode(Arrays.copyOf(gtIds, Math.min(gtIds.length, opt.verbmemMaxNew())), true, true);
                String response = tok.decode(newTokens(outs.get(i), prompts.get(i).length), true, true);
                RougeScores s = RougeScores.of(gtShort, response);
                scores.add(s);
                log.add(entry(it.prompt(), gtShort, response, s, null));
            }
            progress.accept(chunk.size());
        }
        return new RougeRun(log, scores);
    }

    /** KnowMem: the 10-shot ICL prompt, greedy 32 tokens, the three-string truncation, ROUGE-L F1 vs the answer. */
    public RougeRun knowmem(List<QA> icl, List<QA> items) {
        List<Map<String, Object>> log = new ArrayList<>();
        List<RougeScores> scores = new ArrayList<>();
        for (int from = 0; from < items.size(); from += opt.batch()) {
            List<QA> chunk = items.subList(from, Math.min(items.size(), from + opt.batch()));
            List<int[]> prompts = new ArrayList<>();
            List<String> texts = new ArrayList<>();
            for (QA qa : chunk) {
                String p = KnowMemPrompt.build(icl, qa.question());
                texts.add(p);
                prompts.add(tok.encode(p, true));
            }
            List<int[]> outs = Generator.greedy(model, prompts, opt.knowmemMaxNew(), tok.eosId());
            for (int i = 0; i < chunk.size(); i++) {
                String response = KnowMemPrompt.truncate(tok.decode(newTokens(outs.get(i), prompts.get(i).length), true, true));
                RougeScores s = RougeScores.of(chunk.get(i).answer(), response);
                scores.add(s);
                log.add(entry(texts.get(i), chunk.get(i).answer(), response, s, chunk.get(i).question()));
            }
            progress.accept(chunk.size());
        }
        return new RougeRun(log, scores);
    }

    /** PrivLeak features of every text of each split (teacher-forced, BOS prepended, no truncation). */
    public PrivLeakLog privleak(Map<String, List<String>> splits) {
        Map<String, List<PrivLeakLog.Item>> out = new LinkedHashMap<>();
        for (Map.Entry<String, List<String>> e : splits.entrySet()) {
            List<PrivLeakLog.Item> items = new ArrayList<>();
            List<String> texts = e.getValue();
            for (int from = 0; from < texts.size(); from += opt.batch()) {
                List<String> chunk = texts.subList(from, Math.min(texts.size(), from + opt.batch()));
                List<int[]> ids = new ArrayList<>();
                for (String t : chunk) {
                    ids.add(encodeScored(t));
                }
                for (String t : chunk) {
                    ids.add(encodeScored(MiaFeatures.lower(t)));
                }
                List<float[]> lp = Scorer.logProbs(model, ids);
                for (int i = 0; i < chunk.size(); i++) {
                    Map<String, Double> f = MiaFeatures.features(chunk.get(i), lp.get(i), lp.get(chunk.size() + i));
                    double[] values = MiaFeatures.NAMES.stream().mapToDouble(f::get).toArray();
                    items.add(new PrivLeakLog.Item(chunk.get(i), values));
                }
                progress.accept(chunk.size());
            }
            out.put(e.getKey(), items);
        }
        return new PrivLeakLog(out, MiaFeatures.NAMES);
    }

    /** AUC of {@code forget_holdout_Min-40%} of a retrain model: the constant PrivLeak compares against. */
    public static double retrainAuc(Model retrain, Tokenizer tok, MuseData data, EvalOptions opt, IntConsumer progress)
            throws IOException {
        Map<String, List<String>> splits = new LinkedHashMap<>();
        for (String s : MuseData.PRIVLEAK_SPLITS) {
            splits.put(s, opt.limited(data.privleak(s)));
        }
        PrivLeakLog log = new MuseEvaluator(retrain, tok, opt, progress).privleak(splits);
        return Auc.table(log).get(PrivLeak.DEFAULT_KEY);
    }

    private int[] encodeScored(String text) {
        int[] ids = tok.encode(text, true);
        if (ids.length < 2) {
            throw new IllegalArgumentException("privleak text '" + abbreviate(text) + "' encodes to " + ids.length
                    + " token(s); scoring needs at least 2");
        }
        return ids;
    }

    /** Items each metric will run over, for the progress bar's total. */
    public static int itemCount(MuseData data, EvalOptions opt) throws IOException {
        int n = 0;
        if (opt.metrics().contains("verbmem_f")) {
            n += opt.limited(data.verbmemForget()).size();
        }
        if (opt.metrics().contains("knowmem_f")) {
            n += opt.limited(data.knowmem("forget_qa")).size();
        }
        if (opt.metrics().contains("knowmem_r")) {
            n += opt.limited(data.knowmem("retain_qa")).size();
        }
        if (opt.metrics().contains("privleak")) {
            n += opt.limited(data.privleak("forget")).size() + opt.limited(data.privleak("retain")).size()
                    + opt.limited(data.privleak("holdout")).size();
        }
        return n;
    }

    private static int[] newTokens(int[] out, int promptLen) {
        return Arrays.copyOfRange(out, promptLen, out.length);
    }

    private static Map<String, Object> entry(String prompt, String gt, String response, RougeScores s, String question) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("prompt", prompt);
        m.put("gt", gt);
        m.put("response", response);
        m.put("rougeL", s.rougeL());
        m.put("rougeL_recall", s.rougeLRecall());
        m.put("rouge1", s.rouge1());
        m.put("rouge1_recall", s.rouge1Recall());
        if (question != null) {
            m.put("question", question);
        }
        return m;
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…";
    }
}
