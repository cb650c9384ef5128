package dev.revenant.engine;

import dev.revenant.kernel.Backend;
import dev.revenant.model.ConfigLoader;
import dev.revenant.model.ModelConfig;
import dev.revenant.model.Weights;
import dev.revenant.kernel.Int8Backend;
import dev.revenant.quant.Cast;
import dev.revenant.quant.Int8Packed;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.Quantizers;
import dev.revenant.tensor.Tensor;
import dev.revenant.quant.Precision;
import dev.revenant.tensor.DType;
import java.lang.foreign.Arena;
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

    private final Arena arena;
    private final Precision precision;

    private Model(Path dir, ModelConfig config, Checkpoint checkpoint, Weights weights, Backend backend, Arena arena,
                  Precision precision) {
        this.arena = arena;
        this.precision = precision;
        this.dir = dir;
        this.config = config;
        this.checkpoint = checkpoint;
        this.weights = weights;
        this.backend = backend;
        this.rope = new Rope(config.rope(), config.maxPositions());
    }

    /** Loads {@code dir} (config.json + safetensors, single or sharded); the model owns the checkpoint mapping. */
    public static Model load(Path dir, Backend backend) {
        return load(dir, backend, null);
    }

    /**
     * Loads {@code dir} at {@code precision} (null = weights as stored): the decoder Linear layers are
     * converted once at load into memory the model owns; everything else is used in place.
     */
    public static Model load(Path dir, Backend backend, Precision precision) {
        ModelConfig config = ConfigLoader.load(dir);
        Checkpoint ckpt = Checkpoint.open(dir);
        Arena arena = Arena.ofShared();
        try {
            Weights w = Weights.bind(config, ckpt);
            Backend be = backend;
            if (precision != null && precision.requireAvailable().kind() == Precision.Kind.FLOAT) {
                DType t = precision.floatType();
                w = w.mapLinear(x -> Cast.to(x, t, arena));
            } else if (precision != null) {
                // quantize each decoder Linear layer; the forward pass runs on its dequantized values
                // (a float copy in model-owned memory) until the packed kernels land; int8 keeps its codes
                // and LLM.int8's activation path through Int8Backend
                Int8Backend int8 = new Int8Backend(backend);
                w = w.mapLinear(x -> {
                    QuantizedWeight q = Quantizers.quantize(precision, x);
                    Tensor d = q.dequantize(arena);
                    if (q instanceof Int8Packed i8) {
                        int8.register(d, i8);
                    }
                    return d;
                });
                if (precision.name().equals("int8")) {
                    be = int8;
                }
            }
            return new Model(dir, config, ckpt, w, be, arena, precision);
        } catch (RuntimeException e) {
            arena.close();
            ckpt.close();
            throw e;
        }
    }

    /** The precision the model was loaded at (null = as stored). */
    public Precision precision() {
        return precision;
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
        arena.close();
        checkpoint.close();
    }
}
