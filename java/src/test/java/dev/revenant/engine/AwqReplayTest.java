package dev.revenant.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.revenant.Fixtures;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.quant.AwqQuantizer;
import dev.revenant.quant.Precision;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * AWQ's searches that start at their group (o and down by their one matmul, [gate, up] by the MLP alone) give the
 * same bits as rerunning the whole layer for every candidate: every quantized weight and folded norm, over several
 * chunks, on architectures with GQA, biases, fused projections and phi's parallel block.
 */
class AwqReplayTest {
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "gemma", "phi3", "phi"})
    void startingAtTheGroupGivesTheSameBitsAsRerunningTheLayer(String arch) {
        try (Backend be = Backends.create("auto-cpu", 2); Model m = Model.load(Fixtures.model(arch), be);
             Arena arena = Arena.ofShared()) {
            Calibration cal = Calibration.random(m.config().vocabSize(), new Calibration.Options(null, 6, 40, 3));
            AwqQuantizer grid = AwqQuantizer.of(Precision.parse("awq-w4-g128"));
            // at most 100 rows a chunk: three chunks of two 40-token windows
            SequentialQuantizer.Result layer = AwqCalibration.run(m, cal.samples(), grid, 100, arena, null, 0);
            SequentialQuantizer.Result replay = AwqCalibration.run(m, cal.samples(), grid, 100, arena, null, Long.MAX_VALUE);
            assertEquals(names(layer.weights()), names(replay.weights()));
            for (Map.Entry<Tensor, QuantizedWeight> e : layer.weights().entrySet()) {
                float[] a = e.getValue().dequantize(arena).toFloatArray();
                float[] b = replay.weights().get(e.getKey()).dequantize(arena).toFloatArray();
                assertArrayEquals(a, b, 0f, arch + " " + e.getKey().name());
            }
            assertEquals(names(layer.replaced()), names(replay.replaced()));
            for (Map.Entry<Tensor, Tensor> e : layer.replaced().entrySet()) {
                assertArrayEquals(e.getValue().toFloatArray(), replay.replaced().get(e.getKey()).toFloatArray(), 0f,
                        arch + " " + e.getKey().name());
            }
        }
    }

    static List<String> names(Map<Tensor, ?> m) {
        List<String> out = new ArrayList<>();
        for (Tensor t : m.keySet()) {
            out.add(t.name());
        }
        return out.stream().sorted().toList();
    }
}
