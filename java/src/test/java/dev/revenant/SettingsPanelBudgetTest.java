package dev.revenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code -Drevenant.panels.mib}: the native backend's memory for weight panels. */
class SettingsPanelBudgetTest {
    @AfterEach
    void clear() {
        System.clearProperty("revenant.panels.mib");
    }

    @Test
    void readsMiBAndDefaultsToAQuarterOfMemory() {
        System.setProperty("revenant.panels.mib", " 12 ");
        assertEquals(12L << 20, Settings.panelBudgetBytes());
        System.setProperty("revenant.panels.mib", "0");
        assertEquals(0, Settings.panelBudgetBytes(), "0 turns panels off");
        System.clearProperty("revenant.panels.mib");
        if (System.getenv("REVENANT_PANELS_MIB") == null) {
            long total = ((com.sun.management.OperatingSystemMXBean)
                    java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
            assertEquals(total / 4, Settings.panelBudgetBytes());
            assertTrue(total / 4 > 0, "this machine reports its memory");
        }
    }

    @Test
    void aBadValueNamesTheSetting() {
        for (String bad : new String[] {"-1", "4G", "9223372036854775807"}) {
            System.setProperty("revenant.panels.mib", bad);
            assertEquals("revenant.panels.mib / REVENANT_PANELS_MIB: expected a number of MiB ≥ 0, found '" + bad + "'",
                    assertThrows(IllegalArgumentException.class, Settings::panelBudgetBytes).getMessage());
        }
    }
}
