package dev.revenant.sweep;

import java.nio.file.Path;
import java.util.List;

/** One model of a sweep: its name (the row label), its role and its checkpoint folder. */
public record ModelSpec(String name, String role, Path dir) {
    public static final List<String> ROLES = List.of("target", "retrain", "unlearned");

    public ModelSpec {
        if (name == null || name.isBlank() || !name.matches("[A-Za-z0-9._+-]+") || name.startsWith(".")) {
            throw new IllegalArgumentException("model name '" + name + "': use letters, digits and . _ + - only");
        }
        if (!ROLES.contains(role)) {
            throw new IllegalArgumentException("model '" + name + "': unknown role '" + role + "'; valid: "
                    + String.join(", ", ROLES));
        }
        dir = dir.toAbsolutePath().normalize();
    }
}
