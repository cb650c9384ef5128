package dev.revenant.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * {@code librevenant_cpu.so} (native/, built by Maven when gcc exists) bound through the FFM API.
 *
 * <p>The library travels in the jar as the resource {@value #RESOURCE}; the first use extracts it
 * to a temporary file (deleted at exit) and loads it into the global arena, once per JVM. The
 * matmul downcalls are {@linkplain Linker.Option#critical(boolean) critical with heap access}: they
 * take heap segments ({@code MemorySegment.ofArray(float[])}) without copies, and must stay short
 * (one chunk of output columns per call) since the GC waits for them.
 *
 * <p>C functions return an int status (native/include/revenant_cpu.h); a non-zero one becomes an
 * {@link IllegalStateException} naming the op.
 */
public final class NativeLibrary {

    /** Where the build puts the library on the classpath. */
    static final String RESOURCE = "native/linux-x86_64/librevenant_cpu.so";

    /** The instruction sets the library has kernels for, in the suffixes of their C names. */
    static final String[] ISAS = {"generic", "avx2", "avx512"};

    /** Bits of {@code rv_cpu_features()}. */
    static final int CPU_AVX2 = 1, CPU_FMA = 2, CPU_AVX512F = 4, CPU_AVX512BW = 8, CPU_AVX512VL = 16,
            CPU_AVX512VNNI = 64;

    private static final FunctionDescriptor MATMUL = FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);

    /** {@code rv_matmul_rtn_u8_f32}: codes, scale, zero, group size, then the arguments of {@link #MATMUL}. */
    private static final FunctionDescriptor MATMUL_RTN = FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);

    /** {@code rv_matmul_bnb4_f32}: packed, absmax, table, then the arguments of {@link #MATMUL} from bias on. */
    private static final FunctionDescriptor MATMUL_BNB4 = FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);

    /** {@code rv_matmul_int8_f32}: cb, scb, ca, sca, xh, ostart, ocols, rows, k, n, n0, n1, out. */
    private static final FunctionDescriptor MATMUL_INT8 = FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);

    /** {@code rv_matmul_bf16p_f32}: w, panel, then the arguments of {@link #MATMUL} from bias on. */
    private static final FunctionDescriptor MATMUL_P = FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
            ValueLayout.ADDRESS);

    /** {@code rv_matmul_rtn_u8p_f32}: codes, panel, then the arguments of {@link #MATMUL_RTN} from scale on. */
    private static final FunctionDescriptor MATMUL_RTN_P = FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);

    /** {@code rv_panel}: w, es, k, n, v0, v1, panel. */
    private static final FunctionDescriptor PANEL = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);

    private final MethodHandle matmulF32;
    private final MethodHandle matmulBf16;
    private final MethodHandle matmulQ8_0;
    private final MethodHandle matmulQ4_0;
    private final MethodHandle matmulRtn;
    private final MethodHandle matmulBnb4;
    private final MethodHandle matmulInt8;
    private final MethodHandle matmulBf16p;
    private final MethodHandle matmulRtnp;
    private final MethodHandle panel;
    private final MethodHandle panelBytes;
    private final SymbolLookup lookup;
    private final int features;
    private final String kernel;

    private NativeLibrary(SymbolLookup lookup) throws Throwable {
        this.lookup = lookup;
        Linker linker = Linker.nativeLinker();
        MethodHandle f = linker.downcallHandle(symbol("rv_cpu_features"), FunctionDescriptor.of(ValueLayout.JAVA_INT));
        MethodHandle k = linker.downcallHandle(symbol("rv_kernel_name"), FunctionDescriptor.of(ValueLayout.ADDRESS));
        this.features = (int) f.invokeExact();
        this.kernel = ((MemorySegment) k.invokeExact()).reinterpret(64).getString(0);
        this.matmulF32 = matmulHandle("rv_matmul_f32_f32");
        this.matmulBf16 = matmulHandle("rv_matmul_bf16_f32");
        this.matmulQ8_0 = matmulHandle("rv_matmul_q8_0_f32");
        this.matmulQ4_0 = matmulHandle("rv_matmul_q4_0_f32");
        this.matmulRtn = rtnHandle("rv_matmul_rtn_u8_f32");
        this.matmulBnb4 = bnb4Handle("rv_matmul_bnb4_f32");
        this.matmulInt8 = int8Handle("rv_matmul_int8_f32");
        this.matmulBf16p = linker.downcallHandle(symbol("rv_matmul_bf16p_f32"), MATMUL_P, Linker.Option.critical(true));
        this.matmulRtnp = linker.downcallHandle(symbol("rv_matmul_rtn_u8p_f32"), MATMUL_RTN_P,
                Linker.Option.critical(true));
        this.panel = linker.downcallHandle(symbol("rv_panel"), PANEL, Linker.Option.critical(true));
        this.panelBytes = linker.downcallHandle(symbol("rv_panel_bytes"), FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
    }

    private MemorySegment symbol(String name) {
        return lookup.find(name).orElseThrow(() -> new IllegalStateException(RESOURCE + ": no symbol " + name));
    }

    /** A matmul entry point by its C name, e.g. {@code rv_matmul_bf16_f32_avx2}. */
    MethodHandle matmulHandle(String name) {
        return Linker.nativeLinker().downcallHandle(symbol(name), MATMUL, Linker.Option.critical(true));
    }

    /** An RTN matmul entry point by its C name, e.g. {@code rv_matmul_rtn_u8_f32_avx2}. */
    MethodHandle rtnHandle(String name) {
        return Linker.nativeLinker().downcallHandle(symbol(name), MATMUL_RTN, Linker.Option.critical(true));
    }

    /** A bitsandbytes 4-bit matmul entry point by its C name, e.g. {@code rv_matmul_bnb4_f32_avx2}. */
    MethodHandle bnb4Handle(String name) {
        return Linker.nativeLinker().downcallHandle(symbol(name), MATMUL_BNB4, Linker.Option.critical(true));
    }

    /** An LLM.int8 matmul entry point by its C name, e.g. {@code rv_matmul_int8_f32_avx2}. */
    MethodHandle int8Handle(String name) {
        return Linker.nativeLinker().downcallHandle(symbol(name), MATMUL_INT8, Linker.Option.critical(true));
    }

    /** Loaded on first use; the failure, if any, kept as the reason. */
    private static final class Holder {
        static final NativeLibrary LIBRARY;
        static final String REASON;

        static {
            NativeLibrary lib = null;
            String reason = null;
            try {
                lib = new NativeLibrary(SymbolLookup.libraryLookup(extract(), Arena.global()));
            } catch (Throwable t) {
                reason = t.getMessage() == null ? t.toString() : t.getMessage();
            }
            LIBRARY = lib;
            REASON = reason;
        }

        private static Path extract() throws IOException {
            try (InputStream in = NativeLibrary.class.getClassLoader().getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new IOException("no " + RESOURCE + " on the classpath (built only on Linux x86-64"
                            + " where gcc and make exist; this build had none)");
                }
                Path tmp = Files.createTempFile("librevenant_cpu", ".so");
                tmp.toFile().deleteOnExit();
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                return tmp;
            }
        }
    }

    /** Whether the library is on the classpath and loads on this machine. */
    public static boolean available() {
        return Holder.LIBRARY != null;
    }

    /** Why {@link #available()} is false (null when it is true). */
    public static String unavailableReason() {
        return Holder.REASON == null ? null : "native backend unavailable: " + Holder.REASON;
    }

    /** The loaded library; throws naming the reason when it is unavailable. */
    static NativeLibrary get() {
        if (Holder.LIBRARY == null) {
            throw new IllegalStateException(unavailableReason());
        }
        return Holder.LIBRARY;
    }

    /** Instruction set the dispatching kernels use: "avx512", "avx2" or "generic". */
    String kernel() {
        return kernel;
    }

    /** {@code rv_cpu_features()}: a bitmask of the CPU_* constants. */
    int features() {
        return features;
    }

    /** Whether this CPU runs the kernels with suffix {@code isa}. */
    boolean supports(String isa) {
        int need = switch (isa) {
            case "generic" -> 0;
            case "avx2" -> CPU_AVX2 | CPU_FMA;
            case "avx512" -> CPU_AVX512F | CPU_AVX512BW | CPU_AVX512VL | CPU_FMA;
            // only the LLM.int8 kernel has this suffix (rv_matmul_int8_f32_avx512vnni); not in ISAS
            case "avx512vnni" -> CPU_AVX512F | CPU_AVX512BW | CPU_AVX512VL | CPU_FMA | CPU_AVX512VNNI;
            default -> throw new IllegalArgumentException("unknown instruction set " + isa);
        };
        return (features & need) == need;
    }

    // the (w, bias, x, rows, k, n, n0, n1, out) kernels: call, turning a failed call or a non-zero status into an error naming the op
    private void dense(MethodHandle h, String op, MemorySegment w, MemorySegment bias, MemorySegment x, long rows, long k, long n,
                       long n0, long n1, MemorySegment out) {
        int st;
        try {
            st = (int) h.invokeExact(w, bias, x, rows, k, n, n0, n1, out);
        } catch (Throwable t) {
            throw rethrow(op, t);
        }
        check(op, st, rows, k, n, n0, n1);
    }

    /** {@code rv_matmul_f32_f32}: see revenant_cpu.h; bias may be {@link MemorySegment#NULL}. */
    void matmulF32(MemorySegment w, MemorySegment bias, MemorySegment x, long rows, long k, long n, long n0, long n1,
                   MemorySegment out) {
        dense(matmulF32, "rv_matmul_f32_f32", w, bias, x, rows, k, n, n0, n1, out);
    }

    /** {@code rv_matmul_bf16_f32}: see revenant_cpu.h; bias may be {@link MemorySegment#NULL}. */
    void matmulBf16(MemorySegment w, MemorySegment bias, MemorySegment x, long rows, long k, long n, long n0, long n1,
                    MemorySegment out) {
        dense(matmulBf16, "rv_matmul_bf16_f32", w, bias, x, rows, k, n, n0, n1, out);
    }

    /**
     * {@code rv_matmul_q8_0_f32}: w holds the ggml Q8_0 blocks of an [n, k] weight (k a multiple of 32),
     * see revenant_cpu.h; bias may be {@link MemorySegment#NULL}.
     */
    void matmulQ8_0(MemorySegment w, MemorySegment bias, MemorySegment x, long rows, long k, long n, long n0, long n1,
                    MemorySegment out) {
        dense(matmulQ8_0, "rv_matmul_q8_0_f32", w, bias, x, rows, k, n, n0, n1, out);
    }

    /** {@code rv_matmul_q4_0_f32}: as {@link #matmulQ8_0} for ggml Q4_0 blocks. */
    void matmulQ4_0(MemorySegment w, MemorySegment bias, MemorySegment x, long rows, long k, long n, long n0, long n1,
                    MemorySegment out) {
        dense(matmulQ4_0, "rv_matmul_q4_0_f32", w, bias, x, rows, k, n, n0, n1, out);
    }

    /**
     * {@code rv_panel_bytes}: the size of the panel of an [n, k] weight of es-byte values (revenant_cpu.h, "Panels"),
     * or -1 when there is none (es not 1 or 2, k not a positive multiple of 64, n not positive).
     */
    long panelBytes(long es, long k, long n) {
        try {
            return (long) panelBytes.invokeExact(es, k, n);
        } catch (Throwable t) {
            throw rethrow("rv_panel_bytes", t);
        }
    }

    /** {@code rv_panel}: writes the 16-row vectors [v0, v1) of w's panel (w [n, k], es bytes per value) into dst. */
    void panel(MemorySegment w, long es, long k, long n, long v0, long v1, MemorySegment dst) {
        int st;
        try {
            st = (int) panel.invokeExact(w, es, k, n, v0, v1, dst);
        } catch (Throwable t) {
            throw rethrow("rv_panel", t);
        }
        if (st != 0) {
            throw new IllegalStateException("rv_panel returned status " + st + " (es=" + es + ", k=" + k + ", n=" + n
                    + ", vectors [" + v0 + ", " + v1 + ")): expected es 1 or 2, k a positive multiple of 64, "
                    + "0 <= v0 <= v1 <= ceil(n / 16)");
        }
    }

    /** {@code rv_matmul_bf16p_f32}: {@link #matmulBf16} that also reads w's panel (see revenant_cpu.h); same bits. */
    void matmulBf16p(MemorySegment w, MemorySegment panel, MemorySegment bias, MemorySegment x, long rows, long k,
                     long n, long n0, long n1, MemorySegment out) {
        int st;
        try {
            st = (int) matmulBf16p.invokeExact(w, panel, bias, x, rows, k, n, n0, n1, out);
        } catch (Throwable t) {
            throw rethrow("rv_matmul_bf16p_f32", t);
        }
        check("rv_matmul_bf16p_f32", st, rows, k, n, n0, n1);
    }

    /** {@code rv_matmul_rtn_u8p_f32}: {@link #matmulRtn} that also reads the codes' panel; same bits. */
    void matmulRtnp(MemorySegment codes, MemorySegment panel, MemorySegment scale, MemorySegment zero, long groupSize,
                    MemorySegment bias, MemorySegment x, long rows, long k, long n, long n0, long n1,
                    MemorySegment out) {
        int st;
        try {
            st = (int) matmulRtnp.invokeExact(codes, panel, scale, zero, groupSize, bias, x, rows, k, n, n0, n1, out);
        } catch (Throwable t) {
            throw rethrow("rv_matmul_rtn_u8p_f32", t);
        }
        check("rv_matmul_rtn_u8p_f32", st, rows, k, n, n0, n1);
    }

    /**
     * {@code rv_matmul_rtn_u8_f32}: codes [n, k] one unsigned byte per weight, scale and zero fp32 [groups, n],
     * groupSize -1 (one group per row) or ≥ 1 (quant/RtnPacked), see revenant_cpu.h; bias may be
     * {@link MemorySegment#NULL}.
     */
    void matmulRtn(MemorySegment codes, MemorySegment scale, MemorySegment zero, long groupSize, MemorySegment bias,
                   MemorySegment x, long rows, long k, long n, long n0, long n1, MemorySegment out) {
        int st;
        try {
            st = (int) matmulRtn.invokeExact(codes, scale, zero, groupSize, bias, x, rows, k, n, n0, n1, out);
        } catch (Throwable t) {
            throw rethrow("rv_matmul_rtn_u8_f32", t);
        }
        check("rv_matmul_rtn_u8_f32", st, rows, k, n, n0, n1);
    }

    /**
     * {@code rv_matmul_bnb4_f32}: packed codes of the flattened [n, k] weight (two per byte, even element high),
     * fp32 absmax per 64 elements, the 16 fp32 code values (quant/Bnb4Packed), see revenant_cpu.h; bias may be
     * {@link MemorySegment#NULL}.
     */
    void matmulBnb4(MemorySegment packed, MemorySegment absmax, MemorySegment table, MemorySegment bias,
                    MemorySegment x, long rows, long k, long n, long n0, long n1, MemorySegment out) {
        int st;
        try {
            st = (int) matmulBnb4.invokeExact(packed, absmax, table, bias, x, rows, k, n, n0, n1, out);
        } catch (Throwable t) {
            throw rethrow("rv_matmul_bnb4_f32", t);
        }
        check("rv_matmul_bnb4_f32", st, rows, k, n, n0, n1);
    }

    /**
     * {@code rv_matmul_int8_f32}: the LLM.int8 weight (cb int8 [n, k], scb fp32 [n]) times activations Java quantized
     * per row (quant/Int8Bnb.prepareRows: ca, sca, xh, ostart, ocols), see revenant_cpu.h; no bias.
     */
    void matmulInt8(MemorySegment cb, MemorySegment scb, MemorySegment ca, MemorySegment sca, MemorySegment xh,
                    MemorySegment ostart, MemorySegment ocols, long rows, long k, long n, long n0, long n1,
                    MemorySegment out) {
        int st;
        try {
            st = (int) matmulInt8.invokeExact(cb, scb, ca, sca, xh, ostart, ocols, rows, k, n, n0, n1, out);
        } catch (Throwable t) {
            throw rethrow("rv_matmul_int8_f32", t);
        }
        check("rv_matmul_int8_f32", st, rows, k, n, n0, n1);
    }

    /** Throws naming {@code op} when {@code status} is not 0. */
    static void check(String op, int status, long rows, long k, long n, long n0, long n1) {
        if (status != 0) {
            String what = switch (status) {
                case 1 -> "invalid argument";
                case 2 -> "instruction set not supported by this CPU";
                default -> "unknown error";
            };
            throw new IllegalStateException(op + " failed with status " + status + " (" + what + ") for rows=" + rows
                    + " K=" + k + " N=" + n + " columns [" + n0 + ", " + n1 + ")");
        }
    }

    private static RuntimeException rethrow(String op, Throwable t) {
        if (t instanceof RuntimeException e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(op + ": downcall failed", t);
    }
}
