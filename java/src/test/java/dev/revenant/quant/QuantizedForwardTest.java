package dev.revenant.quant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.Fixtures;
import dev.revenant.engine.Forward;
import dev.revenant.engine.Model;
import dev.revenant.kernel.Backend;
import dev.revenant.kernel.Backends;
import dev.revenant.safetensors.Checkpoint;
import dev.revenant.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The forward pass at quantized precisions. rtn-w4-g128 against HF transformers with the GPTQ authors'
 * quantizer (fixtures quant/llama_rtn-w4-g128.safetensors; atol 1e-4 as for the fp32 logits: the codes
 * are bit-exact, so only fp32 summation order differs). Every other precision on every fixture
 * architecture must give finite logits.
 */
class QuantizedForwardTest {

    @ParameterizedTest
    @ValueSource(strings = {"reference", "vector"})
    void rtnW4G128MatchesTransformersWithTheGptqQuantizer(String backend) {
        try (Backend be = Backends.create(backend, 2);
             Model m = Model.load(Fixtures.model("llama"), be, Precision.parse("rtn-w4-g128"));
             Checkpoint ref = Checkpoint.open(Fixtures.dir().resolve("quant/llama_rtn-w4-g128.safetensors"))) {
            for (int len : new int[] {7, 33}) {
                long[] l = ref.tensor("input_ids." + len).toLongArray();
                int[] ids = new int[l.length];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = (int) l[i];
                }
                float[] got = new Forward(m).run(List.of(m.newCache(len)), List.of(ids), true)[0];
                float[] want = ref.tensor("logits.rtn-w4-g128." + len).toFloatArray();
                double d = 0;
                for (int i = 0; i < got.length; i++) {
                    d = Math.max(d, Math.abs(got[i] - want[i]));
                }
                System.out.printf("quant parity %s rtn-w4-g128 L=%d max|d|=%.3g%n", backend, len, d);
                assertTrue(d <= 1e-4, backend + " L=" + len + ": max |logits - HF rtn-w4-g128| = " + d);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "llama3", "mistral", "qwen2", "qwen3", "gemma", "phi3", "phi"})
    void everyPrecisionGivesFiniteLogits(String arch) {
        int[] ids = {5, 17, 300, 42, 7, 99, 3};
        for (String p : new String[] {"fp32", "bf16", "fp16", "int8", "fp4", "nf4", "q8_0", "q4_0", "rtn-w8", "rtn-w4-g128",
                "rtn-w4-g128-sym", "rtn-w3-g64", "rtn-w2-g64"}) {
            try (Backend be = Backends.create("vector", 2); Model m = Model.load(Fixtures.model(arch), be, Precision.parse(p))) {
                float[] got = new Forward(m).run(List.of(m.newCache(ids.length)), List.of(ids), true)[0];
                for (float v : got) {
                    assertTrue(Float.isFinite(v), arch + " at " + p + ": non-finite logit");
                }
            }
        }
    }

    /** A quantized model holds only its packed weights: the decoder Linear tensors are zero-byte placeholders. */
    @org.junit.jupiter.api.Test
    void quantizedModelsKeepNoDequantizedCopy() {
        try (Backend be = Backends.create("vector", 2); Model f = Model.load(Fixtures.model("llama"), be);
             Model q = Model.load(Fixtures.model("llama"), be, Precision.parse("rtn-w4-g128"))) {
            var l = q.weights().layers().get(1);
            for (Tensor t : new Tensor[] {l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown()}) {
                org.junit.jupiter.api.Assertions.assertEquals(dev.revenant.tensor.DType.PACKED, t.dtype(), t.name());
                org.junit.jupiter.api.Assertions.assertEquals(0, t.data().byteSize(), t.name());
            }
            // 4-bit codes are held one per byte with fp32 scales/zeros per 128 columns: under a third of fp32
            long linearF32 = f.weightBytesPerToken() - q.weights().bytesPerToken();
            long packed = q.weightBytesPerToken() - q.weights().bytesPerToken();
            assertTrue(packed > 0 && packed < linearF32 / 3, "packed " + packed + " bytes vs fp32 " + linearF32);
        }
    }
}
