package dev.revenant.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The HF tensor names and shapes of one family, derived from its config: the single source that the
 * loader validates against and that {@code revenant synth} writes. Linear weights are {@code [out, in]}.
 */
public final class Architecture {
    private Architecture() {
    }

    /** One expected tensor. {@code role} says what it is (for quantization: only {@link Role#LINEAR} in layers). */
    public record TensorSpec(String name, long[] shape, Role role) {
        public long numel() {
            return Arrays.stream(shape).reduce(1, Math::multiplyExact);
        }
    }

    public enum Role { EMBEDDING, NORM, LINEAR, BIAS, LM_HEAD }

    public static String layer(int i) {
        return "model.layers." + i + ".";
    }

    /** Every tensor the checkpoint of {@code c} holds, in a stable order. */
    public static List<TensorSpec> tensors(ModelConfig c) {
        List<TensorSpec> out = new ArrayList<>();
        long h = c.hiddenSize();
        long inter = c.intermediateSize();
        long q = c.qDim();
        long kv = c.kvDim();
        out.add(new TensorSpec("model.embed_tokens.weight", new long[] {c.vocabSize(), h}, Role.EMBEDDING));
        boolean layerNorm = c.family().norm() == Family.NormKind.LAYER_NORM;
        for (int i = 0; i < c.numLayers(); i++) {
            String p = layer(i);
            norm(out, p + "input_layernorm", h, layerNorm);
            switch (c.family()) {
                case PHI3 -> {
                    out.add(new TensorSpec(p + "self_attn.qkv_proj.weight", new long[] {q + 2 * kv, h}, Role.LINEAR));
                    out.add(new TensorSpec(p + "self_attn.o_proj.weight", new long[] {h, q}, Role.LINEAR));
                }
                case PHI -> {
                    linear(out, p + "self_attn.q_proj", q, h, true);
                    linear(out, p + "self_attn.k_proj", kv, h, true);
                    linear(out, p + "self_attn.v_proj", kv, h, true);
                    linear(out, p + "self_attn.dense", h, q, true);
                }
                default -> {
                    linear(out, p + "self_attn.q_proj", q, h, c.qkvBias());
                    linear(out, p + "self_attn.k_proj", kv, h, c.qkvBias());
                    linear(out, p + "self_attn.v_proj", kv, h, c.qkvBias());
                    linear(out, p + "self_attn.o_proj", h, q, c.outputBias());
                    if (c.family() == Family.QWEN3) {
                        out.add(new TensorSpec(p + "self_attn.q_norm.weight", new long[] {c.headDim()}, Role.NORM));
                        out.add(new TensorSpec(p + "self_attn.k_norm.weight", new long[] {c.headDim()}, Role.NORM));
                    }
                }
            }
            switch (c.family()) {
                case PHI -> {
                    linear(out, p + "mlp.fc1", inter, h, true);
                    linear(out, p + "mlp.fc2", h, inter, true);
                }
                case PHI3 -> {
                    norm(out, p + "post_attention_layernorm", h, false);
                    out.add(new TensorSpec(p + "mlp.gate_up_proj.weight", new long[] {2 * inter, h}, Role.LINEAR));
                    out.add(new TensorSpec(p + "mlp.down_proj.weight", new long[] {h, inter}, Role.LINEAR));
                }
                default -> {
                    norm(out, p + "post_attention_layernorm", h, false);
                    linear(out, p + "mlp.gate_proj", inter, h, c.mlpBias());
                    linear(out, p + "mlp.up_proj", inter, h, c.mlpBias());
                    linear(out, p + "mlp.down_proj", h, inter, c.mlpBias());
                }
            }
        }
        norm(out, c.family() == Family.PHI ? "model.final_layernorm" : "model.norm", h, layerNorm);
        if (!c.tieWordEmbeddings()) {
            out.add(new TensorSpec("lm_head.weight", new long[] {c.vocabSize(), h}, Role.LM_HEAD));
            if (c.family() == Family.PHI) {
                out.add(new TensorSpec("lm_head.bias", new long[] {c.vocabSize()}, Role.BIAS));
            }
        }
        return out;
    }

    private static void norm(List<TensorSpec> out, String prefix, long h, boolean withBias) {
        out.add(new TensorSpec(prefix + ".weight", new long[] {h}, Role.NORM));
        if (withBias) {
            out.add(new TensorSpec(prefix + ".bias", new long[] {h}, Role.BIAS));
        }
    }

    private static void linear(List<TensorSpec> out, String prefix, long rows, long cols, boolean bias) {
        out.add(new TensorSpec(prefix + ".weight", new long[] {rows, cols}, Role.LINEAR));
        if (bias) {
            out.add(new TensorSpec(prefix + ".bias", new long[] {rows}, Role.BIAS));
        }
    }
}
