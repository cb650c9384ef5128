package dev.revenant.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.revenant.tokenizer.HfTokenizer;
import dev.revenant.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code revenant tokenize --tokenizer DIR --input STRINGS.json [--json]}: encodes each string with and
 * without special tokens and decodes both, in the format of the tokenizer goldens (fixtures README,
 * "tokenizers/"): {@code ids}, {@code ids_with_special}, {@code decoded} (decode of ids, specials kept, no
 * clean-up) and {@code decoded_skip_special} (decode of ids_with_special, specials skipped, no clean-up).
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Encode and decode strings with a Hugging Face tokenizer folder.",
            "Per string: ids (no special tokens), ids_with_special, decoded (of ids,",
            "special tokens kept) and decoded_skip_special (of ids_with_special, special",
            "tokens skipped). Decoding does no space clean-up, as in the tokenizer goldens."})
public final class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--tokenizer", required = true, paramLabel = "DIR",
            description = "folder with tokenizer.json (and optionally tokenizer_config.json, special_tokens_map.json)")
    Path tokenizer;

    @Option(names = "--input", required = true, paramLabel = "STRINGS.json", description = "a JSON array of strings")
    Path input;

    @Option(names = "--json", description = "print a pretty-printed JSON array instead of a table")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        List<String> texts = readStrings(input);
        List<Map<String, Object>> rows = new ArrayList<>();
        try (Tokenizer tok = HfTokenizer.load(tokenizer)) {
            for (String text : texts) {
                int[] ids = tok.encode(text, false);
                int[] withSpecial = tok.encode(text, true);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("text", text);
                row.put("ids", ids);
                row.put("ids_with_special", withSpecial);
                row.put("decoded", tok.decode(ids, false, false));
                row.put("decoded_skip_special", tok.decode(withSpecial, true, false));
                rows.add(row);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper mapper = new ObjectMapper();
        if (json) {
            out.println(mapper.enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rows));
        } else {
            printTable(out, rows, mapper);
        }
        out.flush();
        return 0;
    }

    /** One line per string: index, id counts, whether decoding gives the text back, the text, the ids. */
    private static void printTable(PrintWriter out, List<Map<String, Object>> rows, ObjectMapper mapper) throws IOException {
        out.printf("%4s %6s %6s %-9s %-32s %s%n", "#", "ids", "+spec", "roundtrip", "text", "ids_with_special");
        for (int i = 0; i < rows.size(); i++) {
            Map<String, Object> r = rows.get(i);
            int[] ids = (int[]) r.get("ids");
            int[] ws = (int[]) r.get("ids_with_special");
            String round = r.get("decoded").equals(r.get("text")) ? "same" : "differs";
            String text = clip(mapper.writeValueAsString(r.get("text")), 32);
            String shown = Arrays.stream(ws).limit(24).mapToObj(Integer::toString).collect(Collectors.joining(" "))
                    + (ws.length > 24 ? " ... (" + (ws.length - 24) + " more)" : "");
            out.printf("%4d %6d %6d %-9s %-32s %s%n", i, ids.length, ws.length, round, text, shown);
        }
        out.printf("%d string(s); --json prints the ids and both decodes in full%n", rows.size());
    }

    private static String clip(String s, int width) {
        return s.codePointCount(0, s.length()) <= width ? s
                : s.substring(0, s.offsetByCodePoints(0, width - 3)) + "...";
    }

    /** Reads a JSON array of strings; errors name the file, and the element's index, line and column. */
    static List<String> readStrings(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": no such file (expected a JSON array of strings)");
        }
        List<String> out = new ArrayList<>();
        try (JsonParser p = new ObjectMapper().getFactory().createParser(file.toFile())) {
            JsonToken t = p.nextToken();
            if (t != JsonToken.START_ARRAY) {
                throw new IllegalArgumentException(file + ": expected a JSON array of strings, found "
                        + (t == null ? "an empty file" : describe(t)) + at(p.currentTokenLocation()));
            }
            for (t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                if (t != JsonToken.VALUE_STRING) {
                    throw new IllegalArgumentException(file + ": element " + out.size() + at(p.currentTokenLocation())
                            + " is " + describe(t) + ", expected a string");
                }
                out.add(p.getText());
            }
            if (p.nextToken() != null) {
                throw new IllegalArgumentException(file + ": unexpected content after the array" + at(p.currentTokenLocation()));
            }
        } catch (JacksonException e) {
            throw new IllegalArgumentException(file + ": not valid JSON (element " + out.size() + ")" + at(e.getLocation())
                    + ": " + e.getOriginalMessage().lines().findFirst().orElse("")
                    .replaceAll("\\[Source: .*?; (line: \\d+, column: \\d+)]", "$1"), e);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e, e);
        }
        return out;
    }

    private static String at(JsonLocation loc) {
        return loc == null || loc.getLineNr() < 0 ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }

    private static String describe(JsonToken t) {
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            case VALUE_STRING -> "a string";
            default -> t.toString();
        };
    }
}
