package dev.revenant.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Panels of weights for the batched C kernels (native/include/revenant_cpu.h, "Panels"): each built on its weight's
 * first batched call and kept, in native memory of its own, while the weight array is reachable, within a budget of
 * bytes. A weight is its array object itself (identity, held weakly): a weight handed to a backend is never written
 * again, so its panel stays valid; a new array, even at the same address, is a new weight.
 */
final class PanelCache {

    private static final class Entry extends WeakReference<Object> {
        final int hash;
        final Arena arena;
        final MemorySegment panel;

        Entry(Object key, ReferenceQueue<Object> queue, int hash, Arena arena, MemorySegment panel) {
            super(key, queue);
            this.hash = hash;
            this.arena = arena;
            this.panel = panel;
        }
    }

    private final long budget;
    private final ReferenceQueue<Object> queue = new ReferenceQueue<>();
    private final Map<Integer, List<Entry>> entries = new HashMap<>();
    private long used;

    /** @param budget bytes of panels at most (0: none) */
    PanelCache(long budget) {
        if (budget < 0) {
            throw new IllegalArgumentException("panel budget must be ≥ 0 bytes, found " + budget);
        }
        this.budget = budget;
    }

    /**
     * The panel of {@code key}: on the first call a fresh zeroed segment of {@code bytes} bytes that {@code build}
     * fills; null when the budget has no room left for it (the caller then runs without a panel: the same bits).
     */
    synchronized MemorySegment get(Object key, long bytes, Consumer<MemorySegment> build) {
        expunge();
        int h = System.identityHashCode(key);
        List<Entry> list = entries.get(h);
        if (list != null) {
            for (Entry e : list) {
                if (e.get() == key) {
                    return e.panel;
                }
            }
        }
        if (bytes <= 0 || bytes > budget - used) {
            return null;
        }
        Arena arena = Arena.ofShared();
        MemorySegment panel;
        try {
            panel = arena.allocate(bytes, 64);
            build.accept(panel);
        } catch (OutOfMemoryError e) { // no room in native memory: no panel
            arena.close();
            return null;
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
        entries.computeIfAbsent(h, x -> new ArrayList<>(1)).add(new Entry(key, queue, h, arena, panel));
        used += bytes;
        return panel;
    }

    /** Bytes of panels held now (of weights still reachable at the last call). */
    synchronized long used() {
        return used;
    }

    /** Frees every panel (the backend is closing). */
    synchronized void clear() {
        for (List<Entry> list : entries.values()) {
            for (Entry e : list) {
                e.arena.close();
            }
        }
        entries.clear();
        used = 0;
    }

    /** Frees the panels of weights that are gone. */
    private void expunge() {
        for (Reference<?> r; (r = queue.poll()) != null; ) {
            Entry e = (Entry) r;
            List<Entry> list = entries.get(e.hash);
            if (list != null && list.remove(e)) {
                if (list.isEmpty()) {
                    entries.remove(e.hash);
                }
                used -= e.panel.byteSize();
                e.arena.close();
            }
        }
    }
}
