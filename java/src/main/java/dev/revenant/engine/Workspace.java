package dev.revenant.engine;

import dev.revenant.model.ModelConfig;

/**
 * Activation buffers of one forward call over {@code rows} tokens (all sequences of the batch stacked),
 * allocated once and grown only when a call needs more rows.
 */
final class Workspace {
    private final ModelConfig c;
    int rows;
    float[] x;      // (rows, hidden)   residual stream
    float[] xb;     // (rows, hidden)   normed input of a sub-block
    float[] q;      // (rows, nHeads·headDim)
    float[] k;      // (rows, nKv·headDim)
    float[] v;      // (rows, nKv·headDim)
    float[] att;    // (rows, nHeads·headDim) attention output before o_proj
    float[] o;      // (rows, hidden)   o_proj / down_proj output
    float[] gate;   // (rows, intermediate)
    float[] up;     // (rows, intermediate)
    float[] scores = new float[0]; // (context, threads) attention scores
    final float[] cos;             // (rotaryDim/2)
    final float[] sin;             // (rotaryDim/2)

    Workspace(ModelConfig c) {
        this.c = c;
        this.cos = new float[c.rope().rotaryDim() / 2];
        this.sin = new float[c.rope().rotaryDim() / 2];
    }

    void ensure(int n) {
        if (n <= rows) {
            return;
        }
        rows = Math.max(n, rows * 2);
        x = new float[rows * c.hiddenSize()];
        xb = new float[rows * c.hiddenSize()];
        q = new float[rows * c.qDim()];
        k = new float[rows * c.kvDim()];
        v = new float[rows * c.kvDim()];
        att = new float[rows * c.qDim()];
        o = new float[rows * c.hiddenSize()];
        gate = new float[rows * c.intermediateSize()];
        up = new float[rows * c.intermediateSize()];
    }

    float[] scores(int n) {
        if (scores.length < n) {
            scores = new float[n];
        }
        return scores;
    }
}
