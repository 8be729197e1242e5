"""Optimizer update kernels: one fused, in-place pass over a parameter.

Each kernel updates ``param`` and the optimizer's state buffers for it in place,
reading ``grad`` only (weight decay and ``maximize`` never write into the grad).
All arrays are flat (1-D), C-contiguous, of one float dtype (float32 or float64) and
one length; optional buffers are ``None``.  Hyper-parameters arrive as Python floats
and are rounded to the array dtype once, so float32 parameters are updated in float32
arithmetic like PyTorch's CPU optimizers.  The per-element maths follows the order of
operations of PyTorch's documented single-tensor updates, so float64 trajectories agree
to rounding.  The updates are memory-bound streams, so only very large buffers
(``PARALLEL_THRESHOLD`` elements and up) are split over OpenMP threads.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport pow, sqrt, sqrtf

from microtorch._kernels._checks cimport PARALLEL_MIN_STREAMING, check_contiguous, check_ndim
from microtorch._kernels._threads cimport num_threads


cdef struct Hyper:
    # Per-call constants, in double; each span rounds them to its dtype once.
    double lr
    double a            # SGD momentum / Adam beta1 / RMSprop alpha
    double b            # SGD 1 - dampening / Adam beta2 / RMSprop momentum
    double eps
    double weight_decay
    double c1           # Adam: lr / (1 - beta1**step) ; Adagrad: lr / (1 + (step-1) lr_decay)
    double c2           # Adam: sqrt(1 - beta2**step)
    int flags


cdef enum:
    MAXIMIZE = 1
    NESTEROV = 2        # SGD
    FIRST = 4           # SGD: the momentum buffer starts as the first update
    AMSGRAD = 8         # Adam
    DECOUPLED = 16      # Adam(W): decay the parameter, not the gradient
    CENTERED = 32       # RMSprop

cdef enum Which:
    SGD
    ADAM
    RMSPROP
    ADAGRAD


# ---------------------------------------------------------------- scalar helpers

cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating _lerp(floating start, floating end, floating coef, bint low) noexcept nogil:
    """torch.lerp(start, end, weight), evaluated from the nearer end: with ``low`` (weight
    < 0.5) and coef = weight, start + w (end - start); otherwise, with coef = -(1 - w),
    end - (1 - w) (end - start).  `_lerp_coef` makes (coef, low) once per call."""
    return (start if low else end) + coef * (end - start)


cdef inline floating _lerp_coef(floating weight) noexcept nogil:
    return weight if weight < 0.5 else -(1 - weight)


cdef inline floating _max_nan(floating a, floating b) noexcept nogil:
    """max(a, b) that propagates NaN from either side (as torch.maximum)."""
    cdef bint take_a = (a > b) | (a != a)        # `|`, not `or`: no branch in the loop
    return a if take_a else b


# ---------------------------------------------------------------- the updates
# Each update is one loop over n elements, written once as an inline `_*_loop` whose
# `bint` arguments switch optional state buffers on or off.  The `_*_span` dispatchers
# call it with constant flags, so gcc compiles one branch-free (vectorizable) loop per
# case; the remaining options are loop-invariant selects between registers.

cdef inline void _sgd_loop(floating* p, const floating* g, floating* buf, Py_ssize_t n,
                           const Hyper* h, bint momentum, bint first) noexcept nogil:
    cdef floating neg_lr = <floating>(-h.lr), wd = <floating>h.weight_decay
    cdef floating mom = <floating>h.a, damp1 = <floating>h.b
    cdef bint maximize = h.flags & MAXIMIZE, nesterov = h.flags & NESTEROV
    cdef Py_ssize_t i
    cdef floating d, b
    for i in range(n):
        d = -g[i] if maximize else g[i]
        if wd != 0:
            d = d + wd * p[i]
        if momentum:
            b = d if first else buf[i] * mom + damp1 * d
            buf[i] = b
            d = d + mom * b if nesterov else b
        p[i] = p[i] + neg_lr * d


cdef void _sgd_span(floating* p, const floating* g, floating* buf, Py_ssize_t n,
                    const Hyper* h) noexcept nogil:
    """d = ±g + wd p;  buf = d (first step) or momentum buf + (1 - dampening) d;
    d = d + momentum buf (Nesterov) or buf;  p = p - lr d."""
    if buf == NULL:
        _sgd_loop(p, g, buf, n, h, False, False)
    elif h.flags & FIRST:
        _sgd_loop(p, g, buf, n, h, True, True)
    else:
        _sgd_loop(p, g, buf, n, h, True, False)


cdef inline void _adam_loop(floating* p, const floating* g, floating* m, floating* v,
                            floating* vmax, Py_ssize_t n, const Hyper* h,
                            bint amsgrad) noexcept nogil:
    cdef floating wd = <floating>h.weight_decay, eps = <floating>h.eps
    cdef floating w1 = <floating>(1.0 - h.a), c1 = _lerp_coef(w1)
    cdef bint low1 = w1 < 0.5
    cdef floating beta2 = <floating>h.b, w2 = <floating>(1.0 - h.b)
    cdef floating neg_step = <floating>(-h.c1), bc2_sqrt = <floating>h.c2
    cdef bint maximize = h.flags & MAXIMIZE
    cdef bint l2 = wd != 0 and not (h.flags & DECOUPLED)
    # decoupled decay multiplies the parameter by (1 - lr wd); 1 (exact) otherwise
    cdef floating decay = <floating>(1.0 - h.lr * h.weight_decay) \
        if (h.flags & DECOUPLED) and wd != 0 else 1
    cdef Py_ssize_t i
    cdef floating gi, pi, mi, vi
    for i in range(n):
        gi = -g[i] if maximize else g[i]
        pi = p[i] * decay
        if l2:
            gi = gi + wd * pi
        mi = _lerp(m[i], gi, c1, low1)
        vi = v[i] * beta2 + w2 * gi * gi
        m[i] = mi
        v[i] = vi
        if amsgrad:
            vi = _max_nan(vmax[i], vi)
            vmax[i] = vi
        p[i] = pi + neg_step * (mi / (_sqrt(vi) / bc2_sqrt + eps))


cdef void _adam_span(floating* p, const floating* g, floating* m, floating* v,
                     floating* vmax, Py_ssize_t n, const Hyper* h) noexcept nogil:
    """Adam/AdamW: m = lerp(m, g, 1 - beta1); v = beta2 v + (1 - beta2) g^2;
    p = p - lr / bc1 * m / (sqrt(v or max(vmax, v)) / sqrt(bc2) + eps)."""
    if h.flags & AMSGRAD:
        _adam_loop(p, g, m, v, vmax, n, h, True)
    else:
        _adam_loop(p, g, m, v, vmax, n, h, False)


cdef inline void _rmsprop_loop(floating* p, const floating* g, floating* sq, floating* gavg,
                               floating* buf, Py_ssize_t n, const Hyper* h,
                               bint centered, bint momentum) noexcept nogil:
    cdef floating neg_lr = <floating>(-h.lr), wd = <floating>h.weight_decay
    cdef floating alpha = <floating>h.a, w = <floating>(1.0 - h.a), cw = _lerp_coef(w)
    cdef bint low = w < 0.5
    cdef floating mom = <floating>h.b, eps = <floating>h.eps
    cdef bint maximize = h.flags & MAXIMIZE
    cdef Py_ssize_t i
    cdef floating gi, si, ai, avg
    for i in range(n):
        gi = -g[i] if maximize else g[i]
        if wd != 0:
            gi = gi + wd * p[i]
        si = sq[i] * alpha + w * gi * gi
        sq[i] = si
        if centered:
            ai = _lerp(gavg[i], gi, cw, low)
            gavg[i] = ai
            avg = _sqrt(si - ai * ai) + eps        # addcmul(value=-1): exact same rounding
        else:
            avg = _sqrt(si) + eps
        if momentum:
            ai = buf[i] * mom + gi / avg
            buf[i] = ai
            p[i] = p[i] + neg_lr * ai
        else:
            p[i] = p[i] + neg_lr * (gi / avg)


cdef void _rmsprop_span(floating* p, const floating* g, floating* sq, floating* gavg,
                        floating* buf, Py_ssize_t n, const Hyper* h) noexcept nogil:
    """sq = alpha sq + (1 - alpha) g^2;  avg = sqrt(sq [- gavg^2]) + eps, with
    gavg = lerp(gavg, g, 1 - alpha) when centered;  buf = momentum buf + g / avg and
    p = p - lr buf, or p = p - lr g / avg without momentum."""
    if gavg != NULL:
        if buf != NULL:
            _rmsprop_loop(p, g, sq, gavg, buf, n, h, True, True)
        else:
            _rmsprop_loop(p, g, sq, gavg, buf, n, h, True, False)
    elif buf != NULL:
        _rmsprop_loop(p, g, sq, gavg, buf, n, h, False, True)
    else:
        _rmsprop_loop(p, g, sq, gavg, buf, n, h, False, False)


cdef void _adagrad_span(floating* p, const floating* g, floating* total, Py_ssize_t n,
                        const Hyper* h) noexcept nogil:
    """sum = sum + g^2;  p = p - clr g / (sqrt(sum) + eps),  clr = lr / (1 + (t-1) lr_decay)."""
    cdef floating wd = <floating>h.weight_decay, eps = <floating>h.eps
    cdef floating neg_clr = <floating>(-h.c1)
    cdef bint maximize = h.flags & MAXIMIZE
    cdef Py_ssize_t i
    cdef floating gi, si
    for i in range(n):
        gi = -g[i] if maximize else g[i]
        if wd != 0:
            gi = gi + wd * p[i]
        si = total[i] + gi * gi
        total[i] = si
        p[i] = p[i] + neg_clr * (gi / (_sqrt(si) + eps))


# ------------------------------------------------------- threads and dispatch

cdef inline floating* _at(floating* base, Py_ssize_t offset) noexcept nogil:
    return base + offset if base != NULL else NULL


cdef void _span(Which which, floating* p, const floating* g, floating* s1, floating* s2,
                floating* s3, Py_ssize_t n, const Hyper* h) noexcept nogil:
    if which == SGD:
        _sgd_span(p, g, s1, n, h)
    elif which == ADAM:
        _adam_span(p, g, s1, s2, s3, n, h)
    elif which == RMSPROP:
        _rmsprop_span(p, g, s1, s2, s3, n, h)
    else:
        _adagrad_span(p, g, s1, n, h)


cdef void _run(Which which, floating* p, const floating* g, floating* s1, floating* s2,
               floating* s3, Py_ssize_t n, const Hyper* h) noexcept nogil:
    """Run the update over the buffers, one chunk per thread when they are large."""
    cdef int threads = num_threads()
    cdef Py_ssize_t chunk, c, start, stop
    if n < PARALLEL_MIN_STREAMING or threads == 1:
        _span(which, p, g, s1, s2, s3, n, h)
        return
    chunk = ((n + threads - 1) // threads + 63) // 64 * 64   # 64-element aligned chunks
    for c in prange(threads, num_threads=threads, schedule="static"):
        start = c * chunk
        stop = min(n, start + chunk)
        if start < stop:
            _span(which, p + start, g + start, _at(s1, start), _at(s2, start),
                  _at(s3, start), stop - start, h)


cdef int _check(str kernel, tuple names, tuple arrays, int required) except -1:
    """Dtype checks, before any pointer is taken: the param is float32 or float64, the
    first `required` arrays are present and every present one has the param's dtype.
    (Typed memoryviews then check 1-D and C-contiguity, and `_launch_typed` lengths.)"""
    param = arrays[0]
    dtype = getattr(param, "dtype", None)
    if dtype is None or dtype.char not in "fd":
        got = type(param).__name__ if dtype is None else str(dtype)
        raise TypeError(f"{kernel}: expected a float32 or float64 param, got {got}")
    for i in range(1, 5):
        a = arrays[i]
        if a is None:
            if i < required:
                raise TypeError(f"{kernel}: {names[i]} must be an array, not None")
            continue
        other = getattr(a, "dtype", None)
        if other is not dtype and other != dtype:
            raise TypeError(f"{kernel}: {names[i]} has dtype {other or type(a).__name__}, "
                            f"expected {dtype} like param")
    return 0


cdef inline int _check_len(str kernel, str name, Py_ssize_t got, Py_ssize_t n) except -1:
    if got != n:
        raise ValueError(f"{kernel}: {name} has {got} elements, param has {n}")
    return 0


cdef int _launch_typed(str kernel, tuple names, Which which, floating[::1] p,
                       const floating[::1] g, floating[::1] s1, floating[::1] s2,
                       floating[::1] s3, const Hyper* h) except -1:
    cdef Py_ssize_t n = p.shape[0]
    _check_len(kernel, names[1], g.shape[0], n)
    if s1 is not None:
        _check_len(kernel, names[2], s1.shape[0], n)
    if s2 is not None:
        _check_len(kernel, names[3], s2.shape[0], n)
    if s3 is not None:
        _check_len(kernel, names[4], s3.shape[0], n)
    if n == 0:
        return 0
    with nogil:
        _run(which, &p[0], &g[0], &s1[0] if s1 is not None else NULL,
             &s2[0] if s2 is not None else NULL, &s3[0] if s3 is not None else NULL, n, h)
    return 0


cdef int _explain_layout(str kernel, tuple names, tuple arrays) except -1:
    """After a typed memoryview refused an array: raise a ValueError naming the kernel and
    the argument (1-D, C-contiguous, writable except grad), if that was the cause."""
    for i in range(5):
        a = arrays[i]
        if a is not None:
            check_ndim(kernel, names[i], a, 1)
            check_contiguous(kernel, (names[i],), (a,))
            if i != 1 and not a.flags.writeable:
                raise ValueError(f"{kernel}: {names[i]} is read-only")
    return 0


cdef int _launch(str kernel, tuple names, Which which, tuple arrays, int required,
                 const Hyper* h) except -1:
    """Check (param, grad, s1, s2, s3) and run update `which` on them without the GIL."""
    _check(kernel, names, arrays, required)
    p, g, s1, s2, s3 = arrays
    try:
        if p.dtype.char == "f":
            _launch_typed[float](kernel, names, which, p, g, s1, s2, s3, h)
        else:
            _launch_typed[double](kernel, names, which, p, g, s1, s2, s3, h)
    except ValueError:
        _explain_layout(kernel, names, arrays)      # layout checks cost nothing until here
        raise
    return 0


# -------------------------------------------------------- Python entry points

PARALLEL_THRESHOLD = PARALLEL_MIN_STREAMING     # for the tests: sizes that use threads

_SGD_NAMES = ("param", "grad", "momentum_buf", "", "")
_ADAM_NAMES = ("param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
_RMSPROP_NAMES = ("param", "grad", "square_avg", "grad_avg", "momentum_buf")
_ADAGRAD_NAMES = ("param", "grad", "state_sum", "", "")


def sgd_step(param, grad, momentum_buf, double lr, double momentum, double dampening,
             double weight_decay, bint nesterov, bint maximize, bint first_step):
    """SGD in place.  ``momentum_buf`` is None without momentum; ``first_step`` makes the
    buffer start as the first update (no dampening), as PyTorch does."""
    cdef Hyper h
    h.lr, h.a, h.b, h.weight_decay = lr, momentum, 1.0 - dampening, weight_decay
    h.flags = (MAXIMIZE if maximize else 0) | (NESTEROV if nesterov else 0) \
        | (FIRST if first_step else 0)
    _launch("sgd_step", _SGD_NAMES, SGD, (param, grad, momentum_buf, None, None), 2, &h)


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, double step, double lr,
              double beta1, double beta2, double eps, double weight_decay, bint amsgrad,
              bint maximize, bint decoupled):
    """Adam (``decoupled=False``) or AdamW in place; ``step`` counts this update (1, 2, ...).
    ``max_exp_avg_sq`` is required with ``amsgrad`` and ignored without."""
    cdef Hyper h
    if not amsgrad:
        max_exp_avg_sq = None
    h.lr, h.a, h.b, h.eps, h.weight_decay = lr, beta1, beta2, eps, weight_decay
    h.c1 = lr / (1.0 - pow(beta1, step))
    h.c2 = sqrt(1.0 - pow(beta2, step))
    h.flags = (MAXIMIZE if maximize else 0) | (AMSGRAD if amsgrad else 0) \
        | (DECOUPLED if decoupled else 0)
    _launch("adam_step", _ADAM_NAMES, ADAM,
            (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq), 5 if amsgrad else 4, &h)


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buf, double lr, double alpha,
                 double eps, double weight_decay, double momentum, bint centered,
                 bint maximize):
    """RMSprop in place.  ``grad_avg`` is required when centered, ``momentum_buf`` when
    momentum > 0; pass None otherwise."""
    cdef Hyper h
    if not centered:
        grad_avg = None
    if momentum <= 0:
        momentum_buf = None
    if centered and grad_avg is None or momentum > 0 and momentum_buf is None:
        raise TypeError("rmsprop_step: centered needs grad_avg and momentum needs "
                        "momentum_buf")
    h.lr, h.a, h.b, h.eps, h.weight_decay = lr, alpha, momentum, eps, weight_decay
    h.flags = (MAXIMIZE if maximize else 0) | (CENTERED if centered else 0)
    _launch("rmsprop_step", _RMSPROP_NAMES, RMSPROP,
            (param, grad, square_avg, grad_avg, momentum_buf), 3, &h)


def adagrad_step(param, grad, state_sum, double step, double lr, double lr_decay,
                 double weight_decay, double eps, bint maximize):
    """Adagrad in place; ``step`` counts this update (1, 2, ...)."""
    cdef Hyper h
    h.eps, h.weight_decay = eps, weight_decay
    h.c1 = lr / (1.0 + (step - 1.0) * lr_decay)
    h.flags = MAXIMIZE if maximize else 0
    _launch("adagrad_step", _ADAGRAD_NAMES, ADAGRAD, (param, grad, state_sum, None, None), 3,
            &h)
