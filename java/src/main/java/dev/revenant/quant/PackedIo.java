package dev.revenant.quant;

import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Revenant's packed checkpoint layout (format_version 1): a quantized Linear weight {@code P.weight}
 * {@code [out, in]} is stored as tensors named {@code P.<part>}:
 * <ul>
 * <li>RTN: {@code qweight} U8 {@code [out, in]} (one code per byte), {@code scales} and {@code zeros} F32 {@code [G, out]};
 * <li>bitsandbytes fp4/nf4: {@code weight_packed} U8 {@code [ceil(n/2)]} (two codes per byte, even element in
 *     the high nibble), {@code absmax} F32 {@code [ceil(n/64)]};
 * <li>LLM.int8: {@code CB} I8 {@code [out, in]}, {@code SCB} F32 {@code [out]};
 * <li>GGUF q8_0/q4_0: {@code blocks} U8 {@code [out, in/32 · block bytes]} (ggml's block bytes);
 * <li>GPTQ/AWQ: as RTN, the codes in kernel column order, plus (act-order) {@code perm} I32 {@code [in]}:
 *     stored column k is original input column {@code perm[k]} ({@link GptqPacked}).
 * </ul>
 * The precision and its parameters come from config.json's {@code quantization_config}.
 */
public final class PackedIo {
    private PackedIo() {
    }

    /** The tensors that store {@code q} under {@code prefix} (the weight name without ".weight"). */
    public static List<Tensor> tensors(QuantizedWeight q, String prefix) {
        return switch (q) {
            case RtnPacked r -> List.of(
                    bytes(prefix + ".qweight", DType.U8, r.codes(), r.rows(), r.cols()),
                    floats(prefix + ".scales", r.scale(), r.scale().length / Math.max(1, r.rows()), r.rows()),
                    floats(prefix + ".zeros", r.zero(), r.zero().length / Math.max(1, r.rows()), r.rows()));
            case Bnb4Packed b -> List.of(
                    bytes(prefix + ".weight_packed", DType.U8, b.packed(), b.packed().length),
                    floats(prefix + ".absmax", b.absmax(), b.absmax().length));
            case Int8Packed i -> List.of(
                    bytes(prefix + ".CB", DType.I8, i.cb(), i.rows(), i.cols()),
                    floats(prefix + ".SCB", i.scb(), i.rows()));
            case GptqPacked g -> {
                List<Tensor> parts = new java.util.ArrayList<>(tensors(g.body(), prefix));
                Precision p = Precision.parse(g.precision());
                if (p.kind() == Precision.Kind.GPTQ && p.intSpec().actOrder() && !p.intSpec().staticGroups()) {
                    int[] perm = g.perm(); // act-order names always store it (the identity when the order changed nothing)
                    if (perm == null) {
                        perm = java.util.stream.IntStream.range(0, g.cols()).toArray();
                    }
                    parts.add(Tensor.ofInts(prefix + ".perm", perm, perm.length));
                }
                yield parts;
            }
            case GgufPacked g -> List.of(
                    bytes(prefix + ".blocks", DType.U8, g.blocks(), g.rows(), g.blocks().length / Math.max(1, g.rows())));
        };
    }

    /**
     * Rebuilds the weight {@code prefix.weight} of shape {@code [out, in]} at precision {@code p} from its
     * stored parts; {@code lookup} fails naming a missing tensor.
     */
    public static QuantizedWeight read(Precision p, String prefix, long[] shape, Function<String, Tensor> lookup) {
        int rows = Math.toIntExact(shape[0]);
        int cols = Math.toIntExact(shape[1]);
        String name = prefix + ".weight";
        return switch (p.kind()) {
            case RTN -> {
                RtnQuantizer rq = RtnQuantizer.of(p);
                yield new RtnPacked(name, rows, cols, rq.bits(), rq.groupSize(), rq.sym(),
                        toBytes(expect(lookup.apply(prefix + ".qweight"), DType.U8)),
                        toFloats(expect(lookup.apply(prefix + ".scales"), DType.F32)),
                        toFloats(expect(lookup.apply(prefix + ".zeros"), DType.F32)));
            }
            case BNB -> p.name().equals("int8")
                    ? new Int8Packed(name, rows, cols, toBytes(expect(lookup.apply(prefix + ".CB"), DType.I8)),
                            toFloats(expect(lookup.apply(prefix + ".SCB"), DType.F32)))
                    : new Bnb4Packed(p.name().equals("fp4") ? Bnb4Packed.Kind.FP4 : Bnb4Packed.Kind.NF4, name, shape.clone(),
                            (long) rows * cols, toBytes(expect(lookup.apply(prefix + ".weight_packed"), DType.U8)),
                            toFloats(expect(lookup.apply(prefix + ".absmax"), DType.F32)));
            case GGUF -> new GgufPacked(p.name().equals("q8_0") ? GgufPacked.Type.Q8_0 : GgufPacked.Type.Q4_0, name, rows, cols,
                    toBytes(expect(lookup.apply(prefix + ".blocks"), DType.U8)));
            case GPTQ, AWQ -> {
                Precision.IntSpec spec = p.intSpec();
                RtnPacked body = new RtnPacked(name, rows, cols, spec.bits(), spec.groupSize(), spec.sym(),
                        toBytes(expect(lookup.apply(prefix + ".qweight"), DType.U8)),
                        toFloats(expect(lookup.apply(prefix + ".scales"), DType.F32)),
                        toFloats(expect(lookup.apply(prefix + ".zeros"), DType.F32)));
                int[] perm = spec.actOrder() && !spec.staticGroups()
                        ? expect(lookup.apply(prefix + ".perm"), DType.I32).data().toArray(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN))
                        : null;
                yield new GptqPacked(name, p.name(), body, perm);
            }
            default -> throw new IllegalArgumentException(name + ": precision " + p.name() + " has no packed layout");
        };
    }

    /** Rows {@code [from, to)} of an int8 weight (per-row codes and scales, so a slice is exact). */
    public static Int8Packed rows(Int8Packed w, int from, int to) {
        return new Int8Packed(w.name() + "[" + from + ":" + to + "]", to - from, w.cols(),
                Arrays.copyOfRange(w.cb(), from * w.cols(), to * w.cols()), Arrays.copyOfRange(w.scb(), from, to));
    }

    private static Tensor expect(Tensor t, DType d) {
        if (t.dtype() != d) {
            throw new IllegalArgumentException(t.name() + ": expected " + d + ", found " + t.dtype());
        }
        return t;
    }

    private static Tensor bytes(String name, DType d, byte[] b, long... shape) {
        return new Tensor(name, d, shape, MemorySegment.ofArray(b));
    }

    private static Tensor floats(String name, float[] f, long... shape) {
        return Tensor.ofFloats(name, f, shape);
    }

    private static byte[] toBytes(Tensor t) {
        return t.data().toArray(ValueLayout.JAVA_BYTE);
    }

    private static float[] toFloats(Tensor t) {
        return t.toFloatArray();
    }
}
