package dev.revenant.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named, typed, shaped view over little-endian bytes (a zero-copy slice of a mapped file, or a
 * heap segment). Row-major; {@code shape[0]} is the outermost dimension.
 */
public record Tensor(String name, DType dtype, long[] shape, MemorySegment data) {

    public static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Tensor {
        shape = shape.clone();
        long expect = numel(shape) * dtype.byteSize();
        if (data.byteSize() != expect) {
            throw new IllegalArgumentException(name + ": " + dtype + " " + Arrays.toString(shape)
                    + " needs " + expect + " bytes, found " + data.byteSize());
        }
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** A heap F32 tensor holding a copy of {@code values}. */
    public static Tensor ofFloats(String name, float[] values, long... shape) {
        MemorySegment seg = MemorySegment.ofArray(new byte[values.length * 4]);
        for (int i = 0; i < values.length; i++) {
            seg.setAtIndex(F32_LE, i, values[i]);
        }
        return new Tensor(name, DType.F32, shape, seg);
    }

    /** A heap I32 tensor (little-endian) holding a copy of {@code values}. */
    public static Tensor ofInts(String name, int[] values, long... shape) {
        MemorySegment seg = MemorySegment.ofArray(new byte[values.length * 4]);
        for (int i = 0; i < values.length; i++) {
            seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), i, values[i]);
        }
        return new Tensor(name, DType.I32, shape, seg);
    }

    public long numel() {
        return numel(shape);
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    /** Element {@code i} (flat index) widened to float; F64/I64 values lose precision. */
    public float getFloat(long i) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32_LE, i);
            case BF16 -> bf16ToFloat(data.getAtIndex(I16_LE, i));
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16_LE, i));
            case F64 -> (float) data.getAtIndex(F64_LE, i);
            case I64 -> data.getAtIndex(I64_LE, i);
            case I32 -> data.getAtIndex(I32_LE, i);
            case I16 -> data.getAtIndex(I16_LE, i);
            case I8 -> data.get(ValueLayout.JAVA_BYTE, i);
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            default -> throw new UnsupportedOperationException(name + ": getFloat on " + dtype);
        };
    }

    /** Element {@code i} as double (exact for F64, F32, F16, BF16 and integers up to 2^53). */
    public double getDouble(long i) {
        return switch (dtype) {
            case F64 -> data.getAtIndex(F64_LE, i);
            case I64 -> data.getAtIndex(I64_LE, i);
            default -> getFloat(i);
        };
    }

    /** Element {@code i} of an integer tensor as long. */
    public long getLong(long i) {
        return switch (dtype) {
            case I64, U64 -> data.getAtIndex(I64_LE, i);
            case I32 -> data.getAtIndex(I32_LE, i);
            case U32 -> Integer.toUnsignedLong(data.getAtIndex(I32_LE, i));
            case I16 -> data.getAtIndex(I16_LE, i);
            case U16 -> Short.toUnsignedInt(data.getAtIndex(I16_LE, i));
            case I8 -> data.get(ValueLayout.JAVA_BYTE, i);
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            default -> throw new UnsupportedOperationException(name + ": getLong on " + dtype);
        };
    }

    /** A heap copy of all elements as float. */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(name + ": too large for a float[] (" + n + " elements)");
        }
        float[] out = new float[(int) n];
        for (int i = 0; i < out.length; i++) {
            out[i] = getFloat(i);
        }
        return out;
    }

    public double[] toDoubleArray() {
        double[] out = new double[Math.toIntExact(numel())];
        for (int i = 0; i < out.length; i++) {
            out[i] = getDouble(i);
        }
        return out;
    }

    public long[] toLongArray() {
        long[] out = new long[Math.toIntExact(numel())];
        for (int i = 0; i < out.length; i++) {
            out[i] = getLong(i);
        }
        return out;
    }

    /** bfloat16 bits to float: the upper half of an IEEE float32. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** float to bfloat16 bits, round to nearest even (as torch's {@code .to(torch.bfloat16)}); NaN stays NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public String describe() {
        return name + " " + dtype + " " + Arrays.toString(shape);
    }
}
