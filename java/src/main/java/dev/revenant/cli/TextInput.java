package dev.revenant.cli;

import dev.revenant.tokenizer.HfTokenizer;
import dev.revenant.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --ids} or {@code --prompt} (+ {@code --tokenizer}): the input of commands that run a model. */
final class TextInput {
    @Option(names = "--ids", description = "comma-separated input token ids")
    String ids;

    @Option(names = "--prompt", description = "input text, tokenized with the model's tokenizer (BOS/EOS as its config says)")
    String prompt;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "folder with tokenizer.json (default: the model folder)")
    Path tokenizerDir;

    /** The tokenizer when text is involved (a prompt was given, or the model folder has one); else null. */
    Tokenizer tokenizer(Path model) {
        Path dir = tokenizerDir != null ? tokenizerDir : model;
        if (prompt == null && (tokenizerDir == null && !Files.exists(dir.resolve("tokenizer.json")))) {
            return null;
        }
        return HfTokenizer.load(dir);
    }

    int[] tokens(Tokenizer tok) {
        if ((ids == null) == (prompt == null)) {
            throw new IllegalArgumentException("give exactly one of --ids and --prompt");
        }
        if (ids != null) {
            return Ids.parse(ids);
        }
        int[] t = tok.encode(prompt, true);
        if (t.length == 0) {
            throw new IllegalArgumentException("--prompt: the text encodes to no tokens");
        }
        return t;
    }
}
