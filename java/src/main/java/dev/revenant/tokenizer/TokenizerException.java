package dev.revenant.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import java.nio.file.Path;

/** A tokenizer folder or file that cannot be used; the message names the file and what is wrong. */
public final class TokenizerException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }

    /** {@code file: not valid JSON at line L, column C: reason}. */
    static TokenizerException badJson(Path file, JacksonException e) {
        JsonLocation loc = e.getLocation();
        String where = loc == null || loc.getLineNr() < 0 ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
        String reason = e.getOriginalMessage();
        if (reason != null) {
            reason = reason.lines().findFirst().orElse(reason).replaceAll("\\[Source: .*?; (line: \\d+, column: \\d+)]", "$1");
        }
        return new TokenizerException(file + ": not valid JSON" + where + ": " + reason, e);
    }
}
