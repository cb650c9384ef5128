package dev.revenant.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.cli.SynthCommand;
import dev.revenant.tensor.DType;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SynthCliTest {
    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new SynthCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void writesAFolderAndPrintsOneLine() {
        Path dir = tmp.resolve("m");
        Run r = run("--arch", "gemma", "--preset", "tiny", "--dtype", "f16", "--seed", "9", "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        String line = r.out().strip();
        assertEquals(1, line.lines().count(), line);
        assertTrue(line.contains("arch=gemma") && line.contains("preset=tiny") && line.contains("params=")
                && line.contains("bytes=") && line.contains(dir.toString()), line);
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
        assertEquals(Presets.get("tiny").config(Family.GEMMA, DType.F16), ConfigLoader.load(dir));
    }

    @Test
    void presetFamilyIsTheDefaultArch() {
        Path dir = tmp.resolve("d");
        Run r = run("--preset", "tiny", "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        ModelConfig c = ConfigLoader.load(dir);
        assertEquals(Family.LLAMA, c.family());
        assertEquals("bfloat16", c.torchDtype());
    }

    @Test
    void badNamesFailListingTheValidOnes() {
        Run p = run("--preset", "nope", "--out", tmp.resolve("x").toString());
        assertEquals(2, p.code());
        assertTrue(p.err().contains("unknown preset 'nope'") && p.err().contains("smollm-135m, tinyllama-1.1b"), p.err());
        Run a = run("--arch", "gpt2", "--preset", "tiny", "--out", tmp.resolve("x").toString());
        assertEquals(2, a.code());
        assertTrue(a.err().contains("gpt2") && a.err().contains("llama, mistral, qwen2, qwen3, gemma, phi3, phi"), a.err());
        Run d = run("--dtype", "q4", "--preset", "tiny", "--out", tmp.resolve("x").toString());
        assertEquals(2, d.code());
        assertTrue(d.err().contains("f32, bf16, f16"), d.err());
        assertTrue(Files.notExists(tmp.resolve("x")));
    }
}
