package dev.revenant.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.revenant.sweep.PlanFile;
import dev.revenant.sweep.Sweep;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Spark standalone cluster on loopback, every part its own JVM started from the Maven jars: a master, two workers
 * (one core each), and {@code SparkSubmit} submitting the packaged {@code revenant-spark} jar (runs after
 * {@code package}, in {@code verify}). Once a cell is finished and another is being evaluated on worker B's executor,
 * worker B is SIGKILLed; its executor loses its worker and exits, the driver reschedules the lost task on worker A,
 * and the job must still finish with every cell journaled exactly once and the same numbers as a local sweep.
 */
@Tag("spark-cluster")
class SparkClusterTest {
    static final List<String> MODELS = List.of("target", "ga");
    static final List<String> PRECISIONS = List.of("fp32", "int8", "nf4", "rtn-w4-g128");
    static final long STEP_TIMEOUT_MS = 300_000;

    @TempDir
    Path tmp;
    final List<Process> started = new ArrayList<>();

    @Test
    void workerKilledMidRunLosesNoCellAndDuplicatesNone() throws Exception {
        long t0 = System.nanoTime();
        Path jar = Path.of(System.getProperty("revenant.sparkJar", "missing"));
        assertTrue(Files.isRegularFile(jar), jar + " not built: this test runs in 'mvn verify', after package");
        Path sparkHome = sparkHome();
        Path plan = TestSweeps.plan(tmp, MODELS, PRECISIONS, 2);
        Path out = tmp.resolve("out");

        int masterPort = freePort();
        String master = "spark://127.0.0.1:" + masterPort;
        // a killed worker is noticed by its executors at once (WorkerWatcher exits them), not by the master's 60 s timeout
        Process m = start(sparkHome, "master", List.of(), "org.apache.spark.deploy.master.Master",
                "--host", "127.0.0.1", "--port", String.valueOf(masterPort), "--webui-port", String.valueOf(freePort()));
        waitFor("master up", () -> log("master").contains("I have been elected leader"));
        Process workerA = startWorker(sparkHome, "workerA", master, 0);
        Process workerB = startWorker(sparkHome, "workerB", master, 1);
        waitFor("2 workers registered", () -> count(log("master"), "Registering worker") >= 2);

        Process submit = start(sparkHome, "driver", List.of(), "org.apache.spark.deploy.SparkSubmit",
                "--master", master, "--class", "dev.revenant.spark.SparkSweep",
                "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.ui.enabled=false",
                "--conf", "spark.executor.memory=700m", "--conf", "spark.task.maxFailures=4",
                // scheduled as on a GPU cluster; the plan's backend (vector) then leaves the GPU unused
                "--conf", "spark.executor.resource.gpu.amount=1", "--conf", "spark.task.resource.gpu.amount=1",
                "--conf", "spark.executor.extraJavaOptions=" + System.getProperty("revenant.jvmFlags") + " -Xss4m",
                jar.toString(), "--plan", plan.toString(), "--out", out.toString(),
                "--local-cache", tmp.resolve("executor-cache").toString(), "--cells-per-task", "1");

        // kill B while one of its executor's cells is mid-evaluation (the attempt's temp folder names the executor pid)
        Path cells = out.resolve("cells");
        long[] victim = new long[1];
        waitFor("a finished cell and a cell in flight on worker B", () -> {
            if (!submit.isAlive()) {
                return true;
            }
            if (finishedCells(cells).isEmpty()) {
                return false;
            }
            victim[0] = inFlightPidUnder(cells, workerB.toHandle());
            return victim[0] > 0;
        });
        assertTrue(submit.isAlive(), "the job ended before worker B could be killed mid-cell:\n" + log("driver"));
        int finishedBeforeKill = finishedCells(cells).size();
        workerB.destroyForcibly(); // SIGKILL
        workerB.waitFor();
        long killedAt = System.nanoTime();

        waitFor("the job to end", () -> !submit.isAlive());
        String driver = log("driver");
        assertEquals(0, submit.exitValue(), "spark-submit failed:\n" + driver);
        assertTrue(driver.contains("8 cells: 8 computed"), driver);
        // the executor on B was lost while it ran a cell, and Spark ran that task again
        assertTrue(driver.contains("Lost executor") || driver.contains("ExecutorLostFailure"), driver);

        List<String> keys = TestSweeps.journalKeys(out);
        assertEquals(MODELS.size() * PRECISIONS.size(), keys.size(), "every cell journaled: " + keys);
        assertEquals(keys.size(), new HashSet<>(keys).size(), "no cell journaled twice: " + keys);
        assertEquals(MODELS.size() * PRECISIONS.size(), finishedCells(cells).size());
        try (Stream<Path> s = Files.walk(cells, 2)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().contains(".tmp-")).toList(),
                    "no attempt's temp folder published or left behind by a finished job");
        }
        JsonNode manifest = TestSweeps.JSON.readTree(out.resolve("results.json").toFile()).get("manifest");
        System.err.printf("spark-cluster: %d cells finished before the kill, job ended %.1f s after it; executors %s%n",
                finishedBeforeKill, (System.nanoTime() - killedAt) / 1e9, manifest.get("executors"));
        assertTrue(Files.isRegularFile(out.resolve("report.html")));
        // each executor's task was handed its worker's GPU, and says so (workerA has ordinal 0; B's may have finished none)
        assertTrue(manifest.get("executors").size() >= 1);
        for (JsonNode x : manifest.get("executors")) {
            assertTrue(x.get("gpu").asText().matches("GPU [01] assigned, not used \\(backend vector\\)"), x.toString());
            assertEquals("4.2.0", x.get("spark_version").asText());
        }
        assertTrue(workerA.isAlive() && m.isAlive());

        Path outLocal = tmp.resolve("outLocal");
        Sweep.run(PlanFile.load(plan, outLocal), new Sweep.Listener() {
        });
        TestSweeps.assertSameOutputs(outLocal, out);
        System.err.printf("spark-cluster: whole test %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    @AfterEach
    void stopCluster() throws IOException {
        for (Process p : started.reversed()) {
            p.descendants().forEach(ProcessHandle::destroyForcibly); // executors of the workers we started
            p.destroyForcibly();
        }
        // the JVMs' logs outlive the temp folder, for whoever reads a failure
        Path keep = Files.createDirectories(Path.of("target", "spark-cluster-logs"));
        try (Stream<Path> s = Files.walk(tmp)) {
            for (Path f : s.filter(f -> f.getFileName().toString().endsWith(".log")
                    || f.getFileName().toString().equals("stderr")).toList()) {
                Files.copy(f, keep.resolve(tmp.relativize(f).toString().replace('/', '_')),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** A SPARK_HOME whose jars/ holds Spark's Maven jars (and the Jackson/SLF4J it shares with Revenant), no more. */
    Path sparkHome() throws IOException {
        Path home = tmp.resolve("spark-home");
        Path jars = Files.createDirectories(home.resolve("jars"));
        Files.createDirectories(home.resolve("conf"));
        for (String prop : List.of("revenant.sparkJars", "revenant.sharedJars")) {
            Path list = Path.of(System.getProperty(prop, "missing"));
            assertTrue(Files.isRegularFile(list), "-D" + prop + ": " + list + " missing (built by the dependency plugin)");
            for (String j : Files.readString(list).trim().split(java.io.File.pathSeparator)) {
                Path src = Path.of(j);
                Path dst = jars.resolve(src.getFileName());
                if (!Files.exists(dst)) {
                    Files.createSymbolicLink(dst, src);
                }
            }
        }
        return home;
    }

    /** A worker with one core and one GPU: a fake one, ordinal {@code gpu}, announced by a discovery script. */
    Process startWorker(Path sparkHome, String name, String master, int gpu) throws IOException {
        Path script = tmp.resolve(name + "-gpus.sh");
        Files.writeString(script, "#!/bin/sh\necho '{\"name\": \"gpu\", \"addresses\": [\"" + gpu + "\"]}'\n");
        Files.setPosixFilePermissions(script, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        return start(sparkHome, name, List.of("-Dspark.worker.resource.gpu.amount=1",
                        "-Dspark.worker.resource.gpu.discoveryScript=" + script),
                "org.apache.spark.deploy.worker.Worker", master,
                "--host", "127.0.0.1", "--cores", "1", "--memory", "900m",
                "--work-dir", Files.createDirectories(tmp.resolve(name)).toString(),
                "--webui-port", String.valueOf(freePort()));
    }

    Process start(Path sparkHome, String name, List<String> jvmArgs, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(Arrays.asList(System.getProperty("revenant.jvmFlags").split(" ")));
        cmd.addAll(Arrays.asList("-Xmx512m", "-Xss4m", "-Dspark.ui.enabled=false"));
        cmd.addAll(jvmArgs);
        cmd.addAll(sparkModuleFlags());
        cmd.addAll(List.of("-cp", sparkHome.resolve("jars") + "/*", mainClass));
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(tmp.resolve(name + ".log").toFile());
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("SPARK_LOCAL_DIRS", Files.createDirectories(tmp.resolve("local-" + name)).toString());
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /** The --add-opens flags this JVM got (from the pom's spark.jvm.flags), which Spark's launcher would add. */
    static List<String> sparkModuleFlags() {
        return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("-Dio.netty") || a.startsWith("-Djdk.reflect")
                        || a.equals("-XX:+IgnoreUnrecognizedVMOptions")).toList();
    }

    String log(String name) {
        try {
            Path f = tmp.resolve(name + ".log");
            return Files.exists(f) ? Files.readString(f) : "";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    /** cells/&lt;model&gt;/&lt;precision&gt; folders holding cell.json. */
    static List<Path> finishedCells(Path cells) {
        if (!Files.isDirectory(cells)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(cells, 3)) {
            return s.filter(p -> p.getFileName().toString().equals(CellTask.CELL_RECORD)).toList();
        } catch (IOException e) {
            return List.of(); // a folder renamed while walking: look again on the next poll
        }
    }

    /** The pid of an executor under {@code worker} with a cell in flight ({@code <p>.tmp-<host>-<pid>-<attempt>}), or 0. */
    static long inFlightPidUnder(Path cells, ProcessHandle worker) {
        try (Stream<Path> s = Files.walk(cells, 2)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                int i = n.indexOf(".tmp-");
                if (i < 0) {
                    continue;
                }
                String[] parts = n.substring(i + 5).split("-");
                long pid = Long.parseLong(parts[parts.length - 2]);
                Optional<ProcessHandle> parent = ProcessHandle.of(pid).flatMap(ProcessHandle::parent);
                if (parent.isPresent() && parent.get().pid() == worker.pid()) {
                    return pid;
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }

    void waitFor(String what, BooleanSupplier done) throws InterruptedException {
        long end = System.currentTimeMillis() + STEP_TIMEOUT_MS;
        while (!done.getAsBoolean()) {
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("gave up waiting for " + what + " after " + STEP_TIMEOUT_MS / 1000 + " s; master:\n"
                        + log("master") + "\ndriver:\n" + log("driver"));
            }
            Thread.sleep(100);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
