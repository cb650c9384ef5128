package dev.revenant.model;

import java.util.Locale;

/** MLP activations, by the names HF configs use ({@code hidden_act} / {@code hidden_activation}). */
public enum Activation {
    SILU,
    /** tanh approximation: gelu_pytorch_tanh, gelu_new, gelu_fast (all the same formula). */
    GELU_TANH,
    /** exact erf GELU. */
    GELU;

    public static Activation parse(String name, String where) {
        if (name == null) {
            throw new IllegalArgumentException(where + ": no hidden_act given");
        }
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "silu", "swish" -> SILU;
            case "gelu_pytorch_tanh", "gelu_new", "gelu_fast", "gelu_tanh" -> GELU_TANH;
            case "gelu" -> GELU;
            default -> throw new IllegalArgumentException(where + ": unsupported hidden_act '" + name
                    + "'; supported: silu, gelu, gelu_pytorch_tanh, gelu_new, gelu_fast");
        };
    }
}
