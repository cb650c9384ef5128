package dev.revenant.cli;

import dev.revenant.Settings;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import picocli.CommandLine.Option;

/** {@code --backend} and {@code --threads}, shared by the commands that run a model. */
final class BackendOptions {
    @Option(names = "--backend", defaultValue = "vector", description = "reference | vector (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--threads", description = "worker threads (default: the core count, or REVENANT_THREADS)")
    Integer threads;

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
