package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.quant.GgufBlocks;
import dev.revenant.quant.GgufPacked;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** PackedRouter: registered placeholders (by identity) go to matmulPacked, everything else to matmul. */
class PackedRouterTest {

    /** Records which op the router called. */
    private static final class Recording implements Backend {
        final List<String> calls = new ArrayList<>();

        @Override
        public String name() {
            return "rec";
        }

        @Override
        public int threads() {
            return 1;
        }

        @Override
        public void matmul(Tensor w, Tensor bias, float[] x, int rows, float[] out) {
            calls.add("matmul " + w.name());
        }

        @Override
        public void matmulPacked(QuantizedWeight w, Tensor bias, float[] x, int rows, float[] out) {
            calls.add("packed " + w.name());
        }

        @Override
        public void attention(float[] q, int qRow, int tokens, int start, float[] k, float[] v, int nHeads, int nKv,
                              int headDim, int window, float scale, float[] out, int outRow, float[] scratch) {
            calls.add("attention");
        }
    }

    @Test
    void routesByIdentity() {
        Recording rec = new Recording();
        PackedRouter router = new PackedRouter(rec);
        QuantizedWeight q = GgufBlocks.quantize(Weights.random(DType.F32, 4, 32, 1), GgufPacked.Type.Q8_0);
        try (Arena arena = Arena.ofConfined()) {
            Tensor placeholder = q.dequantize(arena);
            Tensor sameValues = q.dequantize(arena);
            router.register(placeholder, q);
            float[] x = new float[32];
            float[] out = new float[4];
            router.matmul(placeholder, null, x, 1, out);
            router.matmul(sameValues, null, x, 1, out);
            router.attention(x, 0, 1, 0, x, x, 1, 1, 1, 0, 1f, out, 0, x);
            assertEquals(List.of("packed " + q.name(), "matmul " + sameValues.name(), "attention"), rec.calls);
            assertEquals("rec+packed", router.name());
            assertThrows(IllegalArgumentException.class,
                    () -> router.register(Weights.random(DType.F32, 3, 32, 2), q));
        }
    }

    @Test
    void routedMatmulMatchesDense() {
        try (VectorBackend be = new VectorBackend(2); Arena arena = Arena.ofConfined()) {
            PackedRouter router = new PackedRouter(be);
            QuantizedWeight q = GgufBlocks.quantize(Weights.random(DType.F32, 65, 96, 3), GgufPacked.Type.Q4_0);
            Tensor d = q.dequantize(arena);
            router.register(d, q);
            float[] x = Weights.floats(2 * 96, 4);
            float[] routed = new float[2 * 65];
            float[] packed = new float[2 * 65];
            router.matmul(d, null, x, 2, routed);
            be.matmulPacked(q, null, x, 2, packed);
            assertArrayEquals(packed, routed);
            assertTrue(router.size() == 1);
        }
    }
}
