package dev.revenant.engine;

import java.util.Arrays;

/**
 * Keys (rotated) and values of one sequence, per layer: {@code k[layer]} is {@code (capacity, kvDim)}.
 * Grows by doubling; {@link #length()} is the number of positions filled so far.
 */
public final class KvCache {
    private final int kvDim;
    private final float[][] k;
    private final float[][] v;
    private int length;
    private int capacity;

    public KvCache(int layers, int kvDim, int initialCapacity) {
        this.kvDim = kvDim;
        this.capacity = Math.max(1, initialCapacity);
        this.k = new float[layers][];
        this.v = new float[layers][];
    }

    /** Positions this cache was sized for (a device copy allocates as many up front). */
    int capacity() {
        return capacity;
    }

    public int length() {
        return length;
    }

    /** Makes room for {@code total} positions. */
    void ensure(int total) {
        if (k.length > 0 && k[0] == null) { // host arrays are made on first CPU use (a GPU run keeps its own)
            capacity = Math.max(capacity, total);
            for (int l = 0; l < k.length; l++) {
                k[l] = new float[capacity * kvDim];
                v[l] = new float[capacity * kvDim];
            }
            return;
        }
        if (total <= capacity) {
            return;
        }
        int cap = Math.max(total, capacity * 2);
        for (int l = 0; l < k.length; l++) {
            k[l] = Arrays.copyOf(k[l], cap * kvDim);
            v[l] = Arrays.copyOf(v[l], cap * kvDim);
        }
        capacity = cap;
    }

    float[] keys(int layer) {
        return k[layer];
    }

    float[] values(int layer) {
        return v[layer];
    }

    void advance(int n) {
        length += n;
    }

    /** Forgets everything after position {@code n} (for re-scoring a shared prefix). */
    public void truncate(int n) {
        if (n < 0 || n > length) {
            throw new IllegalArgumentException("cannot truncate a cache of " + length + " positions to " + n);
        }
        length = n;
    }
}
