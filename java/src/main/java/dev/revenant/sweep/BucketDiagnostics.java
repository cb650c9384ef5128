package dev.revenant.sweep;

import dev.revenant.engine.CalibratedQuantizers;
import dev.revenant.model.Architecture;
import dev.revenant.model.ConfigLoader;
import dev.revenant.model.ModelConfig;
import dev.revenant.quant.Bnb4Packed;
import dev.revenant.quant.GgufPacked;
import dev.revenant.quant.Int8Packed;
import dev.revenant.quant.Precision;
import dev.revenant.quant.QuantConfig;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.Quantizers;
import dev.revenant.quant.RtnPacked;
import dev.revenant.report.SameBucket;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Computes the {@link SameBucket} diagnostic from the checkpoints (not from the cells): each decoder Linear tensor
 * of the target is quantized once per packed precision and compared, element by element through the packed
 * records' own {@code dequantize(row, col)} (no dequantized copies), with the same tensor of every unlearned model.
 * Deterministic, so a rerun gives the same numbers; it is recomputed at the end of each sweep run.
 */
final class BucketDiagnostics {
    /** Off skips the diagnostic (no buckets.csv, no "same_bucket" in results.json). */
    static volatile boolean enabled = true;

    private BucketDiagnostics() {
    }

    /** Which models get compared: the target and the unlearned ones of the plan; null when the plan has no target. */
    static SameBucket.Data of(SweepPlan plan, Consumer<String> log) {
        ModelSpec target = plan.models().stream().filter(m -> m.role().equals("target")).findFirst().orElse(null);
        if (target == null) {
            return null;
        }
        List<ModelSpec> unlearned = plan.models().stream().filter(m -> m.role().equals("unlearned")).toList();
        List<Precision> packed = plan.precisions().stream()
                .filter(p -> p.kind() != Precision.Kind.FLOAT && !CalibratedQuantizers.needsCalibration(p)).toList();
        List<Named> models = new ArrayList<>();
        for (ModelSpec m : unlearned) {
            models.add(new Named(m.name(), m.dir()));
        }
        SameBucket.Data d = compare(target.name(), target.dir(), models, packed, log);
        List<SameBucket.Skip> skipped = new ArrayList<>(d.skipped());
        for (Precision p : plan.precisions()) {
            if (CalibratedQuantizers.needsCalibration(p) && !models.isEmpty()) {
                skipped.add(new SameBucket.Skip("*", p.name(), "calibrated precision (GPTQ/AWQ): each model is quantized "
                        + "from its own activations (and AWQ rescales its weights), so a weight's level is not a function of "
                        + "the weight alone; not computed"));
            }
        }
        return new SameBucket.Data(d.target(), d.rows(), skipped);
    }

    /** A model to compare with the target. */
    record Named(String name, Path dir) {
    }

    /**
     * The rows for every (model, precision, decoder Linear tensor), models in the given order; a model whose
     * architecture or shapes differ from the target's, or either being a pre-quantized checkpoint, is skipped
     * with a reason (precision "*").
     */
    static SameBucket.Data compare(String targetName, Path targetDir, List<Named> models, List<Precision> precisions,
                                   Consumer<String> log) {
        List<SameBucket.Skip> skipped = new ArrayList<>();
        List<SameBucket.Row> rows = new ArrayList<>();
        if (models.isEmpty() || precisions.isEmpty()) {
            return new SameBucket.Data(targetName, rows, skipped);
        }
        if (QuantConfig.read(targetDir).isPresent()) {
            for (Named m : models) {
                skipped.add(new SameBucket.Skip(m.name(), "*", "target '" + targetName + "' is a pre-quantized checkpoint"));
            }
            return new SameBucket.Data(targetName, rows, skipped);
        }
        ModelConfig tc = ConfigLoader.load(targetDir);
        List<Architecture.TensorSpec> specs = Architecture.tensors(tc).stream()
                .filter(s -> s.role() == Architecture.Role.LINEAR && s.name().startsWith("model.layers.")).toList();
        List<Named> ok = new ArrayList<>();
        for (Named m : models) {
            String why = mismatch(tc, m.dir());
            if (why != null) {
                skipped.add(new SameBucket.Skip(m.name(), "*", why));
                log.accept("same-bucket: skipping " + m.name() + ": " + why);
            } else {
                ok.add(m);
            }
        }
        if (ok.isEmpty()) {
            return new SameBucket.Data(targetName, rows, skipped);
        }
        // counts[model][precision][tensor] = {changed, same}
        long[][][][] counts = new long[ok.size()][precisions.size()][specs.size()][];
        try (Checkpoint tck = Checkpoint.open(targetDir)) {
            List<Checkpoint> cks = new ArrayList<>();
            try {
                for (Named m : ok) {
                    cks.add(Checkpoint.open(m.dir()));
                }
                for (int t = 0; t < specs.size(); t++) {
                    Architecture.TensorSpec spec = specs.get(t);
                    Tensor tw = tck.tensor(spec.name());
                    Tensor[] uw = new Tensor[ok.size()];
                    boolean[][] changed = new boolean[ok.size()][];
                    for (int i = 0; i < ok.size(); i++) {
                        uw[i] = cks.get(i).tensor(spec.name());
                        changed[i] = changedMask(tw, uw[i], spec);
                    }
                    for (int pi = 0; pi < precisions.size(); pi++) {
                        Precision p = precisions.get(pi);
                        QuantizedWeight tq = Quantizers.quantize(p, tw);
                        for (int i = 0; i < ok.size(); i++) {
                            counts[i][pi][t] = sameBucket(tq, Quantizers.quantize(p, uw[i]), changed[i]);
                        }
                    }
                }
            } finally {
                for (Checkpoint c : cks) {
                    c.close();
                }
            }
        }
        for (int i = 0; i < ok.size(); i++) {
            for (int pi = 0; pi < precisions.size(); pi++) {
                for (int t = 0; t < specs.size(); t++) {
                    String name = specs.get(t).name();
                    long[] c = counts[i][pi][t];
                    rows.add(new SameBucket.Row(ok.get(i).name(), precisions.get(pi).name(), name, layerOf(name), c[0], c[1]));
                }
            }
        }
        return new SameBucket.Data(targetName, rows, skipped);
    }

    /** Null when {@code dir} is a plain checkpoint with the target's architecture and tensor shapes, else why not. */
    private static String mismatch(ModelConfig tc, Path dir) {
        if (QuantConfig.read(dir).isPresent()) {
            return "a pre-quantized checkpoint";
        }
        ModelConfig c = ConfigLoader.load(dir);
        if (c.family() != tc.family()) {
            return "family " + c.family() + " differs from the target's " + tc.family();
        }
        List<Architecture.TensorSpec> a = Architecture.tensors(tc);
        List<Architecture.TensorSpec> b = Architecture.tensors(c);
        if (a.size() != b.size()) {
            return a.size() + " tensors in the target's architecture, " + b.size() + " in this model's";
        }
        for (int i = 0; i < a.size(); i++) {
            if (!a.get(i).name().equals(b.get(i).name()) || !Arrays.equals(a.get(i).shape(), b.get(i).shape())) {
                return "tensor " + b.get(i).name() + " " + Arrays.toString(b.get(i).shape()) + " differs from the target's "
                        + a.get(i).name() + " " + Arrays.toString(a.get(i).shape());
            }
        }
        return null;
    }

    private static boolean[] changedMask(Tensor target, Tensor unlearned, Architecture.TensorSpec spec) {
        if (!Arrays.equals(target.shape(), spec.shape()) || !Arrays.equals(unlearned.shape(), spec.shape())) {
            throw new IllegalStateException(spec.name() + ": shape " + Arrays.toString(unlearned.shape()) + " / target "
                    + Arrays.toString(target.shape()) + ", expected " + Arrays.toString(spec.shape()));
        }
        long n = spec.numel();
        boolean[] m = new boolean[Math.toIntExact(n)];
        for (int i = 0; i < n; i++) {
            m[i] = unlearned.getFloat(i) != target.getFloat(i);
        }
        return m;
    }

    /** {changed, same bucket} over the elements {@code changed} marks. */
    static long[] sameBucket(QuantizedWeight target, QuantizedWeight unlearned, boolean[] changed) {
        int cols = (int) target.shape()[1];
        Element a = element(target);
        Element b = element(unlearned);
        long n = 0;
        long same = 0;
        for (int i = 0; i < changed.length; i++) {
            if (!changed[i]) {
                continue;
            }
            n++;
            int r = i / cols;
            int c = i % cols;
            // == so that -0.0 and 0.0 (both "code at the zero point") count as the same bucket
            if (a.at(r, c) == b.at(r, c)) {
                same++;
            }
        }
        return new long[] {n, same};
    }

    private interface Element {
        float at(int row, int col);
    }

    private static Element element(QuantizedWeight q) {
        return switch (q) {
            case RtnPacked r -> r::dequantize;
            case dev.revenant.quant.GptqPacked g -> g::dequantize;
            case Int8Packed i -> i::dequantize;
            case GgufPacked g -> g::dequantize;
            case Bnb4Packed b -> {
                long cols = b.shape()[1];
                yield (r, c) -> b.dequantize(r * cols + c);
            }
        };
    }

    /** The decoder block index of {@code model.layers.N....}, else -1. */
    static int layerOf(String tensor) {
        String p = "model.layers.";
        if (!tensor.startsWith(p)) {
            return -1;
        }
        int end = tensor.indexOf('.', p.length());
        try {
            return Integer.parseInt(tensor.substring(p.length(), end < 0 ? tensor.length() : end));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
