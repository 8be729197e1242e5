"""Activation kernels on flat, C-contiguous float32/float64 buffers.

Each forward/backward pair sits side by side.  The caller preallocates ``out``
(which may be the input itself, for in-place ops) and passes ``x.reshape(-1)``.
Work is split over OpenMP threads only for large buffers: PARALLEL_MIN for
sigmoid/tanh, the much larger PARALLEL_MIN_STREAMING for memory-bound streams.
"""
from cython cimport floating
from cython.parallel cimport prange

from microtorch._kernels._args cimport (
    MT_F32, MT_F64, MT_IN, MT_OUT, is_1d, mt_args, mt_args_init, mt_args_release, mt_same,
    mt_take,
)
from microtorch._kernels._checks cimport (
    PARALLEL_MIN, PARALLEL_MIN_STREAMING, check_contiguous, check_ndim, check_writable, float_kind,
)
from microtorch._kernels._fmath cimport mt_apply_d, mt_apply_f, sigmoid_span, tanh_span
from microtorch._kernels._threads cimport num_threads

cdef enum Op:            # forward ops first: the backward ops (>= RELU_BACKWARD) read b
    RELU
    SIGMOID
    TANH
    RELU_BACKWARD
    SIGMOID_BACKWARD
    TANH_BACKWARD


# ---------------------------------------------------------------- the maths

cdef extern from *:
    """
    /* The activation loops, each a plain branch-free stream (selects, not branches:
       both operands are loaded unconditionally), compiled for AVX2 and AVX-512 besides
       the baseline (MT_MULTIVERSION, _fmath.pxd).  out may alias either input. */
    #define MT_ACTIVATION_SPANS(T, S)                                                \\
    MT_MULTIVERSION static void mt_relu_span_##S(const T* x, T* out, Py_ssize_t n) { \\
        _Pragma("omp simd")                                                          \\
        for (Py_ssize_t i = 0; i < n; i++) {                                         \\
            T v = x[i];                                                              \\
            out[i] = v < 0 ? (T)0 : v;          /* keeps NaN and -0.0 (torch.relu) */ \\
        }                                                                            \\
    }                                                                                \\
    MT_MULTIVERSION static void mt_relu_grad_span_##S(const T* g, const T* y, T* out, \\
                                                      Py_ssize_t n) {                \\
        _Pragma("omp simd")                                                          \\
        for (Py_ssize_t i = 0; i < n; i++) {                                         \\
            T gi = g[i], yi = y[i];                                                  \\
            out[i] = yi <= 0 ? (T)0 : gi;       /* NaN in y passes grad through */    \\
        }                                                                            \\
    }                                                                                \\
    MT_MULTIVERSION static void mt_sigmoid_grad_span_##S(const T* g, const T* y,     \\
                                                         T* out, Py_ssize_t n) {     \\
        _Pragma("omp simd")                                                          \\
        for (Py_ssize_t i = 0; i < n; i++) out[i] = g[i] * ((T)1 - y[i]) * y[i];     \\
    }                                                                                \\
    MT_MULTIVERSION static void mt_tanh_grad_span_##S(const T* g, const T* y, T* out, \\
                                                      Py_ssize_t n) {                \\
        _Pragma("omp simd")                                                          \\
        for (Py_ssize_t i = 0; i < n; i++) out[i] = g[i] * ((T)1 - y[i] * y[i]);     \\
    }

    MT_ACTIVATION_SPANS(float, f)
    MT_ACTIVATION_SPANS(double, d)
    """
    void mt_relu_span_f(const float* x, float* out, Py_ssize_t n) noexcept nogil
    void mt_relu_span_d(const double* x, double* out, Py_ssize_t n) noexcept nogil
    void mt_relu_grad_span_f(const float* g, const float* y, float* out,
                             Py_ssize_t n) noexcept nogil
    void mt_relu_grad_span_d(const double* g, const double* y, double* out,
                             Py_ssize_t n) noexcept nogil
    void mt_sigmoid_grad_span_f(const float* g, const float* y, float* out,
                                Py_ssize_t n) noexcept nogil
    void mt_sigmoid_grad_span_d(const double* g, const double* y, double* out,
                                Py_ssize_t n) noexcept nogil
    void mt_tanh_grad_span_f(const float* g, const float* y, float* out,
                             Py_ssize_t n) noexcept nogil
    void mt_tanh_grad_span_d(const double* g, const double* y, double* out,
                             Py_ssize_t n) noexcept nogil


cdef void _span(Op op, const floating* a, const floating* b, floating* out,
                Py_ssize_t n) noexcept nogil:
    """Apply `op` to n elements.  Forward ops read `a` (= x); backward ops read
    `a` (= grad) and `b` (= the forward output y)."""
    if floating is float:
        if op == RELU:
            mt_relu_span_f(a, out, n)
        elif op == RELU_BACKWARD:
            mt_relu_grad_span_f(a, b, out, n)
        elif op == SIGMOID_BACKWARD:
            mt_sigmoid_grad_span_f(a, b, out, n)
        elif op == TANH_BACKWARD:
            mt_tanh_grad_span_f(a, b, out, n)
    else:
        if op == RELU:
            mt_relu_span_d(a, out, n)
        elif op == RELU_BACKWARD:
            mt_relu_grad_span_d(a, b, out, n)
        elif op == SIGMOID_BACKWARD:
            mt_sigmoid_grad_span_d(a, b, out, n)
        elif op == TANH_BACKWARD:
            mt_tanh_grad_span_d(a, b, out, n)
    if op == SIGMOID:
        sigmoid_span(a, out, n)
    elif op == TANH:
        tanh_span(a, out, n)


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

cdef int _explain(str kernel, tuple names, a, b, out) except -1:
    """The slow path, run only when the C checks refused a call: raise its error."""
    cdef tuple arrays = (a, b, out)
    float_kind(kernel, names, arrays)
    for name, arr in zip(names, arrays):
        check_ndim(kernel, name, arr, 1)
    check_contiguous(kernel, names, arrays)
    check_writable(kernel, "out", out)
    shapes = ", ".join(str(arr.shape) for arr in arrays if arr is not None)
    raise ValueError(f"{kernel}: expected buffers of one length, got shapes {shapes}")


cdef int _dispatch(str kernel, Op op, tuple names, a, b, out) except -1:
    """Check (a, b, out) in C: 1-D, one length, one float dtype, out writable; then run."""
    cdef mt_args v
    cdef int kind
    cdef Py_ssize_t n
    mt_args_init(&v)
    try:
        kind = mt_same(mt_same(mt_take(&v, 0, a, MT_IN), mt_take(&v, 1, b, MT_IN)),
                       mt_take(&v, 2, out, MT_OUT))
        n = v.view[2].shape[0] if v.view[2].ndim == 1 else -1
        if (kind != MT_F32 and kind != MT_F64 or n < 0 or not is_1d(&v.view[0], n)
                or (op >= RELU_BACKWARD and not is_1d(&v.view[1], n))):
            _explain(kernel, names, a, b, out)
        if n > 0:
            with nogil:
                if kind == MT_F32:
                    _run(op, <const float*>v.view[0].buf, <const float*>v.view[1].buf,
                         <float*>v.view[2].buf, n)
                else:
                    _run(op, <const double*>v.view[0].buf, <const double*>v.view[1].buf,
                         <double*>v.view[2].buf, n)
    finally:
        mt_args_release(&v)
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


# ------------------------------------------------------------- test hook

cdef int _math_typed(int fn, const floating[::1] x, floating[::1] out) except -1:
    cdef Py_ssize_t n = x.shape[0]
    if out.shape[0] != n:
        raise ValueError("_fmath: x and out differ in length")
    if n > 0:
        with nogil:
            if floating is float:
                mt_apply_f(fn, &x[0], &out[0], n)
            else:
                mt_apply_d(fn, &x[0], &out[0], n)
    return 0


def _fmath(str name, x, out):
    """Test hook: out = name(x) for the helpers of _fmath.pxd (name: exp, expm1, sigmoid,
    tanh or log1pexp = log(1 + e^-|x|)), in a loop compiled like the kernels' own (same
    instruction set and contractions), so tests measure each one's error against libm."""
    fn = ("exp", "expm1", "sigmoid", "tanh", "log1pexp").index(name)
    if x.dtype == "float32":
        _math_typed[float](fn, x, out)
    else:
        _math_typed[double](fn, x, out)
