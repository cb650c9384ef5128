package dev.revenant.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.safetensors.SafetensorsWriter;
import dev.revenant.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Binding a checkpoint to a config fails naming the tensor, the expected shape and what was found. */
class WeightsBindTest {

    static Path copyWith(Path tmp, String drop, Tensor replacement) throws IOException {
        Path src = Fixtures.model("llama");
        Files.copy(src.resolve("config.json"), tmp.resolve("config.json"));
        try (Checkpoint ck = Checkpoint.open(src)) {
            List<Tensor> out = new ArrayList<>();
            for (String n : ck.names()) {
                if (n.equals(drop)) {
                    if (replacement != null) {
                        out.add(replacement);
                    }
                } else {
                    out.add(ck.tensor(n));
                }
            }
            SafetensorsWriter.write(tmp.resolve("model.safetensors"), out, Map.of("format", "pt"));
        }
        return tmp;
    }

    @Test
    void wrongShapeNamesTensorExpectedAndFound(@TempDir Path tmp) throws IOException {
        String name = "model.layers.1.self_attn.q_proj.weight";
        copyWith(tmp, name, Tensor.ofFloats(name, new float[128 * 64], 64, 128));
        ModelConfig c = ConfigLoader.load(tmp);
        try (Checkpoint ck = Checkpoint.open(tmp)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Weights.bind(c, ck));
            assertTrue(e.getMessage().contains(name + ": expected [128, 128] F32|BF16|F16, found [64, 128] F32"), e.getMessage());
        }
    }

    @Test
    void missingTensorIsNamed(@TempDir Path tmp) throws IOException {
        copyWith(tmp, "lm_head.weight", null);
        ModelConfig c = ConfigLoader.load(tmp);
        try (Checkpoint ck = Checkpoint.open(tmp)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Weights.bind(c, ck));
            assertTrue(e.getMessage().contains("'lm_head.weight' missing"), e.getMessage());
        }
    }
}
