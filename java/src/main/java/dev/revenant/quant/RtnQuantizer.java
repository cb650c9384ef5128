package dev.revenant.quant;

import dev.revenant.tensor.Tensor;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Round-to-nearest weight quantization with the GPTQ authors' min-max {@code Quantizer}
 * (IST-DASLab/gptq {@code quant.py}, {@code perchannel=True, mse=False}) and no Hessian, as the
 * {@code rtn.<cfg>} tensors of {@code fixtures/quant/gptq_reference.safetensors} were made.
 *
 * <p>Per row and per group of {@code groupSize} input columns ({@code -1}: the whole row), in fp32
 * exactly as torch computes it:
 * <pre>
 *   xmin = min(min(w), 0), xmax = max(max(w), 0)
 *   sym:  xmax = max(|xmin|, xmax); if xmin &lt; 0: xmin = -xmax     (xmin stays 0 for a group with no negative weight)
 *   dead: if xmin == 0 and xmax == 0: xmin = -1, xmax = +1         (after the sym step, as quant.py orders it)
 *   scale = (xmax - xmin) / maxq                                 maxq = 2^bits - 1
 *   zero  = sym ? (maxq + 1) / 2 : rint(-xmin / scale)
 *   q     = clamp(rint(w / scale) + zero, 0, maxq)                fp32 division, never a reciprocal multiply
 *   deq   = scale * (q - zero)
 * </pre>
 * {@code rint} rounds half to even ({@code torch.round}). A last group shorter than
 * {@code groupSize} (when {@code in % groupSize != 0}) uses its own columns, as GPTQ's column
 * slicing does. Act-order is a GPTQ notion: without a Hessian RTN groups columns in their
 * original order (the fixture's {@code *_actorder} RTN tensors equal the plain ones).
 */
public record RtnQuantizer(int bits, int groupSize, boolean sym) {

    private static final Pattern NAME = Pattern.compile("rtn-w([1-8])(?:-g(\\d+))?(-sym)?");

    public RtnQuantizer {
        if (bits < 1 || bits > 8) {
            throw new IllegalArgumentException("RTN bits must be 1..8, found " + bits);
        }
        if (groupSize != -1 && groupSize <= 0) {
            throw new IllegalArgumentException("RTN group size must be positive or -1 (whole row), found " + groupSize);
        }
    }

    /** The configuration named by {@code rtn-wB[-gG][-sym]} (no {@code -g}: one group per row). */
    public static RtnQuantizer of(Precision p) {
        if (p.kind() != Precision.Kind.RTN) {
            throw new IllegalArgumentException("precision '" + p.name() + "' is not an RTN precision (rtn-wB[-gG][-sym])");
        }
        Matcher m = NAME.matcher(p.name());
        if (!m.matches()) {
            throw new IllegalArgumentException("cannot read RTN precision '" + p.name() + "'; expected rtn-wB[-gG][-sym]");
        }
        int g = m.group(2) == null ? -1 : Integer.parseInt(m.group(2));
        return new RtnQuantizer(Integer.parseInt(m.group(1)), g, m.group(3) != null);
    }

    public int maxq() {
        return (1 << bits) - 1;
    }

    /** The precision name of this configuration. */
    public String precisionName() {
        return "rtn-w" + bits + (groupSize > 0 ? "-g" + groupSize : "") + (sym ? "-sym" : "");
    }

    /** Quantizes a float weight {@code [out, in]} (F32, BF16, F16 or F64 source, read as fp32). */
    public RtnPacked quantize(Tensor w) {
        int[] d = QuantInput.dims(w);
        int rows = d[0];
        int cols = d[1];
        int g = groupSize < 0 ? Math.max(cols, 1) : groupSize;
        int groups = cols == 0 ? 0 : (cols + g - 1) / g;
        int maxq = maxq();
        byte[] codes = new byte[rows * cols];
        float[] scale = new float[groups * rows];
        float[] zero = new float[groups * rows];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            QuantInput.row(w, r, cols, row);
            for (int k = 0; k < groups; k++) {
                int c0 = k * g;
                int c1 = Math.min(cols, c0 + g);
                MinMaxGrid.find(row, c0, c1, maxq, sym, scale, zero, k * rows + r);
                float s = scale[k * rows + r];
                float z = zero[k * rows + r];
                for (int c = c0; c < c1; c++) {
                    codes[r * cols + c] = (byte) (int) MinMaxGrid.code(row[c], s, z, maxq);
                }
            }
        }
        return new RtnPacked(w.name(), rows, cols, bits, groupSize, sym, codes, scale, zero);
    }
}
