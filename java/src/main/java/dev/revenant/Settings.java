package dev.revenant;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The one place where system properties and environment variables are read (design.md,
 * convention 6). Everything else takes these values as arguments.
 */
public final class Settings {
    private Settings() {
    }

    /** Folder of the golden fixtures: {@code -Drevenant.fixtures}, {@code REVENANT_FIXTURES}, else {@code ../shared/fixtures}. */
    public static Path fixturesDir() {
        String p = System.getProperty("revenant.fixtures");
        if (p == null || p.isBlank()) {
            p = System.getenv("REVENANT_FIXTURES");
        }
        if (p == null || p.isBlank()) {
            p = "../shared/fixtures";
        }
        return Path.of(p).toAbsolutePath().normalize();
    }

    /**
     * The bundled demo folder ({@code models/demo}) if set: {@code -Drevenant.demo} or {@code REVENANT_DEMO}; else
     * null, and {@code revenant demo} looks beside the repository ({@link #home()}, then the jar's location).
     */
    public static Path demoDir() {
        String p = Optional.ofNullable(System.getProperty("revenant.demo")).orElse(System.getenv("REVENANT_DEMO"));
        return p == null || p.isBlank() ? null : Path.of(p).toAbsolutePath().normalize();
    }

    /** The repository root the launcher runs from ({@code -Drevenant.home}, set by {@code ./revenant}); else null. */
    public static Path home() {
        String p = System.getProperty("revenant.home");
        return p == null || p.isBlank() ? null : Path.of(p).toAbsolutePath().normalize();
    }

    /** True when running under CI ({@code CI=true}): missing fixtures are then a failure, not a skip. */
    public static boolean inCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** Worker threads for the CPU backends: {@code -Drevenant.threads}, {@code REVENANT_THREADS}, else the core count. */
    public static int defaultThreads() {
        String p = Optional.ofNullable(System.getProperty("revenant.threads")).orElse(System.getenv("REVENANT_THREADS"));
        if (p != null && !p.isBlank()) {
            try {
                int t = Integer.parseInt(p.trim());
                if (t >= 1) {
                    return t;
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("revenant.threads / REVENANT_THREADS: expected a positive integer, found '" + p + "'", e);
            }
            throw new IllegalArgumentException("revenant.threads / REVENANT_THREADS: expected a positive integer, found '" + p + "'");
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * Bytes of native memory the native backend may spend on weight panels (a second copy of BF16 weights and RTN codes
     * with k > 8192 in the order its batched kernels read, revenant_cpu.h "Panels"): {@code -Drevenant.panels.mib},
     * {@code REVENANT_PANELS_MIB} (MiB; 0 turns panels off), else a quarter of the machine's memory (0 when the JVM
     * cannot tell it).
     */
    public static long panelBudgetBytes() {
        String p = Optional.ofNullable(System.getProperty("revenant.panels.mib")).orElse(System.getenv("REVENANT_PANELS_MIB"));
        if (p != null && !p.isBlank()) {
            try {
                long mib = Long.parseLong(p.trim());
                if (mib >= 0 && mib <= Long.MAX_VALUE >> 20) {
                    return mib << 20;
                }
            } catch (NumberFormatException e) {
                // falls through to the error below, which names the setting
            }
            throw new IllegalArgumentException("revenant.panels.mib / REVENANT_PANELS_MIB: expected a number of MiB ≥ 0, found '" + p + "'");
        }
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return Math.max(0, os.getTotalMemorySize() / 4);
        }
        return 0;
    }

    /** The JVM's {@code os.arch}. */
    public static String osArch() {
        return System.getProperty("os.arch");
    }

    /** True when {@code REVENANT_DEBUG} is set: the CLI then prints stack traces. */
    public static boolean debug() {
        return System.getenv("REVENANT_DEBUG") != null;
    }

    /** Revenant's version, from the jar manifest (or "dev" when run from classes). */
    public static String version() {
        String v = Settings.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** True when CUDA must not be used even where a GPU exists: {@code -Drevenant.cuda=false} or {@code REVENANT_NO_CUDA}. */
    public static boolean cudaDisabled() {
        return "false".equalsIgnoreCase(System.getProperty("revenant.cuda", "")) || System.getenv("REVENANT_NO_CUDA") != null;
    }

    /**
     * How the CUDA backend multiplies: {@code exact} (fp32 activations on CUDA cores, the parity mode) or
     * {@code tensor} (activations rounded to bf16, tensor-core GEMM): {@code -Drevenant.cuda.math},
     * {@code REVENANT_CUDA_MATH}, else {@code exact}.
     */
    public static String cudaMath() {
        String p = Optional.ofNullable(System.getProperty("revenant.cuda.math")).orElse(System.getenv("REVENANT_CUDA_MATH"));
        if (p == null || p.isBlank()) {
            return "exact";
        }
        p = p.trim();
        if (!p.equals("exact") && !p.equals("tensor")) {
            throw new IllegalArgumentException("revenant.cuda.math / REVENANT_CUDA_MATH: expected exact or tensor, found '" + p + "'");
        }
        return p;
    }

    /**
     * True when the CUDA forward pass runs attention for all sequences in one launch
     * ({@code rv_attention_batched}) instead of one launch per sequence: {@code -Drevenant.cuda.batchedAttention=true}
     * or {@code REVENANT_CUDA_BATCHED_ATTENTION=1}. Off until it has passed `revenant cuda check` on a GPU.
     */
    public static boolean cudaBatchedAttention() {
        String p = Optional.ofNullable(System.getProperty("revenant.cuda.batchedAttention"))
                .orElse(System.getenv("REVENANT_CUDA_BATCHED_ATTENTION"));
        return p != null && (p.equals("1") || p.equalsIgnoreCase("true"));
    }

    /**
     * The CUDA device ordinal this process computes on: {@code -Drevenant.cuda.device}, {@code REVENANT_CUDA_DEVICE},
     * else 0. A Spark task passes the GPU address it was given instead ({@code CudaRuntime.selectDevice}).
     */
    public static int cudaDevice() {
        String p = Optional.ofNullable(System.getProperty("revenant.cuda.device")).orElse(System.getenv("REVENANT_CUDA_DEVICE"));
        if (p == null || p.isBlank()) {
            return 0;
        }
        try {
            int d = Integer.parseInt(p.trim());
            if (d >= 0) {
                return d;
            }
        } catch (NumberFormatException e) {
            // falls through to the error below, which names the setting
        }
        throw new IllegalArgumentException("revenant.cuda.device / REVENANT_CUDA_DEVICE: expected a device ordinal ≥ 0, found '" + p + "'");
    }
}
