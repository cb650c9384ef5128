package dev.revenant.quant;

import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * A weight matrix {@code [out, in]} (row-major, one output feature per row) held in a packed
 * quantized form. Every implementation carries a {@code dequantize} reference: the float values a
 * kernel working on the packed form must reproduce (bit for bit where its docs say so).
 */
public sealed interface QuantizedWeight permits RtnPacked, GptqPacked, Bnb4Packed, Int8Packed, GgufPacked {

    /** The tensor name, used in error messages and for the dequantized tensor. */
    String name();

    /** {@code [out, in]}, a fresh copy. */
    long[] shape();

    /** The precision name this object was made for ({@code rtn-w4-g128}, {@code nf4}, {@code q4_0}, ...). */
    String precision();

    /** The dequantized weights as an F32 tensor {@code [out, in]} allocated in {@code arena}. */
    Tensor dequantize(Arena arena);

    /** Bytes this object holds for the packed weights and their scales (its in-memory footprint, not the source's). */
    long packedBytes();
}
