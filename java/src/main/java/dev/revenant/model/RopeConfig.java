package dev.revenant.model;

import java.util.Locale;

/**
 * Rotary position embedding parameters, from either the legacy {@code rope_theta}/{@code rope_scaling}
 * keys or the newer {@code rope_parameters}. {@code rotaryDim} is the number of leading head dims that
 * rotate (head_dim × partial_rotary_factor). Layout is HF's rotate-half: dim i pairs with i + rotaryDim/2.
 */
public record RopeConfig(Type type, double theta, int rotaryDim, double factor, double lowFreqFactor,
                         double highFreqFactor, int originalMaxPositions) {

    /** Supported scaling types (transformers' {@code ROPE_INIT_FUNCTIONS} names). */
    public enum Type {
        DEFAULT, LINEAR, DYNAMIC, LLAMA3;

        public static Type parse(String s, String where) {
            if (s == null) {
                return DEFAULT;
            }
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "default" -> DEFAULT;
                case "linear" -> LINEAR;
                case "dynamic" -> DYNAMIC;
                case "llama3" -> LLAMA3;
                default -> throw new IllegalArgumentException(where + ": unsupported rope type '" + s
                        + "'; supported: default, linear, dynamic, llama3");
            };
        }
    }

    public RopeConfig {
        if (!(theta > 0)) {
            throw new IllegalArgumentException("rope_theta must be > 0, found " + theta);
        }
        if (rotaryDim <= 0 || rotaryDim % 2 != 0) {
            throw new IllegalArgumentException("rotary dimension must be a positive even number, found " + rotaryDim);
        }
        if (type != Type.DEFAULT && !(factor > 0)) {
            throw new IllegalArgumentException("rope_scaling.factor must be > 0 for " + type + ", found " + factor);
        }
    }

    public static RopeConfig plain(double theta, int rotaryDim) {
        return new RopeConfig(Type.DEFAULT, theta, rotaryDim, 1, 1, 4, 0);
    }
}
