package dev.revenant.quant;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A safetensors file built byte by byte from the format description (8-byte little-endian header length, JSON
 * header of {@code {name: {dtype, shape, data_offsets}}}, then the raw little-endian data), independent of
 * Revenant's writer, plus a config.json: the conformance tests' source of third-party-layout checkpoints.
 */
final class RawCheckpoint {
    private final StringBuilder header = new StringBuilder("{");
    private final ByteArrayOutputStream data = new ByteArrayOutputStream();

    RawCheckpoint i32(String name, int[] v, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) {
            b.putInt(x);
        }
        return add(name, "I32", shape, b.array());
    }

    RawCheckpoint i64(String name, long[] v, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            b.putLong(x);
        }
        return add(name, "I64", shape, b.array());
    }

    /** fp16 values; each must be exactly representable (the tests pick such scales). */
    RawCheckpoint f16(String name, float[] v, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            short h = Float.floatToFloat16(x);
            if (Float.float16ToFloat(h) != x) {
                throw new IllegalArgumentException(x + " is not an fp16 value");
            }
            b.putShort(h);
        }
        return add(name, "F16", shape, b.array());
    }

    RawCheckpoint f32(String name, float[] v, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return add(name, "F32", shape, b.array());
    }

    RawCheckpoint u8(String name, byte[] v, long... shape) {
        return add(name, "U8", shape, v.clone());
    }

    RawCheckpoint i8(String name, byte[] v, long... shape) {
        return add(name, "I8", shape, v.clone());
    }

    RawCheckpoint add(String name, String dtype, long[] shape, byte[] bytes) {
        int start = data.size();
        data.writeBytes(bytes);
        if (header.length() > 1) {
            header.append(',');
        }
        header.append('"').append(name).append("\":{\"dtype\":\"").append(dtype).append("\",\"shape\":")
                .append(Arrays.toString(shape).replace(" ", "")).append(",\"data_offsets\":[").append(start).append(',')
                .append(data.size()).append("]}");
        return this;
    }

    /** Writes {@code dir/model.safetensors} and {@code dir/config.json} with {@code quantization} as its quantization_config. */
    Path write(Path dir, String quantization) throws IOException {
        return writeConfig(dir, "{\"model_type\": \"llama\", \"quantization_config\": " + quantization + "}");
    }

    /** Writes {@code dir/model.safetensors} and {@code config} verbatim as {@code dir/config.json}. */
    Path writeConfig(Path dir, String config) throws IOException {
        Files.createDirectories(dir);
        byte[] h = (header + "}").getBytes(StandardCharsets.UTF_8);
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(len.array());
        out.writeBytes(h);
        out.writeBytes(data.toByteArray());
        Files.write(dir.resolve("model.safetensors"), out.toByteArray());
        Files.writeString(dir.resolve("config.json"), config);
        return dir;
    }
}
