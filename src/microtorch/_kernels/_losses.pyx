"""Loss kernels, forward and backward, matching PyTorch 2.13's numerics.

Conventions shared by every kernel here:

* ``reduction`` is 0 (none), 1 (mean) or 2 (sum).  With none, the loss ``out``
  and the incoming ``grad`` hold one entry per sample; with mean or sum they
  hold one entry.
* Pointwise losses (mse, l1, bce, bce_with_logits) take flat buffers of one
  length; ``weight``/``pos_weight`` are None or already broadcast to that length.
* Cross-entropy and NLL take (N, C) rows and (N,) int64 class indices.  Their
  forward returns the mean's denominator, which the caller hands back to the
  backward kernel.
* Sums are taken in double, in fixed blocks whose partial sums are added in
  order, so a result does not depend on how many threads ran.

Arguments are checked in C (_args.pxd); only a refused call runs the Python
checks that raise the error (TypeError for dtypes, ValueError for shapes and
layouts, IndexError for a class index out of range).
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from microtorch._kernels._args cimport (
    MT_F32, MT_F64, MT_I64, MT_IN, MT_OUT, is_1d, is_1d_or_absent, is_2d, mt_args,
    mt_args_init, mt_args_release, mt_same, mt_take,
)
from microtorch._kernels._checks cimport (
    PARALLEL_MIN, REDUCE_MEAN, REDUCE_NONE, REDUCE_SUM,
    check_contiguous, check_ndim, check_reduction, check_shape, check_target, check_writable,
    float_kind, reduced_len,
)
from microtorch._kernels._fmath cimport (
    exp_span, f_abs, f_exp, f_log, f_log1p, log_softmax_rows, row_sum, sigmoid_span,
    softplus_neg_span,
)
from microtorch._kernels._threads cimport num_threads

cdef extern from *:
    """
    /* The common pointwise losses (no weight, no pos_weight) as single fused loops,
       compiled for AVX2 and AVX-512 besides the baseline (MT_MULTIVERSION, _fmath.pxd).
       Forward: the sum of the terms (in double; `omp simd` splits it over vector lanes
       in an order fixed by the build), each term also stored to out unless out is NULL.
       Backward: d loss / d x times the incoming gradient, g[i] or, when g is NULL, the
       scalar s divided by `div` (n for mean, else 1) in PyTorch's order of operations:
       MSE scales by its norm 2 / n first, BCE with logits divides last. */
    #define MT_LOSS_SPANS(T, S, SIGMOID, LOG1PEXP)                                   \\
    MT_MULTIVERSION static double mt_mse_sum_##S(const T* x, const T* t, T* out,   \\
                                                 Py_ssize_t n) {                   \\
        double acc = 0;                                                            \\
        if (out) {                                                                 \\
            _Pragma("omp simd reduction(+:acc)")                                   \\
            for (Py_ssize_t i = 0; i < n; i++) {                                   \\
                T d = x[i] - t[i];                                                 \\
                out[i] = d * d;                                                    \\
                acc += d * d;                                                      \\
            }                                                                      \\
        } else {                                                                   \\
            _Pragma("omp simd reduction(+:acc)")                                   \\
            for (Py_ssize_t i = 0; i < n; i++) {                                   \\
                T d = x[i] - t[i];                                                 \\
                acc += d * d;                                                      \\
            }                                                                      \\
        }                                                                          \\
        return acc;                                                                \\
    }                                                                              \\
    MT_MULTIVERSION static double mt_bcel_sum_##S(const T* x, const T* t, T* out,  \\
                                                  Py_ssize_t n) {                  \\
        double acc = 0;                                                            \\
        if (out) {                                                                 \\
            _Pragma("omp simd reduction(+:acc)")                                   \\
            for (Py_ssize_t i = 0; i < n; i++) {                                   \\
                T v = x[i];                                                        \\
                out[i] = ((T)1 - t[i]) * v + ((v < 0 ? -v : (T)0) + LOG1PEXP(v));  \\
                acc += out[i];                                                     \\
            }                                                                      \\
        } else {                                                                   \\
            _Pragma("omp simd reduction(+:acc)")                                   \\
            for (Py_ssize_t i = 0; i < n; i++) {                                   \\
                T v = x[i];                                                        \\
                acc += ((T)1 - t[i]) * v + ((v < 0 ? -v : (T)0) + LOG1PEXP(v));    \\
            }                                                                      \\
        }                                                                          \\
        return acc;                                                                \\
    }                                                                              \\
    MT_MULTIVERSION static void mt_mse_grad_##S(const T* x, const T* t,            \\
                                                const T* g, T s, T div, T* out,    \\
                                                Py_ssize_t n) {                    \\
        T norm = (T)(2.0 / (double)div);                                           \\
        if (g) {                                                                   \\
            _Pragma("omp simd")                                                    \\
            for (Py_ssize_t i = 0; i < n; i++) out[i] = (T)2 * (x[i] - t[i]) * g[i]; \\
        } else {                                                                   \\
            _Pragma("omp simd")                                                    \\
            for (Py_ssize_t i = 0; i < n; i++) out[i] = norm * (x[i] - t[i]) * s;  \\
        }                                                                          \\
    }                                                                              \\
    MT_MULTIVERSION static void mt_bcel_grad_##S(const T* x, const T* t,           \\
                                                 const T* g, T s, T div, T* out,   \\
                                                 Py_ssize_t n) {                   \\
        if (g) {                                                                   \\
            _Pragma("omp simd")                                                    \\
            for (Py_ssize_t i = 0; i < n; i++)                                     \\
                out[i] = (SIGMOID(x[i]) - t[i]) * g[i];                            \\
        } else if (div == (T)1) {                                                  \\
            _Pragma("omp simd")                                                    \\
            for (Py_ssize_t i = 0; i < n; i++)                                     \\
                out[i] = (SIGMOID(x[i]) - t[i]) * s;                               \\
        } else {                                                                   \\
            _Pragma("omp simd")                                                    \\
            for (Py_ssize_t i = 0; i < n; i++)                                     \\
                out[i] = (SIGMOID(x[i]) - t[i]) * s / div;                         \\
        }                                                                          \\
    }

    MT_LOSS_SPANS(float, f, mt_sigmoidf, mt_log1pexpf)
    MT_LOSS_SPANS(double, d, mt_sigmoid, mt_log1pexp)
    """
    double mt_mse_sum_f(const float* x, const float* t, float* out, Py_ssize_t n) noexcept nogil
    double mt_mse_sum_d(const double* x, const double* t, double* out,
                        Py_ssize_t n) noexcept nogil
    double mt_bcel_sum_f(const float* x, const float* t, float* out, Py_ssize_t n) noexcept nogil
    double mt_bcel_sum_d(const double* x, const double* t, double* out,
                         Py_ssize_t n) noexcept nogil
    void mt_mse_grad_f(const float* x, const float* t, const float* g, float s, float div,
                       float* out, Py_ssize_t n) noexcept nogil
    void mt_mse_grad_d(const double* x, const double* t, const double* g, double s,
                       double div, double* out, Py_ssize_t n) noexcept nogil
    void mt_bcel_grad_f(const float* x, const float* t, const float* g, float s, float div,
                        float* out, Py_ssize_t n) noexcept nogil
    void mt_bcel_grad_d(const double* x, const double* t, const double* g, double s,
                        double div, double* out, Py_ssize_t n) noexcept nogil


cdef inline bint _fused_sum(Loss loss, const floating* x, const floating* t, floating* out,
                            Py_ssize_t n, double* total) noexcept nogil:
    """The sum of an unweighted MSE or BCE-with-logits span by its fused loop (True), or
    False for the other losses (the general path)."""
    if loss == MSE:
        if floating is float:
            total[0] = mt_mse_sum_f(x, t, out, n)
        else:
            total[0] = mt_mse_sum_d(x, t, out, n)
        return True
    if loss == BCE_LOGITS:
        if floating is float:
            total[0] = mt_bcel_sum_f(x, t, out, n)
        else:
            total[0] = mt_bcel_sum_d(x, t, out, n)
        return True
    return False


cdef inline bint _fused_grad(Loss loss, const floating* x, const floating* t,
                             const floating* g, floating s, floating div, floating* out,
                             Py_ssize_t n) noexcept nogil:
    """The gradient of an unweighted MSE or BCE-with-logits span by its fused loop (True),
    or False for the other losses (the general path)."""
    if loss == MSE:
        if floating is float:
            mt_mse_grad_f(x, t, g, s, div, out, n)
        else:
            mt_mse_grad_d(x, t, g, s, div, out, n)
        return True
    if loss == BCE_LOGITS:
        if floating is float:
            mt_bcel_grad_f(x, t, g, s, div, out, n)
        else:
            mt_bcel_grad_d(x, t, g, s, div, out, n)
        return True
    return False


REDUCTION_NONE = REDUCE_NONE
REDUCTION_MEAN = REDUCE_MEAN
REDUCTION_SUM = REDUCE_SUM

cdef enum Loss:
    MSE
    L1
    BCE
    BCE_LOGITS

cdef enum:
    BLOCK = 4096        # elements per partial sum

# Floor of x (1 - x) in the BCE gradient.  PyTorch stores it as a float even
# for float64 tensors, so float64 sees float32's rounding of 1e-12.
cdef float BCE_EPS = 1e-12


cdef inline const floating* _at(const floating* p, Py_ssize_t i) noexcept nogil:
    """p + i, keeping NULL (an absent optional argument) as NULL."""
    return p + i if p != NULL else NULL


cdef inline floating _div(floating v, double divisor) noexcept nogil:
    """v / divisor for a reduction; divisor 1 (none, sum) leaves v untouched."""
    return v if divisor == 1 else <floating>(v / divisor)


cdef inline bint _valid_reduction(int reduction) noexcept:
    return reduction == REDUCE_NONE or reduction == REDUCE_MEAN or reduction == REDUCE_SUM


# ============================================================ pointwise losses
# Each loss is computed block by block (BLOCK elements, in cache): one plain loop
# per loss kind writes the block's terms, optional passes multiply them by the
# weights (and, backward, by the incoming gradient), and the forward sums the
# block in double.  The loss kind and every optional argument are tested once per
# block, outside the loops, so each loop is a branch-free stream gcc vectorises
# (docs/kernels.md has the vectorizer's report).

cdef inline floating _clamped_log(floating v) noexcept nogil:
    """PyTorch's BCE clamps each log at -100 (NaN stays NaN)."""
    return -100 if v < -100 else v


cdef void _terms(Loss loss, const floating* x, const floating* t, const floating* pw,
                 floating* v, Py_ssize_t n) noexcept nogil:
    """v[i] = the unweighted loss of element i, for n <= BLOCK; pw (pos_weight) is NULL
    when absent.  v may alias x or t (the vectorised softplus goes to a scratch block).
    Constants are typed `floating` (`one`), so float32 stays float32 arithmetic."""
    cdef Py_ssize_t i
    cdef floating d, xi, ti, one = 1
    cdef floating e[BLOCK]
    if loss == MSE:
        for i in range(n):
            d = x[i] - t[i]
            v[i] = d * d
    elif loss == L1:
        for i in range(n):
            v[i] = f_abs(x[i] - t[i])
    elif loss == BCE:                      # libm's log: scalar, but BCE is rarely hot
        for i in range(n):
            xi = x[i]
            ti = t[i]
            v[i] = (ti - one) * _clamped_log(f_log1p(-xi)) - ti * _clamped_log(f_log(xi))
    else:                                  # BCE with logits: (1 - t) x + softplus(-x),
        softplus_neg_span(x, e, n)         # softplus times (1 + (pw - 1) t) with pos_weight
        if pw == NULL:
            for i in range(n):
                v[i] = (one - t[i]) * x[i] + e[i]
        else:
            for i in range(n):
                ti = t[i]
                v[i] = (one - ti) * x[i] + (one + (pw[i] - one) * ti) * e[i]


cdef void _grads(Loss loss, const floating* x, const floating* t, const floating* pw,
                 floating* v, Py_ssize_t n) noexcept nogil:
    """v[i] = d loss_i / d x_i, unweighted and before the incoming gradient, for
    n <= BLOCK; v may alias x or t (the vectorised sigmoid goes to a scratch block)."""
    cdef Py_ssize_t i
    cdef floating d, xi, ti, p, one = 1, two = 2
    cdef floating e[BLOCK]
    if loss == MSE:
        for i in range(n):
            v[i] = two * (x[i] - t[i])
    elif loss == L1:                       # sign(d), 0 at 0 and NaN (torch.sign)
        for i in range(n):
            d = x[i] - t[i]
            v[i] = (d > 0) - (d < 0)
    elif loss == BCE:
        for i in range(n):
            xi = x[i]
            d = (one - xi) * xi
            v[i] = (xi - t[i]) / (<floating>BCE_EPS if d < BCE_EPS else d)
    else:                                  # BCE with logits: sigmoid(x) - t, or
        sigmoid_span(x, e, n)              # (pw t + 1 - t) sigmoid(x) - pw t
        if pw == NULL:
            for i in range(n):
                v[i] = e[i] - t[i]
        else:
            for i in range(n):
                ti = t[i]
                p = pw[i] * ti
                v[i] = (p + one - ti) * e[i] - p


cdef inline void _mul(floating* v, const floating* w, Py_ssize_t n) noexcept nogil:
    """v *= w, elementwise."""
    cdef Py_ssize_t i
    for i in range(n):
        v[i] = v[i] * w[i]


cdef inline void _scale(floating* v, floating c, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        v[i] = v[i] * c


cdef inline void _divide(floating* v, floating c, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        v[i] = v[i] / c


cdef double _loss_block(Loss loss, const floating* x, const floating* t, const floating* w,
                        const floating* pw, floating* out, Py_ssize_t n) noexcept nogil:
    """Sum (in double) of n <= BLOCK weighted losses; each is written to out unless NULL."""
    cdef floating scratch[BLOCK]
    cdef floating* v = out if out != NULL else scratch
    cdef double total
    if w == NULL and pw == NULL and _fused_sum(loss, x, t, out, n, &total):
        return total
    _terms(loss, x, t, pw, v, n)
    if w != NULL:
        _mul(v, w, n)
    return row_sum(v, n)


cdef double _loss_total(Loss loss, const floating* x, const floating* t, const floating* w,
                        const floating* pw, floating* out, Py_ssize_t n) noexcept nogil:
    """The sum of all n losses: block sums added in block order (threads only change
    who computes a block, not the result); blocks spread over threads when n is large."""
    cdef Py_ssize_t nblocks = (n + BLOCK - 1) // BLOCK, blk, start
    cdef int threads = num_threads()
    cdef double total = 0
    cdef double* partial = NULL
    if n >= PARALLEL_MIN and threads > 1:
        partial = <double*>malloc(nblocks * sizeof(double))   # NULL: fall back to serial
    if partial == NULL:
        for blk in range(nblocks):
            start = blk * BLOCK
            total += _loss_block(loss, x + start, t + start, _at(w, start), _at(pw, start),
                                 out + start if out != NULL else NULL, min(BLOCK, n - start))
        return total
    for blk in prange(nblocks, num_threads=threads, schedule="static"):
        start = blk * BLOCK
        partial[blk] = _loss_block(loss, x + start, t + start, _at(w, start), _at(pw, start),
                                   out + start if out != NULL else NULL, min(BLOCK, n - start))
    for blk in range(nblocks):
        total += partial[blk]
    free(partial)
    return total


cdef void _grad_block(Loss loss, const floating* g, floating scale, floating div,
                      const floating* x, const floating* t, const floating* w,
                      const floating* pw, floating* out, Py_ssize_t n) noexcept nogil:
    """out = dloss/dx * incoming * w / div for n elements, in PyTorch's order: the incoming
    gradient is g[i] (reduction none) or, when g is NULL, the scalar `scale`; div is n for
    mean, else 1."""
    if w == NULL and pw == NULL and _fused_grad(loss, x, t, g, scale, div, out, n):
        return
    _grads(loss, x, t, pw, out, n)
    if g != NULL:
        _mul(out, g, n)
    else:
        _scale(out, scale, n)
    if w != NULL:
        _mul(out, w, n)
    if div != 1:
        _divide(out, div, n)


cdef void _grad_all(Loss loss, const floating* g, floating scale, floating div,
                    const floating* x, const floating* t, const floating* w,
                    const floating* pw, floating* out, Py_ssize_t n) noexcept nogil:
    """_grad_block over the whole buffer, in blocks; blocks spread over threads when large."""
    cdef Py_ssize_t nblocks = (n + BLOCK - 1) // BLOCK, blk, start
    cdef int threads = num_threads()
    if n < PARALLEL_MIN or threads == 1:
        for blk in range(nblocks):
            start = blk * BLOCK
            _grad_block(loss, _at(g, start), scale, div, x + start, t + start,
                        _at(w, start), _at(pw, start), out + start, min(BLOCK, n - start))
        return
    for blk in prange(nblocks, num_threads=threads, schedule="static"):
        start = blk * BLOCK
        _grad_block(loss, _at(g, start), scale, div, x + start, t + start, _at(w, start),
                    _at(pw, start), out + start, min(BLOCK, n - start))


cdef Py_ssize_t _first_outside_unit(const floating* x, Py_ssize_t n) noexcept nogil:
    """Index of the first x outside [0, 1] (NaN included), or -1."""
    cdef Py_ssize_t i
    for i in range(n):
        if not (x[i] >= 0 and x[i] <= 1):
            return i
    return -1


cdef double _forward_total(Loss loss, const floating* x, const floating* t,
                           const floating* w, const floating* pw, floating* out,
                           Py_ssize_t n) except? -1:
    """Check BCE's input range, then the sum of the losses (out: per-element, or NULL)."""
    cdef Py_ssize_t bad = -1
    cdef double total
    if loss == BCE:
        with nogil:
            bad = _first_outside_unit(x, n)
        if bad >= 0:                        # PyTorch's wording, word for word
            raise ValueError("all elements of input should be between 0 and 1")
    with nogil:
        total = _loss_total(loss, x, t, w, pw, out, n)
    return total


cdef int _explain_pointwise(str kernel, tuple names, tuple arrays, int reduction,
                            int flat_index) except -1:
    """The slow path, run only when the C checks refused a call: raise its error.

    `arrays` hold the per-element arrays, and at `flat_index` the reduced one (out in
    forward, grad in backward), whose length depends on the reduction."""
    check_reduction(kernel, reduction)
    float_kind(kernel, names, arrays)
    for name, a in zip(names, arrays):
        check_ndim(kernel, name, a, 1)
    check_contiguous(kernel, names, arrays)
    n = arrays[1].shape[0] if flat_index == 0 else arrays[0].shape[0]
    for i, (name, a) in enumerate(zip(names, arrays)):
        if a is not None:
            check_shape(kernel, name, a.shape, (reduced_len(reduction, n) if i == flat_index
                                                else n,))
    check_writable(kernel, "out", arrays[len(arrays) - 1])
    raise TypeError(f"{kernel}: unsupported arrays (dtype or memory layout)")


cdef int _pointwise_forward(str kernel, Loss loss, input, target, weight, pos_weight, out,
                            int reduction) except -1:
    cdef mt_args v
    cdef int kind
    cdef Py_ssize_t n
    cdef double total
    mt_args_init(&v)
    try:
        kind = mt_same(mt_same(mt_take(&v, 0, input, MT_IN), mt_take(&v, 1, target, MT_IN)),
                       mt_same(mt_same(mt_take(&v, 2, weight, MT_IN),
                                       mt_take(&v, 3, pos_weight, MT_IN)),
                               mt_take(&v, 4, out, MT_OUT)))
        n = v.view[0].shape[0] if v.view[0].ndim == 1 else -1
        if (kind != MT_F32 and kind != MT_F64 or n < 0 or not _valid_reduction(reduction)
                or not is_1d(&v.view[1], n) or not is_1d_or_absent(&v.view[2], n)
                or not is_1d_or_absent(&v.view[3], n)
                or not is_1d(&v.view[4], n if reduction == REDUCE_NONE else 1)):
            _explain_pointwise(kernel, ("input", "target", "weight?", "pos_weight?", "out"),
                               (input, target, weight, pos_weight, out), reduction, 4)
        if kind == MT_F32:
            total = _forward_total(loss, <const float*>v.view[0].buf,
                                   <const float*>v.view[1].buf, <const float*>v.view[2].buf,
                                   <const float*>v.view[3].buf,
                                   <float*>v.view[4].buf if reduction == REDUCE_NONE else NULL,
                                   n)
        else:
            total = _forward_total(loss, <const double*>v.view[0].buf,
                                   <const double*>v.view[1].buf, <const double*>v.view[2].buf,
                                   <const double*>v.view[3].buf,
                                   <double*>v.view[4].buf if reduction == REDUCE_NONE else NULL,
                                   n)
        if reduction != REDUCE_NONE:            # torch: sum in the dtype, then / n for mean
            if kind == MT_F32:                  # (a float32 sum past FLT_MAX is inf)
                (<float*>v.view[4].buf)[0] = (<float>total / <float>n
                                              if reduction == REDUCE_MEAN else <float>total)
            else:                               # 0 / 0 is NaN, as torch's mean of nothing
                (<double*>v.view[4].buf)[0] = total / n if reduction == REDUCE_MEAN else total
    finally:
        mt_args_release(&v)
    return 0


cdef int _pointwise_backward(str kernel, Loss loss, grad, input, target, weight, pos_weight,
                             out, int reduction) except -1:
    cdef mt_args v
    cdef int kind
    cdef Py_ssize_t n
    cdef double scale = 1, div = 1
    mt_args_init(&v)
    try:
        kind = mt_same(mt_same(mt_take(&v, 0, grad, MT_IN), mt_take(&v, 1, input, MT_IN)),
                       mt_same(mt_same(mt_take(&v, 2, target, MT_IN),
                                       mt_take(&v, 3, weight, MT_IN)),
                               mt_same(mt_take(&v, 4, pos_weight, MT_IN),
                                       mt_take(&v, 5, out, MT_OUT))))
        n = v.view[1].shape[0] if v.view[1].ndim == 1 else -1
        if (kind != MT_F32 and kind != MT_F64 or n < 0 or not _valid_reduction(reduction)
                or not is_1d(&v.view[0], n if reduction == REDUCE_NONE else 1)
                or not is_1d(&v.view[2], n) or not is_1d_or_absent(&v.view[3], n)
                or not is_1d_or_absent(&v.view[4], n) or not is_1d(&v.view[5], n)):
            _explain_pointwise(kernel, ("grad", "input", "target", "weight?", "pos_weight?",
                                        "out"),
                               (grad, input, target, weight, pos_weight, out), reduction, 0)
        if n == 0:
            return 0
        if reduction != REDUCE_NONE:            # one incoming value, divided by n for mean
            scale = (<float*>v.view[0].buf)[0] if kind == MT_F32 else (<double*>v.view[0].buf)[0]
            if reduction == REDUCE_MEAN:
                div = n
        with nogil:
            if kind == MT_F32:
                _grad_all(loss, <const float*>v.view[0].buf if reduction == REDUCE_NONE else NULL,
                          <float>scale, <float>div, <const float*>v.view[1].buf,
                          <const float*>v.view[2].buf, <const float*>v.view[3].buf,
                          <const float*>v.view[4].buf, <float*>v.view[5].buf, n)
            else:
                _grad_all(loss, <const double*>v.view[0].buf if reduction == REDUCE_NONE else NULL,
                          scale, div, <const double*>v.view[1].buf,
                          <const double*>v.view[2].buf, <const double*>v.view[3].buf,
                          <const double*>v.view[4].buf, <double*>v.view[5].buf, n)
    finally:
        mt_args_release(&v)
    return 0


def mse_forward(input, target, out, int reduction):
    """Squared error (input - target)^2, reduced."""
    _pointwise_forward("mse_forward", MSE, input, target, None, None, out, reduction)


def mse_backward(grad, input, target, out, int reduction):
    """out = 2 (input - target) grad [/ n for mean]."""
    _pointwise_backward("mse_backward", MSE, grad, input, target, None, None, out, reduction)


def l1_forward(input, target, out, int reduction):
    """Absolute error |input - target|, reduced."""
    _pointwise_forward("l1_forward", L1, input, target, None, None, out, reduction)


def l1_backward(grad, input, target, out, int reduction):
    """out = sign(input - target) grad [/ n for mean]; sign(0) = sign(NaN) = 0 (torch.sign)."""
    _pointwise_backward("l1_backward", L1, grad, input, target, None, None, out, reduction)


def bce_forward(input, target, weight, out, int reduction):
    """Binary cross-entropy on probabilities: -w (t log x + (1 - t) log(1 - x)).

    Each log is clamped at -100 as in PyTorch; input outside [0, 1] raises ValueError.
    """
    _pointwise_forward("bce_forward", BCE, input, target, weight, None, out, reduction)


def bce_backward(grad, input, target, weight, out, int reduction):
    """out = grad (x - t) / max((1 - x) x, 1e-12) w [/ n for mean]."""
    _pointwise_backward("bce_backward", BCE, grad, input, target, weight, None, out, reduction)


def bce_with_logits_forward(input, target, weight, pos_weight, out, int reduction):
    """w [(1 - t) x + (1 + (pw - 1) t) softplus(-x)]: BCE of sigmoid(x), computed stably."""
    _pointwise_forward("bce_with_logits_forward", BCE_LOGITS, input, target, weight, pos_weight,
                       out, reduction)


def bce_with_logits_backward(grad, input, target, weight, pos_weight, out, int reduction):
    """out = ((pw t + 1 - t) sigmoid(x) - pw t) grad w [/ n for mean]."""
    _pointwise_backward("bce_with_logits_backward", BCE_LOGITS, grad, input, target, weight,
                        pos_weight, out, reduction)


# ======================================================= cross-entropy and NLL

cdef struct RowSums:
    double loss       # sum of the (unsmoothed) NLL terms
    double smooth     # sum of the label-smoothing terms
    double denom      # sum of weight[target] (or the count) over rows not ignored


cdef Py_ssize_t _first_bad_target(const int64_t* target, Py_ssize_t n, Py_ssize_t classes,
                                  long ignore_index) noexcept nogil:
    """Index of the first target outside [0, classes) that is not ignore_index, or -1."""
    cdef Py_ssize_t i
    for i in range(n):
        if target[i] != ignore_index and (target[i] < 0 or target[i] >= classes):
            return i
    return -1


cdef void _ce_block(const floating* logits, const int64_t* target, const floating* weight,
                    long ignore_index, floating eps, floating* log_probs, floating* out,
                    Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t C, RowSums* sums) noexcept nogil:
    """Rows r0..r1 of class-index cross-entropy; out (per-row losses) may be NULL."""
    cdef Py_ssize_t i, j
    cdef int64_t cls
    cdef floating* lp
    cdef floating w_t, nll, smooth
    cdef double acc
    sums.loss = 0
    sums.smooth = 0
    sums.denom = 0
    log_softmax_rows(logits + r0 * C, log_probs + r0 * C, r1 - r0, C)
    for i in range(r0, r1):
        lp = log_probs + i * C
        cls = target[i]
        if cls == ignore_index:
            if out != NULL:
                out[i] = 0
            continue
        w_t = weight[cls] if weight != NULL else 1
        nll = -w_t * lp[cls]
        smooth = 0
        if eps > 0:
            # torch: smooth = -sum_j w_j lp_j, loss = (1 - eps) nll + smooth eps / C
            acc = 0
            if weight != NULL:
                for j in range(C):
                    acc += lp[j] * weight[j]
            else:
                for j in range(C):
                    acc += lp[j]
            smooth = <floating>(-acc)
        if out != NULL:
            out[i] = (1 - eps) * nll + smooth * (eps / C) if eps > 0 else nll
        sums.loss += nll
        sums.smooth += smooth
        sums.denom += w_t


cdef void _ce_prob_block(const floating* logits, const floating* target, const floating* weight,
                         floating eps, floating* log_probs, floating* out,
                         Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t C, RowSums* sums) noexcept nogil:
    """Rows r0..r1 of cross-entropy with class-probability targets."""
    cdef Py_ssize_t i, j
    cdef floating* lp
    cdef const floating* t
    cdef floating t_j, v
    cdef double acc
    sums.loss = 0
    sums.smooth = 0
    sums.denom = r1 - r0
    log_softmax_rows(logits + r0 * C, log_probs + r0 * C, r1 - r0, C)
    for i in range(r0, r1):
        lp = log_probs + i * C
        t = target + i * C
        acc = 0
        for j in range(C):
            t_j = t[j] * (1 - eps) + eps / C if eps > 0 else t[j]
            v = lp[j] * t_j
            if weight != NULL:
                v = v * weight[j]
            acc += v
        if out != NULL:
            out[i] = <floating>(-acc)
        sums.loss -= acc


cdef RowSums _ce_rows(bint probs, const floating* logits, const int64_t* target_idx,
                      const floating* target_prob, const floating* weight, long ignore_index,
                      floating eps, floating* log_probs, floating* out,
                      Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    """All rows in fixed blocks of rows, partial sums added in order; parallel when large."""
    cdef Py_ssize_t per_block = max(1, BLOCK // max(C, 1))
    cdef Py_ssize_t nblocks = (N + per_block - 1) // per_block, blk, r0, r1
    cdef int threads = num_threads()
    cdef RowSums total, part
    cdef RowSums* partial = NULL
    total.loss = 0
    total.smooth = 0
    total.denom = 0
    if N * C >= PARALLEL_MIN and nblocks > 1 and threads > 1:
        partial = <RowSums*>malloc(nblocks * sizeof(RowSums))   # NULL: run serially
    if partial != NULL:
        for blk in prange(nblocks, num_threads=threads, schedule="static"):
            r0 = blk * per_block
            r1 = min(N, r0 + per_block)
            if probs:
                _ce_prob_block(logits, target_prob, weight, eps, log_probs, out, r0, r1, C,
                               &partial[blk])
            else:
                _ce_block(logits, target_idx, weight, ignore_index, eps, log_probs, out,
                          r0, r1, C, &partial[blk])
    for blk in range(nblocks):
        if partial == NULL:
            r0 = blk * per_block
            r1 = min(N, r0 + per_block)
            if probs:
                _ce_prob_block(logits, target_prob, weight, eps, log_probs, out, r0, r1, C, &part)
            else:
                _ce_block(logits, target_idx, weight, ignore_index, eps, log_probs, out,
                          r0, r1, C, &part)
        else:
            part = partial[blk]
        total.loss += part.loss
        total.smooth += part.smooth
        total.denom += part.denom
    free(partial)
    return total


cdef void _ce_backward_rows(const floating* grad, Py_ssize_t g_step, const floating* log_probs,
                            const int64_t* target, const floating* weight, long ignore_index,
                            floating eps, double divisor, double weight_sum,
                            floating* out, Py_ssize_t r0, Py_ssize_t r1,
                            Py_ssize_t C) noexcept nogil:
    """d loss / d logits for rows r0..r1 of class-index cross-entropy.

    With a = (1 - eps) w_t g and b = (eps / C) g, d loss / d lp_j = -b w_j - a [j == t],
    whose row sum is -(a + b W), W = sum_j w_j.  Through log-softmax:
    out_j = exp(lp_j) (a + b W) - b w_j - a [j == t].  Ignored rows have a = b = 0.
    """
    cdef Py_ssize_t i, j
    cdef int64_t cls
    cdef floating g, a, b, s
    cdef floating* o
    exp_span(log_probs + r0 * C, out + r0 * C, (r1 - r0) * C)   # one vectorised span;
    for i in range(r0, r1):                                      # in place if out aliases
        o = out + i * C                                          # log_probs
        g = grad[i * g_step]
        cls = target[i]
        a = 0
        b = 0
        if cls != ignore_index:
            g = _div(g, divisor)
            a = (1 - eps) * (weight[cls] if weight != NULL else 1) * g
            if eps > 0:
                b = (eps / C) * g
        s = a + b * <floating>weight_sum
        if weight != NULL:
            for j in range(C):
                o[j] = o[j] * s - b * weight[j]
        else:
            for j in range(C):
                o[j] = o[j] * s - b
        if cls != ignore_index:
            o[cls] = o[cls] - a


cdef void _ce_prob_backward_rows(const floating* grad, Py_ssize_t g_step,
                                 const floating* log_probs, const floating* target,
                                 const floating* weight, floating eps, double divisor,
                                 floating* out, Py_ssize_t r0, Py_ssize_t r1,
                                 Py_ssize_t C) noexcept nogil:
    """out_j = g (exp(lp_j) S - t'_j w_j), S = sum_j t'_j w_j, t' the smoothed target."""
    cdef Py_ssize_t i, j
    cdef floating g, t_j, s
    cdef double acc
    cdef const floating* lp
    cdef const floating* t
    cdef floating* o
    for i in range(r0, r1):
        lp = log_probs + i * C
        t = target + i * C
        o = out + i * C
        g = _div(grad[i * g_step], divisor)
        acc = 0
        for j in range(C):
            t_j = t[j] * (1 - eps) + eps / C if eps > 0 else t[j]
            o[j] = t_j * weight[j] if weight != NULL else t_j      # o holds t'_j w_j for now
            acc += o[j]
        s = <floating>acc
        for j in range(C):
            o[j] = g * (f_exp(lp[j]) * s - o[j])


cdef bint _parallel_rows(Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    return N * C >= PARALLEL_MIN and N > 1 and num_threads() > 1



# ------------------------------------------------------------ checks for rows

cdef int _check_rows(str kernel, tuple names, tuple arrays, Py_ssize_t N, Py_ssize_t C) except -1:
    """Each non-None array is C-contiguous (N, C)."""
    for name, a in zip(names, arrays):
        check_ndim(kernel, name, a, 2)
    check_contiguous(kernel, names, arrays)
    for name, a in zip(names, arrays):
        if a is not None:
            check_shape(kernel, name, a.shape, (N, C))
    return 0


cdef int _check_flat(str kernel, str name, a, Py_ssize_t n) except -1:
    if a is not None:
        check_ndim(kernel, name, a, 1)
        check_contiguous(kernel, (name,), (a,))
        check_shape(kernel, name, a.shape, (n,))
    return 0


cdef int _check_label_smoothing(str kernel, double eps) except -1:
    if not (0.0 <= eps <= 1.0):
        raise ValueError(f"{kernel}: label_smoothing must be between 0.0 and 1.0, got {eps}")
    return 0


cdef int _explain_rows(str kernel, int reduction, double eps, tuple row_names, tuple rows,
                       target, weight, str flat_name, flat, tuple float_names,
                       tuple float_arrays, tuple outputs) except -1:
    """The slow path of the cross-entropy and NLL kernels, run only when the C checks
    refused a call: raise its error.

    `rows` are the (N, C) arrays (the first defines N and C), `target` the (N,) int64
    class indices or None, `flat` the per-sample array (out in forward, grad in backward),
    `float_names`/`float_arrays` every float argument, `outputs` the arrays written."""
    check_reduction(kernel, reduction)
    _check_label_smoothing(kernel, eps)
    float_kind(kernel, float_names, float_arrays)
    check_ndim(kernel, row_names[0], rows[0], 2)
    N, C = rows[0].shape
    _check_rows(kernel, row_names, rows, N, C)
    if target is not None:
        check_target(kernel, target)
        check_shape(kernel, "target", target.shape, (N,))
    _check_flat(kernel, "weight", weight, C)
    _check_flat(kernel, flat_name, flat, reduced_len(reduction, N))
    for a in outputs:
        check_writable(kernel, "out", a)
    raise TypeError(f"{kernel}: unsupported arrays (dtype or memory layout)")


cdef inline bint _rows_ok(int kind, int reduction, double eps) noexcept:
    """The scalar arguments and the float kind of a row kernel are valid."""
    return (kind == MT_F32 or kind == MT_F64) and _valid_reduction(reduction) \
        and 0.0 <= eps <= 1.0


cdef int _check_class_targets(const int64_t* target, Py_ssize_t N, Py_ssize_t C,
                              long ignore_index) except -1:
    """Raise IndexError for a class index outside [0, C) (other than ignore_index)."""
    cdef Py_ssize_t bad = -1
    if N > 0:
        with nogil:
            bad = _first_bad_target(target, N, C, ignore_index)
    if bad >= 0:
        raise IndexError(f"Target {target[bad]} is out of bounds.")
    return 0


cdef double _weight_sum(const floating* weight, Py_ssize_t C) noexcept nogil:
    cdef double total = 0
    cdef Py_ssize_t j
    if weight == NULL:
        return C
    for j in range(C):
        total += weight[j]
    return total


cdef void _nll_cascade(const floating* log_probs, const int64_t* target,
                       const floating* weight, long ignore_index, Py_ssize_t N, Py_ssize_t C,
                       RowSums* sums) noexcept nogil:
    """Set sums.loss and sums.denom to PyTorch's sums of the NLL terms and of their weights:
    in the input's dtype, by its cascade (level j + 1 takes level j's sum every 2^p terms,
    p = max(4, ceil(log2 N) / 2)), so float32 rounds and overflows where PyTorch's does."""
    cdef floating loss[8]
    cdef floating wsum[8]
    cdef floating w_t, total = 0, total_w = 0
    cdef int64_t cls, mask, power, ceil_log2 = 1
    cdef Py_ssize_t b, j
    while (<int64_t>1 << ceil_log2) < N:
        ceil_log2 += 1
    power = max(4, ceil_log2 // 2)
    mask = (<int64_t>1 << power) - 1
    for j in range(8):
        loss[j] = 0
        wsum[j] = 0
    for b in range(N):
        cls = target[b]
        if cls == ignore_index:
            continue
        w_t = weight[cls] if weight != NULL else 1
        loss[0] -= log_probs[b * C + cls] * w_t
        wsum[0] += w_t
        for j in range(7):
            if j * power < 63 and (b & (mask << (j * power))) != 0:
                break
            loss[j + 1] += loss[j]
            wsum[j + 1] += wsum[j]
            loss[j] = 0
            wsum[j] = 0
    for j in range(8):
        total += loss[j]
        total_w += wsum[j]
    sums.loss = total
    sums.denom = total_w


cdef inline floating _reduced(RowSums s, floating eps, Py_ssize_t C,
                              int reduction) noexcept nogil:
    """The mean or sum loss from row sums, combined as torch does: in the dtype (a float32
    sum past FLT_MAX is inf), the mean dividing each sum by the denominator."""
    cdef floating nll = <floating>s.loss, smooth = <floating>s.smooth
    if reduction == REDUCE_MEAN:
        nll = nll / <floating>s.denom       # a mean over no rows is 0 / 0 = NaN
        smooth = smooth / <floating>s.denom
    if eps > 0:
        return (1 - eps) * nll + smooth * <floating>(<double>eps / C)
    return nll


# ------------------------------------------------- class-index cross-entropy

cdef double _ce_forward_typed(const floating* logits, const int64_t* target,
                              const floating* weight, long ignore_index, floating eps,
                              floating* log_probs, floating* out, int reduction,
                              Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    cdef RowSums sums
    cdef bint has_data = N > 0 and C > 0
    sums = _ce_rows(False, logits if has_data else NULL, target if N > 0 else NULL, NULL,
                    weight if C > 0 else NULL, ignore_index, eps,
                    log_probs if has_data else NULL,
                    out if reduction == REDUCE_NONE and N > 0 else NULL, N, C)
    if reduction != REDUCE_NONE:
        if has_data:
            _nll_cascade(log_probs, target, weight, ignore_index, N, C, &sums)
        out[0] = _reduced(sums, eps, C, reduction)
    return sums.denom


def cross_entropy_forward(logits, target, weight, long ignore_index, double label_smoothing,
                          log_probs, out, int reduction):
    """Cross-entropy of (N, C) logits against (N,) int64 class indices.

    Writes log_softmax(logits) into log_probs (kept for backward) and the loss
    into out; returns the mean's denominator: sum of weight[target] over rows
    whose target is not ignore_index (their count when weight is None).
    Semantics follow torch.nn.functional.cross_entropy, label_smoothing included.
    """
    cdef mt_args v
    cdef int kind
    cdef Py_ssize_t N = -1, C = -1
    cdef double denom
    mt_args_init(&v)
    try:
        kind = mt_same(mt_same(mt_take(&v, 0, logits, MT_IN), mt_take(&v, 2, weight, MT_IN)),
                       mt_same(mt_take(&v, 3, log_probs, MT_OUT), mt_take(&v, 4, out, MT_OUT)))
        if v.view[0].ndim == 2:
            N, C = v.view[0].shape[0], v.view[0].shape[1]
        if (not _rows_ok(kind, reduction, label_smoothing) or N < 0
                or mt_take(&v, 1, target, MT_IN) != MT_I64 or not is_1d(&v.view[1], N)
                or not is_1d_or_absent(&v.view[2], C) or not is_2d(&v.view[3], N, C)
                or not is_1d(&v.view[4], N if reduction == REDUCE_NONE else 1)):
            _explain_rows("cross_entropy_forward", reduction, label_smoothing,
                          ("logits", "log_probs"), (logits, log_probs), target, weight,
                          "out", out, ("logits", "weight?", "log_probs", "out"),
                          (logits, weight, log_probs, out), (log_probs, out))
        _check_class_targets(<const int64_t*>v.view[1].buf, N, C, ignore_index)
        with nogil:
            if kind == MT_F32:
                denom = _ce_forward_typed(<const float*>v.view[0].buf,
                                          <const int64_t*>v.view[1].buf,
                                          <const float*>v.view[2].buf, ignore_index,
                                          <float>label_smoothing, <float*>v.view[3].buf,
                                          <float*>v.view[4].buf, reduction, N, C)
            else:
                denom = _ce_forward_typed(<const double*>v.view[0].buf,
                                          <const int64_t*>v.view[1].buf,
                                          <const double*>v.view[2].buf, ignore_index,
                                          label_smoothing, <double*>v.view[3].buf,
                                          <double*>v.view[4].buf, reduction, N, C)
    finally:
        mt_args_release(&v)
    return denom


cdef void _ce_backward_typed(const floating* grad, const floating* log_probs,
                             const int64_t* target, const floating* weight, long ignore_index,
                             floating eps, floating* out, int reduction, double denom,
                             Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    cdef Py_ssize_t g_step = 1 if reduction == REDUCE_NONE else 0
    cdef double divisor = denom if reduction == REDUCE_MEAN else 1
    cdef double weight_sum = _weight_sum(weight, C)
    cdef int threads = num_threads()
    cdef Py_ssize_t chunk = (N + threads - 1) // threads, c
    if N == 0 or C == 0:
        return
    if _parallel_rows(N, C):
        for c in prange(threads, num_threads=threads, schedule="static"):
            if c * chunk < N:
                _ce_backward_rows(grad, g_step, log_probs, target, weight, ignore_index, eps,
                                  divisor, weight_sum, out, c * chunk, min(N, c * chunk + chunk),
                                  C)
    else:
        _ce_backward_rows(grad, g_step, log_probs, target, weight, ignore_index, eps, divisor,
                          weight_sum, out, 0, N, C)


def cross_entropy_backward(grad, log_probs, target, weight, long ignore_index,
                           double label_smoothing, out, int reduction, double denom):
    """Gradient of cross_entropy_forward w.r.t. the logits, written into out (N, C).

    log_probs is what the forward wrote; denom is what it returned.
    """
    cdef mt_args v
    cdef int kind
    cdef Py_ssize_t N = -1, C = -1
    mt_args_init(&v)
    try:
        kind = mt_same(mt_same(mt_take(&v, 0, grad, MT_IN), mt_take(&v, 1, log_probs, MT_IN)),
                       mt_same(mt_take(&v, 3, weight, MT_IN), mt_take(&v, 4, out, MT_OUT)))
        if v.view[1].ndim == 2:
            N, C = v.view[1].shape[0], v.view[1].shape[1]
        if (not _rows_ok(kind, reduction, label_smoothing) or N < 0
                or mt_take(&v, 2, target, MT_IN) != MT_I64 or not is_1d(&v.view[2], N)
                or not is_1d_or_absent(&v.view[3], C) or not is_2d(&v.view[4], N, C)
                or not is_1d(&v.view[0], N if reduction == REDUCE_NONE else 1)):
            _explain_rows("cross_entropy_backward", reduction, label_smoothing,
                          ("log_probs", "out"), (log_probs, out), target, weight, "grad", grad,
                          ("grad", "log_probs", "weight?", "out"),
                          (grad, log_probs, weight, out), (out,))
        _check_class_targets(<const int64_t*>v.view[2].buf, N, C, ignore_index)
        with nogil:
            if kind == MT_F32:
                _ce_backward_typed(<const float*>v.view[0].buf, <const float*>v.view[1].buf,
                                   <const int64_t*>v.view[2].buf, <const float*>v.view[3].buf,
                                   ignore_index, <float>label_smoothing, <float*>v.view[4].buf,
                                   reduction, denom, N, C)
            else:
                _ce_backward_typed(<const double*>v.view[0].buf, <const double*>v.view[1].buf,
                                   <const int64_t*>v.view[2].buf, <const double*>v.view[3].buf,
                                   ignore_index, label_smoothing, <double*>v.view[4].buf,
                                   reduction, denom, N, C)
    finally:
        mt_args_release(&v)


# ------------------------------------------- class-probability cross-entropy

cdef double _ce_prob_forward_typed(const floating* logits, const floating* target,
                                   const floating* weight, floating eps, floating* log_probs,
                                   floating* out, int reduction, Py_ssize_t N,
                                   Py_ssize_t C) noexcept nogil:
    cdef RowSums sums
    cdef bint has_data = N > 0 and C > 0
    sums = _ce_rows(True, logits if has_data else NULL, NULL, target if has_data else NULL,
                    weight if C > 0 else NULL, 0, eps, log_probs if has_data else NULL,
                    out if reduction == REDUCE_NONE and N > 0 else NULL, N, C)
    if reduction == REDUCE_MEAN:
        out[0] = <floating>(sums.loss / N)
    elif reduction == REDUCE_SUM:
        out[0] = <floating>sums.loss
    return N


def cross_entropy_prob_forward(logits, target, weight, double label_smoothing, log_probs, out,
                               int reduction):
    """Cross-entropy of (N, C) logits against (N, C) class probabilities.

    Smoothing mixes the target with the uniform distribution; the mean divides
    by N.  Writes log_softmax(logits) into log_probs; returns N (the denominator).
    """
    cdef mt_args v
    cdef int kind
    cdef Py_ssize_t N = -1, C = -1
    cdef double denom
    mt_args_init(&v)
    try:
        kind = mt_same(mt_same(mt_take(&v, 0, logits, MT_IN), mt_take(&v, 1, target, MT_IN)),
                       mt_same(mt_take(&v, 2, weight, MT_IN),
                               mt_same(mt_take(&v, 3, log_probs, MT_OUT),
                                       mt_take(&v, 4, out, MT_OUT))))
        if v.view[0].ndim == 2:
            N, C = v.view[0].shape[0], v.view[0].shape[1]
        if (not _rows_ok(kind, reduction, label_smoothing) or N < 0
                or not is_2d(&v.view[1], N, C) or not is_1d_or_absent(&v.view[2], C)
                or not is_2d(&v.view[3], N, C)
                or not is_1d(&v.view[4], N if reduction == REDUCE_NONE else 1)):
            _explain_rows("cross_entropy_prob_forward", reduction, label_smoothing,
                          ("logits", "target", "log_probs"), (logits, target, log_probs), None,
                          weight, "out", out, ("logits", "target", "weight?", "log_probs", "out"),
                          (logits, target, weight, log_probs, out), (log_probs, out))
        with nogil:
            if kind == MT_F32:
                denom = _ce_prob_forward_typed(<const float*>v.view[0].buf,
                                               <const float*>v.view[1].buf,
                                               <const float*>v.view[2].buf,
                                               <float>label_smoothing, <float*>v.view[3].buf,
                                               <float*>v.view[4].buf, reduction, N, C)
            else:
                denom = _ce_prob_forward_typed(<const double*>v.view[0].buf,
                                               <const double*>v.view[1].buf,
                                               <const double*>v.view[2].buf, label_smoothing,
                                               <double*>v.view[3].buf, <double*>v.view[4].buf,
                                               reduction, N, C)
    finally:
        mt_args_release(&v)
    return denom


cdef void _ce_prob_backward_typed(const floating* grad, const floating* log_probs,
                                  const floating* target, const floating* weight, floating eps,
                                  floating* out, int reduction, double denom, Py_ssize_t N,
                                  Py_ssize_t C) noexcept nogil:
    cdef Py_ssize_t i
    cdef Py_ssize_t g_step = 1 if reduction == REDUCE_NONE else 0
    cdef double divisor = denom if reduction == REDUCE_MEAN else 1
    if N == 0 or C == 0:
        return
    if _parallel_rows(N, C):
        for i in prange(N, num_threads=num_threads(), schedule="static"):
            _ce_prob_backward_rows(grad, g_step, log_probs, target, weight, eps, divisor, out,
                                   i, i + 1, C)
    else:
        _ce_prob_backward_rows(grad, g_step, log_probs, target, weight, eps, divisor, out, 0,
                               N, C)


def cross_entropy_prob_backward(grad, log_probs, target, weight, double label_smoothing, out,
                                int reduction, double denom):
    """Gradient of cross_entropy_prob_forward w.r.t. the logits, into out (N, C)."""
    cdef mt_args v
    cdef int kind
    cdef Py_ssize_t N = -1, C = -1
    mt_args_init(&v)
    try:
        kind = mt_same(mt_same(mt_take(&v, 0, grad, MT_IN), mt_take(&v, 1, log_probs, MT_IN)),
                       mt_same(mt_take(&v, 2, target, MT_IN),
                               mt_same(mt_take(&v, 3, weight, MT_IN),
                                       mt_take(&v, 4, out, MT_OUT))))
        if v.view[1].ndim == 2:
            N, C = v.view[1].shape[0], v.view[1].shape[1]
        if (not _rows_ok(kind, reduction, label_smoothing) or N < 0
                or not is_2d(&v.view[2], N, C) or not is_1d_or_absent(&v.view[3], C)
                or not is_2d(&v.view[4], N, C)
                or not is_1d(&v.view[0], N if reduction == REDUCE_NONE else 1)):
            _explain_rows("cross_entropy_prob_backward", reduction, label_smoothing,
                          ("log_probs", "target", "out"), (log_probs, target, out), None,
                          weight, "grad", grad, ("grad", "log_probs", "target", "weight?", "out"),
                          (grad, log_probs, target, weight, out), (out,))
        with nogil:
            if kind == MT_F32:
                _ce_prob_backward_typed(<const float*>v.view[0].buf,
                                        <const float*>v.view[1].buf,
                                        <const float*>v.view[2].buf,
                                        <const float*>v.view[3].buf, <float>label_smoothing,
                                        <float*>v.view[4].buf, reduction, denom, N, C)
            else:
                _ce_prob_backward_typed(<const double*>v.view[0].buf,
                                        <const double*>v.view[1].buf,
                                        <const double*>v.view[2].buf,
                                        <const double*>v.view[3].buf, label_smoothing,
                                        <double*>v.view[4].buf, reduction, denom, N, C)
    finally:
        mt_args_release(&v)


# ------------------------------------------------------------------------ NLL

cdef double _nll_forward_typed(const floating* log_probs, const int64_t* target,
                               const floating* weight, long ignore_index, floating* out,
                               int reduction, Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    cdef Py_ssize_t i
    cdef int64_t cls
    cdef floating w_t
    cdef RowSums sums
    sums.smooth = 0
    if reduction != REDUCE_NONE:
        _nll_cascade(log_probs, target, weight, ignore_index, N, C, &sums)
        out[0] = _reduced(sums, <floating>0, C, reduction)
        return sums.denom
    sums.denom = 0
    for i in range(N):
        cls = target[i]
        if cls == ignore_index:
            out[i] = 0
        else:
            w_t = weight[cls] if weight != NULL else 1
            out[i] = -w_t * log_probs[i * C + cls]
            sums.denom += w_t
    return sums.denom


def nll_forward(log_probs, target, weight, long ignore_index, out, int reduction):
    """Negative log-likelihood -weight[t] log_probs[i, t], like torch.nn.functional.nll_loss.

    Returns the mean's denominator (sum of weight[target] over rows not ignored).
    """
    cdef mt_args v
    cdef int kind
    cdef Py_ssize_t N = -1, C = -1
    cdef double denom
    mt_args_init(&v)
    try:
        kind = mt_same(mt_same(mt_take(&v, 0, log_probs, MT_IN), mt_take(&v, 2, weight, MT_IN)),
                       mt_take(&v, 3, out, MT_OUT))
        if v.view[0].ndim == 2:
            N, C = v.view[0].shape[0], v.view[0].shape[1]
        if (not _rows_ok(kind, reduction, 0.0) or N < 0
                or mt_take(&v, 1, target, MT_IN) != MT_I64 or not is_1d(&v.view[1], N)
                or not is_1d_or_absent(&v.view[2], C)
                or not is_1d(&v.view[3], N if reduction == REDUCE_NONE else 1)):
            _explain_rows("nll_forward", reduction, 0.0, ("log_probs",), (log_probs,), target,
                          weight, "out", out, ("log_probs", "weight?", "out"),
                          (log_probs, weight, out), (out,))
        _check_class_targets(<const int64_t*>v.view[1].buf, N, C, ignore_index)
        with nogil:
            if kind == MT_F32:
                denom = _nll_forward_typed(<const float*>v.view[0].buf,
                                           <const int64_t*>v.view[1].buf,
                                           <const float*>v.view[2].buf, ignore_index,
                                           <float*>v.view[3].buf, reduction, N, C)
            else:
                denom = _nll_forward_typed(<const double*>v.view[0].buf,
                                           <const int64_t*>v.view[1].buf,
                                           <const double*>v.view[2].buf, ignore_index,
                                           <double*>v.view[3].buf, reduction, N, C)
    finally:
        mt_args_release(&v)
    return denom


cdef void _nll_backward_typed(const floating* grad, const int64_t* target,
                              const floating* weight, long ignore_index, floating* out,
                              int reduction, double denom, Py_ssize_t N,
                              Py_ssize_t C) noexcept nogil:
    cdef Py_ssize_t i
    cdef Py_ssize_t g_step = 1 if reduction == REDUCE_NONE else 0
    cdef double divisor = denom if reduction == REDUCE_MEAN else 1
    cdef int64_t cls
    cdef floating w_t
    if N == 0 or C == 0:
        return
    memset(out, 0, N * C * sizeof(floating))
    for i in range(N):
        cls = target[i]
        if cls != ignore_index:
            w_t = weight[cls] if weight != NULL else 1
            out[i * C + cls] = -w_t * _div(grad[i * g_step], divisor)


def nll_backward(grad, target, weight, long ignore_index, out, int reduction, double denom):
    """Gradient of nll_forward w.r.t. log_probs, written into out (N, C)."""
    cdef mt_args v
    cdef int kind
    cdef Py_ssize_t N = -1, C = -1
    mt_args_init(&v)
    try:
        kind = mt_same(mt_same(mt_take(&v, 0, grad, MT_IN), mt_take(&v, 2, weight, MT_IN)),
                       mt_take(&v, 3, out, MT_OUT))
        if v.view[3].ndim == 2:
            N, C = v.view[3].shape[0], v.view[3].shape[1]
        if (not _rows_ok(kind, reduction, 0.0) or N < 0
                or mt_take(&v, 1, target, MT_IN) != MT_I64 or not is_1d(&v.view[1], N)
                or not is_1d_or_absent(&v.view[2], C)
                or not is_1d(&v.view[0], N if reduction == REDUCE_NONE else 1)):
            _explain_rows("nll_backward", reduction, 0.0, ("out",), (out,), target, weight,
                          "grad", grad, ("grad", "weight?", "out"), (grad, weight, out), (out,))
        _check_class_targets(<const int64_t*>v.view[1].buf, N, C, ignore_index)
        with nogil:
            if kind == MT_F32:
                _nll_backward_typed(<const float*>v.view[0].buf, <const int64_t*>v.view[1].buf,
                                    <const float*>v.view[2].buf, ignore_index,
                                    <float*>v.view[3].buf, reduction, denom, N, C)
            else:
                _nll_backward_typed(<const double*>v.view[0].buf, <const int64_t*>v.view[1].buf,
                                    <const double*>v.view[2].buf, ignore_index,
                                    <double*>v.view[3].buf, reduction, denom, N, C)
    finally:
        mt_args_release(&v)
