// Load and hash costs behind bench/RESULTS.md "Distributed sweeps on Spark" (a single-file program):
//   java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp java/target/revenant-*-cli.jar \
//     bench/spark/LoadTime.java MODEL_DIR CACHE_DIR
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.quant.Precision;
import dev.revenant.sweep.QuantCache;
import java.nio.file.Path;

public class LoadTime {
    public static void main(String[] a) throws Exception {
        Path m = Path.of(a[0]);
        Path cache = Path.of(a[1]);
        String h = QuantCache.contentHash(m);
        try (Backend be = Backends.create("vector", 1)) {
            for (String pn : new String[] {"bf16", "nf4", "rtn-w4-g128", "int8"}) {
                Precision p = Precision.parse(pn);
                Path dir = p.kind() == Precision.Kind.FLOAT ? m : QuantCache.ensure(m, h, p, cache, null);
                for (int r = 0; r < 2; r++) {
                    long t0 = System.nanoTime();
                    try (Model x = Model.load(dir, be, p.kind() == Precision.Kind.FLOAT ? p : null)) {
                        System.out.printf("%s load %.2f s%n", pn, (System.nanoTime() - t0) / 1e9);
                    }
                }
            }
        }
        long t0 = System.nanoTime();
        QuantCache.contentHash(m);
        System.out.printf("contentHash %.2f s%n", (System.nanoTime() - t0) / 1e9);
    }
}
