package dev.revenant.quant;

import dev.revenant.tensor.DType;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The precision names users type (design.md, "Precision names"). Float casts ({@code fp32 bf16 fp16})
 * round the Linear layers inside the decoder blocks to that type, as transformers' {@code torch_dtype}
 * does; RTN, bitsandbytes and GGUF names quantize them ({@link Quantizers}); GPTQ/AWQ names quantize them from
 * calibration activations (engine.CalibratedQuantizers).
 */
public record Precision(String name, Kind kind) {

    public enum Kind { FLOAT, BNB, RTN, GPTQ, AWQ, GGUF }

    static final List<String> FIXED = List.of("fp32", "bf16", "fp16", "int8", "fp4", "nf4", "q8_0", "q4_0",
            "gptq-w4-g128", "gptq-w4-g128-act", "gptq-w8", "gptq-w3-g128", "awq-w4-g128");
    private static final Pattern RTN = Pattern.compile("rtn-w([2-8])(-g(\\d+))?(-sym)?");
    private static final Pattern GPTQ = Pattern.compile("gptq-w([2-8])(-g(\\d+))?(-sym)?(-act)?(-static)?");
    private static final Pattern AWQ = Pattern.compile("awq-w([2-8])(-g(\\d+))");

    public static String valid() {
        return String.join(", ", FIXED) + ", rtn-wB[-gG][-sym] (e.g. rtn-w8, rtn-w4-g128, rtn-w4-g128-sym, rtn-w3-g64), "
                + "gptq-wB[-gG][-sym][-act][-static], awq-wB-gG (B = 2..8 bits, G = group size)";
    }

    /** @throws IllegalArgumentException naming the value and listing the valid names */
    public static Precision parse(String s) {
        String n = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        Kind kind = switch (n) {
            case "fp32", "bf16", "fp16" -> Kind.FLOAT;
            case "int8", "fp4", "nf4" -> Kind.BNB;
            case "q8_0", "q4_0" -> Kind.GGUF;
            default -> RTN.matcher(n).matches() && groupOk(RTN, n) ? Kind.RTN
                    : GPTQ.matcher(n).matches() && groupOk(GPTQ, n) && !(n.endsWith("-static") && !n.contains("-act")) ? Kind.GPTQ
                    : AWQ.matcher(n).matches() && groupOk(AWQ, n) ? Kind.AWQ : null;
        };
        if (kind == null) {
            throw new IllegalArgumentException("unknown precision '" + s + "'; valid: " + valid());
        }
        return new Precision(n, kind);
    }

    private static boolean groupOk(Pattern p, String n) {
        var m = p.matcher(n);
        return m.matches() && (m.group(3) == null || (m.group(3).length() < 7 && Integer.parseInt(m.group(3)) > 0));
    }

    /**
     * The integer grid of an RTN, GPTQ or AWQ name: bits, group size ({@code -1}: one group per row),
     * symmetric, act-order ({@code desc_act}) and static groups. AWQ is asymmetric (zero point), as AutoAWQ.
     */
    public record IntSpec(int bits, int groupSize, boolean sym, boolean actOrder, boolean staticGroups) {
    }

    /** {@link IntSpec} of this name; fails for float, bitsandbytes and GGUF names. */
    public IntSpec intSpec() {
        Pattern p = switch (kind) {
            case RTN -> RTN;
            case GPTQ -> GPTQ;
            case AWQ -> AWQ;
            default -> throw new IllegalStateException(name + " is not an RTN, GPTQ or AWQ precision");
        };
        var m = p.matcher(name);
        if (!m.matches()) {
            throw new IllegalStateException(name);
        }
        int group = m.group(3) == null ? -1 : Integer.parseInt(m.group(3));
        boolean sym = kind != Kind.AWQ && m.group(4) != null;
        boolean act = kind == Kind.GPTQ && m.group(5) != null;
        boolean stat = kind == Kind.GPTQ && m.group(6) != null;
        return new IntSpec(Integer.parseInt(m.group(1)), group, sym, act, stat);
    }

    /** True when this build can run the precision (every name it parses). */
    public boolean available() {
        return true;
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
