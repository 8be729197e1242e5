"""Row-wise softmax and log-softmax on 2-D (rows, cols) C-contiguous buffers.

Every row is max-shifted before exponentiating.  A row of all -inf, or one
holding +inf or NaN, gives a row of NaN, as PyTorch does.  Rows are spread
over OpenMP threads when the buffer is large.
"""
from cython cimport floating
from cython.parallel cimport prange

from microtorch._kernels._checks cimport (
    F32, PARALLEL_MIN, check_contiguous, check_ndim, float_kind,
)
from microtorch._kernels._fmath cimport (
    log_softmax_backward_row, log_softmax_row, softmax_backward_row, softmax_row,
)
from microtorch._kernels._threads cimport num_threads

cdef enum Op:
    SOFTMAX
    SOFTMAX_BACKWARD
    LOG_SOFTMAX
    LOG_SOFTMAX_BACKWARD


cdef inline void _row(Op op, const floating* a, const floating* b, floating* out,
                      Py_ssize_t cols) noexcept nogil:
    if op == SOFTMAX:
        softmax_row(a, out, cols)
    elif op == SOFTMAX_BACKWARD:
        softmax_backward_row(a, b, out, cols)
    elif op == LOG_SOFTMAX:
        log_softmax_row(a, out, cols)
    else:
        log_softmax_backward_row(a, b, out, cols)


cdef void _rows(Op op, const floating* a, const floating* b, floating* out,
                Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """Apply `op` to every row; `b` (the forward output) is NULL for forward ops."""
    cdef int threads = num_threads()
    cdef Py_ssize_t i
    if rows * cols < PARALLEL_MIN or rows < 2 or threads == 1:
        for i in range(rows):
            _row(op, a + i * cols, b + i * cols if b != NULL else NULL, out + i * cols, cols)
    else:
        for i in prange(rows, num_threads=threads, schedule="static"):
            _row(op, a + i * cols, b + i * cols if b != NULL else NULL, out + i * cols, cols)


cdef int _rows_typed(Op op, const floating[:, ::1] a, const floating[:, ::1] b,
                     floating[:, ::1] out) except -1:
    cdef Py_ssize_t rows = out.shape[0], cols = out.shape[1]
    if rows == 0 or cols == 0:
        return 0
    with nogil:
        _rows(op, &a[0, 0], &b[0, 0] if b is not None else NULL, &out[0, 0], rows, cols)
    return 0


cdef int _dispatch(str kernel, Op op, tuple names, a, b, out) except -1:
    cdef tuple arrays = (a, b, out)
    kind = float_kind(kernel, names, arrays)
    for name, arr in zip(names, arrays):
        check_ndim(kernel, name, arr, 2)
    check_contiguous(kernel, names, arrays)
    if a.shape != out.shape or (b is not None and b.shape != out.shape):
        shapes = ", ".join(str(arr.shape) for arr in arrays if arr is not None)
        raise ValueError(f"{kernel}: expected arrays of one shape, got shapes {shapes}")
    if kind == F32:
        _rows_typed[float](op, a, b, out)
    else:
        _rows_typed[double](op, a, b, out)
    return 0


def softmax_forward(x, out):
    """out = softmax(x) along the last axis of a (rows, cols) array."""
    _dispatch("softmax_forward", SOFTMAX, ("x", "y?", "out"), x, None, out)


def softmax_backward(grad, y, out):
    """out = y * (grad - sum(grad * y, row)); y is softmax's output."""
    _dispatch("softmax_backward", SOFTMAX_BACKWARD, ("grad", "y", "out"), grad, y, out)


def log_softmax_forward(x, out):
    """out = x - max - log(sum(exp(x - max))) along the last axis."""
    _dispatch("log_softmax_forward", LOG_SOFTMAX, ("x", "y?", "out"), x, None, out)


def log_softmax_backward(grad, y, out):
    """out = grad - exp(y) * sum(grad, row); y is log_softmax's output."""
    _dispatch("log_softmax_backward", LOG_SOFTMAX_BACKWARD, ("grad", "y", "out"), grad, y, out)
