package dev.revenant.kernel.cuda;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD8;

import java.lang.foreign.MemorySegment;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/**
 * One device allocation. Allocation failures name what was being allocated, its size and the device's
 * free memory (the memory planner's error); copies are synchronous and checked.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final String what;
    private final long bytes;
    private CUdeviceptr ptr;

    private DeviceBuffer(String what, long bytes, CUdeviceptr ptr) {
        this.what = what;
        this.bytes = bytes;
        this.ptr = ptr;
    }

    /** Allocates {@code bytes} (at least 1) for {@code what} (named in the error when it does not fit). */
    public static DeviceBuffer allocate(String what, long bytes) {
        CudaRuntime rt = CudaRuntime.get();
        CUdeviceptr p = new CUdeviceptr();
        try {
            cuMemAlloc(p, Math.max(1, bytes));
        } catch (RuntimeException e) {
            long[] m = rt.memory();
            throw new IllegalStateException(String.format("cuda: %s does not fit: %,d bytes asked, %,d of %,d bytes free on %s (%s)",
                    what, bytes, m[0], m[1], rt.name(), e.getMessage()), e);
        }
        return new DeviceBuffer(what, bytes, p);
    }

    public static DeviceBuffer of(String what, float[] data) {
        DeviceBuffer b = allocate(what, 4L * data.length);
        b.upload(data, 0, data.length);
        return b;
    }

    public static DeviceBuffer of(String what, int[] data) {
        DeviceBuffer b = allocate(what, 4L * data.length);
        if (data.length > 0) {
            cuMemcpyHtoD(b.ptr, Pointer.to(data), 4L * data.length);
        }
        return b;
    }

    public static DeviceBuffer of(String what, byte[] data) {
        DeviceBuffer b = allocate(what, data.length);
        if (data.length > 0) {
            cuMemcpyHtoD(b.ptr, Pointer.to(data), data.length);
        }
        return b;
    }

    /** A copy of {@code seg} (a mapped checkpoint slice or arena memory), in chunks of at most 1 GiB. */
    public static DeviceBuffer of(String what, MemorySegment seg) {
        DeviceBuffer b = allocate(what, seg.byteSize());
        long chunk = 1L << 30;
        for (long off = 0; off < seg.byteSize(); off += chunk) {
            long n = Math.min(chunk, seg.byteSize() - off);
            MemorySegment part = seg.asSlice(off, n);
            if (part.isNative()) {
                cuMemcpyHtoD(b.ptr.withByteOffset(off), Pointer.to(part.asByteBuffer()), n);
            } else {
                cuMemcpyHtoD(b.ptr.withByteOffset(off), Pointer.to(part.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)), n);
            }
        }
        return b;
    }

    public CUdeviceptr ptr() {
        check();
        return ptr;
    }

    /** The address {@code byteOffset} bytes in. */
    public CUdeviceptr at(long byteOffset) {
        check();
        return ptr.withByteOffset(byteOffset);
    }

    public long bytes() {
        return bytes;
    }

    private static final java.lang.reflect.Method NATIVE_POINTER;

    static {
        try {
            NATIVE_POINTER = jcuda.NativePointerObject.class.getDeclaredMethod("getNativePointer");
            NATIVE_POINTER.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * The device address (for kernels that read tables of addresses). JCuda keeps it behind a protected
     * accessor; this buffer's pointer has no byte offset, so the address is the allocation's.
     */
    public long address() {
        check();
        try {
            return (long) NATIVE_POINTER.invoke(ptr);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cuda: cannot read the device address of " + what, e);
        }
    }

    public void upload(float[] src, int from, int count) {
        check();
        if (4L * count > bytes) {
            throw new IllegalArgumentException(what + ": " + count + " floats do not fit in " + bytes + " bytes");
        }
        if (count > 0) {
            cuMemcpyHtoD(ptr, Pointer.to(src).withByteOffset(4L * from), 4L * count);
        }
    }

    public void upload(int[] src, int count) {
        check();
        if (4L * count > bytes) {
            throw new IllegalArgumentException(what + ": " + count + " ints do not fit in " + bytes + " bytes");
        }
        if (count > 0) {
            cuMemcpyHtoD(ptr, Pointer.to(src), 4L * count);
        }
    }

    /** {@code count} floats from byte offset {@code byteOffset} into {@code dst[to...]}. */
    public void download(long byteOffset, float[] dst, int to, int count) {
        check();
        if (byteOffset + 4L * count > bytes) {
            throw new IllegalArgumentException(what + ": reading " + count + " floats at " + byteOffset + " past " + bytes + " bytes");
        }
        if (count > 0) {
            cuMemcpyDtoH(Pointer.to(dst).withByteOffset(4L * to), ptr.withByteOffset(byteOffset), 4L * count);
        }
    }

    public void download(int[] dst, int count) {
        check();
        if (count > 0) {
            cuMemcpyDtoH(Pointer.to(dst), ptr, 4L * count);
        }
    }

    /** Device-to-device copy of {@code n} bytes. */
    public static void copy(CUdeviceptr dst, CUdeviceptr src, long n) {
        if (n > 0) {
            cuMemcpyDtoD(dst, src, n);
        }
    }

    public void zero() {
        check();
        cuMemsetD8(ptr, (byte) 0, Math.max(1, bytes));
    }

    private void check() {
        if (ptr == null) {
            throw new IllegalStateException(what + ": device buffer already freed");
        }
    }

    @Override
    public void close() {
        if (ptr != null) {
            cuMemFree(ptr);
            ptr = null;
        }
    }
}
