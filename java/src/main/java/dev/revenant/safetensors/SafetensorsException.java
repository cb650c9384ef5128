package dev.revenant.safetensors;

/**
 * A safetensors file, index or checkpoint that is malformed, missing or unreadable. Messages
 * always start with the file (or checkpoint) path and say what was expected and what was found,
 * so that a user can fix the checkpoint without a debugger.
 */
public class SafetensorsException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SafetensorsException(String message) {
        super(message);
    }

    public SafetensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
