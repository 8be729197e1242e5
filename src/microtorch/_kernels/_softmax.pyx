"""Row-wise softmax and log-softmax on 2-D (rows, cols) C-contiguous buffers.

Every row is max-shifted before exponentiating.  A row of all -inf, or one
holding +inf or NaN, gives a row of NaN, as PyTorch does.  Rows are spread
over OpenMP threads when the buffer is large.
"""
from cython cimport floating
from cython.parallel cimport prange

from microtorch._kernels._args cimport (
    MT_F32, MT_F64, MT_IN, MT_OUT, is_2d, mt_args, mt_args_init, mt_args_release, mt_same,
    mt_take,
)
from microtorch._kernels._checks cimport (
    PARALLEL_MIN, check_contiguous, check_ndim, check_writable, float_kind,
)
from microtorch._kernels._fmath cimport (
    log_softmax_backward_rows, log_softmax_rows, softmax_backward_row, softmax_rows,
)
from microtorch._kernels._threads cimport num_threads

cdef enum Op:            # forward ops first: the backward ops (>= SOFTMAX_BACKWARD) read b
    SOFTMAX
    LOG_SOFTMAX
    SOFTMAX_BACKWARD
    LOG_SOFTMAX_BACKWARD


cdef void _span(Op op, const floating* a, const floating* b, floating* out,
                Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """Apply `op` to `rows` rows of `cols`; `b` (the forward output) is NULL for forward ops."""
    cdef Py_ssize_t i
    if op == SOFTMAX:
        softmax_rows(a, out, rows, cols)
    elif op == LOG_SOFTMAX:
        log_softmax_rows(a, out, rows, cols)
    elif op == SOFTMAX_BACKWARD:
        for i in range(rows):
            softmax_backward_row(a + i * cols, b + i * cols, out + i * cols, cols)
    else:
        log_softmax_backward_rows(a, b, out, rows, cols)


cdef void _rows(Op op, const floating* a, const floating* b, floating* out,
                Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """`_span` over all rows, split into one run of rows per thread when large."""
    cdef int threads = num_threads()
    cdef Py_ssize_t chunk, c, start, stop
    if rows * cols < PARALLEL_MIN or rows < 2 or threads == 1:
        _span(op, a, b, out, rows, cols)
        return
    chunk = (rows + threads - 1) // threads
    for c in prange(threads, num_threads=threads, schedule="static"):
        start = c * chunk
        stop = min(rows, start + chunk)
        if start < stop:
            _span(op, a + start * cols, b + start * cols if b != NULL else NULL,
                  out + start * cols, stop - start, cols)


cdef int _explain(str kernel, tuple names, a, b, out) except -1:
    """The slow path, run only when the C checks refused a call: raise its error."""
    cdef tuple arrays = (a, b, out)
    float_kind(kernel, names, arrays)
    for name, arr in zip(names, arrays):
        check_ndim(kernel, name, arr, 2)
    check_contiguous(kernel, names, arrays)
    check_writable(kernel, "out", out)
    shapes = ", ".join(str(arr.shape) for arr in arrays if arr is not None)
    raise ValueError(f"{kernel}: expected arrays of one shape, got shapes {shapes}")


cdef int _dispatch(str kernel, Op op, tuple names, a, b, out) except -1:
    """Check (a, b, out) in C: 2-D, one shape, one float dtype, out writable; then run."""
    cdef mt_args v
    cdef int kind
    cdef Py_ssize_t rows = -1, cols = -1
    mt_args_init(&v)
    try:
        kind = mt_same(mt_same(mt_take(&v, 0, a, MT_IN), mt_take(&v, 1, b, MT_IN)),
                       mt_take(&v, 2, out, MT_OUT))
        if v.view[2].ndim == 2:
            rows, cols = v.view[2].shape[0], v.view[2].shape[1]
        if (kind != MT_F32 and kind != MT_F64 or rows < 0 or not is_2d(&v.view[0], rows, cols)
                or (op >= SOFTMAX_BACKWARD and not is_2d(&v.view[1], rows, cols))):
            _explain(kernel, names, a, b, out)
        if rows > 0 and cols > 0:
            with nogil:
                if kind == MT_F32:
                    _rows(op, <const float*>v.view[0].buf, <const float*>v.view[1].buf,
                          <float*>v.view[2].buf, rows, cols)
                else:
                    _rows(op, <const double*>v.view[0].buf, <const double*>v.view[1].buf,
                          <double*>v.view[2].buf, rows, cols)
    finally:
        mt_args_release(&v)
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
