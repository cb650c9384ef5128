package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.revenant.quant.RtnPacked;
import dev.revenant.quant.RtnQuantizer;
import dev.revenant.tensor.DType;
import dev.revenant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Weight panels (native/include/revenant_cpu.h, "Panels"): rv_panel's layout byte by byte, and the p matmuls
 * (rv_matmul_bf16p_f32, rv_matmul_rtn_u8p_f32) and the backend that builds and keeps panels giving the generic
 * kernel's bits (design.md, convention 8: a second layout must not change a bit).
 */
@Tag("native")
class NativePanelTest {

    @BeforeAll
    static void needsLibrary() {
        Assumptions.assumeTrue(NativeLibrary.available(), NativeLibrary.unavailableReason());
    }

    private static MemorySegment panelOf(NativeLibrary lib, MemorySegment w, int es, long k, long n, Arena arena) {
        long bytes = lib.panelBytes(es, k, n);
        assertEquals((n + 15) / 16 * 16 * k * es, bytes, "rv_panel_bytes");
        MemorySegment p = arena.allocate(bytes, 64);
        long vectors = (n + 15) / 16;
        lib.panel(w, es, k, n, 0, vectors / 2, p); // in two calls: the vector ranges must compose
        lib.panel(w, es, k, n, vectors / 2, vectors, p);
        return p;
    }

    /** Every byte where the header says: unit (v, a, m), dword l es / 4 of row c; rows past n are zero. */
    @Test
    void layoutIsTheHeadersFormula() {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(5);
        for (int es : new int[] {1, 2}) {
            int n = 37;
            int k = 192;
            byte[] w = new byte[n * k * es];
            rnd.nextBytes(w);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment p = panelOf(lib, MemorySegment.ofArray(w), es, k, n, arena);
                int nb = k / 64;
                for (int v = 0; v < (n + 15) / 16; v++) {
                    for (int a = 0; a < 4; a++) {
                        for (int m = 0; m < nb; m++) {
                            for (int c = 0; c < 16; c++) {
                                for (int l = 0; l < 16; l++) {
                                    for (int b = 0; b < es; b++) {
                                        long unit = ((long) (v * 4 + a) * nb + m) * 256 * es;
                                        long at = unit + ((l * es / 4) * 16 + c) * 4 + l * es % 4 + b;
                                        int row = 16 * v + c;
                                        byte want = row < n ? w[(row * k + 64 * m + 16 * a + l) * es + b] : 0;
                                        assertEquals(want, p.get(ValueLayout.JAVA_BYTE, at),
                                                "es=" + es + " v=" + v + " a=" + a + " m=" + m + " c=" + c + " l=" + l);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void badArgumentsNameTheOp() {
        NativeLibrary lib = NativeLibrary.get();
        assertEquals(-1, lib.panelBytes(3, 128, 16), "es 3");
        assertEquals(-1, lib.panelBytes(2, 100, 16), "k not a multiple of 64");
        MemorySegment w = MemorySegment.ofArray(new byte[16 * 128]);
        MemorySegment p = MemorySegment.ofArray(new byte[16 * 128]);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> lib.panel(w, 1, 128, 16, 0, 2, p));
        assertTrue(e.getMessage().contains("rv_panel"), e.getMessage());
        if (!lib.kernel().equals("avx512")) {
            return; // elsewhere the panel is not read, and the plain kernel takes any k
        }
        IllegalStateException f = assertThrows(IllegalStateException.class,
                () -> lib.matmulBf16p(w, p, MemorySegment.NULL, MemorySegment.ofArray(new float[40 * 100]), 40, 100, 8,
                        0, 8, MemorySegment.ofArray(new float[40 * 8])));
        assertTrue(f.getMessage().contains("rv_matmul_bf16p_f32"), f.getMessage());
    }

    /**
     * {K, N} with column ranges that start on a 16-row vector (the panel read) and off one (row-major packs), at the
     * GEMM core's rows (40, 64) and gemm_few's (19), with and without bias: rv_matmul_bf16p_f32 equals the generic
     * kernel bit for bit. K = 8256 > 8192: the core's 2-vector blocks and the panel prefetch of the next group.
     */
    @Test
    void bf16WithPanelGivesTheGenericBits() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(11);
        for (int[] kn : new int[][] {{8256, 50}, {1024, 67}, {64, 16}}) {
            int k = kn[0];
            int n = kn[1];
            Tensor w = Weights.random(DType.BF16, n, k, k + n);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment p = panelOf(lib, w.data(), 2, k, n, arena);
                for (int rows : new int[] {19, 40, 64}) {
                    float[] x = NativeCpuBackendTest.random(rnd, rows * k);
                    float[] bias = NativeCpuBackendTest.random(rnd, n);
                    for (boolean withBias : new boolean[] {false, true}) {
                        MemorySegment b = withBias ? MemorySegment.ofArray(bias) : MemorySegment.NULL;
                        float[] want = new float[rows * n];
                        int st = (int) lib.matmulHandle("rv_matmul_bf16_f32_generic").invokeExact(w.data(), b,
                                MemorySegment.ofArray(x), (long) rows, (long) k, (long) n, 0L, (long) n,
                                MemorySegment.ofArray(want));
                        assertEquals(0, st);
                        for (long[] split : new long[][] {{0, n}, {0, 16, n}, {6, n}}) {
                            float[] got = new float[rows * n];
                            if (split[0] > 0) { // columns before the split from the plain kernel
                                lib.matmulBf16(w.data(), b, MemorySegment.ofArray(x), rows, k, n, 0, split[0],
                                        MemorySegment.ofArray(got));
                            }
                            for (int s = 0; s + 1 < split.length; s++) {
                                lib.matmulBf16p(w.data(), p, b, MemorySegment.ofArray(x), rows, k, n, split[s],
                                        split[s + 1], MemorySegment.ofArray(got));
                            }
                            assertArrayEquals(want, got, "bf16p K=" + k + " N=" + n + " rows=" + rows + " bias="
                                    + withBias + " split=" + java.util.Arrays.toString(split));
                        }
                    }
                }
            }
        }
    }

    /** rv_matmul_rtn_u8p_f32 equals the generic RTN kernel bit for bit: per-row groups, groups of 128, of 64. */
    @Test
    void rtnWithPanelGivesTheGenericBits() throws Throwable {
        NativeLibrary lib = NativeLibrary.get();
        Random rnd = new Random(13);
        for (int[] bg : new int[][] {{4, 128}, {8, -1}, {3, 64}}) {
            for (int[] kn : new int[][] {{8256, 50}, {1024, 67}}) {
                int k = kn[0];
                int n = kn[1];
                RtnPacked q = new RtnQuantizer(bg[0], bg[1], false).quantize(Weights.random(DType.F32, n, k, k + bg[0]));
                MemorySegment codes = MemorySegment.ofArray(q.codes());
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment p = panelOf(lib, codes, 1, k, n, arena);
                    for (int rows : new int[] {19, 40}) {
                        float[] x = NativeCpuBackendTest.random(rnd, rows * k);
                        float[] want = NativeRtnTest.call(lib, "rv_matmul_rtn_u8_f32_generic", q, null, x, rows);
                        for (long[] split : new long[][] {{0, n}, {0, 16, n}, {6, n}}) {
                            float[] got = new float[rows * n];
                            if (split[0] > 0) {
                                lib.matmulRtn(codes, MemorySegment.ofArray(q.scale()), MemorySegment.ofArray(q.zero()),
                                        q.groupSize(), MemorySegment.NULL, MemorySegment.ofArray(x), rows, k, n, 0,
                                        split[0], MemorySegment.ofArray(got));
                            }
                            for (int s = 0; s + 1 < split.length; s++) {
                                lib.matmulRtnp(codes, p, MemorySegment.ofArray(q.scale()), MemorySegment.ofArray(q.zero()),
                                        q.groupSize(), MemorySegment.NULL, MemorySegment.ofArray(x), rows, k, n, split[s],
                                        split[s + 1], MemorySegment.ofArray(got));
                            }
                            assertArrayEquals(want, got, "rtn-w" + bg[0] + " g" + bg[1] + " K=" + k + " N=" + n
                                    + " rows=" + rows + " split=" + java.util.Arrays.toString(split));
                        }
                    }
                }
            }
        }
    }

    /**
     * The backend builds a panel for BF16 and RTN weights with k > {@link NativeCpuBackend#PANEL_MIN_K} from
     * {@link NativeCpuBackend#GEMM_T_ROWS} rows (on AVX-512 kernels; none on others, and none with a budget of 0), keeps
     * it for the next call, and every call gives the bits of a backend without panels.
     */
    @Test
    void backendBuildsKeepsAndMatchesWithoutPanels() {
        int k = 8256;
        int n = 400; // chunks of 48 columns (2 workers), so that whole 16-row vectors read the panel
        int rows = NativeCpuBackend.GEMM_T_ROWS + 8;
        Tensor w = Weights.random(DType.BF16, n, k, 21);
        RtnPacked q = new RtnQuantizer(4, 128, false).quantize(Weights.random(DType.F32, n, k, 22));
        float[] x = Weights.floats(rows * k, 23);
        try (NativeCpuBackend with = new NativeCpuBackend(2, 1L << 30); NativeCpuBackend without = new NativeCpuBackend(2, 0)) {
            boolean avx512 = with.kernel().equals("avx512");
            float[] want = new float[rows * n];
            without.matmul(w, null, x, rows, want);
            float[] got = new float[rows * n];
            with.matmul(w, null, x, rows, got);
            assertArrayEquals(want, got, "bf16 with a panel");
            long bf16Panel = with.panelBytes();
            assertEquals(avx512 ? (n + 15) / 16 * 16L * k * 2 : 0, bf16Panel, "the bf16 panel, built once");
            with.matmul(w, null, x, rows, got);
            assertArrayEquals(want, got, "bf16, the kept panel");
            assertEquals(bf16Panel, with.panelBytes(), "no second panel for the same weight");

            float[] wantQ = new float[rows * n];
            without.matmulPacked(q, null, x, rows, wantQ);
            float[] gotQ = new float[rows * n];
            with.matmulPacked(q, null, x, rows, gotQ);
            assertArrayEquals(wantQ, gotQ, "rtn-w4-g128 with a panel");
            assertEquals(bf16Panel + (avx512 ? (n + 15) / 16 * 16L * k : 0), with.panelBytes(), "the RTN panel");
            assertEquals(0, without.panelBytes(), "budget 0: no panels");

            float[] few = new float[8 * n];
            float[] fewWant = new float[8 * n];
            long before = with.panelBytes();
            with.matmul(Weights.random(DType.BF16, n, k, 24), null, x, 8, few);
            assertEquals(before, with.panelBytes(), "below GEMM_T_ROWS rows: no panel");
            without.matmul(Weights.random(DType.BF16, n, k, 24), null, x, 8, fewWant);
            assertArrayEquals(fewWant, few);
        }
    }

    /** A budget too small for the panel: none is built, and the bits are the same. */
    @Test
    void budgetTooSmallRunsWithoutAPanel() {
        int k = 8256;
        int n = 33;
        int rows = NativeCpuBackend.GEMM_T_ROWS;
        Tensor w = Weights.random(DType.BF16, n, k, 31);
        float[] x = Weights.floats(rows * k, 32);
        try (NativeCpuBackend small = new NativeCpuBackend(1, 1024); NativeCpuBackend without = new NativeCpuBackend(1, 0)) {
            float[] got = new float[rows * n];
            float[] want = new float[rows * n];
            small.matmul(w, null, x, rows, got);
            without.matmul(w, null, x, rows, want);
            assertEquals(0, small.panelBytes());
            assertArrayEquals(want, got);
        }
    }
}
