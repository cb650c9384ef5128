package dev.revenant.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class SynthesizerTest {
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path tmp;

    static Stream<Arguments> familiesAndDtypes() {
        return Stream.of(Family.values()).flatMap(f -> Stream.of(Arguments.of(f, DType.F32), Arguments.of(f, DType.BF16)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("familiesAndDtypes")
    void tinyRoundTripsAndBinds(Family family, DType dtype) throws IOException {
        Presets.Preset tiny = Presets.get("tiny");
        Path dir = tmp.resolve(family.modelType() + "-" + dtype);
        Synthesizer.Result r = Synthesizer.synthesize(tiny, family, dtype, 7, dir);

        ModelConfig loaded = ConfigLoader.load(dir);
        assertEquals(tiny.config(family, dtype), loaded);
        assertEquals(family, loaded.family());
        assertEquals(dtype == DType.F32 ? "float32" : "bfloat16", loaded.torchDtype());
        // family variants, stated here rather than taken from Presets
        assertEquals(family == Family.QWEN2 || family == Family.PHI, loaded.qkvBias());
        assertEquals(family == Family.PHI, loaded.mlpBias());
        assertEquals(family == Family.GEMMA, loaded.tieWordEmbeddings());
        assertEquals(family == Family.MISTRAL ? 16 : 0, loaded.slidingWindow());
        assertEquals(family == Family.PHI ? 16 : 32, loaded.rope().rotaryDim());
        assertEquals(family == Family.PHI || family == Family.GEMMA ? Activation.GELU_TANH : Activation.SILU, loaded.activation());

        JsonNode json = new ObjectMapper().readTree(Files.readString(dir.resolve("config.json")));
        assertEquals("revenant-synth", json.get("transformers_version").asText());
        assertTrue(json.get("architectures").get(0).asText().endsWith("ForCausalLM"));
        JsonNode gen = new ObjectMapper().readTree(Files.readString(dir.resolve("generation_config.json")));
        assertEquals(1, gen.get("bos_token_id").asInt());
        assertEquals(2, gen.get("eos_token_id").asInt());

        List<Architecture.TensorSpec> specs = Architecture.tensors(loaded);
        long expectParams = specs.stream().mapToLong(Architecture.TensorSpec::numel).sum();
        assertEquals(expectParams, r.parameters());
        assertEquals(Files.size(dir.resolve("model.safetensors")), r.bytes());
        try (Checkpoint ck = Checkpoint.open(dir)) {
            Weights w = Weights.bind(loaded, ck);
            assertNotNull(w.embed());
            assertEquals(specs.stream().map(Architecture.TensorSpec::name).toList(), ck.names());
            assertEquals("pt", ck.metadata().get("format"));
            assertEquals("arch=" + family.modelType() + " preset=tiny seed=7 dtype=" + (dtype == DType.F32 ? "f32" : "bf16"),
                    ck.metadata().get("revenant.synth"));
            float norm = family == Family.GEMMA ? 0f : 1f;
            for (Architecture.TensorSpec s : specs) {
                Tensor t = ck.tensor(s.name());
                assertEquals(dtype, t.dtype());
                switch (s.role()) {
                    case NORM -> assertAll(t, norm);
                    case BIAS -> assertAll(t, 0f);
                    default -> { }
                }
            }
        }
    }

    @Test
    void tinyLlamaConfigIsTheIntendedOne() {
        ModelConfig expect = new ModelConfig(Family.LLAMA, "llama", 512, 128, 384, 2, 4, 2, 32, 1e-6, Activation.SILU,
                false, 256, 0, 0, false, false, false, RopeConfig.plain(10000.0, 32), 1, 2, "float32");
        assertEquals(expect, ConfigLoader.parse(Synthesizer.configJson(Presets.get("tiny"), Family.LLAMA, DType.F32)));
        assertEquals(Family.LLAMA, Presets.get("tiny").family());
    }

    @Test
    void sameSeedSameBytesDifferentSeedDifferentWeights() throws IOException {
        Presets.Preset tiny = Presets.get("tiny");
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        Path c = tmp.resolve("c");
        Synthesizer.synthesize(tiny, Family.QWEN3, DType.BF16, 11, a, 2);
        Synthesizer.synthesize(tiny, Family.QWEN3, DType.BF16, 11, b, 1);
        Synthesizer.synthesize(tiny, Family.QWEN3, DType.BF16, 12, c, 2);
        assertEquals(-1, Files.mismatch(a.resolve("model.safetensors"), b.resolve("model.safetensors")));
        try (Checkpoint ca = Checkpoint.open(a); Checkpoint cc = Checkpoint.open(c)) {
            for (String name : List.of("model.embed_tokens.weight", "model.layers.1.mlp.down_proj.weight", "lm_head.weight")) {
                MemorySegment x = ca.tensor(name).data();
                MemorySegment y = cc.tensor(name).data();
                assertEquals(x.byteSize(), y.byteSize());
                assertNotEquals(-1, x.mismatch(y), name);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"LLAMA", "PHI", "PHI3"})
    void bf16AndF16AreRoundedF32(Family family) {
        Presets.Preset tiny = Presets.get("tiny");
        Path f32 = tmp.resolve("f32");
        Path bf16 = tmp.resolve("bf16");
        Path f16 = tmp.resolve("f16");
        Synthesizer.synthesize(tiny, family, DType.F32, 3, f32);
        Synthesizer.synthesize(tiny, family, DType.BF16, 3, bf16);
        Synthesizer.synthesize(tiny, family, DType.F16, 3, f16);
        try (Checkpoint c32 = Checkpoint.open(f32); Checkpoint cb = Checkpoint.open(bf16); Checkpoint ch = Checkpoint.open(f16)) {
            assertEquals(c32.names(), cb.names());
            for (String name : c32.names()) {
                MemorySegment x = c32.tensor(name).data();
                MemorySegment yb = cb.tensor(name).data();
                MemorySegment yh = ch.tensor(name).data();
                long n = x.byteSize() / 4;
                for (long i = 0; i < n; i++) {
                    float v = x.getAtIndex(Tensor.F32_LE, i);
                    if (yb.getAtIndex(I16_LE, i) != Tensor.floatToBf16(v) || yh.getAtIndex(I16_LE, i) != Float.floatToFloat16(v)) {
                        throw new AssertionError(name + "[" + i + "]: f32 " + v + " bf16 " + yb.getAtIndex(I16_LE, i)
                                + " f16 " + yh.getAtIndex(I16_LE, i));
                    }
                }
            }
        }
    }

    @Test
    void weightsAreUniformWithTheRequestedStdAndReproduciblePerElement() {
        Presets.Preset tiny = Presets.get("tiny");
        Path dir = tmp.resolve("stats");
        Synthesizer.synthesize(tiny, Family.LLAMA, DType.F32, 5, dir);
        ModelConfig cfg = tiny.config(Family.LLAMA, DType.F32);
        List<Architecture.TensorSpec> specs = Architecture.tensors(cfg);
        double a = 0.08 * Math.sqrt(3);
        float scale = SynthFill.scale(0.08);
        try (Checkpoint ck = Checkpoint.open(dir)) {
            for (int ti = 0; ti < specs.size(); ti++) {
                Architecture.TensorSpec s = specs.get(ti);
                if (s.role() == Architecture.Role.NORM || s.role() == Architecture.Role.BIAS) {
                    continue;
                }
                MemorySegment d = ck.tensor(s.name()).data();
                long n = s.numel();
                double sum = 0;
                double sq = 0;
                long key = SynthFill.tensorKey(5, ti);
                for (long i = 0; i < n; i++) {
                    float v = d.getAtIndex(Tensor.F32_LE, i);
                    assertTrue(Math.abs(v) < a, s.name());
                    sum += v;
                    sq += (double) v * v;
                    if (i % 997 == 0 || i == n - 1) {
                        assertEquals(SynthFill.value(key, i, scale), v, 0f, s.name() + "[" + i + "]");
                    }
                }
                double mean = sum / n;
                double std = Math.sqrt(sq / n - mean * mean);
                double tol = 5 * 0.08 / Math.sqrt(n); // several standard errors of the mean
                assertEquals(0, mean, tol, s.name() + " mean");
                assertEquals(0.08, std, 0.08 * 0.03, s.name() + " std");
            }
        }
    }

    @Test
    void parallelFillEqualsSerialFillForAnyThreadCount() throws Exception {
        int n = 3 * SynthFill.CHUNK + 12345; // odd, several chunks, a partial last one
        float scale = SynthFill.scale(0.02);
        long key = SynthFill.tensorKey(99, 4);
        for (DType dtype : List.of(DType.F32, DType.BF16, DType.F16)) {
            MemorySegment serial = MemorySegment.ofArray(new byte[n * dtype.byteSize()]);
            SynthFill.uniform(serial, dtype, key, scale, null, 1);
            for (int threads : new int[] {1, 3}) {
                var pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
                try {
                    MemorySegment par = MemorySegment.ofArray(new byte[n * dtype.byteSize()]);
                    SynthFill.uniform(par, dtype, key, scale, pool, 2 * threads);
                    assertEquals(-1, serial.mismatch(par), dtype + " threads=" + threads);
                } finally {
                    pool.shutdownNow();
                }
            }
            for (long i : new long[] {0, 1, SynthFill.CHUNK - 1, SynthFill.CHUNK, n - 2, n - 1}) {
                float v = SynthFill.value(key, i, scale);
                switch (dtype) {
                    case F32 -> assertEquals(v, serial.getAtIndex(Tensor.F32_LE, i), 0f);
                    case BF16 -> assertEquals(Tensor.floatToBf16(v), serial.getAtIndex(I16_LE, i));
                    default -> assertEquals(Float.floatToFloat16(v), serial.getAtIndex(I16_LE, i));
                }
            }
        }
    }

    @Test
    void unknownNamesAreListed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Presets.get("llama-9t"));
        for (String name : List.of("tiny", "smollm-135m", "tinyllama-1.1b", "llama-3.2-1b", "qwen2.5-0.5b", "llama-2-7b")) {
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
        IllegalArgumentException d = assertThrows(IllegalArgumentException.class, () -> Synthesizer.parseDType("int4"));
        assertTrue(d.getMessage().contains("f32, bf16, f16"), d.getMessage());
        assertEquals(DType.BF16, Synthesizer.parseDType("bf16"));
        assertEquals(DType.F16, Synthesizer.parseDType("F16"));
        assertEquals(DType.F32, Synthesizer.parseDType("f32"));
    }

    @Test
    void smollmConfigRoundTripAndParameterCount() throws IOException {
        Presets.Preset p = Presets.get("smollm-135m");
        Path dir = tmp.resolve("smollm");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), Synthesizer.configJson(p, p.family(), DType.BF16).toPrettyString());
        ModelConfig c = ConfigLoader.load(dir);
        ModelConfig expect = new ModelConfig(Family.LLAMA, "llama", 49152, 576, 1536, 30, 9, 3, 64, 1e-5, Activation.SILU,
                true, 2048, 0, 0, false, false, false, RopeConfig.plain(10000.0, 64), 1, 2, "bfloat16");
        assertEquals(expect, c);
        assertEquals(p.config(Family.LLAMA, DType.BF16), c);
        // Shapes of SmolLM-135M: tied embedding [V, H]; per layer q [H, H], k and v [kv·d, H], o [H, H],
        // gate and up [I, H], down [H, I], two norms [H]; final norm [H].
        long v = 49152;
        long h = 576;
        long inter = 1536;
        long kv = 3 * 64;
        long perLayer = h * h + 2 * kv * h + h * h + 3 * inter * h + 2 * h;
        long expectParams = v * h + 30 * perLayer + h;
        assertEquals(134_515_008L, expectParams);
        assertEquals(expectParams, c.parameterCount());
    }

    @Test
    void realPresetsRoundTripInEveryFamily() {
        for (Presets.Preset p : Presets.all()) {
            for (Family f : Family.values()) {
                for (DType d : List.of(DType.F32, DType.BF16, DType.F16)) {
                    assertEquals(p.config(f, d), ConfigLoader.parse(Synthesizer.configJson(p, f, d)), p.name() + " " + f + " " + d);
                }
            }
        }
        ModelConfig l3 = ConfigLoader.parse(Synthesizer.configJson(Presets.get("llama-3.2-1b"), Family.LLAMA, DType.BF16));
        assertEquals(new RopeConfig(RopeConfig.Type.LLAMA3, 500000.0, 64, 32.0, 1.0, 4.0, 8192), l3.rope());
        assertEquals(131072, l3.maxPositions());
        ModelConfig q = ConfigLoader.parse(Synthesizer.configJson(Presets.get("qwen2.5-0.5b"), Family.QWEN2, DType.BF16));
        assertTrue(q.qkvBias());
        assertFalse(q.outputBias());
        assertEquals(0, q.slidingWindow());
        assertEquals(Family.QWEN2, Presets.get("qwen2.5-0.5b").family());
        JsonNode qj = Synthesizer.configJson(Presets.get("qwen2.5-0.5b"), Family.QWEN2, DType.BF16);
        assertEquals(32768, qj.get("sliding_window").asInt());
        assertEquals(21, qj.get("max_window_layers").asInt());
        assertFalse(qj.get("use_sliding_window").asBoolean());
        ModelConfig m = ConfigLoader.parse(Synthesizer.configJson(Presets.get("llama-2-7b"), Family.MISTRAL, DType.BF16));
        assertEquals(4096, m.slidingWindow());
        assertEquals(6_738_415_616L, m.parameterCount());
    }

    private static void assertAll(Tensor t, float expect) {
        MemorySegment d = t.data();
        long n = t.numel();
        for (long i = 0; i < n; i++) {
            float v = switch (t.dtype()) {
                case F32 -> d.getAtIndex(Tensor.F32_LE, i);
                case BF16 -> Tensor.bf16ToFloat(d.getAtIndex(I16_LE, i));
                default -> Float.float16ToFloat(d.getAtIndex(I16_LE, i));
            };
            assertEquals(expect, v, 0f, t.name() + "[" + i + "]");
        }
    }

    @Test
    void refusesNonFloatDtype() {
        assertThrows(IllegalArgumentException.class,
                () -> Synthesizer.synthesize(Presets.get("tiny"), null, DType.I8, 0, tmp.resolve("x")));
        assertFalse(Files.exists(tmp.resolve("x")));
    }
}
