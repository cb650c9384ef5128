package dev.revenant.kernel.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;

import dev.revenant.Settings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * The CUDA device this process computes on: JCuda's driver API initialised once (device {@link #selectDevice}, by
 * default {@code Settings.cudaDevice()}, and its primary context), the kernel modules loaded from the jar ({@code /cuda/revenant_<family>.fatbin}, built from
 * {@code cuda-kernels/}), functions looked up by name. Every driver call is checked: JCuda throws a
 * {@code CudaException} naming the error, which the callers wrap with what they were doing.
 *
 * <p>Nothing here runs (and JCuda's native library is not loaded) until {@link #get()} is first
 * called; {@link #probe()} answers "is there a usable GPU" without touching JCuda on machines that
 * have no NVIDIA driver device files.
 */
public final class CudaRuntime {
    /** The op families of cuda-kernels/src, one module each. */
    public static final List<String> FAMILIES = List.of("matmul", "gemm_tc", "norm", "rope", "attention", "elementwise", "logits");

    private static CudaRuntime instance;
    private static String unavailable;
    private static Integer selected;

    private final int ordinal;
    private final CUdevice device;
    private final CUcontext context;
    private final String name;
    private final int major;
    private final int minor;
    private final int sms;
    private final Map<String, CUmodule> modules = new HashMap<>();
    private final Map<String, CUfunction> functions = new HashMap<>();

    private CudaRuntime() {
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        int[] count = new int[1];
        cuDeviceGetCount(count);
        if (count[0] == 0) {
            throw new IllegalStateException("cuda: the driver reports no CUDA device");
        }
        ordinal = selected != null ? selected : Settings.cudaDevice();
        if (ordinal >= count[0]) {
            throw new IllegalStateException("cuda: device " + ordinal + " requested, the driver reports " + count[0]
                    + " device(s) (0.." + (count[0] - 1) + ")");
        }
        device = new CUdevice();
        cuDeviceGet(device, ordinal);
        context = new CUcontext();
        cuDevicePrimaryCtxRetain(context, device);
        cuCtxSetCurrent(context);
        byte[] nm = new byte[256];
        cuDeviceGetName(nm, nm.length, device);
        int len = 0;
        while (len < nm.length && nm[len] != 0) {
            len++;
        }
        name = new String(nm, 0, len, java.nio.charset.StandardCharsets.US_ASCII);
        major = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        minor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        sms = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        for (String f : FAMILIES) {
            modules.put(f, load(f));
        }
    }

    /**
     * Makes {@link #get()} use device {@code ordinal} (a Spark task's GPU address). One device per process: once the
     * runtime is up on another device this fails, since a JVM holds one CUDA context (run one GPU task per executor).
     */
    public static synchronized void selectDevice(int ordinal) {
        if (ordinal < 0) {
            throw new IllegalArgumentException("cuda: device ordinal must be ≥ 0, found " + ordinal);
        }
        if (instance != null && instance.ordinal != ordinal) {
            throw new IllegalStateException("cuda: this process already computes on device " + instance.ordinal
                    + ", cannot switch to device " + ordinal + "; give each executor one GPU "
                    + "(spark.executor.resource.gpu.amount=1, spark.task.resource.gpu.amount=1)");
        }
        selected = ordinal;
    }

    /** The device ordinal {@link #get()} uses (or used). */
    public static synchronized int selectedDevice() {
        return instance != null ? instance.ordinal : selected != null ? selected : Settings.cudaDevice();
    }

    /** The process-wide runtime, initialised on first use. */
    public static synchronized CudaRuntime get() {
        if (instance == null) {
            String why = probe();
            if (why != null) {
                throw new IllegalStateException(why);
            }
            try {
                instance = new CudaRuntime();
            } catch (RuntimeException | LinkageError e) {
                unavailable = "cuda: initialisation failed: " + e;
                throw new IllegalStateException(unavailable, e);
            }
        }
        return instance;
    }

    /**
     * Null when a CUDA device looks usable (driver device files present, kernels in the jar), else the
     * reason it is not. Does not load JCuda.
     */
    public static synchronized String probe() {
        if (unavailable != null) {
            return unavailable;
        }
        if (instance != null) {
            return null;
        }
        if (Settings.cudaDisabled()) {
            return "cuda: disabled by REVENANT_NO_CUDA / -Drevenant.cuda=false";
        }
        if (!Files.exists(Path.of("/dev/nvidiactl")) && !Files.exists(Path.of("/dev/nvidia0"))) {
            return "cuda: no NVIDIA device (no /dev/nvidiactl)";
        }
        if (CudaRuntime.class.getResource("/cuda/revenant_matmul.fatbin") == null) {
            return "cuda: the kernels were not built into this jar (nvcc was missing when it was built)";
        }
        return null;
    }

    /** True when a CUDA device can be used; initialises the runtime to find out. */
    public static boolean available() {
        if (probe() != null) {
            return false;
        }
        try {
            get();
            return true;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    private int attribute(int attr) {
        int[] v = new int[1];
        cuDeviceGetAttribute(v, attr, device);
        return v[0];
    }

    private static CUmodule load(String family) {
        String res = "/cuda/revenant_" + family + ".fatbin";
        byte[] image;
        try (InputStream in = CudaRuntime.class.getResourceAsStream(res)) {
            if (in == null) {
                throw new IllegalStateException("cuda: kernel module " + res + " is missing from the jar");
            }
            image = in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cuda: cannot read " + res + ": " + e.getMessage(), e);
        }
        CUmodule m = new CUmodule();
        try {
            cuModuleLoadData(m, image);
        } catch (RuntimeException e) {
            throw new IllegalStateException("cuda: loading module " + res + " failed: " + e.getMessage(), e);
        }
        return m;
    }

    /** The kernel {@code name} of module {@code family}. */
    public synchronized CUfunction function(String family, String kernel) {
        return functions.computeIfAbsent(kernel, k -> {
            CUmodule m = modules.get(family);
            if (m == null) {
                throw new IllegalArgumentException("cuda: no kernel module '" + family + "', expected one of " + FAMILIES);
            }
            CUfunction f = new CUfunction();
            try {
                cuModuleGetFunction(f, m, k);
            } catch (RuntimeException e) {
                throw new IllegalStateException("cuda: kernel " + k + " not found in revenant_" + family + ".fatbin", e);
            }
            return f;
        });
    }

    /** Makes this runtime's context current on the calling thread (JCuda contexts are per thread). */
    public void bind() {
        cuCtxSetCurrent(context);
    }

    public void synchronize() {
        cuCtxSynchronize();
    }

    /** {@code {free, total}} device memory in bytes. */
    public long[] memory() {
        long[] free = new long[1];
        long[] total = new long[1];
        cuMemGetInfo(free, total);
        return new long[] {free[0], total[0]};
    }

    public String name() {
        return name;
    }

    public int multiprocessors() {
        return sms;
    }

    /** e.g. {@code NVIDIA H200 (sm_90, 132 SMs, 140 GiB)}. */
    public String describe() {
        long[] m = memory();
        return name + " (device " + ordinal + ", sm_" + major + minor + ", " + sms + " SMs, " + (m[1] >> 30) + " GiB)";
    }
}
