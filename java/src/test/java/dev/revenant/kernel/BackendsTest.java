package dev.revenant.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BackendsTest {

    @Test
    void createsByName() {
        try (Backend r = Backends.create("reference", 4); Backend v = Backends.create("vector", 2)) {
            assertInstanceOf(ReferenceBackend.class, r);
            assertEquals("vector", v.name());
            assertEquals(2, v.threads());
            assertEquals("backend: vector (Java Vector API, " + VectorBackend.vectorBits() + "-bit FloatVector, 2 threads)",
                    Backends.describe(v));
            assertEquals("backend: reference (scalar loops, 1 thread)", Backends.describe(r));
        }
        try (Backend a = Backends.auto(1)) {
            Class<? extends Backend> expected = NativeLibrary.available() ? NativeCpuBackend.class : VectorBackend.class;
            assertEquals(expected, a.getClass(), "auto = native when the library loaded, else vector");
        }
    }

    @Test
    void unknownNameListsTheValidOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("cuda9", 1));
        assertEquals("unknown backend 'cuda9', expected one of reference, vector, native, cuda, auto", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Backends.create("vector", 0));
    }

    @Test
    void bandwidthIsPositive() {
        double read = Bandwidth.readBytesPerSecond(8L << 20, 2, 1);
        double copy = Bandwidth.copyBytesPerSecond(8L << 20, 1, 1);
        assertTrue(read > 1e9 && copy > 1e9, "read " + read + " copy " + copy);
    }
}
