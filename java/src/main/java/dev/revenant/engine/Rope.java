package dev.revenant.engine;

import dev.revenant.model.RopeConfig;

/**
 * Rotary position embeddings in HF's rotate-half layout: within the first {@code rotaryDim} dims of a
 * head, dim i pairs with i + rotaryDim/2. Inverse frequencies follow transformers'
 * {@code modeling_rope_utils} (v4.44) in fp32: {@code 1 / theta^(2i/d)}, then per type
 * linear ({@code / factor}), llama3 (wavelength-dependent smoothing) or dynamic NTK (theta rescaled by
 * the sequence length once it exceeds the original context). Angles are {@code (float) pos · invFreq}
 * in fp32 like HF, cos/sin rounded to fp32.
 */
public final class Rope {
    private final RopeConfig cfg;
    private final int maxPositions;
    private final float[] invFreq; // (rotaryDim/2) for every type but dynamic

    public Rope(RopeConfig cfg, int maxPositions) {
        this.cfg = cfg;
        this.maxPositions = maxPositions;
        this.invFreq = cfg.type() == RopeConfig.Type.DYNAMIC ? null : frequencies(cfg.theta());
    }

    private float[] frequencies(double theta) {
        int d = cfg.rotaryDim();
        float[] f = new float[d / 2];
        for (int i = 0; i < d / 2; i++) {
            float exponent = (float) (2 * i) / (float) d;
            f[i] = 1f / (float) Math.pow((float) theta, exponent);
        }
        switch (cfg.type()) {
            case LINEAR -> {
                for (int i = 0; i < f.length; i++) {
                    f[i] = f[i] / (float) cfg.factor();
                }
            }
            case LLAMA3 -> llama3(f);
            default -> { }
        }
        return f;
    }

    /** transformers {@code _compute_llama3_parameters}. */
    private void llama3(float[] f) {
        float factor = (float) cfg.factor();
        float low = (float) cfg.lowFreqFactor();
        float high = (float) cfg.highFreqFactor();
        float old = cfg.originalMaxPositions();
        float lowWavelen = old / low;
        float highWavelen = old / high;
        for (int i = 0; i < f.length; i++) {
            float wavelen = (float) (2 * Math.PI) / f[i];
            float scaled = wavelen > lowWavelen ? f[i] / factor : f[i];
            boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
            if (medium) {
                float smooth = (old / wavelen - low) / (high - low);
                scaled = (1 - smooth) * scaled / factor + smooth * scaled;
            }
            f[i] = scaled;
        }
    }

    /**
     * The inverse frequencies for a sequence whose longest position is {@code seqLen - 1}. Only dynamic NTK
     * depends on it: theta · ((factor · seqLen / maxPos) − (factor − 1))^(d / (d − 2)) once seqLen > maxPos.
     */
    public float[] inverseFrequencies(int seqLen) {
        if (invFreq != null) {
            return invFreq;
        }
        int max = cfg.originalMaxPositions() > 0 ? cfg.originalMaxPositions() : maxPositions;
        if (seqLen <= max) {
            return frequencies(cfg.theta());
        }
        int d = cfg.rotaryDim();
        double base = cfg.theta() * Math.pow(cfg.factor() * seqLen / max - (cfg.factor() - 1), (double) d / (d - 2));
        return frequencies(base);
    }

    /**
     * Rotates {@code heads} heads of width {@code headDim} in {@code x[off ...]} for position {@code pos}.
     * {@code cos}/{@code sin} are scratch arrays of at least rotaryDim/2 floats.
     */
    public void apply(float[] x, int off, int heads, int headDim, int pos, float[] freq, float[] cos, float[] sin) {
        int half = cfg.rotaryDim() / 2;
        table(pos, freq, cos, sin, 0);
        for (int h = 0; h < heads; h++) {
            int b = off + h * headDim;
            for (int i = 0; i < half; i++) {
                float x1 = x[b + i];
                float x2 = x[b + i + half];
                // q·cos + rotate_half(q)·sin, rotate_half(q) = cat(−q2, q1)
                x[b + i] = x1 * cos[i] + (-x2) * sin[i];
                x[b + i + half] = x2 * cos[i] + x1 * sin[i];
            }
        }
    }

    /** The cos/sin of position {@code pos} (rotaryDim/2 values each) into {@code cos/sin[off ...]}, as {@link #apply} uses them. */
    public void table(int pos, float[] freq, float[] cos, float[] sin, int off) {
        int half = cfg.rotaryDim() / 2;
        for (int i = 0; i < half; i++) {
            float angle = (float) pos * freq[i];
            cos[off + i] = (float) Math.cos(angle);
            sin[off + i] = (float) Math.sin(angle);
        }
    }

    public int rotaryDim() {
        return cfg.rotaryDim();
    }
}
