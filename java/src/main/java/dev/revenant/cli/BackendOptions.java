package dev.revenant.cli;

import dev.revenant.Settings;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.quant.Precision;
import picocli.CommandLine.Option;

/** {@code --backend} and {@code --threads}, shared by the commands that run a model. */
final class BackendOptions {
    @Option(names = "--backend", defaultValue = "auto", description = "reference | vector | native | auto (default: "
            + "${DEFAULT-VALUE} = native when its library loaded, else vector)")
    String backend;

    @Option(names = "--threads", description = "worker threads (default: the core count, or REVENANT_THREADS)")
    Integer threads;

    @Option(names = "--precision", description = "the decoder Linear layers at: fp32 | bf16 | fp16 | int8 | fp4 | nf4 | "
            + "q8_0 | q4_0 | rtn-wB[-gG][-sym] (default: as stored)")
    String precision;

    /** The parsed precision, or null for "as stored". */
    Precision precision() {
        return precision == null ? null : Precision.parse(precision).requireAvailable();
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
