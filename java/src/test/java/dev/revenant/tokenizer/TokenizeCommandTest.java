package dev.revenant.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.cli.TokenizeCommand;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code revenant tokenize} on golden texts, compared with golden.json. */
class TokenizeCommandTest {

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new TokenizeCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println(ex.getMessage());
            return 1;
        });
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** Golden cases 0 (plain), 11 (accents), 18 (emoji), 23 ("<s> ... </s>"), 27 (empty). */
    private static final int[] PICKED = {0, 11, 18, 23, 27};

    @Test
    void jsonOutputEqualsTheGoldens(@TempDir Path tmp) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        for (String name : List.of("llama2", "qwen3")) {
            List<TokenizerFixtures.Case> cases = TokenizerFixtures.cases(name);
            Path input = tmp.resolve(name + "-strings.json");
            Files.writeString(input, mapper.writeValueAsString(
                    java.util.Arrays.stream(PICKED).mapToObj(i -> cases.get(i).text()).toList()));
            Run r = run("--tokenizer", TokenizerFixtures.dir(name).toString(), "--input", input.toString(), "--json");
            assertEquals(0, r.code(), r.err());
            JsonNode got = mapper.readTree(r.out());
            assertEquals(PICKED.length, got.size());
            for (int k = 0; k < PICKED.length; k++) {
                TokenizerFixtures.Case c = cases.get(PICKED[k]);
                JsonNode g = got.get(k);
                assertEquals(c.text(), g.get("text").textValue(), c.label());
                assertArrayEquals(c.ids(), TokenizerFixtures.ints(g.get("ids")), c.label());
                assertArrayEquals(c.idsWithSpecial(), TokenizerFixtures.ints(g.get("ids_with_special")), c.label());
                assertEquals(c.decoded(), g.get("decoded").textValue(), c.label());
                assertEquals(c.decodedSkipSpecial(), g.get("decoded_skip_special").textValue(), c.label());
            }
        }
    }

    @Test
    void tableOutputHasOneLinePerString(@TempDir Path tmp) throws IOException {
        Path input = Files.writeString(tmp.resolve("s.json"), "[\"Hello world\", \"<s> literal tag </s>\", \"\"]");
        Run r = run("--tokenizer", TokenizerFixtures.dir("llama2").toString(), "--input", input.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(5, lines.size(), r.out());
        assertTrue(lines.get(1).contains("\"Hello world\"") && lines.get(1).contains("1 22557 1526"), lines.get(1));
        assertTrue(lines.get(2).contains("differs"), "decode of '<s> literal tag </s>' adds HF's legacy space: " + lines.get(2));
        assertTrue(lines.get(4).startsWith("3 string(s)"), lines.get(4));
    }

    @Test
    void badInputNamesTheFileAndTheElement(@TempDir Path tmp) throws IOException {
        String tok = TokenizerFixtures.dir("llama2").toString();
        Path notStrings = Files.writeString(tmp.resolve("bad.json"), "[\"a\",\n \"b\",\n 3]");
        Run r = run("--tokenizer", tok, "--input", notStrings.toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("bad.json") && r.err().contains("element 2") && r.err().contains("line 3"), r.err());

        Path broken = Files.writeString(tmp.resolve("broken.json"), "[\"a\", \"b\"");
        r = run("--tokenizer", tok, "--input", broken.toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("broken.json") && r.err().contains("not valid JSON"), r.err());

        Path object = Files.writeString(tmp.resolve("obj.json"), "{\"text\": \"a\"}");
        r = run("--tokenizer", tok, "--input", object.toString());
        assertTrue(r.err().contains("obj.json") && r.err().contains("expected a JSON array of strings"), r.err());
    }

    @Test
    void missingTokenizerFolderIsReported(@TempDir Path tmp) throws IOException {
        Path input = Files.writeString(tmp.resolve("s.json"), "[\"a\"]");
        Run r = run("--tokenizer", tmp.resolve("nope").toString(), "--input", input.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("nope") && r.err().contains("does not exist"), r.err());
    }
}
