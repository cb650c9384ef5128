package dev.revenant.quant;

import dev.revenant.tensor.DType;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The precision names users type (design.md, "Precision names"). Float casts ({@code fp32 bf16 fp16})
 * round the Linear layers inside the decoder blocks to that type, as transformers' {@code torch_dtype}
 * does; RTN, bitsandbytes and GGUF names quantize them ({@link Quantizers}); GPTQ/AWQ names are
 * recognised and refused with a clear message until calibration lands.
 */
public record Precision(String name, Kind kind) {

    public enum Kind { FLOAT, BNB, RTN, GPTQ, AWQ, GGUF }

    static final List<String> FIXED = List.of("fp32", "bf16", "fp16", "int8", "fp4", "nf4", "q8_0", "q4_0",
            "gptq-w4-g128", "gptq-w4-g128-act", "gptq-w8", "gptq-w3-g128", "awq-w4-g128");
    private static final Pattern RTN = Pattern.compile("rtn-w([2-8])(-g(\\d+))?(-sym)?");

    public static String valid() {
        return String.join(", ", FIXED) + ", rtn-wB[-gG][-sym] (e.g. rtn-w8, rtn-w4-g128, rtn-w4-g128-sym, rtn-w3-g64)";
    }

    /** @throws IllegalArgumentException naming the value and listing the valid names */
    public static Precision parse(String s) {
        String n = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        Kind kind = switch (n) {
            case "fp32", "bf16", "fp16" -> Kind.FLOAT;
            case "int8", "fp4", "nf4" -> Kind.BNB;
            case "q8_0", "q4_0" -> Kind.GGUF;
            case "gptq-w4-g128", "gptq-w4-g128-act", "gptq-w8", "gptq-w3-g128" -> Kind.GPTQ;
            case "awq-w4-g128" -> Kind.AWQ;
            default -> RTN.matcher(n).matches() && groupOk(n) ? Kind.RTN : null;
        };
        if (kind == null) {
            throw new IllegalArgumentException("unknown precision '" + s + "'; valid: " + valid());
        }
        return new Precision(n, kind);
    }

    private static boolean groupOk(String n) {
        var m = RTN.matcher(n);
        return m.matches() && (m.group(3) == null || Integer.parseInt(m.group(3)) > 0);
    }

    /** True when this build can run the precision (GPTQ and AWQ need calibration, not built yet). */
    public boolean available() {
        return kind != Kind.GPTQ && kind != Kind.AWQ;
    }

    /** The weight type of a float precision. */
    public DType floatType() {
        if (kind != Kind.FLOAT) {
            throw new IllegalStateException(name + " is not a float precision");
        }
        return switch (name) {
            case "bf16" -> DType.BF16;
            case "fp16" -> DType.F16;
            default -> DType.F32;
        };
    }

    /** Fails unless {@link #available()}. */
    public Precision requireAvailable() {
        if (!available()) {
            throw new IllegalArgumentException("precision '" + name + "' is recognised but not implemented in this build yet "
                    + "(GPTQ and AWQ need calibration, which comes with their issue); available now: fp32, bf16, fp16, "
                    + "int8, fp4, nf4, q8_0, q4_0, rtn-wB[-gG][-sym]");
        }
        return this;
    }
}
