package dev.revenant.eval;

import java.io.IOException;

/**
 * A data or log file that does not have the expected shape. The message names the file (as the
 * caller displays it, e.g. {@code verbmem/forget.json}), the item index (0-based, as in Python)
 * with its line when known, and what was expected:
 * {@code verbmem/forget.json: item 3 (line 14): missing string field 'gt'}.
 */
public final class MalformedDataException extends IOException {
    private static final long serialVersionUID = 1L;

    public MalformedDataException(String message) {
        super(message);
    }

    public MalformedDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
