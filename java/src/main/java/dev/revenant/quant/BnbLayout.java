package dev.revenant.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.function.Function;

/**
 * A serialized bitsandbytes 4-bit Linear weight (formats.md, "bitsandbytes 4-bit"; bitsandbytes
 * {@code functional.py} {@code QuantState.as_dict(packed=True)} / {@code from_dict}, {@code quantize_4bit},
 * {@code dequantize_4bit}, {@code dequantize_blockwise}), as transformers saves it:
 * <ul>
 * <li>{@code P.weight} U8 {@code [ceil(n/2), 1]}: two codes per byte, even element in the high nibble;
 * <li>{@code P.weight.absmax}: F32 {@code [ceil(n/64)]}, or with double quantization (nested statistics) U8 codes of
 *     {@code absmax − offset} in the 8-bit dynamic map, blocks of {@code nested_blocksize} (256);
 * <li>{@code P.weight.quant_map} F32 {@code [16]} (the NF4 or FP4 codebook; the CUDA kernels use their built-in
 *     tables, so it is only checked);
 * <li>{@code P.weight.nested_absmax} F32, {@code P.weight.nested_quant_map} F32 {@code [256]} when nested;
 * <li>{@code P.weight.quant_state.bitsandbytes__nf4} (or {@code __fp4}): U8 bytes of a JSON object with
 *     {@code quant_type}, {@code blocksize}, {@code dtype}, {@code shape} and, when nested, {@code nested_blocksize},
 *     {@code nested_dtype}, {@code nested_offset}.
 * </ul>
 * Double quantization is resolved at load exactly as {@code dequantize_4bit} does it: {@code absmax[i] =
 * fp32(nested_quant_map[q[i]] · nested_absmax[i / nested_blocksize]) + fp32(nested_offset)} in fp32 (the 8-bit
 * blockwise kernel's product, then the {@code absmax += offset} add); the result is a plain {@link Bnb4Packed}
 * whose dequantization then matches bitsandbytes' element for element.
 */
public final class BnbLayout {
    private static final ObjectMapper JSON = new ObjectMapper();

    private BnbLayout() {
    }

    /** The quantized weight {@code prefix.weight} of shape {@code [rows, cols]}, or empty when it has no quant state. */
    public static Optional<Bnb4Packed> read(String where, String prefix, int rows, int cols, Bnb4Packed.Kind kind,
                                            Function<String, Optional<Tensor>> find) {
        String w = prefix + ".weight";
        String type = kind == Bnb4Packed.Kind.NF4 ? "nf4" : "fp4";
        String other = kind == Bnb4Packed.Kind.NF4 ? "fp4" : "nf4";
        if (find.apply(w + ".quant_state.bitsandbytes__" + other).isPresent()) {
            throw new IllegalArgumentException(where + ": " + w + ".quant_state.bitsandbytes__" + other
                    + " contradicts quantization_config.bnb_4bit_quant_type '" + type + "'");
        }
        Optional<Tensor> qs = find.apply(w + ".quant_state.bitsandbytes__" + type);
        if (qs.isEmpty()) {
            return Optional.empty();
        }
        long n = (long) rows * cols;
        JsonNode state = state(where, qs.get());
        check(where, qs.get(), state.path("quant_type").asText("").equals(type), "quant_type '" + type + "'", state.get("quant_type"));
        check(where, qs.get(), state.path("blocksize").asInt(-1) == Bnb4.BLOCK, "blocksize " + Bnb4.BLOCK, state.get("blocksize"));
        JsonNode shape = state.get("shape");
        check(where, qs.get(), shape != null && shape.size() == 2 && shape.get(0).asLong() == rows && shape.get(1).asLong() == cols,
                "shape [" + rows + ", " + cols + "]", shape);
        Tensor pw = find.apply(w).orElseThrow(() -> new IllegalArgumentException(where + ": tensor '" + w + "' missing"));
        byte[] packed = PackedBits.bytes(pw, where, (n + 1) / 2, DType.U8);
        int blocks = (int) ((n + Bnb4.BLOCK - 1) / Bnb4.BLOCK);
        float[] map = PackedBits.floats(GptqLayout.part(where, w, "quant_map", find), where, 16);
        for (int k = 0; k < 16; k++) {
            if (Math.abs(map[k] - Bnb4.codeValue(kind, k)) > 1e-6f) {
                throw new IllegalArgumentException(where + ": " + w + ".quant_map[" + k + "] = " + map[k] + " is not the "
                        + type + " codebook value " + Bnb4.codeValue(kind, k));
            }
        }
        Tensor am = GptqLayout.part(where, w, "absmax", find);
        float[] absmax;
        if (find.apply(w + ".nested_absmax").isPresent()) {
            absmax = nested(where, w, state, qs.get(), PackedBits.bytes(am, where, blocks, DType.U8), find);
        } else {
            PackedBits.expect(am, where, new long[] {blocks}, DType.F32);
            absmax = am.toFloatArray();
        }
        return Optional.of(new Bnb4Packed(kind, w, new long[] {rows, cols}, n, packed, absmax));
    }

    private static float[] nested(String where, String w, JsonNode state, Tensor qs, byte[] q, Function<String, Optional<Tensor>> find) {
        int blocks = q.length;
        int nb = state.path("nested_blocksize").asInt(-1);
        check(where, qs, nb > 0, "a positive nested_blocksize", state.get("nested_blocksize"));
        JsonNode off = state.get("nested_offset");
        check(where, qs, off != null && off.isNumber(), "a numeric nested_offset", off);
        check(where, qs, state.path("nested_dtype").asText("float32").equals("float32"), "nested_dtype 'float32'",
                state.get("nested_dtype"));
        float offset = (float) off.asDouble();
        float[] code = PackedBits.floats(GptqLayout.part(where, w, "nested_quant_map", find), where, 256);
        float[] nabs = PackedBits.floats(GptqLayout.part(where, w, "nested_absmax", find), where, (blocks + nb - 1) / nb);
        float[] absmax = new float[blocks];
        for (int i = 0; i < blocks; i++) {
            float v = code[q[i] & 0xFF] * nabs[i / nb];
            absmax[i] = v + offset;
        }
        return absmax;
    }

    private static JsonNode state(String where, Tensor t) {
        if (t.dtype() != DType.U8 || t.rank() != 1) {
            throw new IllegalArgumentException(where + ": " + t.name() + ": expected U8 [n] (JSON bytes), found "
                    + t.dtype() + " " + java.util.Arrays.toString(t.shape()));
        }
        String text = new String(t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        try {
            JsonNode n = JSON.readTree(text);
            if (n == null || !n.isObject()) {
                throw new IOException("not a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new IllegalArgumentException(where + ": " + t.name() + ": not a bitsandbytes quant_state JSON object: "
                    + e.getMessage(), e);
        }
    }

    private static void check(String where, Tensor qs, boolean ok, String expected, JsonNode found) {
        if (!ok) {
            throw new IllegalArgumentException(where + ": " + qs.name() + ": expected " + expected + ", found " + found);
        }
    }
}
