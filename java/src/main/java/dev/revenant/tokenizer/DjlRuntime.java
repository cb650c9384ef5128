package dev.revenant.tokenizer;

import ai.djl.engine.EngineException;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

/**
 * Creates DJL tokenizers offline. What DJL 0.38 does unless told otherwise (read from its bytecode):
 * <ul>
 *   <li>every {@code HuggingFaceTokenizer.newInstance} calls {@code Ec2Utils.callHome}, which queries the EC2
 *       metadata endpoint and a telemetry URL unless offline mode ({@code DJL_OFFLINE} / {@code ai.djl.offline})
 *       or {@code OPT_OUT_TRACKING} is set;</li>
 *   <li>the native library is extracted from the jar ({@code native/lib/linux-x86_64/cpu/libtokenizers.so},
 *       Rust tokenizers 0.21.0) to {@code $ENGINE_CACHE_DIR} or {@code $DJL_CACHE_DIR} or {@code ~/.djl.ai}
 *       ({@code java.io.tmpdir/.djl.ai} if home is not writable), under
 *       {@code tokenizers/0.21.0-0.38.0-cpu-linux-x86_64/}; but when a CUDA device is detected the "flavor"
 *       becomes {@code cuNNN} and DJL downloads a CUDA build from publish.djl.ai instead, which fails offline.
 *       Offline mode or {@code RUST_FLAVOR=cpu} keeps the bundled CPU build. {@code RUST_LIBRARY_PATH} points DJL
 *       at a library of one's own.</li>
 * </ul>
 * Each of these is read by DJL from the environment first, then from system properties; we only set the
 * system properties the user has not set, so an explicit environment variable or {@code -D} still wins.
 */
final class DjlRuntime {
    private DjlRuntime() {
    }

    private static final Map<String, String> DEFAULTS = Map.of(
            "ai.djl.offline", "true",
            "OPT_OUT_TRACKING", "true",
            "RUST_FLAVOR", "cpu");

    /** DJL options: we add special tokens ourselves (or ask per call), and never truncate or pad. */
    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "false",
            "truncation", "false",
            "padding", "false",
            "withOverflowingTokens", "false");

    static HuggingFaceTokenizer create(Path file, byte[] json) {
        Properties props = System.getProperties();
        DEFAULTS.forEach(props::putIfAbsent);
        try {
            return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), OPTIONS);
        } catch (EngineException e) {
            throw new IllegalStateException("cannot load the native tokenizers library (DJL " + djlVersion() + "): "
                    + e.getMessage() + (e.getCause() == null ? "" : " (" + e.getCause() + ")")
                    + "; set RUST_LIBRARY_PATH to a libtokenizers build, or DJL_CACHE_DIR to a writable folder", e);
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException(file + ": the tokenizers library cannot load it: " + e.getMessage(), e);
        }
    }

    private static String djlVersion() {
        String v = HuggingFaceTokenizer.class.getPackage().getImplementationVersion();
        return v == null ? "0.38" : v;
    }
}
