package dev.revenant.cli;

import dev.revenant.Settings;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.quant.Precision;
import picocli.CommandLine.Option;

/** {@code --backend} and {@code --threads}, shared by the commands that run a model. */
final class BackendOptions {
    @Option(names = "--backend", defaultValue = "auto", description = "reference | vector | native | cuda | auto (default: "
            + "${DEFAULT-VALUE} = cuda when a GPU is present, else native when its library loaded, else vector)")
    String backend;

    @Option(names = "--threads", description = "worker threads (default: the core count, or REVENANT_THREADS)")
    Integer threads;

    @Option(names = "--precision", description = "the decoder Linear layers at: fp32 | bf16 | fp16 | int8 | fp4 | nf4 | "
            + "q8_0 | q4_0 | rtn-wB[-gG][-sym] | gptq-wB[-gG][-sym][-act][-static] | awq-wB-gG (default: as stored; GPTQ/AWQ "
            + "calibrate first, see --calib)")
    String precision;

    @picocli.CommandLine.Mixin
    CalibOptions calib = new CalibOptions();

    @Option(names = "--check-parity", paramLabel = "N", description = "run the first N tokens also on the CPU and compare "
            + "every layer; fail past the tolerance (1e-4 relative; 5e-2 with tensor-core math)")
    Integer checkParity;

    /** With {@code --check-parity N}: compares the first N of {@code ids} on this model and on a CPU backend. */
    void checkParity(dev.revenant.engine.Model m, int[] ids) {
        if (checkParity == null) {
            return;
        }
        if (checkParity < 1) {
            throw new IllegalArgumentException("--check-parity: expected a positive number of tokens, found " + checkParity);
        }
        dev.revenant.kernel.Backend b = m.backend() instanceof dev.revenant.kernel.PackedRouter pr ? pr.delegate() : m.backend();
        boolean tensor = b instanceof dev.revenant.kernel.cuda.CudaBackend cb && cb.tensorCores();
        int[] first = java.util.Arrays.copyOf(ids, Math.min(ids.length, checkParity));
        dev.revenant.engine.ParityCheck.run(m, first, threadCount(), tensor, System.err);
    }

    /** The parsed precision, or null for "as stored". */
    Precision precision() {
        return precision == null ? null : Precision.parse(precision).requireAvailable();
    }

    /** The calibration settings for GPTQ/AWQ precisions. */
    dev.revenant.engine.Calibration.Options calibration() {
        return calib.options();
    }

    /** Loads {@code dir} on {@code be} at the chosen precision (GPTQ/AWQ: calibrating first, one line per layer on stderr). */
    dev.revenant.engine.Model load(java.nio.file.Path dir, Backend be) {
        Precision p = precision();
        return dev.revenant.engine.Model.load(dir, be, p, calibration(), CalibrationLog.to(System.err, p));
    }

    int threadCount() {
        return threads != null ? threads : Settings.defaultThreads();
    }

    /** Creates the backend and logs the choice in one line on stderr. */
    Backend create() {
        Backend b = Backends.create(backend, threadCount());
        System.err.println(Backends.describe(b));
        return b;
    }
}
