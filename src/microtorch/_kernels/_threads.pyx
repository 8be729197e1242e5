"""How many OpenMP threads the microtorch kernels may use.

The count is read at every kernel call, so changing it (here, or through
``OMP_NUM_THREADS`` / threadpoolctl before anything was set here) takes
effect immediately.  Kernels still run serially on small inputs.

fork caveat: libgomp's thread pool does not survive ``fork()``, and a child
that enters a parallel region the parent had used can hang.  So a forked child
starts with one thread (the kernels then never enter OpenMP); call
``set_num_threads`` in the child to opt back in, or use the "spawn" or
"forkserver" start methods for worker processes.
"""
import os

from microtorch._kernels._omp cimport mt_omp_enabled, mt_omp_max_threads

# 0 means "not set": follow omp_get_max_threads() at call time.
cdef int _requested = 0


cdef int num_threads() noexcept nogil:
    """Threads a parallel kernel should use right now (always >= 1)."""
    if not mt_omp_enabled():
        return 1
    if _requested > 0:
        return _requested
    return max(1, mt_omp_max_threads())


def set_num_threads(int n):
    """Use at most ``n`` OpenMP threads in the kernels (``n >= 1``)."""
    global _requested
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    _requested = n


def get_num_threads():
    """Threads the kernels will use for large inputs (1 in a build without OpenMP)."""
    return num_threads()


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(mt_omp_enabled())


def _serial_after_fork():
    global _requested
    _requested = 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_serial_after_fork)
