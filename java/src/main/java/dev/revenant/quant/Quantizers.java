package dev.revenant.quant;

import dev.revenant.tensor.Tensor;

/** Maps a {@link Precision} to its weight quantizer. */
public final class Quantizers {
    private Quantizers() {
    }

    /**
     * Quantizes a float weight {@code [out, in]} at precision {@code p}: RTN ({@code rtn-wB[-gG][-sym]}),
     * bitsandbytes ({@code int8}, {@code fp4}, {@code nf4}) or GGUF ({@code q8_0}, {@code q4_0}).
     *
     * @throws IllegalArgumentException for float precisions (use {@link Cast}), for GPTQ/AWQ (they
     *     need calibration data), and for weights a format cannot hold (naming the tensor)
     */
    public static QuantizedWeight quantize(Precision p, Tensor w) {
        return switch (p.kind()) {
            case RTN -> RtnQuantizer.of(p).quantize(w);
            case BNB -> switch (p.name()) {
                case "int8" -> Int8Bnb.quantize(w);
                case "fp4" -> Bnb4.quantize(w, Bnb4Packed.Kind.FP4);
                case "nf4" -> Bnb4.quantize(w, Bnb4Packed.Kind.NF4);
                default -> throw unknown(p);
            };
            case GGUF -> switch (p.name()) {
                case "q8_0" -> GgufBlocks.quantize(w, GgufPacked.Type.Q8_0);
                case "q4_0" -> GgufBlocks.quantize(w, GgufPacked.Type.Q4_0);
                default -> throw unknown(p);
            };
            case GPTQ, AWQ -> throw new IllegalArgumentException("precision '" + p.name()
                    + "' needs calibration (GPTQ/AWQ issue); it cannot be made from the weights alone");
            case FLOAT -> throw new IllegalArgumentException("precision '" + p.name()
                    + "' is a float type, not a quantized format: use Cast.to");
        };
    }

    /**
     * A deep copy of {@code w}'s arrays (benchmarks keep many copies so that every call reads its weights from
     * DRAM, as decode does).
     */
    public static QuantizedWeight copy(QuantizedWeight w) {
        return switch (w) {
            case RtnPacked q -> new RtnPacked(q.name(), q.rows(), q.cols(), q.bits(), q.groupSize(), q.sym(),
                    q.codes().clone(), q.scale().clone(), q.zero().clone());
            case GgufPacked q -> new GgufPacked(q.type(), q.name(), q.rows(), q.cols(), q.blocks().clone());
            case GptqPacked q -> new GptqPacked(q.name(), q.precision(), (RtnPacked) copy(q.body()),
                    q.perm() == null ? null : q.perm().clone());
            case Bnb4Packed q -> new Bnb4Packed(q.kind(), q.name(), q.shape(), q.n(), q.packed().clone(), q.absmax().clone());
            case Int8Packed q -> new Int8Packed(q.name(), q.rows(), q.cols(), q.cb().clone(), q.scb().clone());
        };
    }

    private static IllegalArgumentException unknown(Precision p) {
        return new IllegalArgumentException("no quantizer for precision '" + p.name() + "'");
    }
}
