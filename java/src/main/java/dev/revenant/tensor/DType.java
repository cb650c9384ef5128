package dev.revenant.tensor;

import java.util.Arrays;
import java.util.Locale;

/** Element types of safetensors files (formats.md, "safetensors"), with their byte sizes. */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2),
    I64(8), I32(4), I16(2), I8(1),
    U64(8), U32(4), U16(2), U8(1),
    BOOL(1), F8_E4M3(1), F8_E5M2(1),
    /**
     * Not a file type: the zero-byte stand-in for a quantized weight inside a loaded model. The values live in the
     * packed weight the backend's router holds; reading the stand-in itself fails (it has no bytes).
     */
    PACKED(0);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    public boolean isFloat() {
        return this == F64 || this == F32 || this == F16 || this == BF16 || this == F8_E4M3 || this == F8_E5M2;
    }

    /**
     * Parses a safetensors dtype name ("F32", "BF16", ...).
     *
     * @throws IllegalArgumentException naming the value and the valid names
     */
    public static DType parse(String name) {
        if (name != null) {
            for (DType d : values()) {
                if (d != PACKED && d.name().equals(name.toUpperCase(Locale.ROOT))) {
                    return d;
                }
            }
        }
        throw new IllegalArgumentException("unknown dtype '" + name + "', expected one of " + Arrays.toString(values()));
    }
}
