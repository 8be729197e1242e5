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
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport fabs, fabsf
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from microtorch._kernels._checks cimport (
    F32, PARALLEL_MIN, REDUCE_MEAN, REDUCE_NONE, REDUCE_SUM,
    check_contiguous, check_ndim, check_reduction, check_shape, check_target,
    float_kind, reduced_len,
)
from microtorch._kernels._fmath cimport (
    f_exp, f_log, f_log1p, f_log1pexp_neg_abs, f_sigmoid, log_softmax_row,
)
from microtorch._kernels._threads cimport num_threads

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


cdef inline floating* _at_out(floating* p, Py_ssize_t i) noexcept nogil:
    return p + i if p != NULL else NULL


cdef inline floating _div(floating v, double divisor) noexcept nogil:
    """v / divisor for a reduction; divisor 1 (none, sum) leaves v untouched."""
    return v if divisor == 1 else <floating>(v / divisor)


# ============================================================ pointwise losses

cdef inline floating _clamped_log(floating v) noexcept nogil:
    """PyTorch's BCE clamps each log at -100 (NaN stays NaN)."""
    return -100 if v < -100 else v


cdef inline floating _sign(floating v) noexcept nogil:
    """sign(v) with sign(0) = sign(NaN) = 0, as torch.sign."""
    return (v > 0) - (v < 0)


cdef inline floating _loss_point(Loss loss, floating x, floating t, floating pw) noexcept nogil:
    """Unweighted loss of one element; pw is pos_weight (1 when absent)."""
    cdef floating d
    if loss == MSE:
        d = x - t
        return d * d
    if loss == L1:
        if floating is float:
            return fabsf(x - t)
        else:
            return fabs(x - t)
    if loss == BCE:
        return (t - 1) * _clamped_log(f_log1p(-x)) - t * _clamped_log(f_log(x))
    # BCE with logits: (1 - t) x + (1 + (pw - 1) t) softplus(-x),
    # softplus(-x) = max(-x, 0) + log(1 + e^-|x|) never overflows.
    return (1 - t) * x + (1 + (pw - 1) * t) * ((-x if x < 0 else 0) + f_log1pexp_neg_abs(x))


cdef inline floating _grad_point(Loss loss, floating x, floating t, floating pw) noexcept nogil:
    """d loss / d x of one element, before the incoming gradient and weight."""
    cdef floating d
    if loss == MSE:
        return 2 * (x - t)
    if loss == L1:
        return _sign(x - t)
    if loss == BCE:
        d = (1 - x) * x
        return (x - t) / (BCE_EPS if d < BCE_EPS else d)
    return (pw * t + 1 - t) * f_sigmoid(x) - pw * t


cdef double _loss_span(Loss loss, const floating* x, const floating* t, const floating* w,
                       const floating* pw, floating* out, Py_ssize_t n) noexcept nogil:
    """Sum of n weighted losses; each is also written to out unless out is NULL."""
    cdef double total = 0
    cdef floating value
    cdef Py_ssize_t i
    for i in range(n):
        value = _loss_point(loss, x[i], t[i], pw[i] if pw != NULL else 1)
        if w != NULL:
            value = value * w[i]
        if out != NULL:
            out[i] = value
        total += value
    return total


cdef double _loss_total(Loss loss, const floating* x, const floating* t, const floating* w,
                        const floating* pw, floating* out, Py_ssize_t n) noexcept nogil:
    """_loss_span over BLOCK-sized pieces, in parallel when n is large."""
    cdef Py_ssize_t nblocks = (n + BLOCK - 1) // BLOCK, blk, start, size
    cdef int threads = num_threads()
    cdef double total = 0
    cdef double* partial = NULL
    if n >= PARALLEL_MIN and threads > 1:
        partial = <double*>malloc(nblocks * sizeof(double))   # NULL: fall back to serial
    if partial == NULL:
        for blk in range(nblocks):
            start = blk * BLOCK
            size = min(BLOCK, n - start)
            total += _loss_span(loss, x + start, t + start, _at(w, start), _at(pw, start),
                                _at_out(out, start), size)
        return total
    for blk in prange(nblocks, num_threads=threads, schedule="static"):
        start = blk * BLOCK
        size = min(BLOCK, n - start)
        partial[blk] = _loss_span(loss, x + start, t + start, _at(w, start), _at(pw, start),
                                  _at_out(out, start), size)
    for blk in range(nblocks):
        total += partial[blk]
    free(partial)
    return total


cdef void _grad_span(Loss loss, const floating* g, Py_ssize_t g_step, double divisor,
                     const floating* x, const floating* t, const floating* w,
                     const floating* pw, floating* out, Py_ssize_t n) noexcept nogil:
    """out[i] = dloss/dx[i] * g * w[i] / divisor; g_step is 1 (reduction none) or 0."""
    cdef Py_ssize_t i
    cdef floating value
    for i in range(n):
        value = _grad_point(loss, x[i], t[i], pw[i] if pw != NULL else 1) * g[i * g_step]
        if w != NULL:
            value = value * w[i]
        out[i] = _div(value, divisor)


cdef void _grad_all(Loss loss, const floating* g, Py_ssize_t g_step, double divisor,
                    const floating* x, const floating* t, const floating* w,
                    const floating* pw, floating* out, Py_ssize_t n) noexcept nogil:
    """_grad_span over the whole buffer, one chunk per thread when large."""
    cdef int threads = num_threads()
    cdef Py_ssize_t chunk, c, start, size
    if n < PARALLEL_MIN or threads == 1:
        _grad_span(loss, g, g_step, divisor, x, t, w, pw, out, n)
        return
    chunk = (n + threads - 1) // threads
    for c in prange(threads, num_threads=threads, schedule="static"):
        start = c * chunk
        size = min(chunk, n - start)
        if size > 0:
            _grad_span(loss, g + start * g_step, g_step, divisor, x + start, t + start,
                       _at(w, start), _at(pw, start), out + start, size)


cdef Py_ssize_t _first_outside_unit(const floating* x, Py_ssize_t n) noexcept nogil:
    """Index of the first x outside [0, 1] (NaN included), or -1."""
    cdef Py_ssize_t i
    for i in range(n):
        if not (x[i] >= 0 and x[i] <= 1):
            return i
    return -1


cdef int _pointwise_forward_typed(str kernel, Loss loss, const floating[::1] x,
                                  const floating[::1] t, const floating[::1] w,
                                  const floating[::1] pw, floating[::1] out,
                                  int reduction) except -1:
    cdef Py_ssize_t n = x.shape[0], bad = -1
    cdef double total
    cdef const floating* w_p = &w[0] if w is not None and n > 0 else NULL
    cdef const floating* pw_p = &pw[0] if pw is not None and n > 0 else NULL
    if n > 0:
        if loss == BCE:
            with nogil:
                bad = _first_outside_unit(&x[0], n)
            if bad >= 0:                    # PyTorch's wording, word for word
                raise ValueError("all elements of input should be between 0 and 1")
        with nogil:
            total = _loss_total(loss, &x[0], &t[0], w_p, pw_p,
                                &out[0] if reduction == REDUCE_NONE else NULL, n)
    else:
        total = 0
    if reduction == REDUCE_MEAN:
        out[0] = <floating>(total / n)      # 0 / 0 is NaN, as torch's mean of nothing
    elif reduction == REDUCE_SUM:
        out[0] = <floating>total
    return 0


cdef int _pointwise_backward_typed(Loss loss, const floating[::1] g, const floating[::1] x,
                                   const floating[::1] t, const floating[::1] w,
                                   const floating[::1] pw, floating[::1] out,
                                   int reduction) except -1:
    cdef Py_ssize_t n = x.shape[0]
    cdef double divisor = n if reduction == REDUCE_MEAN else 1
    if n == 0:
        return 0
    with nogil:
        _grad_all(loss, &g[0], 1 if reduction == REDUCE_NONE else 0, divisor, &x[0], &t[0],
                  &w[0] if w is not None else NULL, &pw[0] if pw is not None else NULL,
                  &out[0], n)
    return 0


cdef int _check_pointwise(str kernel, tuple names, tuple arrays, Py_ssize_t n) except -1:
    """All arguments flat, C-contiguous and of length n (None allowed for optionals)."""
    for name, a in zip(names, arrays):
        check_ndim(kernel, name, a, 1)
    check_contiguous(kernel, names, arrays)
    for name, a in zip(names, arrays):
        if a is not None:
            check_shape(kernel, name, a.shape, (n,))
    return 0


cdef int _pointwise_forward(str kernel, Loss loss, input, target, weight, pos_weight, out,
                            int reduction) except -1:
    check_reduction(kernel, reduction)
    kind = float_kind(kernel, ("input", "target", "weight?", "pos_weight?", "out"),
                      (input, target, weight, pos_weight, out))
    check_ndim(kernel, "input", input, 1)
    n = input.shape[0]
    _check_pointwise(kernel, ("input", "target", "weight?", "pos_weight?"),
                     (input, target, weight, pos_weight), n)
    _check_pointwise(kernel, ("out",), (out,), reduced_len(reduction, n))
    if kind == F32:
        _pointwise_forward_typed[float](kernel, loss, input, target, weight, pos_weight, out,
                                        reduction)
    else:
        _pointwise_forward_typed[double](kernel, loss, input, target, weight, pos_weight, out,
                                         reduction)
    return 0


cdef int _pointwise_backward(str kernel, Loss loss, grad, input, target, weight, pos_weight,
                             out, int reduction) except -1:
    check_reduction(kernel, reduction)
    kind = float_kind(kernel, ("grad", "input", "target", "weight?", "pos_weight?", "out"),
                      (grad, input, target, weight, pos_weight, out))
    check_ndim(kernel, "input", input, 1)
    n = input.shape[0]
    _check_pointwise(kernel, ("input", "target", "weight?", "pos_weight?", "out"),
                     (input, target, weight, pos_weight, out), n)
    _check_pointwise(kernel, ("grad",), (grad,), reduced_len(reduction, n))
    if kind == F32:
        _pointwise_backward_typed[float](loss, grad, input, target, weight, pos_weight, out,
                                         reduction)
    else:
        _pointwise_backward_typed[double](loss, grad, input, target, weight, pos_weight, out,
                                          reduction)
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
    for i in range(r0, r1):
        lp = log_probs + i * C
        log_softmax_row(logits + i * C, lp, C)
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
    for i in range(r0, r1):
        lp = log_probs + i * C
        t = target + i * C
        log_softmax_row(logits + i * C, lp, C)
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
    cdef const floating* lp
    cdef floating* o
    for i in range(r0, r1):
        lp = log_probs + i * C
        o = out + i * C
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
                o[j] = f_exp(lp[j]) * s - b * weight[j]
        else:
            for j in range(C):
                o[j] = f_exp(lp[j]) * s - b
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


cdef int _check_class_targets(str kernel, const int64_t[::1] target, Py_ssize_t C,
                              long ignore_index) except -1:
    cdef Py_ssize_t bad = -1, n = target.shape[0]
    if n > 0:
        with nogil:
            bad = _first_bad_target(&target[0], n, C, ignore_index)
    if bad >= 0:
        raise IndexError(f"Target {target[bad]} is out of bounds.")
    return 0


cdef double _weight_sum(const floating[::1] weight, Py_ssize_t C):
    cdef double total = 0
    cdef Py_ssize_t j
    if weight is None:
        return C
    for j in range(C):
        total += weight[j]
    return total


cdef inline double _reduced(RowSums s, double eps, Py_ssize_t C, int reduction):
    """The mean or sum loss from row sums, combined as torch does."""
    cdef double nll, smooth
    if reduction == REDUCE_MEAN:
        nll = s.loss / s.denom              # a mean over no rows is 0 / 0 = NaN
        smooth = s.smooth / s.denom
    else:
        nll = s.loss
        smooth = s.smooth
    if eps > 0:
        return (1 - eps) * nll + smooth * (eps / C)
    return nll


# ------------------------------------------------- class-index cross-entropy

cdef double _ce_forward_typed(const floating[:, ::1] logits, const int64_t[::1] target,
                              const floating[::1] weight, long ignore_index, floating eps,
                              floating[:, ::1] log_probs, floating[::1] out, int reduction):
    cdef Py_ssize_t N = logits.shape[0], C = logits.shape[1]
    cdef RowSums sums
    cdef const floating* w = &weight[0] if weight is not None and C > 0 else NULL
    with nogil:
        sums = _ce_rows(False, &logits[0, 0] if N * C > 0 else NULL, &target[0] if N > 0 else NULL,
                        NULL, w, ignore_index, eps, &log_probs[0, 0] if N * C > 0 else NULL,
                        &out[0] if reduction == REDUCE_NONE and N > 0 else NULL, N, C)
    if reduction != REDUCE_NONE:
        out[0] = <floating>_reduced(sums, eps, C, reduction)
    return sums.denom


cdef int _check_class_call(str kernel, int reduction, tuple row_names, tuple rows, target,
                           weight, long ignore_index, str flat_name, flat,
                           tuple float_names, tuple float_arrays) except -1:
    """Shared checks of the class-index kernels (cross-entropy, NLL); returns the float kind.

    `rows` are the (N, C) arrays (the first defines N and C), `flat` the per-sample array
    (out in forward, grad in backward), `float_names`/`float_arrays` every float argument.
    """
    check_reduction(kernel, reduction)
    kind = float_kind(kernel, float_names, float_arrays)
    check_ndim(kernel, row_names[0], rows[0], 2)
    N, C = rows[0].shape
    _check_rows(kernel, row_names, rows, N, C)
    check_target(kernel, target)
    check_shape(kernel, "target", target.shape, (N,))
    _check_flat(kernel, "weight", weight, C)
    _check_flat(kernel, flat_name, flat, reduced_len(reduction, N))
    _check_class_targets(kernel, target, C, ignore_index)
    return kind


def cross_entropy_forward(logits, target, weight, long ignore_index, double label_smoothing,
                          log_probs, out, int reduction):
    """Cross-entropy of (N, C) logits against (N,) int64 class indices.

    Writes log_softmax(logits) into log_probs (kept for backward) and the loss
    into out; returns the mean's denominator: sum of weight[target] over rows
    whose target is not ignore_index (their count when weight is None).
    Semantics follow torch.nn.functional.cross_entropy, label_smoothing included.
    """
    kernel = "cross_entropy_forward"
    _check_label_smoothing(kernel, label_smoothing)
    kind = _check_class_call(kernel, reduction, ("logits", "log_probs"), (logits, log_probs),
                             target, weight, ignore_index, "out", out,
                             ("logits", "weight?", "log_probs", "out"),
                             (logits, weight, log_probs, out))
    if kind == F32:
        return _ce_forward_typed[float](logits, target, weight, ignore_index, label_smoothing,
                                        log_probs, out, reduction)
    return _ce_forward_typed[double](logits, target, weight, ignore_index, label_smoothing,
                                     log_probs, out, reduction)


cdef int _ce_backward_typed(const floating[::1] grad, const floating[:, ::1] log_probs,
                            const int64_t[::1] target, const floating[::1] weight,
                            long ignore_index, floating eps, floating[:, ::1] out,
                            int reduction, double denom) except -1:
    cdef Py_ssize_t N = out.shape[0], C = out.shape[1], i
    cdef Py_ssize_t g_step = 1 if reduction == REDUCE_NONE else 0
    cdef double divisor = denom if reduction == REDUCE_MEAN else 1
    cdef double weight_sum = _weight_sum(weight, C)
    cdef const floating* w = &weight[0] if weight is not None else NULL
    if N == 0 or C == 0:
        return 0
    with nogil:
        if _parallel_rows(N, C):
            for i in prange(N, num_threads=num_threads(), schedule="static"):
                _ce_backward_rows(&grad[0], g_step, &log_probs[0, 0], &target[0], w,
                                  ignore_index, eps, divisor, weight_sum,
                                  &out[0, 0], i, i + 1, C)
        else:
            _ce_backward_rows(&grad[0], g_step, &log_probs[0, 0], &target[0], w, ignore_index,
                              eps, divisor, weight_sum, &out[0, 0], 0, N, C)
    return 0


def cross_entropy_backward(grad, log_probs, target, weight, long ignore_index,
                           double label_smoothing, out, int reduction, double denom):
    """Gradient of cross_entropy_forward w.r.t. the logits, written into out (N, C).

    log_probs is what the forward wrote; denom is what it returned.
    """
    kernel = "cross_entropy_backward"
    _check_label_smoothing(kernel, label_smoothing)
    kind = _check_class_call(kernel, reduction, ("log_probs", "out"), (log_probs, out),
                             target, weight, ignore_index, "grad", grad,
                             ("grad", "log_probs", "weight?", "out"),
                             (grad, log_probs, weight, out))
    if kind == F32:
        _ce_backward_typed[float](grad, log_probs, target, weight, ignore_index,
                                  label_smoothing, out, reduction, denom)
    else:
        _ce_backward_typed[double](grad, log_probs, target, weight, ignore_index,
                                   label_smoothing, out, reduction, denom)


# ------------------------------------------- class-probability cross-entropy

cdef double _ce_prob_forward_typed(const floating[:, ::1] logits, const floating[:, ::1] target,
                                   const floating[::1] weight, floating eps,
                                   floating[:, ::1] log_probs, floating[::1] out,
                                   int reduction):
    cdef Py_ssize_t N = logits.shape[0], C = logits.shape[1]
    cdef RowSums sums
    cdef bint has_data = N * C > 0
    with nogil:
        sums = _ce_rows(True, &logits[0, 0] if has_data else NULL, NULL,
                        &target[0, 0] if has_data else NULL,
                        &weight[0] if weight is not None and C > 0 else NULL, 0, eps,
                        &log_probs[0, 0] if has_data else NULL,
                        &out[0] if reduction == REDUCE_NONE and N > 0 else NULL, N, C)
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
    kernel = "cross_entropy_prob_forward"
    check_reduction(kernel, reduction)
    _check_label_smoothing(kernel, label_smoothing)
    kind = float_kind(kernel, ("logits", "target", "weight?", "log_probs", "out"),
                      (logits, target, weight, log_probs, out))
    check_ndim(kernel, "logits", logits, 2)
    N, C = logits.shape
    _check_rows(kernel, ("logits", "target", "log_probs"), (logits, target, log_probs), N, C)
    _check_flat(kernel, "weight", weight, C)
    _check_flat(kernel, "out", out, reduced_len(reduction, N))
    if kind == F32:
        return _ce_prob_forward_typed[float](logits, target, weight, label_smoothing, log_probs,
                                             out, reduction)
    return _ce_prob_forward_typed[double](logits, target, weight, label_smoothing, log_probs,
                                          out, reduction)


cdef int _ce_prob_backward_typed(const floating[::1] grad, const floating[:, ::1] log_probs,
                                 const floating[:, ::1] target, const floating[::1] weight,
                                 floating eps, floating[:, ::1] out, int reduction,
                                 double denom) except -1:
    cdef Py_ssize_t N = out.shape[0], C = out.shape[1], i
    cdef Py_ssize_t g_step = 1 if reduction == REDUCE_NONE else 0
    cdef double divisor = denom if reduction == REDUCE_MEAN else 1
    cdef const floating* w = &weight[0] if weight is not None else NULL
    if N == 0 or C == 0:
        return 0
    with nogil:
        if _parallel_rows(N, C):
            for i in prange(N, num_threads=num_threads(), schedule="static"):
                _ce_prob_backward_rows(&grad[0], g_step, &log_probs[0, 0], &target[0, 0], w,
                                       eps, divisor, &out[0, 0], i, i + 1, C)
        else:
            _ce_prob_backward_rows(&grad[0], g_step, &log_probs[0, 0], &target[0, 0], w, eps,
                                   divisor, &out[0, 0], 0, N, C)
    return 0


def cross_entropy_prob_backward(grad, log_probs, target, weight, double label_smoothing, out,
                                int reduction, double denom):
    """Gradient of cross_entropy_prob_forward w.r.t. the logits, into out (N, C)."""
    kernel = "cross_entropy_prob_backward"
    check_reduction(kernel, reduction)
    _check_label_smoothing(kernel, label_smoothing)
    kind = float_kind(kernel, ("grad", "log_probs", "target", "weight?", "out"),
                      (grad, log_probs, target, weight, out))
    check_ndim(kernel, "log_probs", log_probs, 2)
    N, C = log_probs.shape
    _check_rows(kernel, ("log_probs", "target", "out"), (log_probs, target, out), N, C)
    _check_flat(kernel, "weight", weight, C)
    _check_flat(kernel, "grad", grad, reduced_len(reduction, N))
    if kind == F32:
        _ce_prob_backward_typed[float](grad, log_probs, target, weight, label_smoothing, out,
                                       reduction, denom)
    else:
        _ce_prob_backward_typed[double](grad, log_probs, target, weight, label_smoothing, out,
                                        reduction, denom)


# ------------------------------------------------------------------------ NLL

cdef double _nll_forward_typed(const floating[:, ::1] log_probs, const int64_t[::1] target,
                               const floating[::1] weight, long ignore_index,
                               floating[::1] out, int reduction):
    cdef Py_ssize_t N = log_probs.shape[0], C = log_probs.shape[1], i
    cdef int64_t cls
    cdef floating w_t, value
    cdef RowSums sums
    sums.loss = 0
    sums.smooth = 0
    sums.denom = 0
    with nogil:
        for i in range(N):
            cls = target[i]
            if cls == ignore_index:
                value = 0
            else:
                w_t = weight[cls] if weight is not None else 1
                value = -w_t * log_probs[i, cls]
                sums.loss += value
                sums.denom += w_t
            if reduction == REDUCE_NONE:
                out[i] = value
    if reduction != REDUCE_NONE:
        out[0] = <floating>_reduced(sums, 0, C, reduction)
    return sums.denom


def nll_forward(log_probs, target, weight, long ignore_index, out, int reduction):
    """Negative log-likelihood -weight[t] log_probs[i, t], like torch.nn.functional.nll_loss.

    Returns the mean's denominator (sum of weight[target] over rows not ignored).
    """
    kernel = "nll_forward"
    kind = _check_class_call(kernel, reduction, ("log_probs",), (log_probs,), target, weight,
                             ignore_index, "out", out, ("log_probs", "weight?", "out"),
                             (log_probs, weight, out))
    if kind == F32:
        return _nll_forward_typed[float](log_probs, target, weight, ignore_index, out, reduction)
    return _nll_forward_typed[double](log_probs, target, weight, ignore_index, out, reduction)


cdef int _nll_backward_typed(const floating[::1] grad, const int64_t[::1] target,
                             const floating[::1] weight, long ignore_index, floating[:, ::1] out,
                             int reduction, double denom) except -1:
    cdef Py_ssize_t N = out.shape[0], C = out.shape[1], i
    cdef Py_ssize_t g_step = 1 if reduction == REDUCE_NONE else 0
    cdef double divisor = denom if reduction == REDUCE_MEAN else 1
    cdef int64_t cls
    cdef floating w_t
    if N == 0 or C == 0:
        return 0
    with nogil:
        memset(&out[0, 0], 0, N * C * sizeof(floating))
        for i in range(N):
            cls = target[i]
            if cls != ignore_index:
                w_t = weight[cls] if weight is not None else 1
                out[i, cls] = -w_t * _div(grad[i * g_step], divisor)
    return 0


def nll_backward(grad, target, weight, long ignore_index, out, int reduction, double denom):
    """Gradient of nll_forward w.r.t. log_probs, written into out (N, C)."""
    kernel = "nll_backward"
    kind = _check_class_call(kernel, reduction, ("out",), (out,), target, weight, ignore_index,
                             "grad", grad, ("grad", "weight?", "out"), (grad, weight, out))
    if kind == F32:
        _nll_backward_typed[float](grad, target, weight, ignore_index, out, reduction, denom)
    else:
        _nll_backward_typed[double](grad, target, weight, ignore_index, out, reduction, denom)
