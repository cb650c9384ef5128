package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.revenant.quant.Bnb4;
import dev.revenant.quant.Bnb4Packed;
import dev.revenant.quant.GgufBlocks;
import dev.revenant.quant.GgufPacked;
import dev.revenant.quant.Int8Bnb;
import dev.revenant.quant.QuantizedWeight;
import dev.revenant.quant.RtnQuantizer;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VectorBackend.matmulPacked (dequantize in the matmul) against ReferenceBackend.matmul on the dequantized
 * F32 tensor (design.md, convention 1), and its determinism contract: a row alone or in a batch, on 1 or 2
 * threads, gives the same bits.
 */
class VectorPackedTest {
    private static final ReferenceBackend REF = new ReferenceBackend();
    private static VectorBackend one;
    private static VectorBackend two;

    @BeforeAll
    static void open() {
        one = new VectorBackend(1);
        two = new VectorBackend(2);
    }

    @AfterAll
    static void close() {
        one.close();
        two.close();
    }

    /** Formats that take any K, and the (N, K) pairs over the odd sizes; GGUF needs K % 32 == 0. */
    static Stream<Arguments> cases() {
        String[] anyK = {"rtn-w4-g128", "rtn-w8", "rtn-w3-g7-sym", "rtn-w2-g32", "fp4", "nf4"};
        int[][] nk = {{1, 1}, {7, 31}, {33, 7}, {31, 127}, {127, 33}, {1, 4097}, {33, 4097}, {4097, 7}};
        int[][] gguf = {{1, 32}, {7, 64}, {33, 4096}, {127, 32}, {4097, 64}};
        Stream<Arguments> a = Arrays.stream(anyK).flatMap(f -> Arrays.stream(nk).map(s -> Arguments.of(f, s[0], s[1])));
        Stream<Arguments> g = Stream.of("q8_0", "q4_0").flatMap(f -> Arrays.stream(gguf).map(s -> Arguments.of(f, s[0], s[1])));
        return Stream.concat(a, g);
    }

    static QuantizedWeight quantize(String format, Tensor w) {
        return switch (format) {
            case "rtn-w4-g128" -> new RtnQuantizer(4, 128, false).quantize(w);
            case "rtn-w8" -> new RtnQuantizer(8, -1, false).quantize(w);
            case "rtn-w3-g7-sym" -> new RtnQuantizer(3, 7, true).quantize(w);
            case "rtn-w2-g32" -> new RtnQuantizer(2, 32, false).quantize(w);
            case "fp4" -> Bnb4.quantize(w, Bnb4Packed.Kind.FP4);
            case "nf4" -> Bnb4.quantize(w, Bnb4Packed.Kind.NF4);
            case "q8_0" -> GgufBlocks.quantize(w, GgufPacked.Type.Q8_0);
            case "q4_0" -> GgufBlocks.quantize(w, GgufPacked.Type.Q4_0);
            default -> throw new IllegalArgumentException(format);
        };
    }

    /** Tolerance 1e-5 · max(1, Σ_k |x_k w_k|): same exact products, fp32 summation order differs (see VectorMatmulTest). */
    @ParameterizedTest(name = "{0} N={1} K={2}")
    @MethodSource("cases")
    void matchesReferenceAndIsDeterministic(String format, int n, int k) {
        QuantizedWeight q = quantize(format, Weights.random(DType.F32, n, k, 31L * n + k));
        try (Arena arena = Arena.ofConfined()) {
            Tensor d = q.dequantize(arena);
            for (int rows : new int[] {1, 3, 64}) {
                for (boolean withBias : new boolean[] {false, true}) {
                    Tensor bias = withBias ? Tensor.ofFloats("b", Weights.floats(n, 7), n) : null;
                    float[] x = Weights.floats(rows * k, 11L + rows);
                    float[] ref = new float[rows * n];
                    REF.matmul(d, bias, x, rows, ref);
                    float[] got1 = new float[rows * n];
                    float[] got2 = new float[rows * n];
                    one.matmulPacked(q, bias, x, rows, got1);
                    two.matmulPacked(q, bias, x, rows, got2);
                    String where = format + " [" + n + "," + k + "] rows=" + rows + " bias=" + withBias;
                    assertArrayEquals(got1, got2, where + ": 1 and 2 threads differ");
                    for (int r = 0; r < rows; r++) {
                        for (int j = 0; j < n; j++) {
                            double mag = 0;
                            for (int i = 0; i < k; i++) {
                                mag += Math.abs(x[r * k + i] * d.getFloat((long) j * k + i));
                            }
                            double tol = 1e-5 * Math.max(1, mag);
                            if (!(Math.abs(got1[r * n + j] - ref[r * n + j]) <= tol)) {
                                fail(where + ": out[" + r + "," + j + "] = " + got1[r * n + j] + ", reference "
                                        + ref[r * n + j] + " (tolerance " + tol + ")");
                            }
                        }
                    }
                    if (rows > 1) {
                        for (int r : new int[] {0, rows / 2, rows - 1}) {
                            float[] alone = new float[n];
                            two.matmulPacked(q, bias, Arrays.copyOfRange(x, r * k, (r + 1) * k), 1, alone);
                            assertArrayEquals(Arrays.copyOfRange(got1, r * n, (r + 1) * n), alone,
                                    where + ": row " + r + " alone differs from the batch");
                        }
                    }
                }
            }
        }
    }

    /** The default (reference) matmulPacked gives the bits of ReferenceBackend.matmul on the dequantized tensor. */
    @Test
    void referenceIsMatmulOnDequantized() {
        QuantizedWeight q = quantize("nf4", Weights.random(DType.F32, 9, 37, 5));
        try (Arena arena = Arena.ofConfined()) {
            Tensor d = q.dequantize(arena);
            float[] x = Weights.floats(3 * 37, 2);
            float[] want = new float[27];
            float[] got = new float[27];
            REF.matmul(d, null, x, 3, want);
            REF.matmulPacked(q, null, x, 3, got);
            assertArrayEquals(want, got);
        }
    }

    /** LLM.int8 keeps its activation-quantizing op on every backend (plus the bias). */
    @Test
    void int8RunsPerRowOp() {
        var q = Int8Bnb.quantize(Weights.random(DType.F32, 33, 65, 3));
        float[] x = Weights.floats(3 * 65, 4);
        x[5] = 9f; // an outlier column in row 0
        float[] want = new float[3 * 33];
        Int8Bnb.matmulPerRow(x, 3, 65, q, want);
        Tensor bias = Tensor.ofFloats("b", Weights.floats(33, 1), 33);
        for (int r = 0; r < 3; r++) {
            for (int j = 0; j < 33; j++) {
                want[r * 33 + j] += bias.getFloat(j);
            }
        }
        float[] got = new float[3 * 33];
        two.matmulPacked(q, bias, x, 3, got);
        assertArrayEquals(want, got);
        float[] viaRouter = new float[3 * 33];
        PackedRouter router = new PackedRouter(two);
        try (Arena arena = Arena.ofConfined()) {
            Tensor placeholder = q.dequantize(arena);
            router.register(placeholder, q);
            router.matmul(placeholder, bias, x, 3, viaRouter);
        }
        assertArrayEquals(want, viaRouter);
        assertEquals(1, router.size());
    }
}
