# OpenMP shim: every kernel cimports OpenMP symbols from here, never from
# Cython's `openmp` module, so the package still compiles without OpenMP
# (then `prange` runs serially and these report a single thread).

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define mt_omp_max_threads() omp_get_max_threads()
    #define mt_omp_enabled() 1
    #else
    #define mt_omp_max_threads() 1
    #define mt_omp_enabled() 0
    #endif
    """
    int mt_omp_max_threads() noexcept nogil
    int mt_omp_enabled() noexcept nogil
