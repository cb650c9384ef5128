package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.cli.Main;
import dev.revenant.engine.Forward;
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code revenant quantize} writes a packed checkpoint whose logits equal quantizing in process, bit for bit. */
class PackedCheckpointTest {
    static final int[] IDS = {5, 17, 300, 42, 7, 99, 3, 250};

    static float[] logits(Model m) {
        return new Forward(m).run(List.of(m.newCache(IDS.length)), List.of(IDS), true)[0];
    }

    @Test
    void everyPackedPrecisionRoundTripsThroughDisk(@TempDir Path tmp) {
        for (String arch : new String[] {"llama", "phi3", "qwen2"}) {
            for (String p : new String[] {"int8", "fp4", "nf4", "q8_0", "q4_0", "rtn-w4-g128", "rtn-w8-sym", "rtn-w3-g64"}) {
                Path out = tmp.resolve(arch + "-" + p);
                int code = Main.run("quantize", "--model", Fixtures.model(arch).toString(), "--precision", p, "--out", out.toString());
                assertEquals(0, code, arch + " " + p);
                assertEquals(Precision.parse(p), QuantConfig.read(out).orElseThrow());
                try (Backend be = Backends.create("vector", 2);
                     Model inProcess = Model.load(Fixtures.model(arch), be, Precision.parse(p));
                     Model fromDisk = Model.load(out, be)) {
                    assertEquals(p, fromDisk.precision().name());
                    assertArrayEquals(logits(inProcess), logits(fromDisk), arch + " " + p + ": packed checkpoint vs in-process");
                }
            }
        }
    }

    @Test
    void packedFilesAreSmallerAndMisuseIsRefused(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("q4");
        assertEquals(0, Main.run("quantize", "--model", Fixtures.model("llama").toString(), "--precision", "q4_0", "--out", out.toString()));
        long before = Files.size(Fixtures.model("llama").resolve("model.safetensors"));
        long after = Files.size(out.resolve("model.safetensors"));
        assertTrue(after < before, "q4_0 file " + after + " vs fp32 " + before);
        try (Backend be = Backends.create("vector", 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Model.load(out, be, Precision.parse("int8")));
            assertTrue(e.getMessage().contains("packed q4_0"), e.getMessage());
        }
        assertNotEquals(0, Main.run("quantize", "--model", out.toString(), "--precision", "q4_0", "--out", tmp.resolve("x").toString()));
        Files.writeString(out.resolve("config.json"), Files.readString(out.resolve("config.json")).replace("\"revenant\"", "\"hqq\""));
        try (Backend be = Backends.create("vector", 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Model.load(out, be));
            assertTrue(e.getMessage().contains("quant_method 'hqq'"), e.getMessage());
        }
    }
}
