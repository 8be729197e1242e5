# Sliding-window index arithmetic shared by the convolution and pooling kernels.


cdef inline Py_ssize_t ceil_div(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """ceil(a / b) for b > 0 and either sign of a (C division truncates toward zero)."""
    return (a + b - 1) // b if a >= 0 else -((-a) // b)


cdef inline void valid_range(Py_ssize_t start, Py_ssize_t step, Py_ssize_t size,
                             Py_ssize_t n, Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    """Outputs [lo, hi) of 0..n-1 whose input position start + k * step lies in [0, size)."""
    cdef Py_ssize_t a, b
    if step == 1:
        a, b = -start, size - start
    else:
        a, b = ceil_div(-start, step), ceil_div(size - start, step)
    lo[0] = 0 if a < 0 else (n if a > n else a)
    hi[0] = lo[0] if b < lo[0] else (n if b > n else b)
