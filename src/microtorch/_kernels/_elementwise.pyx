"""Activation kernels on flat, C-contiguous float32/float64 buffers.

Each forward/backward pair sits side by side.  The caller preallocates ``out``
(which may be the input itself, for in-place ops) and passes ``x.reshape(-1)``.
Work is split over OpenMP threads only for large buffers: PARALLEL_MIN for
sigmoid/tanh, the much larger PARALLEL_MIN_STREAMING for memory-bound streams.
"""
from cython cimport floating
from cython.parallel cimport prange

from microtorch._kernels._checks cimport (
    F32, PARALLEL_MIN, PARALLEL_MIN_STREAMING, check_contiguous, check_ndim, float_kind,
)
from microtorch._kernels._fmath cimport sigmoid_span, tanh_span
from microtorch._kernels._threads cimport num_threads

cdef enum Op:
    RELU
    RELU_BACKWARD
    SIGMOID
    SIGMOID_BACKWARD
    TANH
    TANH_BACKWARD


# ---------------------------------------------------------------- the maths

cdef void _span(Op op, const floating* a, const floating* b, floating* out,
                Py_ssize_t n) noexcept nogil:
    """Apply `op` to n elements.  Forward ops read `a` (= x); backward ops read
    `a` (= grad) and `b` (= the forward output y).  The branch is outside the
    loops, so each loop is a plain vectorisable stream."""
    cdef Py_ssize_t i
    cdef floating v
    if op == RELU:
        for i in range(n):
            v = a[i]
            out[i] = 0 if v < 0 else v             # keeps NaN and -0.0, as torch.relu
    elif op == RELU_BACKWARD:
        for i in range(n):
            out[i] = 0 if b[i] <= 0 else a[i]      # NaN in y passes grad through
    elif op == SIGMOID:
        sigmoid_span(a, out, n)
    elif op == SIGMOID_BACKWARD:
        for i in range(n):
            out[i] = a[i] * (<floating>1 - b[i]) * b[i]
    elif op == TANH:
        tanh_span(a, out, n)
    elif op == TANH_BACKWARD:
        for i in range(n):
            out[i] = a[i] * (<floating>1 - b[i] * b[i])


cdef void _run(Op op, const floating* a, const floating* b, floating* out,
               Py_ssize_t n) noexcept nogil:
    """Run `_span` over the whole buffer, split into one chunk per thread when large."""
    cdef int threads = num_threads()
    cdef Py_ssize_t chunk, c, start, stop
    cdef bint compute_bound = op == SIGMOID or op == TANH
    cdef Py_ssize_t threshold = PARALLEL_MIN if compute_bound else PARALLEL_MIN_STREAMING
    if n < threshold or threads == 1:
        _span(op, a, b, out, n)
        return
    chunk = (n + threads - 1) // threads
    chunk = (chunk + 63) // 64 * 64                 # keep chunk starts 64-element aligned
    for c in prange(threads, num_threads=threads, schedule="static"):
        start = c * chunk
        stop = min(n, start + chunk)
        if start < stop:
            _span(op, a + start, b + start if b != NULL else NULL, out + start, stop - start)


# ------------------------------------------------------- checks and dispatch

cdef int _run_typed(str kernel, Op op, const floating[::1] a, const floating[::1] b,
                    floating[::1] out) except -1:
    cdef Py_ssize_t n = out.shape[0]
    if n == 0:
        return 0
    with nogil:
        _run(op, &a[0], &b[0] if b is not None else NULL, &out[0], n)
    return 0


cdef int _dispatch(str kernel, Op op, tuple names, a, b, out) except -1:
    cdef tuple arrays = (a, b, out)
    kind = float_kind(kernel, names, arrays)
    for name, arr in zip(names, arrays):
        check_ndim(kernel, name, arr, 1)
    check_contiguous(kernel, names, arrays)
    if a.shape != out.shape or (b is not None and b.shape != out.shape):
        shapes = ", ".join(str(arr.shape) for arr in arrays if arr is not None)
        raise ValueError(f"{kernel}: expected buffers of one length, got shapes {shapes}")
    if kind == F32:
        _run_typed[float](kernel, op, a, b, out)
    else:
        _run_typed[double](kernel, op, a, b, out)
    return 0


# -------------------------------------------------------- Python entry points

def relu_forward(x, out):
    """out = x where x >= 0 else 0 (NaN and -0.0 pass through, like torch.relu)."""
    _dispatch("relu_forward", RELU, ("x", "y?", "out"), x, None, out)


def relu_backward(grad, y, out):
    """out = 0 where y <= 0 else grad; y is relu's output."""
    _dispatch("relu_backward", RELU_BACKWARD, ("grad", "y", "out"), grad, y, out)


def sigmoid_forward(x, out):
    """out = 1 / (1 + exp(-x)), computed without overflow for any x."""
    _dispatch("sigmoid_forward", SIGMOID, ("x", "y?", "out"), x, None, out)


def sigmoid_backward(grad, y, out):
    """out = grad * (1 - y) * y; y is sigmoid's output."""
    _dispatch("sigmoid_backward", SIGMOID_BACKWARD, ("grad", "y", "out"), grad, y, out)


def tanh_forward(x, out):
    """out = tanh(x)."""
    _dispatch("tanh_forward", TANH, ("x", "y?", "out"), x, None, out)


def tanh_backward(grad, y, out):
    """out = grad * (1 - y * y); y is tanh's output."""
    _dispatch("tanh_backward", TANH_BACKWARD, ("grad", "y", "out"), grad, y, out)
