package dev.revenant.model;

import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * All tensors of a model, validated against {@link Architecture#tensors} (name, shape, float dtype) and
 * bound to the forward pass's roles. Fused phi3 tensors are split into zero-copy row slices.
 */
public record Weights(Tensor embed, List<LayerWeights> layers, Tensor finalNorm, Tensor finalNormBias,
                      Tensor lmHead, Tensor lmHeadBias) {

    /** Binds the checkpoint's tensors; fails naming the first tensor that is missing or misshapen. */
    public static Weights bind(ModelConfig c, Checkpoint ckpt) {
        return bind(c, ckpt::find, ckpt.path().toString());
    }

    /** Binds tensors found by {@code find} ({@code where} names their source in errors). */
    public static Weights bind(ModelConfig c, java.util.function.Function<String, java.util.Optional<Tensor>> find, String where) {
        Map<String, Tensor> t = new HashMap<>();
        for (Architecture.TensorSpec spec : Architecture.tensors(c)) {
            Tensor x = find.apply(spec.name()).orElseThrow(() -> new IllegalArgumentException(
                    where + ": tensor '" + spec.name() + "' missing; expected " + Arrays.toString(spec.shape())
                            + " for model_type " + c.modelType()));
            boolean packed = x.dtype() == dev.revenant.tensor.DType.PACKED && spec.role() == Architecture.Role.LINEAR;
            if (!Arrays.equals(x.shape(), spec.shape()) || !(isWeightDType(x.dtype()) || packed)) {
                throw new IllegalArgumentException(where + ": " + spec.name() + ": expected "
                        + Arrays.toString(spec.shape()) + " F32|BF16|F16, found " + Arrays.toString(x.shape()) + " " + x.dtype());
            }
            t.put(spec.name(), x);
        }
        List<LayerWeights> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            layers.add(layer(c, t, Architecture.layer(i)));
        }
        boolean phi = c.family() == Family.PHI;
        String fn = phi ? "model.final_layernorm" : "model.norm";
        Tensor lmHead = c.tieWordEmbeddings() ? t.get("model.embed_tokens.weight") : t.get("lm_head.weight");
        return new Weights(t.get("model.embed_tokens.weight"), List.copyOf(layers), t.get(fn + ".weight"),
                t.get(fn + ".bias"), lmHead, t.get("lm_head.bias"));
    }

    private static boolean isWeightDType(DType d) {
        return d == DType.F32 || d == DType.BF16 || d == DType.F16;
    }

    private static LayerWeights layer(ModelConfig c, Map<String, Tensor> t, String p) {
        return switch (c.family()) {
            case PHI -> new LayerWeights(t.get(p + "input_layernorm.weight"), t.get(p + "input_layernorm.bias"),
                    t.get(p + "self_attn.q_proj.weight"), t.get(p + "self_attn.k_proj.weight"), t.get(p + "self_attn.v_proj.weight"),
                    t.get(p + "self_attn.q_proj.bias"), t.get(p + "self_attn.k_proj.bias"), t.get(p + "self_attn.v_proj.bias"),
                    t.get(p + "self_attn.dense.weight"), t.get(p + "self_attn.dense.bias"), null, null, null,
                    null, t.get(p + "mlp.fc1.weight"), t.get(p + "mlp.fc2.weight"),
                    null, t.get(p + "mlp.fc1.bias"), t.get(p + "mlp.fc2.bias"));
            case PHI3 -> {
                // qkv_proj rows: q (numHeads·headDim), then k, then v; gate_up_proj rows: gate, then up.
                Tensor qkv = t.get(p + "self_attn.qkv_proj.weight");
                Tensor gateUp = t.get(p + "mlp.gate_up_proj.weight");
                int q = c.qDim();
                int kv = c.kvDim();
                int inter = c.intermediateSize();
                yield new LayerWeights(t.get(p + "input_layernorm.weight"), null,
                        rows(qkv, 0, q), rows(qkv, q, q + kv), rows(qkv, q + kv, q + 2 * kv), null, null, null,
                        t.get(p + "self_attn.o_proj.weight"), null, null, null,
                        t.get(p + "post_attention_layernorm.weight"),
                        rows(gateUp, 0, inter), rows(gateUp, inter, 2 * inter), t.get(p + "mlp.down_proj.weight"),
                        null, null, null);
            }
            default -> new LayerWeights(t.get(p + "input_layernorm.weight"), null,
                    t.get(p + "self_attn.q_proj.weight"), t.get(p + "self_attn.k_proj.weight"), t.get(p + "self_attn.v_proj.weight"),
                    t.get(p + "self_attn.q_proj.bias"), t.get(p + "self_attn.k_proj.bias"), t.get(p + "self_attn.v_proj.bias"),
                    t.get(p + "self_attn.o_proj.weight"), t.get(p + "self_attn.o_proj.bias"),
                    t.get(p + "self_attn.q_norm.weight"), t.get(p + "self_attn.k_norm.weight"),
                    t.get(p + "post_attention_layernorm.weight"),
                    t.get(p + "mlp.gate_proj.weight"), t.get(p + "mlp.up_proj.weight"), t.get(p + "mlp.down_proj.weight"),
                    t.get(p + "mlp.gate_proj.bias"), t.get(p + "mlp.up_proj.bias"), t.get(p + "mlp.down_proj.bias"));
        };
    }

    /**
     * These weights with the Linear layers inside the decoder blocks (q, k, v, o, gate, up, down) passed
     * through {@code f}; embeddings, norms, biases and lm_head stay as loaded (what bitsandbytes and a
     * transformers {@code torch_dtype} cast of the decoder Linear layers change, muse-spec §2.1).
     */
    public Weights mapLinear(java.util.function.UnaryOperator<Tensor> f) {
        List<LayerWeights> out = new ArrayList<>();
        for (LayerWeights l : layers) {
            out.add(new LayerWeights(l.attnNorm(), l.attnNormBias(), f.apply(l.wq()), f.apply(l.wk()), f.apply(l.wv()),
                    l.bq(), l.bk(), l.bv(), f.apply(l.wo()), l.bo(), l.qNorm(), l.kNorm(), l.mlpNorm(),
                    l.wGate() == null ? null : f.apply(l.wGate()), f.apply(l.wUp()), f.apply(l.wDown()),
                    l.bGate(), l.bUp(), l.bDown()));
        }
        return new Weights(embed, List.copyOf(out), finalNorm, finalNormBias, lmHead, lmHeadBias);
    }

    /**
     * These weights with the decoder-layer tensors found (by identity) in {@code r} replaced by their values there
     * (AWQ folds its scales into norms and biases); every other tensor as it is.
     */
    public Weights replace(java.util.Map<Tensor, Tensor> r) {
        java.util.function.UnaryOperator<Tensor> f = t -> t == null ? null : r.getOrDefault(t, t);
        List<LayerWeights> out = new ArrayList<>();
        for (LayerWeights l : layers) {
            out.add(new LayerWeights(f.apply(l.attnNorm()), f.apply(l.attnNormBias()), f.apply(l.wq()), f.apply(l.wk()),
                    f.apply(l.wv()), f.apply(l.bq()), f.apply(l.bk()), f.apply(l.bv()), f.apply(l.wo()), f.apply(l.bo()),
                    f.apply(l.qNorm()), f.apply(l.kNorm()), f.apply(l.mlpNorm()), f.apply(l.wGate()), f.apply(l.wUp()),
                    f.apply(l.wDown()), f.apply(l.bGate()), f.apply(l.bUp()), f.apply(l.bDown())));
        }
        return new Weights(embed, List.copyOf(out), finalNorm, finalNormBias, lmHead, lmHeadBias);
    }

    /** Rows [from, to) of a row-major matrix, as a zero-copy view. */
    static Tensor rows(Tensor m, long from, long to) {
        long cols = m.shape()[1];
        long rowBytes = cols * m.dtype().byteSize();
        return new Tensor(m.name() + "[" + from + ":" + to + "]", m.dtype(), new long[] {to - from, cols},
                m.data().asSlice(from * rowBytes, (to - from) * rowBytes));
    }

    /** Bytes of weights read per decoded token (every tensor once; the embedding only one row). */
    public long bytesPerToken() {
        long b = embed.shape()[1] * embed.dtype().byteSize() + lmHead.data().byteSize();
        b += finalNorm.data().byteSize();
        for (LayerWeights l : layers) {
            for (Tensor x : new Tensor[] {l.attnNorm(), l.attnNormBias(), l.wq(), l.wk(), l.wv(), l.bq(), l.bk(), l.bv(),
                    l.wo(), l.bo(), l.qNorm(), l.kNorm(), l.mlpNorm(), l.wGate(), l.wUp(), l.wDown(), l.bGate(), l.bUp(), l.bDown()}) {
                if (x != null) {
                    b += x.data().byteSize();
                }
            }
        }
        return b;
    }
}
