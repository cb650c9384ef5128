package dev.revenant.sweep;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.revenant.engine.CalibratedQuantizers;
import dev.revenant.engine.Calibration;
import dev.revenant.model.Architecture;
import dev.revenant.model.ConfigLoader;
import dev.revenant.model.ModelConfig;
import dev.revenant.quant.PackedIo;
import dev.revenant.quant.Precision;
import dev.revenant.quant.QuantConfig;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.Quantizers;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.safetensors.SafetensorsWriter;
import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The sweep's on-disk cache of quantized weights: {@code OUT/cache/<contentHash>-<precision>/} holds a packed
 * checkpoint (the layout {@code revenant quantize} writes) of a float model, so a packed cell loads it with
 * precision null instead of quantizing again on every run. {@code contentHash} is the SHA-256 over config.json's
 * bytes followed by every {@code *.safetensors} file's bytes (sorted by name), so a cache entry is never reused for
 * different weights. GPTQ/AWQ entries ({@code <contentHash>-<precision>-c<calibration key>}) also name the
 * calibration ({@link Calibration.Options#key()}: sample count, length, seed, text content), so weights calibrated
 * on other samples are never reused either. An entry is written into a temp folder and renamed atomically; a leftover temp is ignored.
 */
public final class QuantCache {
    private static final String[] COPIED = {"generation_config.json", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json"};

    private QuantCache() {
    }

    /** SHA-256 (hex) over config.json's bytes, then each {@code *.safetensors} file's bytes in name order, streamed. */
    public static String contentHash(Path dir) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
        List<Path> files = new ArrayList<>();
        files.add(dir.resolve("config.json"));
        try (Stream<Path> s = Files.list(dir)) {
            files.addAll(s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList());
        }
        byte[] buf = new byte[1 << 20];
        for (Path f : files) {
            try (InputStream in = Files.newInputStream(f)) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                }
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The cache folder name of a model with {@code contentHash} at {@code p} (GPTQ/AWQ: calibrated with {@code calib}). */
    public static String entryName(String contentHash, Precision p, Calibration.Options calib) {
        return contentHash + "-" + p.name() + (CalibratedQuantizers.needsCalibration(p) ? "-c" + calib.key() : "");
    }

    /**
     * The cache folder of {@code model} at {@code p} under {@code cacheRoot}, writing it first when absent (GPTQ/AWQ
     * calibrated with {@code calib}). Returns whether it was written now in {@code written[0]} when that array is given.
     */
    public static Path ensure(Path model, String contentHash, Precision p, Calibration.Options calib, Path cacheRoot,
                              boolean[] written) throws IOException {
        Path dir = cacheRoot.resolve(entryName(contentHash, p, calib));
        if (Files.isRegularFile(dir.resolve("config.json"))) {
            if (written != null) {
                written[0] = false;
            }
            return dir;
        }
        Files.createDirectories(cacheRoot);
        Path tmp = cacheRoot.resolve(".tmp-" + ProcessHandle.current().pid() + "-" + dir.getFileName());
        Sweep.deleteTree(tmp);
        writePacked(model, p, tmp, calib, null);
        if (Files.isRegularFile(dir.resolve("config.json"))) { // another process (a Spark executor) finished it first
            Sweep.deleteTree(tmp);
            if (written != null) {
                written[0] = false;
            }
            return dir;
        }
        Sweep.deleteTree(dir); // a folder without config.json is incomplete
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, dir);
        }
        if (written != null) {
            written[0] = true;
        }
        return dir;
    }

    /** Deletes {@code .tmp-*} folders a crashed run left in {@code cacheRoot}. */
    static void deleteStaleTemps(Path cacheRoot) throws IOException {
        if (!Files.isDirectory(cacheRoot)) {
            return;
        }
        List<Path> stale;
        try (Stream<Path> s = Files.list(cacheRoot)) {
            stale = s.filter(q -> q.getFileName().toString().startsWith(".tmp-")).toList();
        }
        for (Path q : stale) {
            Sweep.deleteTree(q);
        }
    }

    /**
     * Writes a packed checkpoint of the float checkpoint {@code model} at the packed precision {@code p} into
     * {@code out}, as {@code revenant quantize} does: decoder-block Linear weights quantized and packed
     * ({@link PackedIo}), every other tensor as stored, config.json with {@code quantization_config}, tokenizer
     * files copied. Returns the number of quantized layers.
     */
    public static int writePacked(Path model, Precision p, Path out) throws IOException {
        return writePacked(model, p, out, Calibration.Options.DEFAULT, null);
    }

    /**
     * As {@link #writePacked(Path, Precision, Path)}; GPTQ/AWQ precisions first run the calibration on {@code calib}
     * (CPU backend), reporting each layer to {@code listener} (may be null).
     */
    public static int writePacked(Path model, Precision p, Path out, Calibration.Options calib,
                                  dev.revenant.engine.SequentialQuantizer.Listener listener) throws IOException {
        if (p.kind() == Precision.Kind.FLOAT) {
            throw new IllegalArgumentException(p.name() + " is a float cast; nothing to pack");
        }
        if (QuantConfig.read(model).isPresent()) {
            throw new IllegalArgumentException(model + ": already a packed checkpoint; quantize the float checkpoint");
        }
        ModelConfig c = ConfigLoader.load(model);
        Set<String> linear = new HashSet<>();
        for (Architecture.TensorSpec s : Architecture.tensors(c)) {
            if (s.role() == Architecture.Role.LINEAR) {
                linear.add(s.name());
            }
        }
        var cal = CalibratedQuantizers.needsCalibration(p) ? CalibratedQuantizers.calibrate(model, p, calib, listener) : null;
        Map<String, QuantizedWeight> calibrated = cal == null ? null : cal.linear();
        int quantized = 0;
        Files.createDirectories(out);
        try (Checkpoint ck = Checkpoint.open(model)) {
            List<Tensor> tensors = new ArrayList<>();
            for (String n : ck.names()) {
                Tensor t = ck.tensor(n);
                if (linear.contains(n)) {
                    QuantizedWeight q = calibrated != null ? calibrated.get(n) : Quantizers.quantize(p, t);
                    if (q == null) {
                        throw new IllegalStateException(n + ": the calibration did not quantize it");
                    }
                    tensors.addAll(PackedIo.tensors(q, n.substring(0, n.length() - ".weight".length())));
                    quantized++;
                } else {
                    tensors.add(cal != null && cal.replaced().containsKey(n) ? cal.replaced().get(n) : t);
                }
            }
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put("revenant.precision", p.name());
            SafetensorsWriter.write(out.resolve("model.safetensors"), tensors, meta);
        }
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode cfg = (ObjectNode) json.readTree(Files.readString(model.resolve("config.json")));
        cfg.set("quantization_config", QuantConfig.json(p));
        Files.writeString(out.resolve("config.json"), json.writeValueAsString(cfg));
        for (String f : COPIED) {
            if (Files.exists(model.resolve(f))) {
                Files.copy(model.resolve(f), out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return quantized;
    }
}
