package dev.revenant.engine;

import dev.revenant.kernel.Backend;
import dev.revenant.model.ConfigLoader;
import dev.revenant.model.ModelConfig;
import dev.revenant.model.Weights;
import dev.revenant.kernel.PackedRouter;
import dev.revenant.model.Architecture;
import dev.revenant.quant.Cast;
import dev.revenant.quant.CheckpointFormat;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.stream.IntStream;
import java.util.Map;
import java.util.Optional;
import dev.revenant.quant.PackedRows;
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
        return load(dir, backend, precision, Calibration.Options.DEFAULT, null);
    }

    /**
     * As {@link #load(Path, Backend, Precision)}; GPTQ/AWQ precisions calibrate on {@code calib} first (layer by
     * layer, see {@link SequentialQuantizer}), reporting each layer to {@code listener} (may be null).
     */
    public static Model load(Path dir, Backend backend, Precision precision, Calibration.Options calib,
                             SequentialQuantizer.Listener listener) {
        ModelConfig config = ConfigLoader.load(dir);
        Optional<CheckpointFormat> format = CheckpointFormat.read(dir);
        Optional<Precision> packed = format.map(CheckpointFormat::precision);
        if (packed.isPresent() && precision != null && !precision.equals(packed.get())) {
            throw new IllegalArgumentException(dir + ": holds a packed " + packed.get().name() + " checkpoint; it cannot run at "
                    + precision.name() + " (omit --precision, or quantize the float checkpoint)");
        }
        Checkpoint ckpt = Checkpoint.open(dir);
        Arena arena = Arena.ofShared();
        try {
            PackedRouter router = new PackedRouter(backend);
            Weights w;
            Precision effective = packed.orElse(precision);
            if (packed.isPresent()) {
                w = bindPacked(config, ckpt, format.get(), arena, router);
            } else {
                w = Weights.bind(config, ckpt);
                if (precision != null && precision.requireAvailable().kind() == Precision.Kind.FLOAT) {
                    DType t = precision.floatType();
                    w = w.mapLinear(x -> Cast.to(x, t, arena));
                } else if (precision != null && CalibratedQuantizers.needsCalibration(precision)) {
                    // the float model first, then each Linear layer quantized in order on calibration activations
                    Model plain = new Model(dir, config, ckpt, w, backend, arena, null);
                    Calibration cal = Calibration.load(dir, config.vocabSize(), calib);
                    SequentialQuantizer.Result r = CalibratedQuantizers.run(plain, precision, cal, arena, listener);
                    Map<Tensor, QuantizedWeight> q = r.weights();
                    w = w.replace(r.replaced()).mapLinear(x -> {
                        QuantizedWeight qw = q.get(x);
                        Tensor d = placeholder(qw);
                        router.register(d, qw);
                        return d;
                    });
                } else if (precision != null) {
                    // quantize each decoder Linear layer (phi3's fused tensors slice by slice); its matmuls run
                    // on the packed weight through the router (Backend.matmulPacked); the model keeps only a
                    // zero-byte placeholder per weight for the router to key on
                    w = quantizeLinear(w, precision, arena, router);
                }
            }
            Backend be = effective != null && effective.kind() != Precision.Kind.FLOAT ? router : backend;
            return new Model(dir, config, ckpt, w, be, arena, effective);
        } catch (RuntimeException e) {
            arena.close();
            ckpt.close();
            throw e;
        }
    }

    // every decoder Linear quantized (in parallel: each tensor is independent, results as if sequential),
    // its matmuls routed to the packed weight by a zero-byte placeholder
    private static Weights quantizeLinear(Weights w, Precision precision, Arena arena, PackedRouter router) {
        List<Tensor> linear = new ArrayList<>();
        w.mapLinear(x -> {
            linear.add(x);
            return x;
        });
        QuantizedWeight[] q = new QuantizedWeight[linear.size()];
        Tensor[] d = new Tensor[linear.size()];
        IntStream.range(0, q.length).parallel().forEach(i -> {
            q[i] = Quantizers.quantize(precision, linear.get(i));
            d[i] = placeholder(q[i]);
        });
        Map<Tensor, Integer> index = new IdentityHashMap<>();
        for (int i = 0; i < q.length; i++) {
            index.put(linear.get(i), i);
        }
        return w.mapLinear(x -> {
            int i = index.get(x);
            router.register(d[i], q[i]);
            return d[i];
        });
    }

    /**
     * Binds a packed checkpoint: each decoder Linear weight rebuilt from its parts by the reader the
     * quantization_config chose (CheckpointFormat); a layer the config left unconverted binds as stored.
     */
    private static Weights bindPacked(ModelConfig config, Checkpoint ckpt, CheckpointFormat format, Arena arena,
                                      PackedRouter router) {
        Map<String, long[]> linear = new HashMap<>();
        for (Architecture.TensorSpec spec : Architecture.tensors(config)) {
            if (spec.role() == Architecture.Role.LINEAR) {
                linear.put(spec.name(), spec.shape());
            }
        }
        Map<String, QuantizedWeight> full = new HashMap<>();
        Weights w = Weights.bind(config, name -> {
            long[] shape = linear.get(name);
            if (shape == null) {
                return ckpt.find(name);
            }
            String prefix = name.substring(0, name.length() - ".weight".length());
            Optional<QuantizedWeight> read = format.read(ckpt, prefix, shape);
            if (read.isEmpty()) {
                return ckpt.find(name);
            }
            QuantizedWeight q = read.get();
            full.put(name, q);
            // fused phi3 tensors are sliced by rows below: a weight whose row slices are not exact (bnb blocks
            // across rows) keeps a dequantized copy to slice; every other weight is a zero-byte placeholder
            return Optional.of(PackedRows.rows(q, 0, 0).isEmpty() ? q.dequantize(arena) : placeholder(q));
        }, ckpt.path().toString());
        // fused phi3 tensors are bound as row slices named "name[a:b]" of the dequantized tensor; each gets
        // the same rows of the packed weight where that slice is exact (PackedRows), else stays dense F32
        return w.mapLinear(t -> {
            String n = t.name();
            int bracket = n.lastIndexOf('[');
            QuantizedWeight q = full.get(bracket < 0 ? n : n.substring(0, bracket));
            if (q != null) {
                if (bracket < 0) {
                    router.register(t, q);
                } else {
                    String[] ab = n.substring(bracket + 1, n.length() - 1).split(":");
                    PackedRows.rows(q, Integer.parseInt(ab[0]), Integer.parseInt(ab[1])).ifPresent(s -> router.register(t, s));
                }
            }
            return t;
        });
    }

    /** The zero-byte stand-in the router maps to {@code q} (DType.PACKED: nothing reads its values). */
    static Tensor placeholder(QuantizedWeight q) {
        return new Tensor(q.name(), DType.PACKED, q.shape(), java.lang.foreign.MemorySegment.NULL);
    }

    /** Bytes of weights read per decoded token: {@link Weights#bytesPerToken()} plus the packed weights' bytes. */
    public long weightBytesPerToken() {
        long b = weights.bytesPerToken();
        return backend instanceof PackedRouter pr ? b + pr.packedBytes() : b;
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
