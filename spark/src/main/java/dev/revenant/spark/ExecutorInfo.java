package dev.revenant.spark;

import dev.revenant.Settings;
import dev.revenant.sweep.Manifest;
import java.io.Serializable;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a cell ran: the executor's host, Spark executor id, the backend (and GPU, when it computed on one) and the
 * versions, so results.json's manifest lists every machine a distributed sweep touched.
 */
public record ExecutorInfo(String host, String appId, String executorId, String backend, String kernels, String gpu,
                           String revenantVersion, String sparkVersion, String jvm, String osArch, String cpu)
        implements Serializable {

    /** This JVM, computing on a backend described by {@code kernels}; {@code gpu} null when on the CPU. */
    static ExecutorInfo here(String appId, String executorId, String sparkVersion, String backend, String kernels, String gpu) {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "unknown (" + e.getMessage() + ")";
        }
        return new ExecutorInfo(host, appId, executorId, backend, kernels, gpu, Settings.version(), sparkVersion,
                Runtime.version().toString(), Settings.osArch(), Manifest.cpuModel());
    }

    /** The manifest's JSON object for this executor. */
    public Map<String, Object> json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("host", host);
        m.put("app_id", appId);
        m.put("executor_id", executorId);
        m.put("backend", backend);
        m.put("backend_kernels", kernels);
        m.put("gpu", gpu);
        m.put("revenant_version", revenantVersion);
        m.put("spark_version", sparkVersion);
        m.put("jvm", jvm);
        m.put("os_arch", osArch);
        m.put("cpu", cpu);
        return m;
    }
}
