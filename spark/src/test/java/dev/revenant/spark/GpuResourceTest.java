package dev.revenant.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.revenant.kernel.cuda.CudaRuntime;
import org.junit.jupiter.api.Test;

/**
 * The GPU wiring that runs without a GPU. Spark handing each task one address is exercised by
 * {@link SparkClusterTest}, whose workers announce one fake GPU each (local mode does not schedule task resources).
 */
class GpuResourceTest {
    @Test
    void noTaskContextMeansTheCpu() {
        assertNull(CellTask.gpuAddress(null));
    }

    @Test
    void aDeviceOrdinalMustBeNonNegative() {
        assertEquals("cuda: device ordinal must be ≥ 0, found -1",
                assertThrows(IllegalArgumentException.class, () -> CudaRuntime.selectDevice(-1)).getMessage());
    }
}
