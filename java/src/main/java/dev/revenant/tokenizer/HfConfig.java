package dev.revenant.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What transformers takes from {@code tokenizer_config.json} and {@code special_tokens_map.json} beside
 * tokenizer.json. Both files are optional. As in {@code PreTrainedTokenizerBase._from_pretrained}, a key
 * present in special_tokens_map.json replaces the one in tokenizer_config.json.
 *
 * @param addBosToken  {@code add_bos_token}, or null when absent
 * @param addEosToken  {@code add_eos_token}, or null when absent
 * @param cleanUp      {@code clean_up_tokenization_spaces}, false when absent
 * @param named        role ({@code bos_token}, {@code eos_token}, ...) to token text, roles without a token left out
 * @param additional   {@code additional_special_tokens} texts
 * @param decoderSpecial ids that {@code added_tokens_decoder} flags {@code "special": true}
 */
record HfConfig(Boolean addBosToken, Boolean addEosToken, boolean cleanUp, Map<String, String> named,
                List<String> additional, Set<Integer> decoderSpecial) {

    static final String CONFIG = "tokenizer_config.json";
    static final String SPECIAL_MAP = "special_tokens_map.json";
    static final List<String> ROLES = List.of("bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
            "cls_token", "mask_token");

    HfConfig {
        named = Collections.unmodifiableMap(new LinkedHashMap<>(named));
        additional = List.copyOf(additional);
        decoderSpecial = Set.copyOf(decoderSpecial);
    }

    /** Every token text the config names, to be looked up in tokenizer.json. */
    Set<String> tokenTexts() {
        Set<String> s = new HashSet<>(named.values());
        s.addAll(additional);
        return s;
    }

    static HfConfig read(Path dir, ObjectMapper mapper) {
        JsonNode cfg = readObject(dir.resolve(CONFIG), mapper);
        JsonNode map = readObject(dir.resolve(SPECIAL_MAP), mapper);
        Path cfgFile = dir.resolve(CONFIG);
        Boolean addBos = bool(cfgFile, cfg, "add_bos_token");
        Boolean addEos = bool(cfgFile, cfg, "add_eos_token");
        Boolean cleanUp = bool(cfgFile, cfg, "clean_up_tokenization_spaces");

        Map<String, String> named = new LinkedHashMap<>();
        List<String> additional = new ArrayList<>();
        for (JsonNode src : new JsonNode[] {cfg, map}) {
            if (src == null) {
                continue;
            }
            Path file = src == cfg ? cfgFile : dir.resolve(SPECIAL_MAP);
            for (String role : ROLES) {
                if (src.has(role)) {
                    String t = tokenText(file, role, src.get(role));
                    if (t == null) {
                        named.remove(role);
                    } else {
                        named.put(role, t);
                    }
                }
            }
            JsonNode extra = src.get("additional_special_tokens");
            if (extra != null && !extra.isNull()) {
                if (!extra.isArray()) {
                    throw new TokenizerException(file + ": additional_special_tokens: expected an array, found " + extra.getNodeType());
                }
                additional.clear();
                for (int i = 0; i < extra.size(); i++) {
                    String t = tokenText(file, "additional_special_tokens[" + i + "]", extra.get(i));
                    if (t != null) {
                        additional.add(t);
                    }
                }
            }
        }

        Set<Integer> decoderSpecial = new HashSet<>();
        JsonNode dec = cfg == null ? null : cfg.get("added_tokens_decoder");
        if (dec != null && !dec.isNull()) {
            if (!dec.isObject()) {
                throw new TokenizerException(cfgFile + ": added_tokens_decoder: expected an object, found " + dec.getNodeType());
            }
            for (Map.Entry<String, JsonNode> e : dec.properties()) {
                int id;
                try {
                    id = Integer.parseInt(e.getKey());
                } catch (NumberFormatException ex) {
                    throw new TokenizerException(cfgFile + ": added_tokens_decoder: key '" + e.getKey() + "' is not a token id");
                }
                if (id < 0) {
                    throw new TokenizerException(cfgFile + ": added_tokens_decoder: negative token id " + id);
                }
                if (e.getValue().path("special").asBoolean(false)) {
                    decoderSpecial.add(id);
                }
            }
        }
        return new HfConfig(addBos, addEos, cleanUp != null && cleanUp, named, additional, decoderSpecial);
    }

    /** The parsed object, or null when the file does not exist. */
    private static JsonNode readObject(Path file, ObjectMapper mapper) {
        if (!Files.exists(file)) {
            return null;
        }
        JsonNode n;
        try {
            n = mapper.readTree(Files.readAllBytes(file));
        } catch (JacksonException e) {
            throw TokenizerException.badJson(file, e);
        } catch (IOException e) {
            throw new TokenizerException(file + ": cannot read: " + e, e);
        }
        if (n == null || !n.isObject()) {
            throw new TokenizerException(file + ": expected a JSON object, found " + (n == null ? "nothing" : n.getNodeType()));
        }
        return n;
    }

    private static Boolean bool(Path file, JsonNode cfg, String key) {
        JsonNode v = cfg == null ? null : cfg.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isBoolean()) {
            throw new TokenizerException(file + ": " + key + ": expected true or false, found " + v);
        }
        return v.booleanValue();
    }

    /** A special token is written as a string, null, or an AddedToken object with a "content" field. */
    private static String tokenText(Path file, String key, JsonNode v) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isTextual()) {
            return v.textValue();
        }
        if (v.isObject() && v.path("content").isTextual()) {
            return v.get("content").textValue();
        }
        throw new TokenizerException(file + ": " + key + ": expected a string or an object with \"content\", found " + v);
    }
}
