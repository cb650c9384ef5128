package dev.revenant.engine;

import dev.revenant.kernel.Backend;
import dev.revenant.model.ConfigLoader;
import dev.revenant.model.ModelConfig;
import dev.revenant.model.Weights;
import dev.revenant.safetensors.Checkpoint;
import java.nio.file.Path;

/**
 * A loaded model: config, the mapped checkpoint (owned and closed here), its weights bound to roles,
 * and the backend chosen once at load.
 */
public final class Model implements AutoCloseable {
    private final Path dir;
    private final ModelConfig config;
    private final Checkpoint checkpoint;
    private final Weights weights;
    private final Backend backend;
    private final Rope rope;

    private Model(Path dir, ModelConfig config, Checkpoint checkpoint, Weights weights, Backend backend) {
        this.dir = dir;
        this.config = config;
        this.checkpoint = checkpoint;
        this.weights = weights;
        this.backend = backend;
        this.rope = new Rope(config.rope(), config.maxPositions());
    }

    /** Loads {@code dir} (config.json + safetensors, single or sharded); the model owns the checkpoint mapping. */
    public static Model load(Path dir, Backend backend) {
        ModelConfig config = ConfigLoader.load(dir);
        Checkpoint ckpt = Checkpoint.open(dir);
        try {
            return new Model(dir, config, ckpt, Weights.bind(config, ckpt), backend);
        } catch (RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }

    public Path dir() {
        return dir;
    }

    public ModelConfig config() {
        return config;
    }

    public Weights weights() {
        return weights;
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    public Backend backend() {
        return backend;
    }

    Rope rope() {
        return rope;
    }

    /** A fresh, empty KV cache for one sequence. */
    public KvCache newCache(int expectedLength) {
        return new KvCache(config.numLayers(), config.kvDim(), Math.max(16, expectedLength));
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
