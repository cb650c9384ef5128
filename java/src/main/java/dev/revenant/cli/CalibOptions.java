package dev.revenant.cli;

import dev.revenant.engine.Calibration;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --calib*}: the calibration data of GPTQ/AWQ, for commands without {@link BackendOptions}. */
final class CalibOptions {
    @Option(names = "--calib", paramLabel = "FILE", description = "GPTQ/AWQ calibration text: plain text, a JSON array "
            + "of strings (or of {\"text\": ...}), or JSON lines (default: the text shipped in the jar)")
    Path calib;

    @Option(names = "--calib-samples", paramLabel = "N", defaultValue = "128",
            description = "calibration windows (default: ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--calib-seqlen", paramLabel = "L", defaultValue = "512",
            description = "tokens per calibration window (default: ${DEFAULT-VALUE})")
    int seqlen;

    @Option(names = "--calib-seed", defaultValue = "0", description = "seed of the window offsets (default: ${DEFAULT-VALUE})")
    long seed;

    Calibration.Options options() {
        return new Calibration.Options(calib, samples, seqlen, seed);
    }
}
