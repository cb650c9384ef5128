package dev.revenant.eval;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Streaming reader for the JSON arrays of MUSE's data and log files, keeping each item's line so
 * that errors point into the file. Python's {@code json.dump} writes NaN/Infinity for non-finite
 * floats (a Min-K% of a very short text is NaN), so those literals are accepted.
 */
final class JsonItems {
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    /** Turns one array item into a value, or throws {@link Bad} with what was expected. */
    @FunctionalInterface
    interface ItemReader<T> {
        T read(int index, JsonNode item) throws Bad;
    }

    /** What an item lacked; {@link JsonItems} adds the file, the index and the line. */
    static final class Bad extends Exception {
        private static final long serialVersionUID = 1L;

        Bad(String message) {
            super(message, null, false, false);
        }
    }

    private JsonItems() {
    }

    /** Opens {@code file}; a missing file or invalid JSON becomes a message naming {@code display}. */
    static JsonParser open(Path file, String display) throws IOException {
        JsonFactory f = MAPPER.getFactory();
        try {
            JsonParser p = f.createParser(file.toFile());
            p.nextToken();
            return p;
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new MalformedDataException(display + ": file not found (" + file.toAbsolutePath() + ")", e);
        } catch (JsonProcessingException e) {
            throw invalid(display, e);
        }
    }

    /** Reads the whole file as one array of items. */
    static <T> List<T> readArrayFile(Path file, String display, ItemReader<T> reader) throws IOException {
        try (JsonParser p = open(file, display)) {
            List<T> out = readArray(p, display, reader);
            if (p.nextToken() != null) {
                throw new MalformedDataException(display + ": unexpected content after the top-level array (line "
                        + p.currentTokenLocation().getLineNr() + ")");
            }
            return out;
        }
    }

    /** Reads the array the parser is positioned on (its START_ARRAY is the current token). */
    static <T> List<T> readArray(JsonParser p, String display, ItemReader<T> reader) throws IOException {
        try {
            if (p.currentToken() != JsonToken.START_ARRAY) {
                throw new MalformedDataException(display + ": expected a JSON array, found " + describe(p.currentToken())
                        + " (line " + p.currentTokenLocation().getLineNr() + ")");
            }
            List<T> out = new ArrayList<>();
            for (int i = 0; p.nextToken() != JsonToken.END_ARRAY; i++) {
                JsonLocation at = p.currentTokenLocation();
                JsonNode item = MAPPER.readTree(p);
                try {
                    out.add(reader.read(i, item));
                } catch (Bad b) {
                    throw new MalformedDataException(display + ": item " + i + " (line " + at.getLineNr() + "): " + b.getMessage());
                }
            }
            return out;
        } catch (JsonProcessingException e) {
            throw invalid(display, e);
        }
    }

    static MalformedDataException invalid(String display, JsonProcessingException e) {
        JsonLocation l = e.getLocation();
        String where = l == null ? "" : " at line " + l.getLineNr() + ", column " + l.getColumnNr();
        return new MalformedDataException(display + ": invalid JSON" + where + ": " + e.getOriginalMessage(), e);
    }

    /** A required string field of an object item. */
    static String string(JsonNode item, String field) throws Bad {
        requireObject(item);
        JsonNode v = item.get(field);
        if (v == null) {
            throw new Bad("missing string field '" + field + "'");
        }
        if (!v.isTextual()) {
            throw new Bad("field '" + field + "' must be a string, found " + describe(v));
        }
        return v.textValue();
    }

    /** A required number field of an object item (NaN and ±Infinity allowed). */
    static double number(JsonNode item, String field) throws Bad {
        requireObject(item);
        JsonNode v = item.get(field);
        if (v == null) {
            throw new Bad("missing number field '" + field + "'");
        }
        if (!v.isNumber()) {
            throw new Bad("field '" + field + "' must be a number, found " + describe(v));
        }
        return v.doubleValue();
    }

    /** An item that must itself be a string. */
    static String stringItem(JsonNode item) throws Bad {
        if (!item.isTextual()) {
            throw new Bad("expected a string, found " + describe(item));
        }
        return item.textValue();
    }

    static void requireObject(JsonNode item) throws Bad {
        if (!item.isObject()) {
            throw new Bad("expected an object, found " + describe(item));
        }
    }

    static String describe(JsonNode n) {
        return n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }

    static String describe(JsonToken t) {
        if (t == null) {
            return "end of file";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.name();
        };
    }
}
