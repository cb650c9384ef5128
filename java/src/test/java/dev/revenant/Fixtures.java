package dev.revenant;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates {@code ../shared/fixtures}; missing fixtures fail under CI and skip (with the reason) elsewhere. */
public final class Fixtures {
    private Fixtures() {
    }

    public static Path dir() {
        Path d = Settings.fixturesDir();
        if (!Files.isDirectory(d.resolve("models"))) {
            String msg = "golden fixtures not found at " + d + " (set -Drevenant.fixtures or REVENANT_FIXTURES)";
            if (Settings.inCi()) {
                fail(msg + "; CI=true, so this is a failure");
            }
            assumeTrue(false, msg);
        }
        return d;
    }

    public static Path model(String name) {
        return dir().resolve("models").resolve(name);
    }
}
