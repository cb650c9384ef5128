package dev.revenant.quant;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A small independent GGUF v3 reader for the tests: header, metadata, tensor infos and data offsets. */
record GgufFile(int version, Map<String, Object> meta, Map<String, Integer> metaTypes, List<Info> tensors,
                long dataStart, ByteBuffer bytes) {

    record Info(String name, long[] ne, int type, long offset) {
    }

    static GgufFile read(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[4];
        b.get(magic);
        if (!new String(magic, StandardCharsets.US_ASCII).equals("GGUF")) {
            throw new IOException("bad magic");
        }
        int version = b.getInt();
        long nt = b.getLong();
        long nkv = b.getLong();
        Map<String, Object> meta = new LinkedHashMap<>();
        Map<String, Integer> types = new LinkedHashMap<>();
        for (long i = 0; i < nkv; i++) {
            String k = str(b);
            int t = b.getInt();
            types.put(k, t);
            meta.put(k, value(b, t));
        }
        List<Info> infos = new ArrayList<>();
        for (long i = 0; i < nt; i++) {
            String name = str(b);
            int nd = b.getInt();
            long[] ne = new long[nd];
            for (int d = 0; d < nd; d++) {
                ne[d] = b.getLong();
            }
            infos.add(new Info(name, ne, b.getInt(), b.getLong()));
        }
        long align = meta.containsKey("general.alignment") ? ((Number) meta.get("general.alignment")).longValue() : 32;
        long dataStart = (b.position() + align - 1) / align * align;
        return new GgufFile(version, meta, types, infos, dataStart, b);
    }

    static String str(ByteBuffer b) {
        long n = b.getLong();
        byte[] s = new byte[(int) n];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    static Object value(ByteBuffer b, int t) {
        return switch (t) {
            case 0, 1 -> b.get();
            case 2, 3 -> b.getShort();
            case 4 -> Integer.toUnsignedLong(b.getInt());
            case 5 -> b.getInt();
            case 6 -> b.getFloat();
            case 7 -> b.get() != 0;
            case 8 -> str(b);
            case 9 -> {
                int et = b.getInt();
                long n = b.getLong();
                List<Object> l = new ArrayList<>();
                for (long i = 0; i < n; i++) {
                    l.add(value(b, et));
                }
                yield l;
            }
            case 10, 11 -> b.getLong();
            case 12 -> b.getDouble();
            default -> throw new IllegalArgumentException("gguf type " + t);
        };
    }

    Info tensor(String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow(() -> new AssertionError("no " + name));
    }

    byte[] data(Info t, long size) {
        byte[] out = new byte[(int) size];
        bytes.slice((int) (dataStart + t.offset()), (int) size).get(out);
        return out;
    }

    /** Bytes of a tensor of ggml type F32 / Q4_0 / Q8_0. */
    static long byteSize(Info t) {
        long n = 1;
        for (long d : t.ne()) {
            n *= d;
        }
        return switch (t.type()) {
            case 0 -> n * 4;
            case 2 -> n / 32 * 18;
            case 8 -> n / 32 * 34;
            default -> throw new IllegalArgumentException("ggml type " + t.type());
        };
    }
}
