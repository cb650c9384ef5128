package dev.revenant.cli;

import java.util.Arrays;

/** Parses {@code --ids 5,17,300}. */
final class Ids {
    private Ids() {
    }

    static int[] parse(String s) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException("--ids: expected comma-separated token ids, e.g. 5,17,300");
        }
        String[] parts = s.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--ids: '" + parts[i].trim() + "' (item " + (i + 1) + ") is not an integer");
            }
        }
        return out;
    }

    static String format(int[] ids) {
        return String.join(",", Arrays.stream(ids).mapToObj(Integer::toString).toList());
    }
}
