package dev.revenant.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The facts Revenant needs from tokenizer.json, read in one streaming pass (the file is up to ~11 MB; the
 * vocabulary and merges are not kept). The pass also checks that the whole file is valid JSON, so a broken
 * file is reported with its line and column before the Rust library sees it.
 *
 * @param vocabSize    1 + the largest id of the model vocabulary and the added tokens
 * @param addedIds     added token text to id ({@code added_tokens})
 * @param addedSpecial ids of added tokens flagged {@code "special": true}
 * @param vocabHits    ids in the model vocabulary of the texts asked for
 */
record TokenizerJson(int vocabSize, Map<String, Integer> addedIds, Set<Integer> addedSpecial, Map<String, Integer> vocabHits) {

    TokenizerJson {
        addedIds = Map.copyOf(addedIds);
        addedSpecial = Set.copyOf(addedSpecial);
        vocabHits = Map.copyOf(vocabHits);
    }

    /** Id of a token text: an added token first, then the model vocabulary; -1 when unknown (or not asked for). */
    int idOf(String text) {
        Integer id = addedIds.get(text);
        if (id == null) {
            id = vocabHits.get(text);
        }
        return id == null ? -1 : id;
    }

    static TokenizerJson scan(Path file, byte[] bytes, Set<String> wanted, ObjectMapper mapper) {
        try (JsonParser p = mapper.getFactory().createParser(bytes)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new TokenizerException(file + ": expected a JSON object at the top level, found " + p.currentToken());
            }
            Scan s = new Scan(file, wanted);
            boolean sawModel = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                switch (name) {
                    case "model" -> {
                        s.model(p);
                        sawModel = true;
                    }
                    case "added_tokens" -> s.added(mapper.readTree(p));
                    default -> p.skipChildren();
                }
            }
            if (p.nextToken() != null) {
                throw new TokenizerException(file + ": unexpected content after the top-level object at line "
                        + p.currentTokenLocation().getLineNr());
            }
            if (!sawModel) {
                throw new TokenizerException(file + ": no \"model\" object (not a Hugging Face tokenizer.json?)");
            }
            return new TokenizerJson((int) (s.maxId + 1), s.addedIds, s.addedSpecial, s.vocabHits);
        } catch (JacksonException e) {
            throw TokenizerException.badJson(file, e);
        } catch (IOException e) {
            throw new TokenizerException(file + ": cannot read: " + e, e);
        }
    }

    /** Mutable state of one pass. */
    private static final class Scan {
        final Path file;
        final Set<String> wanted;
        final Map<String, Integer> addedIds = new HashMap<>();
        final Set<Integer> addedSpecial = new HashSet<>();
        final Map<String, Integer> vocabHits = new HashMap<>();
        long maxId = -1;

        Scan(Path file, Set<String> wanted) {
            this.file = file;
            this.wanted = wanted;
        }

        void added(JsonNode arr) {
            if (arr == null || arr.isNull()) {
                return;
            }
            if (!arr.isArray()) {
                throw new TokenizerException(file + ": added_tokens: expected an array, found " + arr.getNodeType());
            }
            for (int i = 0; i < arr.size(); i++) {
                JsonNode t = arr.get(i);
                JsonNode id = t.get("id");
                JsonNode content = t.get("content");
                if (id == null || !id.canConvertToInt() || id.intValue() < 0 || content == null || !content.isTextual()) {
                    throw new TokenizerException(file + ": added_tokens[" + i + "]: expected {\"id\": non-negative int, "
                            + "\"content\": string, ...}, found " + t);
                }
                addedIds.put(content.textValue(), id.intValue());
                if (t.path("special").asBoolean(false)) {
                    addedSpecial.add(id.intValue());
                }
                maxId = Math.max(maxId, id.intValue());
            }
        }

        void model(JsonParser p) throws IOException {
            if (p.currentToken() != JsonToken.START_OBJECT) {
                throw new TokenizerException(file + ": \"model\": expected an object, found " + p.currentToken());
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                if (name.equals("vocab") && t == JsonToken.START_OBJECT) {
                    // BPE, WordPiece, WordLevel: {"token": id, ...}
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String token = p.currentName();
                        if (p.nextToken() != JsonToken.VALUE_NUMBER_INT) {
                            throw new TokenizerException(file + ": model.vocab[\"" + token + "\"]: expected an integer id at line "
                                    + p.currentTokenLocation().getLineNr() + ", found " + p.currentToken());
                        }
                        vocabEntry(token, p.getLongValue());
                    }
                } else if (name.equals("vocab") && t == JsonToken.START_ARRAY) {
                    // Unigram: [["piece", score], ...], the id is the index
                    long index = 0;
                    while (p.nextToken() == JsonToken.START_ARRAY) {
                        if (p.nextToken() != JsonToken.VALUE_STRING) {
                            throw new TokenizerException(file + ": model.vocab[" + index + "]: expected [piece, score] at line "
                                    + p.currentTokenLocation().getLineNr());
                        }
                        vocabEntry(p.getText(), index++);
                        for (JsonToken x = p.nextToken(); x != JsonToken.END_ARRAY; x = p.nextToken()) {
                            p.skipChildren();
                        }
                    }
                    if (p.currentToken() != JsonToken.END_ARRAY) {
                        throw new TokenizerException(file + ": model.vocab[" + index + "]: expected [piece, score] at line "
                                + p.currentTokenLocation().getLineNr() + ", found " + p.currentToken());
                    }
                } else {
                    p.skipChildren();
                }
            }
        }

        private void vocabEntry(String token, long id) {
            if (id < 0 || id > Integer.MAX_VALUE - 1) {
                throw new TokenizerException(file + ": model.vocab: id " + id + " of \"" + token + "\" is out of range");
            }
            maxId = Math.max(maxId, id);
            if (wanted.contains(token)) {
                vocabHits.put(token, (int) id);
            }
        }
    }
}
