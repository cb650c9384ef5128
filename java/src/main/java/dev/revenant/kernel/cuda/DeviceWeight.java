package dev.revenant.kernel.cuda;

import dev.revenant.quant.Bnb4;
import dev.revenant.quant.Bnb4Packed;
import dev.revenant.quant.GgufBlocks;
import dev.revenant.quant.GgufPacked;
import dev.revenant.quant.Int8Packed;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.RtnPacked;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

/**
 * A weight matrix {@code [n, k]} resident on the GPU in the layout its kernel reads (cuda-kernels/ABI.md).
 * Dense weights are copied as stored; packed weights are repacked once at upload: 4-bit RTN and GGUF
 * Q4_0 become nibble-packed int4 with fp32 scales and zeros per group, other RTN widths and Q8_0 one
 * byte per code, bitsandbytes FP4/NF4 keep their bytes with a 16-entry code table. Every repacking
 * keeps the CPU's dequantized value exactly ({@code scale · (code − zero)} or {@code lut[code] · absmax}).
 */
public sealed interface DeviceWeight extends AutoCloseable {
    int n();

    int k();

    /** Bytes resident on the device. */
    long bytes();

    /** {@code out = x · Wᵀ (+ bias)}; {@code tensor}: tensor-core path (activations rounded to bf16) where one exists. */
    void matmul(CudaKernels kk, CUdeviceptr x, int rows, CUdeviceptr bias, CUdeviceptr out, boolean tensor);

    @Override
    void close();

    enum DenseType { F32, BF16, F16 }

    record Dense(int n, int k, DenseType type, DeviceBuffer data) implements DeviceWeight {
        public long bytes() {
            return data.bytes();
        }

        public void matmul(CudaKernels kk, CUdeviceptr x, int rows, CUdeviceptr bias, CUdeviceptr out, boolean tensor) {
            if (tensor && type == DenseType.BF16) {
                kk.gemmBf16(this, x, rows, bias, out);
            } else {
                kk.matmulDense(this, x, rows, bias, out);
            }
        }

        public void close() {
            data.close();
        }
    }

    /** {@code q} {@code [n, ceil(k/8)]} words, low nibble first; scale/zero {@code [groups, n]}. */
    record Int4(int n, int k, int groupSize, DeviceBuffer q, DeviceBuffer scale, DeviceBuffer zero) implements DeviceWeight {
        public long bytes() {
            return q.bytes() + scale.bytes() + zero.bytes();
        }

        public void matmul(CudaKernels kk, CUdeviceptr x, int rows, CUdeviceptr bias, CUdeviceptr out, boolean tensor) {
            if (tensor) {
                kk.gemmInt4(this, x, rows, bias, out);
            } else {
                kk.matmulInt4(this, x, rows, bias, out);
            }
        }

        public void close() {
            q.close();
            scale.close();
            zero.close();
        }
    }

    /** {@code q} {@code [n, k]} one byte per code; scale/zero {@code [groups, n]}. */
    record U8(int n, int k, int groupSize, DeviceBuffer q, DeviceBuffer scale, DeviceBuffer zero) implements DeviceWeight {
        public long bytes() {
            return q.bytes() + scale.bytes() + zero.bytes();
        }

        public void matmul(CudaKernels kk, CUdeviceptr x, int rows, CUdeviceptr bias, CUdeviceptr out, boolean tensor) {
            kk.matmulU8(this, x, rows, bias, out);
        }

        public void close() {
            q.close();
            scale.close();
            zero.close();
        }
    }

    /** bitsandbytes 4-bit: flat high-nibble-first bytes, absmax per 64, the 16 code values. */
    record Nf4(int n, int k, DeviceBuffer packed, DeviceBuffer absmax, DeviceBuffer lut) implements DeviceWeight {
        public long bytes() {
            return packed.bytes() + absmax.bytes() + lut.bytes();
        }

        public void matmul(CudaKernels kk, CUdeviceptr x, int rows, CUdeviceptr bias, CUdeviceptr out, boolean tensor) {
            kk.matmulNf4(this, x, rows, bias, out);
        }

        public void close() {
            packed.close();
            absmax.close();
            lut.close();
        }
    }

    /** Uploads a dense F32/BF16/F16 weight {@code [n, k]} as stored. */
    static DeviceWeight dense(Tensor t) {
        if (t.rank() != 2) {
            throw new IllegalArgumentException(t.describe() + ": a matmul weight must be 2-D");
        }
        DenseType type = switch (t.dtype()) {
            case F32 -> DenseType.F32;
            case BF16 -> DenseType.BF16;
            case F16 -> DenseType.F16;
            default -> throw new IllegalArgumentException(t.describe() + ": the cuda backend multiplies F32, BF16 or F16 weights");
        };
        return new Dense((int) t.dim(0), (int) t.dim(1), type, DeviceBuffer.of(t.name(), t.data()));
    }

    /** Uploads a packed weight in its device layout. */
    static DeviceWeight packed(QuantizedWeight w) {
        return switch (w) {
            case RtnPacked r -> r.bits() == 4 ? int4(r) : u8(r);
            case dev.revenant.quant.GptqPacked g when g.perm() == null -> packed(g.body());
            case dev.revenant.quant.GptqPacked g -> throw new UnsupportedOperationException(g.name()
                    + ": act-order GPTQ weights (a column permutation) do not run in the whole-model cuda pass yet; use a CPU backend");
            case GgufPacked g -> gguf(g);
            case Bnb4Packed b -> nf4(b);
            case Int8Packed i -> throw new UnsupportedOperationException(i.name()
                    + ": LLM.int8 (precision int8) does not run on the cuda backend yet; use a CPU backend");
        };
    }

    private static int groupSize(RtnPacked r) {
        return r.groupSize() < 0 ? r.cols() : r.groupSize();
    }

    private static DeviceWeight int4(RtnPacked r) {
        int words = (r.cols() + 7) / 8;
        int[] q = new int[r.rows() * words];
        for (int n = 0; n < r.rows(); n++) {
            for (int c = 0; c < r.cols(); c++) {
                q[n * words + c / 8] |= r.code(n, c) << (4 * (c % 8));
            }
        }
        return new Int4(r.rows(), r.cols(), groupSize(r), DeviceBuffer.of(r.name() + " (int4 codes)", q),
                DeviceBuffer.of(r.name() + " (scales)", r.scale()), DeviceBuffer.of(r.name() + " (zeros)", r.zero()));
    }

    private static DeviceWeight u8(RtnPacked r) {
        return new U8(r.rows(), r.cols(), groupSize(r), DeviceBuffer.of(r.name() + " (codes)", r.codes()),
                DeviceBuffer.of(r.name() + " (scales)", r.scale()), DeviceBuffer.of(r.name() + " (zeros)", r.zero()));
    }

    // Q4_0 = int4 with zero 8 and one scale d per 32 columns; Q8_0 = bytes (code + 128) with zero 128
    private static DeviceWeight gguf(GgufPacked g) {
        int rows = g.rows();
        int cols = g.cols();
        int groups = cols / GgufBlocks.QK;
        float[] scale = new float[groups * rows];
        float[] zero = new float[groups * rows];
        boolean q4 = g.type() == GgufPacked.Type.Q4_0;
        java.util.Arrays.fill(zero, q4 ? 8f : 128f);
        byte[] blocks = g.blocks();
        int bb = g.type().blockBytes();
        if (q4) {
            int words = cols / 8;
            int[] q = new int[rows * words];
            for (int n = 0; n < rows; n++) {
                for (int b = 0; b < groups; b++) {
                    int off = (n * groups + b) * bb;
                    scale[b * rows + n] = GgufBlocks.d(blocks, off);
                    for (int j = 0; j < GgufBlocks.QK; j++) {
                        int byt = blocks[off + 2 + (j % 16)] & 0xFF;
                        int code = j < 16 ? byt & 0xF : byt >>> 4;
                        int c = b * GgufBlocks.QK + j;
                        q[n * words + c / 8] |= code << (4 * (c % 8));
                    }
                }
            }
            return new Int4(rows, cols, GgufBlocks.QK, DeviceBuffer.of(g.name() + " (int4 codes)", q),
                    DeviceBuffer.of(g.name() + " (scales)", scale), DeviceBuffer.of(g.name() + " (zeros)", zero));
        }
        byte[] q = new byte[rows * cols];
        for (int n = 0; n < rows; n++) {
            for (int b = 0; b < groups; b++) {
                int off = (n * groups + b) * bb;
                scale[b * rows + n] = GgufBlocks.d(blocks, off);
                for (int j = 0; j < GgufBlocks.QK; j++) {
                    q[n * cols + b * GgufBlocks.QK + j] = (byte) (blocks[off + 2 + j] + 128);
                }
            }
        }
        return new U8(rows, cols, GgufBlocks.QK, DeviceBuffer.of(g.name() + " (codes)", q),
                DeviceBuffer.of(g.name() + " (scales)", scale), DeviceBuffer.of(g.name() + " (zeros)", zero));
    }

    private static DeviceWeight nf4(Bnb4Packed b) {
        float[] lut = new float[16];
        for (int c = 0; c < 16; c++) {
            lut[c] = Bnb4.codeValue(b.kind(), c);
        }
        long[] s = b.shape();
        return new Nf4((int) s[0], (int) s[1], DeviceBuffer.of(b.name() + " (4-bit codes)", b.packed()),
                DeviceBuffer.of(b.name() + " (absmax)", b.absmax()), DeviceBuffer.of(b.name() + " (code table)", lut));
    }

    /** A second device copy of {@code w} (device-to-device; benchmarks cycle copies to stream from DRAM). */
    static DeviceWeight copyOf(DeviceWeight w) {
        return switch (w) {
            case Dense d -> new Dense(d.n(), d.k(), d.type(), dup(d.data()));
            case Int4 q -> new Int4(q.n(), q.k(), q.groupSize(), dup(q.q()), dup(q.scale()), dup(q.zero()));
            case U8 q -> new U8(q.n(), q.k(), q.groupSize(), dup(q.q()), dup(q.scale()), dup(q.zero()));
            case Nf4 q -> new Nf4(q.n(), q.k(), dup(q.packed()), dup(q.absmax()), dup(q.lut()));
        };
    }

    private static DeviceBuffer dup(DeviceBuffer b) {
        DeviceBuffer c = DeviceBuffer.allocate("copy", b.bytes());
        DeviceBuffer.copy(c.ptr(), b.ptr(), b.bytes());
        return c;
    }

    /** The DType a dense weight of this type has (for messages). */
    static DType dtype(DenseType t) {
        return switch (t) {
            case F32 -> DType.F32;
            case BF16 -> DType.BF16;
            case F16 -> DType.F16;
        };
    }
}
