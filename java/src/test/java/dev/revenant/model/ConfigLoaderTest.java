package dev.revenant.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.revenant.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static ModelConfig parse(String json) throws IOException {
        return ConfigLoader.parse(JSON.readTree(json));
    }

    static final String BASE = "\"vocab_size\": 100, \"hidden_size\": 64, \"intermediate_size\": 128, "
            + "\"num_hidden_layers\": 2, \"num_attention_heads\": 4";

    @Test
    void fixtureConfigsParseWithTheirSpecifics() {
        ModelConfig llama3 = ConfigLoader.load(Fixtures.model("llama3"));
        assertEquals(RopeConfig.Type.LLAMA3, llama3.rope().type());
        assertEquals(8.0, llama3.rope().factor());
        assertEquals(32, llama3.rope().originalMaxPositions());
        assertTrue(llama3.tieWordEmbeddings());
        ModelConfig mistral = ConfigLoader.load(Fixtures.model("mistral"));
        assertEquals(16, mistral.slidingWindow());
        assertTrue(mistral.slidingLayer(0));
        ModelConfig qwen2 = ConfigLoader.load(Fixtures.model("qwen2"));
        assertEquals(0, qwen2.slidingWindow(), "use_sliding_window=false must disable the window");
        assertTrue(qwen2.qkvBias());
        assertFalse(qwen2.outputBias());
        ModelConfig qwen3 = ConfigLoader.load(Fixtures.model("qwen3"));
        assertEquals(48, qwen3.headDim());
        ModelConfig phi = ConfigLoader.load(Fixtures.model("phi"));
        assertEquals(16, phi.rope().rotaryDim());
        assertEquals(Activation.GELU_TANH, phi.activation());
        assertEquals(Family.NormKind.LAYER_NORM, phi.family().norm());
        ModelConfig gemma = ConfigLoader.load(Fixtures.model("gemma"));
        assertEquals(Activation.GELU_TANH, gemma.activation());
        assertEquals(Family.NormKind.RMS_PLUS_ONE, gemma.family().norm());
        assertTrue(gemma.tieWordEmbeddings(), "gemma ties by default");
    }

    @Test
    void legacyAndNewRopeKeysGiveTheSameConfig() throws IOException {
        ModelConfig legacy = parse("{\"model_type\": \"llama\", " + BASE + ", \"rope_theta\": 500000.0, \"rope_scaling\": "
                + "{\"rope_type\": \"llama3\", \"factor\": 32.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
                + "\"original_max_position_embeddings\": 8192}}");
        ModelConfig fresh = parse("{\"model_type\": \"llama\", " + BASE + ", \"rope_parameters\": "
                + "{\"rope_type\": \"llama3\", \"rope_theta\": 500000.0, \"factor\": 32.0, \"low_freq_factor\": 1.0, "
                + "\"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}}");
        assertEquals(legacy.rope(), fresh.rope());
        assertEquals(500000.0, fresh.rope().theta());
        ModelConfig oldType = parse("{\"model_type\": \"llama\", " + BASE + ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}}");
        assertEquals(RopeConfig.Type.LINEAR, oldType.rope().type());
        ModelConfig dyn = parse("{\"model_type\": \"llama\", " + BASE + ", \"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 2.0}}");
        assertEquals(RopeConfig.Type.DYNAMIC, dyn.rope().type());
        assertEquals(4, parse("{\"model_type\": \"llama\", " + BASE + "}").numKvHeads(), "absent num_key_value_heads = MHA");
    }

    @Test
    void unknownModelTypeListsTheSupportedOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse("{\"model_type\": \"gpt_neox\", " + BASE + "}"));
        assertTrue(e.getMessage().contains("gpt_neox"), e.getMessage());
        for (Family f : Family.values()) {
            assertTrue(e.getMessage().contains(f.modelType()), e.getMessage());
        }
    }

    @Test
    void badValuesNameTheKeyAndTheFile(@TempDir Path dir) throws IOException {
        IllegalArgumentException rope = assertThrows(IllegalArgumentException.class, () -> parse(
                "{\"model_type\": \"llama\", " + BASE + ", \"rope_scaling\": {\"rope_type\": \"longrope\", \"factor\": 2.0}}"));
        assertTrue(rope.getMessage().contains("longrope") && rope.getMessage().contains("llama3"), rope.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> parse("{\"model_type\": \"llama\", \"vocab_size\": 10}"));
        assertTrue(missing.getMessage().contains("hidden_size"), missing.getMessage());
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
                () -> parse("{\"model_type\": \"llama\", " + BASE.replace("\"hidden_size\": 64", "\"hidden_size\": \"64\"") + "}"));
        assertTrue(type.getMessage().contains("hidden_size") && type.getMessage().contains("integer"), type.getMessage());
        Files.writeString(dir.resolve("config.json"), "{ not json");
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> ConfigLoader.load(dir));
        assertTrue(bad.getMessage().contains("config.json"), bad.getMessage());
        IllegalArgumentException absent = assertThrows(IllegalArgumentException.class, () -> ConfigLoader.load(dir.resolve("nope")));
        assertTrue(absent.getMessage().contains("config.json"), absent.getMessage());
    }
}
