package dev.revenant.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.quant.Precision;
import dev.revenant.quant.QuantConfig;
import dev.revenant.sweep.QuantCache;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GPTQ and AWQ through whole fixture models: calibrated on random token windows (the fixtures ship no
 * tokenizer), judged by the mean squared error of the logits against the full-precision model on other
 * random windows. Both must beat RTN at the same bits and group size, as they do on the authors' layer
 * fixture; and a written checkpoint must give the in-memory model's logits bit for bit.
 */
class CalibratedModelTest {
    static final Calibration.Options CALIB = new Calibration.Options(null, 16, 48, 0);

    static List<int[]> heldOut(int vocab) {
        Random r = new Random(12345);
        List<int[]> out = new ArrayList<>();
        for (int s = 0; s < 6; s++) {
            int[] t = new int[40];
            for (int i = 0; i < t.length; i++) {
                t[i] = 3 + r.nextInt(vocab - 3);
            }
            out.add(t);
        }
        return out;
    }

    static float[][] logits(Model m, List<int[]> seqs) {
        float[][] out = new float[seqs.size()][];
        for (int i = 0; i < seqs.size(); i++) {
            out[i] = new Forward(m).run(List.of(m.newCache(seqs.get(i).length)), List.of(seqs.get(i)), true)[0];
        }
        return out;
    }

    static double mse(float[][] a, float[][] b) {
        double s = 0;
        long n = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[i].length; j++) {
                double d = (double) a[i][j] - b[i][j];
                s += d * d;
                n++;
            }
        }
        return s / n;
    }

    static double error(Backend be, Path dir, String precision, float[][] ref, List<int[]> seqs) {
        try (Model m = Model.load(dir, be, precision == null ? null : Precision.parse(precision), CALIB, null)) {
            return mse(logits(m, seqs), ref);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "gemma", "phi3", "phi"})
    void gptqAndAwqBeatRtn(String arch) {
        Path dir = Fixtures.model(arch);
        try (Backend be = Backends.create("auto-cpu", 2)) {
            float[][] ref;
            List<int[]> seqs;
            try (Model f = Model.load(dir, be)) {
                seqs = heldOut(f.config().vocabSize());
                ref = logits(f, seqs);
            }
            double rtn4 = error(be, dir, "rtn-w4-g128", ref, seqs);
            double gptq4 = error(be, dir, "gptq-w4-g128", ref, seqs);
            double gptq4act = error(be, dir, "gptq-w4-g128-act", ref, seqs);
            double awq4 = error(be, dir, "awq-w4-g128", ref, seqs);
            double rtn3 = error(be, dir, "rtn-w3-g128", ref, seqs);
            double gptq3 = error(be, dir, "gptq-w3-g128", ref, seqs);
            System.out.printf("calibrated %s logits MSE: rtn-w4-g128 %.3g gptq-w4-g128 %.3g gptq-w4-g128-act %.3g awq-w4-g128 %.3g "
                    + "rtn-w3-g128 %.3g gptq-w3-g128 %.3g%n", arch, rtn4, gptq4, gptq4act, awq4, rtn3, gptq3);
            assertTrue(gptq4 < rtn4, arch + ": gptq-w4-g128 " + gptq4 + " vs rtn " + rtn4);
            assertTrue(gptq4act < rtn4, arch + ": gptq-w4-g128-act " + gptq4act + " vs rtn " + rtn4);
            assertTrue(gptq3 < rtn3, arch + ": gptq-w3-g128 " + gptq3 + " vs rtn " + rtn3);
            assertTrue(awq4 < rtn4, arch + ": awq-w4-g128 " + awq4 + " vs rtn " + rtn4);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gptq-w4-g128-act", "awq-w4-g128", "gptq-w8"})
    void writtenCheckpointsGiveTheInMemoryLogits(String precision, @TempDir Path tmp) throws Exception {
        for (String arch : new String[] {"llama", "phi3"}) {
            Path dir = Fixtures.model(arch);
            Precision p = Precision.parse(precision);
            Path out = tmp.resolve(arch);
            QuantCache.writePacked(dir, p, out, CALIB, null);
            assertEquals(p, QuantConfig.read(out).orElseThrow());
            try (Backend be = Backends.create("auto-cpu", 2); Model mem = Model.load(dir, be, p, CALIB, null);
                 Model disk = Model.load(out, be)) {
                List<int[]> seqs = heldOut(mem.config().vocabSize()).subList(0, 2);
                float[][] a = logits(mem, seqs);
                float[][] b = logits(disk, seqs);
                for (int i = 0; i < a.length; i++) {
                    assertArrayEquals(a[i], b[i], 0f, arch + " " + precision + ": sequence " + i);
                }
            }
        }
    }
}
