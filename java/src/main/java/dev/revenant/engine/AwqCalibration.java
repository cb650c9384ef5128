package dev.revenant.engine;

import dev.revenant.model.Family;
import dev.revenant.model.LayerWeights;
import dev.revenant.quant.AwqClipSearch;
import dev.revenant.quant.AwqQuantizer;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AWQ (Lin et al. 2023, "AWQ: Activation-aware Weight Quantization", §3.2–3.3) driven through the model
 * with the engine's own layer arithmetic, in the order AutoAWQ documents for llama-style blocks:
 * <ol>
 * <li>one full-precision pass of the layer collects, per group of Linear layers sharing an input, the mean
 *     |x| per input channel, a subsample of input rows (every k-th token, about 512), and the full-precision
 *     output of the block the group feeds (attention: o_proj's output; MLP: down_proj's; phi: the layer's);
 * <li>per group, the grid search over α = i/20 (i = 0..19): s = mean|x|^α (≥ 1e-4), normalised by
 *     √(max s · min s); each Linear of the group becomes Q(W·diag(s))·diag(s)⁻¹ and the block runs on the
 *     same inputs; the α with the smallest squared output error wins (all groups searched on the
 *     full-precision layer);
 * <li>the scales are folded: the preceding norm (or Linear's rows and bias) divided by s, the group's
 *     input columns multiplied by s; groups: [q, k, v] (+ fc1 for phi) after the input norm, o after v
 *     (only where v's rows match o's columns, i.e. no GQA), [gate, up] after the post-attention norm, down
 *     after up;
 * <li>the clipping search per Linear except q and k (their errors are not measured through the softmax)
 *     on the scaled inputs, then the final quantization (zero point, groups).
 * </ol>
 * The next layer's inputs are the full-precision layer's outputs (AutoAWQ's order, unlike GPTQ's).
 *
 * <p>The search scores each candidate on the layer's full-precision inputs, so whatever comes before the group is the
 * same for every candidate. A group whose inspected output is its own Linear's (o, down) is therefore scored by that
 * one matmul on the inputs it saw in step 1, and the [gate, up] group by the MLP alone ({@link Forward#mlpOnly}) on
 * its normed inputs, instead of rerunning the layer's attention 20 times: the same calls with the same operands, so
 * the same bits, as long as those inputs fit in a memory budget (else the layer is rerun as before).
 */
public final class AwqCalibration {

    private AwqCalibration() {
    }

    /** One scaling group: its Linear layers, what precedes them, and whose output measures the error. */
    private record Group(List<Tensor> linears, Tensor norm, Tensor normBias, Tensor prev, Tensor prevBias, Tensor inspect) {
    }

    /** Per-group statistics of the full-precision pass. */
    private static final class Stats {
        double[] absSum;
        long tokens;
        final List<float[]> sample = new ArrayList<>();
        List<float[]> ref = new ArrayList<>(); // per chunk: the inspected block's output
        List<float[]> input; // per chunk: the group's input rows when the search starts at the group, else null
    }

    /** How a group's candidates are scored: by rerunning the layer, by the group's one matmul, or by the MLP alone. */
    private enum Replay { LAYER, MATMUL, MLP }

    private static Replay replay(Group g, LayerWeights lw, boolean phi) {
        if (g.inspect() == null) {
            return Replay.LAYER;
        }
        if (g.linears().size() == 1 && g.linears().get(0) == g.inspect()) {
            return Replay.MATMUL;
        }
        return !phi && g.inspect() == lw.wDown() && g.linears().contains(lw.wGate()) ? Replay.MLP : Replay.LAYER;
    }

    /** Quantizes every decoder Linear weight of {@code model} (full precision, CPU backend) with AWQ. */
    public static SequentialQuantizer.Result run(Model model, List<int[]> samples, AwqQuantizer grid, int chunkRows,
                                                 Arena arena, SequentialQuantizer.Listener listener) {
        return run(model, samples, grid, chunkRows, arena, listener, Runtime.getRuntime().maxMemory() / 8 / Float.BYTES);
    }

    /**
     * As {@link #run(Model, List, AwqQuantizer, int, Arena, SequentialQuantizer.Listener)}, keeping at most
     * {@code inputBudget} floats of group inputs per layer for the searches that start at their group (0: every
     * search reruns the layer; the results are the same bits either way).
     */
    static SequentialQuantizer.Result run(Model model, List<int[]> samples, AwqQuantizer grid, int chunkRows,
                                          Arena arena, SequentialQuantizer.Listener listener, long inputBudget) {
        CalibrationBackend cb = new CalibrationBackend(model.backend(), Math.max(0, Runtime.getRuntime().maxMemory() / 4));
        Forward fwd = new Forward(model, cb);
        List<int[]> chunks = SequentialQuantizer.chunks(samples, chunkRows);
        long total = 0;
        for (int[] s : samples) {
            total += s.length;
        }
        int step = (int) Math.max(1, total / AwqClipSearch.N_SAMPLE_TOKEN); // AutoAWQ keeps tokens 0, step, 2·step, …
        List<float[]> hidden = new ArrayList<>();
        for (int[] ch : chunks) {
            hidden.add(fwd.embedOnly(samples.subList(ch[0], ch[1])));
        }
        Map<Tensor, QuantizedWeight> out = new LinkedHashMap<>();
        Map<Tensor, Tensor> replaced = new IdentityHashMap<>();
        List<SequentialQuantizer.LayerTimes> times = new ArrayList<>();
        boolean phi = model.config().family() == Family.PHI;
        boolean plusOne = model.config().family().norm() == Family.NormKind.RMS_PLUS_ONE;
        for (int l = 0; l < model.config().numLayers(); l++) {
            long t0 = System.nanoTime();
            LayerWeights lw = model.weights().layers().get(l);
            List<Group> groups = groups(lw, phi);
            List<Map<Tensor, CalibrationBackend.Cached>> caches = new ArrayList<>();
            Map<Group, Stats> stats = new IdentityHashMap<>();
            long kept = 0;
            for (Group g : groups) {
                Stats st = new Stats();
                stats.put(g, st);
                long need = total * g.linears().get(0).dim(1);
                if (replay(g, lw, phi) != Replay.LAYER && kept + need <= inputBudget) {
                    st.input = new ArrayList<>();
                    kept += need;
                }
            }
            List<float[]> layerRef = new ArrayList<>();
            // 1. the full-precision pass: statistics, samples, reference outputs, and the next layer's inputs
            long[] seen = {0};
            for (int i = 0; i < chunks.size(); i++) {
                caches.add(new IdentityHashMap<>());
                cb.cache(caches.get(i));
                long base = seen[0];
                for (Group g : groups) {
                    Stats st = stats.get(g);
                    cb.observe(g.linears().get(0), false, (x, rows, cols) -> collect(st, x, rows, cols, base, step));
                    if (st.input != null) {
                        cb.observe(g.linears().get(0), false, (x, rows, cols) -> st.input.add(java.util.Arrays.copyOf(x, rows * cols)));
                    }
                    if (g.inspect() != null) {
                        cb.observe(g.inspect(), true, (y, rows, cols) -> st.ref.add(java.util.Arrays.copyOf(y, rows * cols)));
                    }
                }
                float[] x = hidden.get(i).clone();
                fwd.runLayer(l, SequentialQuantizer.lengths(samples, chunks.get(i)), x);
                cb.clearObservers();
                layerRef.add(x);
                seen[0] += x.length / model.config().hiddenSize();
            }
            for (Group g : groups) {
                if (g.inspect() == null) {
                    stats.get(g).ref = layerRef;
                }
            }
            double tForward = (System.nanoTime() - t0) / 1e9;
            long q0 = System.nanoTime();
            // 2. the grid search per group, on the full-precision layer
            Map<Group, float[]> scales = new LinkedHashMap<>();
            for (Group g : groups) {
                Stats st = stats.get(g);
                if (st.input != null && st.input.size() != chunks.size()) {
                    throw new IllegalStateException(g.linears().get(0).name() + ": " + st.input.size()
                            + " input captures for " + chunks.size() + " chunks");
                }
                Replay how = st.input == null ? Replay.LAYER : replay(g, lw, phi);
                scales.put(g, search(g, st, how, lw, grid, cb, fwd, l, samples, chunks, hidden, caches));
                st.input = null;
            }
            // 3. fold the scales, 4. clip and quantize
            Map<Tensor, float[]> w = new IdentityHashMap<>(); // every Linear of the layer, scaled in place below
            for (Tensor t : SequentialQuantizer.groups(lw).stream().flatMap(List::stream).toList()) {
                w.put(t, t.toFloatArray());
            }
            for (Group g : groups) {
                float[] s = scales.get(g);
                for (Tensor t : g.linears()) {
                    AwqQuantizer.scaleColumns(w.get(t), (int) t.dim(0), (int) t.dim(1), s);
                }
                if (g.norm() != null) {
                    replaced.put(g.norm(), divide(g.norm(), s, plusOne && g.normBias() == null, arena));
                    if (g.normBias() != null) {
                        replaced.put(g.normBias(), divide(g.normBias(), s, false, arena));
                    }
                } else {
                    AwqQuantizer.divideRows(w.get(g.prev()), (int) g.prev().dim(0), (int) g.prev().dim(1), s);
                    if (g.prevBias() != null) {
                        replaced.put(g.prevBias(), divide(g.prevBias(), s, false, arena));
                    }
                }
            }
            for (Group g : groups) {
                Stats st = stats.get(g);
                float[] s = scales.get(g);
                int cols = s.length;
                int n = st.sample.size();
                float[] xs = new float[n * cols];
                for (int r = 0; r < n; r++) {
                    float[] row = st.sample.get(r);
                    for (int c = 0; c < cols; c++) {
                        xs[r * cols + c] = row[c] / s[c];
                    }
                }
                for (Tensor t : g.linears()) {
                    if (t != lw.wq() && t != lw.wk()) {
                        float[] wt = w.get(t);
                        float[] maxVal = AwqClipSearch.search(grid, t.name(), wt, (int) t.dim(0), cols, xs, n);
                        AwqClipSearch.apply(wt, (int) t.dim(0), cols, grid.groupSize(), maxVal);
                    }
                }
            }
            for (Map.Entry<Tensor, float[]> e : w.entrySet()) {
                Tensor t = e.getKey();
                out.put(t, grid.quantize(t.name(), e.getValue(), (int) t.dim(0), (int) t.dim(1)));
            }
            for (int i = 0; i < chunks.size(); i++) {
                hidden.set(i, layerRef.get(i));
            }
            SequentialQuantizer.LayerTimes t = new SequentialQuantizer.LayerTimes(tForward, 0, 0, (System.nanoTime() - q0) / 1e9);
            times.add(t);
            if (listener != null) {
                listener.layerDone(l, model.config().numLayers(), t);
            }
        }
        return new SequentialQuantizer.Result(out, replaced, times);
    }

    private static List<Group> groups(LayerWeights lw, boolean phi) {
        List<Group> g = new ArrayList<>();
        List<Tensor> a = new ArrayList<>(List.of(lw.wq(), lw.wk(), lw.wv()));
        if (phi) {
            a.add(lw.wUp());
        }
        g.add(new Group(a, lw.attnNorm(), lw.attnNormBias(), null, null, phi ? null : lw.wo()));
        if (lw.wv().dim(0) == lw.wo().dim(1)) {
            g.add(new Group(List.of(lw.wo()), null, null, lw.wv(), lw.bv(), lw.wo()));
        }
        if (!phi) {
            g.add(new Group(List.of(lw.wGate(), lw.wUp()), lw.mlpNorm(), null, null, null, lw.wDown()));
        }
        g.add(new Group(List.of(lw.wDown()), null, null, lw.wUp(), lw.bUp(), lw.wDown()));
        return g;
    }

    // |x| summed per channel over every token; every step-th token (global index) kept for the clipping search
    private static void collect(Stats st, float[] x, int rows, int cols, long base, int step) {
        if (st.absSum == null) {
            st.absSum = new double[cols];
        }
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                st.absSum[c] += Math.abs(x[r * cols + c]);
            }
            if ((base + r) % step == 0) {
                st.sample.add(java.util.Arrays.copyOfRange(x, r * cols, (r + 1) * cols));
            }
        }
        st.tokens += rows;
    }

    // the α whose quantized group gives the smallest squared error of the inspected output; returns its scales
    private static float[] search(Group g, Stats st, Replay how, LayerWeights lw, AwqQuantizer grid, CalibrationBackend cb,
                                  Forward fwd, int layer, List<int[]> samples, List<int[]> chunks, List<float[]> hidden,
                                  List<Map<Tensor, CalibrationBackend.Cached>> caches) {
        double best = Double.POSITIVE_INFINITY;
        float[] bestScales = null;
        float[] mean = new float[st.absSum.length];
        for (int c = 0; c < mean.length; c++) {
            mean[c] = (float) (st.absSum[c] / st.tokens);
        }
        List<float[]> weights = new ArrayList<>();
        for (Tensor t : g.linears()) {
            weights.add(t.toFloatArray());
        }
        for (int i = 0; i < AwqQuantizer.N_GRID; i++) {
            float[] s = AwqQuantizer.scaleCandidate(mean, i);
            try (Arena tmp = Arena.ofShared()) {
                for (int j = 0; j < g.linears().size(); j++) {
                    Tensor t = g.linears().get(j);
                    int rows = (int) t.dim(0);
                    int cols = (int) t.dim(1);
                    float[] q = grid.pseudoQuantizeScaled(weights.get(j), rows, cols, s); // w is not modified
                    cb.substitute(t, f32(t.name() + "~awq", q, rows, cols, tmp));
                }
                double loss = 0;
                for (int k = 0; k < chunks.size(); k++) {
                    cb.cache(caches.get(k));
                    float[][] got = new float[1][];
                    if (how == Replay.MATMUL) { // what CalibrationBackend.matmul does for a substitute, on the same input
                        Tensor t = g.linears().get(0);
                        float[] in = st.input.get(k);
                        int rows = in.length / (int) t.dim(1);
                        got[0] = new float[rows * (int) t.dim(0)];
                        cb.delegate().matmul(cb.substituteOf(t), bias(lw, t), in, rows, got[0]);
                    } else if (how == Replay.MLP) {
                        float[] in = st.input.get(k);
                        got[0] = fwd.mlpOnly(layer, in, in.length / (int) g.linears().get(0).dim(1));
                    } else {
                        float[] x = hidden.get(k).clone();
                        got[0] = x;
                        if (g.inspect() != null) {
                            cb.targetOutput(g.inspect(), (y, rows, cols) -> got[0] = java.util.Arrays.copyOf(y, rows * cols));
                        }
                        try {
                            fwd.runLayer(layer, SequentialQuantizer.lengths(samples, chunks.get(k)), x);
                        } catch (CalibrationBackend.Stop expected) {
                            // the inspected output was captured
                        } finally {
                            cb.target(null, null);
                        }
                    }
                    float[] ref = st.ref.get(k);
                    for (int e = 0; e < ref.length; e++) {
                        double d = (double) got[0][e] - ref[e];
                        loss += d * d;
                    }
                }
                if (loss < best) {
                    best = loss;
                    bestScales = s;
                }
            } finally {
                for (Tensor t : g.linears()) {
                    cb.substitute(t, null);
                }
            }
        }
        if (bestScales == null) {
            throw new IllegalStateException(g.linears().get(0).name() + ": AWQ found no finite output error (non-finite activations?)");
        }
        return bestScales;
    }

    // the bias the forward pass multiplies with t (o and down are the only single-Linear groups)
    private static Tensor bias(LayerWeights lw, Tensor t) {
        if (t == lw.wo()) {
            return lw.bo();
        }
        if (t == lw.wDown()) {
            return lw.bDown();
        }
        throw new IllegalStateException(t.name() + ": no single-Linear AWQ group");
    }

    // v / s elementwise (gemma's RMSNorm applies 1 + w: the stored weight becomes (1 + w) / s − 1)
    private static Tensor divide(Tensor v, float[] s, boolean plusOne, Arena arena) {
        float[] a = v.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            a[i] = plusOne ? (1f + a[i]) / s[i] - 1f : a[i] / s[i];
        }
        Tensor t = f32(v.name(), a, 1, a.length, arena);
        return new Tensor(v.name(), DType.F32, v.shape(), t.data());
    }

    private static Tensor f32(String name, float[] a, int rows, int cols, Arena arena) {
        var seg = arena.allocate((long) a.length * 4, 64);
        java.lang.foreign.MemorySegment.copy(a, 0, seg, Tensor.F32_LE, 0, a.length);
        return new Tensor(name, DType.F32, new long[] {rows, cols}, seg);
    }
}
