package dev.revenant.cli;

import dev.revenant.quant.Bnb4Packed;
import dev.revenant.quant.GgufPacked;
import dev.revenant.quant.Int8Packed;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.RtnPacked;

/** Bench helper for packed weights: the kernel name (design.md, convention 3). */
final class PackedKernels {
    private PackedKernels() {
    }

    static String name(QuantizedWeight w) {
        return switch (w) {
            case RtnPacked q -> "matmulRtn";
            case dev.revenant.quant.GptqPacked q -> q.perm() == null ? "matmulRtn" : "matmulRtn (permuted input)";
            case GgufPacked q -> q.type() == GgufPacked.Type.Q8_0 ? "matmulQ8_0" : "matmulQ4_0";
            case Bnb4Packed q -> q.kind() == Bnb4Packed.Kind.FP4 ? "matmulFp4" : "matmulNf4";
            case Int8Packed q -> "matmulInt8";
        };
    }
}
