package dev.revenant.eval;

import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.revenant.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The MUSE run folders under {@code fixtures/muse-logs/<run>/<metric>/}. */
final class MuseLogs {
    static final List<String> ROUGE_METRICS = List.of("verbmem_f", "knowmem_f", "knowmem_r");

    private MuseLogs() {
    }

    static Path root() {
        return Fixtures.dir().resolve("muse-logs");
    }

    /** Every run folder (ga_klr, npo_gdr, ...), sorted. */
    static List<Path> runs() throws IOException {
        try (Stream<Path> s = Files.list(root())) {
            List<Path> runs = s.filter(Files::isDirectory).sorted().toList();
            assertFalse(runs.isEmpty(), "no runs under " + root());
            return runs;
        }
    }

    /** Every existing {@code <run>/<metric>} folder of a ROUGE metric. */
    static List<Path> rougeDirs() throws IOException {
        return runs().stream().flatMap(r -> ROUGE_METRICS.stream().map(r::resolve)).filter(Files::isDirectory).toList();
    }

    static String name(Path metricDir) {
        return metricDir.getParent().getFileName() + "/" + metricDir.getFileName();
    }
}
