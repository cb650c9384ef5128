package dev.revenant.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** {@code revenant bench matmul --json}: the keys the CPU kernels issue asks for, consistent with each other. */
class BenchMatmulTest {

    @Test
    void jsonHasTheFloorsAndRatiosOfOneRun() throws Exception {
        CliTest.Run r = CliTest.run("bench", "matmul", "--precision", "q4_0", "--shape", "96x256", "--batch", "3",
                "--iters", "7", "--threads", "1", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out().substring(r.out().indexOf('{')));
        assertEquals("q4_0", o.get("precision").asText());
        assertEquals(7, o.get("calls").asInt(), "--iters timed calls");
        for (String k : new String[] {"gbps", "gflops", "read_bw_gbps", "fma_peak_gflops", "ratio_bw", "ratio_fma", "median_ms"}) {
            assertTrue(o.get(k).asDouble() > 0 && Double.isFinite(o.get(k).asDouble()), k + " = " + o.get(k));
        }
        // GFLOP/s and GB/s are the same median call: 2·M·OUT·IN flops and the packed bytes (96·256/32 blocks of 18 bytes)
        double sec = o.get("median_ms").asDouble() / 1e3;
        assertEquals(2.0 * 3 * 96 * 256 / sec / 1e9, o.get("gflops").asDouble(), 1e-6 * o.get("gflops").asDouble());
        assertEquals(96 * 256 / 32 * 18, o.get("packed_bytes").asLong());
        assertEquals(o.get("gbps").asDouble() / o.get("read_bw_gbps").asDouble(), o.get("ratio_bw").asDouble(), 1e-9);
        assertEquals(o.get("gflops").asDouble() / o.get("fma_peak_gflops").asDouble(), o.get("ratio_fma").asDouble(), 1e-9);
    }
}
