package dev.revenant.eval;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * MUSE's {@code privleak/log.json} (muse-spec §3.4): {@code {split: [{text, <feature>: number, ...}]}},
 * splits usually forget, retain, holdout. The feature list is the keys of the first item (other than
 * {@code text}), in file order; every item must carry all of them.
 *
 * @param splits   split name to its items, in file order
 * @param features feature names, in file order
 */
public record PrivLeakLog(Map<String, List<Item>> splits, List<String> features) {
    /** One scored text; {@code values[j]} is feature {@code features().get(j)}. */
    public record Item(String text, double[] values) {
    }

    public PrivLeakLog {
        splits = Collections.unmodifiableMap(new LinkedHashMap<>(splits));
        features = List.copyOf(features);
    }

    /** The values of one feature over one split, in item order. */
    public double[] feature(String split, String feature) {
        List<Item> items = splits.get(split);
        if (items == null) {
            throw new IllegalArgumentException("no split '" + split + "' in the log; it has " + splits.keySet());
        }
        int j = features.indexOf(feature);
        if (j < 0) {
            throw new IllegalArgumentException("no feature '" + feature + "' in the log; it has " + features);
        }
        double[] out = new double[items.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = items.get(i).values()[j];
        }
        return out;
    }

    /** Reads a log, naming {@code file} as given in errors. */
    public static PrivLeakLog load(Path file) throws IOException {
        String display = file.toString();
        Map<String, List<Item>> splits = new LinkedHashMap<>();
        List<String> features = new ArrayList<>();
        try (JsonParser p = JsonItems.open(file, display)) {
            if (p.currentToken() != JsonToken.START_OBJECT) {
                throw new MalformedDataException(display + ": expected a JSON object {split: [items]}, found "
                        + JsonItems.describe(p.currentToken()));
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String split = p.currentName();
                p.nextToken();
                List<Item> items = JsonItems.readArray(p, display + ": split '" + split + "'",
                        (i, n) -> item(n, features));
                splits.put(split, items);
            }
        } catch (JsonProcessingException e) {
            throw JsonItems.invalid(display, e);
        }
        if (splits.isEmpty() || features.isEmpty()) {
            throw new MalformedDataException(display + ": no splits with scored items");
        }
        return new PrivLeakLog(splits, features);
    }

    /** Parses one item; the first item seen fixes the feature list. */
    private static Item item(JsonNode n, List<String> features) throws JsonItems.Bad {
        String text = JsonItems.string(n, "text");
        if (features.isEmpty()) {
            for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!f.equals("text")) {
                    features.add(f);
                }
            }
            if (features.isEmpty()) {
                throw new JsonItems.Bad("no feature fields besides 'text'");
            }
        }
        double[] values = new double[features.size()];
        for (int j = 0; j < values.length; j++) {
            values[j] = JsonItems.number(n, features.get(j));
        }
        return new Item(text, values);
    }
}
