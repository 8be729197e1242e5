# C-level access to the thread count, shared by every kernel module.

cdef int num_threads() noexcept nogil
