package dev.revenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code -Drevenant.cuda.device}: the CUDA ordinal a process computes on (a Spark task passes its GPU address). */
class SettingsCudaDeviceTest {
    @AfterEach
    void clear() {
        System.clearProperty("revenant.cuda.device");
    }

    @Test
    void defaultsToDeviceZeroAndReadsTheProperty() {
        if (System.getenv("REVENANT_CUDA_DEVICE") == null) {
            assertEquals(0, Settings.cudaDevice());
        }
        System.setProperty("revenant.cuda.device", " 3 ");
        assertEquals(3, Settings.cudaDevice());
    }

    @Test
    void aBadValueNamesTheSetting() {
        for (String bad : new String[] {"-1", "gpu0"}) {
            System.setProperty("revenant.cuda.device", bad);
            assertEquals("revenant.cuda.device / REVENANT_CUDA_DEVICE: expected a device ordinal ≥ 0, found '" + bad + "'",
                    assertThrows(IllegalArgumentException.class, Settings::cudaDevice).getMessage());
        }
    }
}
