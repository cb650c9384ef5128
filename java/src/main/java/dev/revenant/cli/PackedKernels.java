package dev.revenant.cli;

import dev.revenant.quant.Bnb4Packed;
import dev.revenant.quant.GgufPacked;
import dev.revenant.quant.Int8Packed;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.RtnPacked;

/** Bench helpers for packed weights: the kernel name (design.md, convention 3) and a deep copy of the arrays. */
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

    static QuantizedWeight copy(QuantizedWeight w) {
        return switch (w) {
            case RtnPacked q -> new RtnPacked(q.name(), q.rows(), q.cols(), q.bits(), q.groupSize(), q.sym(),
                    q.codes().clone(), q.scale().clone(), q.zero().clone());
            case GgufPacked q -> new GgufPacked(q.type(), q.name(), q.rows(), q.cols(), q.blocks().clone());
            case dev.revenant.quant.GptqPacked q -> new dev.revenant.quant.GptqPacked(q.name(), q.precision(),
                    (RtnPacked) copy(q.body()), q.perm() == null ? null : q.perm().clone());
            case Bnb4Packed q -> new Bnb4Packed(q.kind(), q.name(), q.shape(), q.n(), q.packed().clone(), q.absmax().clone());
            case Int8Packed q -> new Int8Packed(q.name(), q.rows(), q.cols(), q.cb().clone(), q.scb().clone());
        };
    }
}
