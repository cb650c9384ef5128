package dev.revenant.quant;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Row slices {@code [from, to)} of packed weights (phi3's fused qkv / gate_up tensors are bound as
 * slices named {@code name[a:b]}). Exact where the format keeps rows apart: RTN (codes per row, scales
 * and zeros {@code [G, rows]}), GGUF (blocks row after row), LLM.int8 (codes and SCB per row). A bitsandbytes
 * 4-bit weight is blocked over the flattened tensor, so a row slice is exact only when each row is a
 * whole number of 64-blocks ({@code cols % 64 == 0}); otherwise there is none.
 */
public final class PackedRows {
    private PackedRows() {
    }

    /** The rows {@code [from, to)} of {@code w} as a packed weight of the same format, or empty where none is exact. */
    public static Optional<QuantizedWeight> rows(QuantizedWeight w, int from, int to) {
        long[] s = w.shape();
        if (from < 0 || to < from || to > s[0]) {
            throw new IllegalArgumentException(w.name() + ": row slice [" + from + ":" + to + "] outside " + s[0] + " rows");
        }
        String name = w.name() + "[" + from + ":" + to + "]";
        return switch (w) {
            case RtnPacked r -> Optional.of(rtn(r, name, from, to));
            case GptqPacked g -> Optional.of(new GptqPacked(name, g.precision(), rtn(g.body(), name, from, to), g.perm()));
            case GgufPacked g -> {
                int rowBytes = g.cols() / GgufBlocks.QK * g.type().blockBytes();
                yield Optional.of(new GgufPacked(g.type(), name, to - from, g.cols(),
                        Arrays.copyOfRange(g.blocks(), from * rowBytes, to * rowBytes)));
            }
            case Int8Packed i -> Optional.of(PackedIo.rows(i, from, to));
            case Bnb4Packed b -> {
                int cols = (int) s[1];
                if (cols % Bnb4.BLOCK != 0) {
                    yield Optional.empty();
                }
                long n = (long) (to - from) * cols;
                yield Optional.of(new Bnb4Packed(b.kind(), name, new long[] {to - from, cols}, n,
                        Arrays.copyOfRange(b.packed(), (int) ((long) from * cols / 2), (int) ((long) to * cols / 2)),
                        Arrays.copyOfRange(b.absmax(), from * (cols / Bnb4.BLOCK), to * (cols / Bnb4.BLOCK))));
            }
        };
    }

    private static RtnPacked rtn(RtnPacked r, String name, int from, int to) {
        int rows = r.rows();
        int cols = r.cols();
        int groups = r.groups();
        int m = to - from;
        float[] scale = new float[groups * m];
        float[] zero = new float[groups * m];
        for (int g = 0; g < groups; g++) {
            System.arraycopy(r.scale(), g * rows + from, scale, g * m, m);
            System.arraycopy(r.zero(), g * rows + from, zero, g * m, m);
        }
        return new RtnPacked(name, m, cols, r.bits(), r.groupSize(), r.sym(),
                Arrays.copyOfRange(r.codes(), from * cols, to * cols), scale, zero);
    }

    /**
     * Row blocks of one weight stacked again (the inverse of {@link #rows}) for GPTQ/AWQ weights quantized as
     * slices of a fused tensor (phi3's qkv_proj, gate_up_proj): same bits, groups and column permutation needed.
     */
    public static GptqPacked stack(String name, List<GptqPacked> parts) {
        GptqPacked first = parts.get(0);
        RtnPacked b0 = first.body();
        int cols = b0.cols();
        int groups = b0.groups();
        int rows = 0;
        for (GptqPacked p : parts) {
            RtnPacked b = p.body();
            if (b.cols() != cols || b.bits() != b0.bits() || b.groupSize() != b0.groupSize() || b.sym() != b0.sym()
                    || !Arrays.equals(p.perm(), first.perm())) {
                throw new IllegalArgumentException(name + ": row blocks " + first.name() + " and " + p.name()
                        + " differ in layout and cannot be stacked");
            }
            rows += b.rows();
        }
        byte[] codes = new byte[rows * cols];
        float[] scale = new float[groups * rows];
        float[] zero = new float[groups * rows];
        int r0 = 0;
        for (GptqPacked p : parts) {
            RtnPacked b = p.body();
            System.arraycopy(b.codes(), 0, codes, r0 * cols, b.rows() * cols);
            for (int g = 0; g < groups; g++) {
                System.arraycopy(b.scale(), g * b.rows(), scale, g * rows + r0, b.rows());
                System.arraycopy(b.zero(), g * b.rows(), zero, g * rows + r0, b.rows());
            }
            r0 += b.rows();
        }
        return new GptqPacked(name, first.precision(),
                new RtnPacked(name, rows, cols, b0.bits(), b0.groupSize(), b0.sym(), codes, scale, zero), first.perm());
    }
}
