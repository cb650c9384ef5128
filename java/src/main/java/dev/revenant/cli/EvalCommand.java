package dev.revenant.cli;

import dev.revenant.engine.Model;
import dev.revenant.eval.Corpus;
import dev.revenant.eval.EvalOptions;
import dev.revenant.eval.EvalRun;
import dev.revenant.eval.MuseData;
import dev.revenant.eval.MuseEvaluator;
import dev.revenant.kernel.Backend;
import dev.revenant.tokenizer.HfTokenizer;
import dev.revenant.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code revenant eval}: the MUSE metrics of one model on a MUSE-format data folder. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Compute the MUSE metrics (VerbMem, KnowMem forget/retain, PrivLeak) of one model.",
                "DATA is a MUSE corpus folder (verbmem/, knowmem/, privleak/). Writes <metric>/log.json and agg.json, "
                        + "privleak/log.json and auc.json, and results.csv (×100) to --out."})
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "model folder (config.json, safetensors, tokenizer.json)")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "tokenizer folder (default: the model folder)")
    Path tokenizer;

    @Option(names = "--data", required = true, description = "MUSE corpus folder, e.g. data/news")
    Path data;

    @Option(names = "--corpus", defaultValue = "news", description = "news | books | custom (default: ${DEFAULT-VALUE}); "
            + "sets AUC_retrain for PrivLeak")
    String corpus;

    @Option(names = "--auc-retrain", description = "custom corpus: AUC_retrain of forget_holdout_Min-40%%")
    Double aucRetrain;

    @Option(names = "--retrain-model", paramLabel = "DIR", description = "custom corpus: compute AUC_retrain from this retrain model")
    Path retrainModel;

    @Option(names = "--metrics", defaultValue = "verbmem_f,knowmem_f,knowmem_r,privleak", split = ",",
            description = "subset of verbmem_f,knowmem_f,knowmem_r,privleak (default: all)")
    String[] metrics;

    @Option(names = "--preset", defaultValue = "muse", description = "muse (greedy VerbMem) | paper (VerbMem sampled: "
            + "T=0.9, top-k 50, top-p 1, seeded) (default: ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--seed", defaultValue = "0", description = "sampling and bootstrap seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--limit", defaultValue = "0", description = "first N items of each file (0 = all)")
    int limit;

    @Option(names = "--batch", defaultValue = "1", description = "items per forward pass; results equal batch 1 (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--name", description = "row name in results.csv (default: the model folder's name)")
    String name;

    @Option(names = "--out", required = true, description = "output folder")
    Path out;

    @Mixin
    BackendOptions backend = new BackendOptions();

    @Override
    public Integer call() throws Exception {
        MuseData museData = MuseData.at(data);
        try (Tokenizer tok = HfTokenizer.load(tokenizer != null ? tokenizer : model); Backend be = backend.create()) {
            Corpus c = corpus(tok, be, museData);
            EvalOptions opt = new EvalOptions(new LinkedHashSet<>(Arrays.asList(metrics)), c, preset, seed, limit, batch, 128, 32);
            int total = MuseEvaluator.itemCount(museData, opt);
            String rowName = name != null ? name : model.toAbsolutePath().normalize().getFileName().toString();
            EvalRun.Summary s;
            try (Model m = backend.load(model, be); ProgressBar bar = bar("eval " + rowName, total)) {
                s = EvalRun.run(rowName, m, tok, museData, opt, out, bar::stepBy);
            }
            System.out.println(EvalRun.describe(s));
            System.out.println("wrote " + out.resolve("results.csv"));
        }
        return 0;
    }

    private Corpus corpus(Tokenizer tok, Backend be, MuseData museData) throws Exception {
        if (!corpus.equalsIgnoreCase("custom")) {
            if (aucRetrain != null || retrainModel != null) {
                throw new IllegalArgumentException("--auc-retrain and --retrain-model apply to --corpus custom only");
            }
            return Corpus.parse(corpus);
        }
        if ((aucRetrain == null) == (retrainModel == null)) {
            throw new IllegalArgumentException("--corpus custom needs exactly one of --auc-retrain and --retrain-model");
        }
        if (aucRetrain != null) {
            return Corpus.custom(aucRetrain);
        }
        EvalOptions privOnly = new EvalOptions(java.util.Set.of("privleak"), Corpus.custom(0.5), preset, seed, limit, batch, 128, 32);
        try (Model r = Model.load(retrainModel, be); ProgressBar bar = bar("AUC_retrain", MuseEvaluator.itemCount(museData, privOnly))) {
            double auc = MuseEvaluator.retrainAuc(r, tok, museData, privOnly, bar::stepBy);
            System.err.printf("AUC_retrain (forget_holdout_Min-40%% of %s) = %s%n", retrainModel, auc);
            return Corpus.custom(auc);
        }
    }

    static ProgressBar bar(String task, int total) {
        return bar(task, total, -1);
    }

    /** A bar on stderr, as wide as the terminal; when stderr is no terminal (a log), {@code width} characters if > 0. */
    static ProgressBar bar(String task, int total, int width) {
        boolean terminal = System.console() != null && System.console().isTerminal(); // a terminal: its own width
        me.tongfei.progressbar.ConsoleProgressBarConsumer out = width > 0 && !terminal
                ? new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err, width)
                : new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err);
        return new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setStyle(ProgressBarStyle.ASCII)
                .setConsumer(out).showSpeed().setUnit(" items", 1).build();
    }
}
