package dev.revenant.kernel;

import java.util.List;

/** Creates backends by the names users type, and describes the chosen one in one log line. */
public final class Backends {
    private Backends() {
    }

    /** The names {@link #create} accepts. */
    public static final List<String> NAMES = List.of("reference", "vector", "native", "cuda", "auto");

    /**
     * The backend called {@code name} with {@code threads} workers ("reference" is single-threaded
     * whatever {@code threads} says).
     *
     * @throws IllegalArgumentException for an unknown name (listing the valid ones) or threads < 1
     */
    public static Backend create(String name, int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("backend threads must be ≥ 1, found " + threads);
        }
        return switch (name == null ? "" : name) {
            case "reference" -> new ReferenceBackend();
            case "vector" -> new VectorBackend(threads);
            case "native" -> {
                if (!NativeLibrary.available()) {
                    throw new IllegalArgumentException(NativeLibrary.unavailableReason() + "; use 'vector' or 'auto'");
                }
                yield new NativeCpuBackend(threads);
            }
            case "cuda" -> {
                String why = dev.revenant.kernel.cuda.CudaRuntime.probe();
                if (why != null) {
                    throw new IllegalArgumentException(why + "; use 'native', 'vector' or 'auto'");
                }
                yield new dev.revenant.kernel.cuda.CudaBackend();
            }
            case "auto-cpu" -> NativeLibrary.available() ? new NativeCpuBackend(threads) : new VectorBackend(threads);
            case "auto" -> dev.revenant.kernel.cuda.CudaRuntime.available() ? new dev.revenant.kernel.cuda.CudaBackend()
                    : NativeLibrary.available() ? new NativeCpuBackend(threads) : new VectorBackend(threads);
            default -> throw new IllegalArgumentException("unknown backend '" + name + "', expected one of "
                    + String.join(", ", NAMES));
        };
    }

    /** The fastest backend available on this machine. */
    public static Backend auto(int threads) {
        return create("auto", threads);
    }

    /** One line for the log, e.g. {@code backend: vector (Java Vector API, 512-bit FloatVector, 2 threads)}. */
    public static String describe(Backend b) {
        String t = b.threads() + (b.threads() == 1 ? " thread" : " threads");
        return switch (b) {
            case VectorBackend v -> "backend: vector (Java Vector API, " + VectorBackend.vectorBits() + "-bit FloatVector, "
                    + t + ")";
            case NativeCpuBackend nb -> "backend: native (C, " + nb.kernel() + ", " + t + ")";
            case ReferenceBackend r -> "backend: reference (scalar loops, " + t + ")";
            case dev.revenant.kernel.cuda.CudaBackend cb -> cb.describe();
            default -> "backend: " + b.name() + " (" + t + ")";
        };
    }
}
