"""Optimizer update kernels: one fused, in-place pass over a parameter.

Each kernel updates ``param`` and the optimizer's state buffers for it in place,
reading ``grad`` only (weight decay and ``maximize`` never write into the grad).
All arrays are flat (1-D), C-contiguous, of one float dtype (float32 or float64) and
one length; optional buffers are ``None``.  The ``*_step_foreach`` kernels update a
whole parameter group in one call: lists of arrays (any shape, C-contiguous, taken
as flat), each parameter updated by exactly the loop the single-parameter kernel
runs, so both paths give bit-identical results.  Hyper-parameters arrive as Python floats
and are rounded to the array dtype once, so float32 parameters are updated in float32
arithmetic like PyTorch's CPU optimizers.  The per-element maths follows the order of
operations of PyTorch's documented single-tensor updates, so float64 trajectories agree
to rounding.  The updates are memory-bound streams, so only very large buffers
(``PARALLEL_THRESHOLD`` elements and up) are split over OpenMP threads.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport pow, sqrt, sqrtf

from libc.stdlib cimport free, malloc

from microtorch._kernels._args cimport (
    MT_ABSENT, MT_F32, MT_F64, MT_IN, MT_OUT, mt_args, mt_args_init, mt_args_release,
    mt_take_view, mt_views_init, mt_views_release,
)
from microtorch._kernels._checks cimport PARALLEL_MIN_STREAMING, check_contiguous, check_ndim
from microtorch._kernels._threads cimport num_threads


cdef struct Hyper:
    # Per-call constants, in double; each span rounds them to its dtype once.
    double lr
    double a            # SGD momentum / Adam beta1 / RMSprop alpha
    double b            # SGD 1 - dampening / Adam beta2 / RMSprop momentum
    double eps
    double weight_decay
    double lr_decay     # Adagrad
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


cdef void _run_view(Which which, int kind, Py_buffer* v, Py_ssize_t n,
                    const Hyper* h) noexcept nogil:
    """Run update `which` on the views (param, grad, s1, s2, s3) of one parameter;
    an absent state buffer has a NULL `buf`."""
    if n == 0:
        return
    if kind == MT_F32:
        _run(which, <float*>v[0].buf, <const float*>v[1].buf, <float*>v[2].buf,
             <float*>v[3].buf, <float*>v[4].buf, n, h)
    else:
        _run(which, <double*>v[0].buf, <const double*>v[1].buf, <double*>v[2].buf,
             <double*>v[3].buf, <double*>v[4].buf, n, h)


cdef Py_ssize_t _take_param(Py_buffer* v, int* kind, p, g, s1, s2, s3, int required,
                            bint flat) noexcept:
    """Take (param, grad, s1, s2, s3) into views v[0..4] and check them in C: one float
    dtype, one length, param and states writable, the first `required` present, and
    1-D unless `flat` (then any shape, taken as flat).  Returns the length, or -1."""
    cdef int k = mt_take_view(&v[0], p, MT_OUT)
    cdef Py_ssize_t n
    if k != MT_F32 and k != MT_F64 or not flat and v[0].ndim != 1:
        return -1
    if (not _same_layout(&v[0], &v[1], mt_take_view(&v[1], g, MT_IN), k, required > 1, flat)
            or not _same_layout(&v[0], &v[2], mt_take_view(&v[2], s1, MT_OUT), k,
                                required > 2, flat)
            or not _same_layout(&v[0], &v[3], mt_take_view(&v[3], s2, MT_OUT), k,
                                required > 3, flat)
            or not _same_layout(&v[0], &v[4], mt_take_view(&v[4], s3, MT_OUT), k,
                                required > 4, flat)):
        return -1
    kind[0] = k
    return v[0].len // v[0].itemsize


cdef inline bint _same_layout(const Py_buffer* p, const Py_buffer* v, int k, int p_kind,
                              bint required, bint flat) noexcept:
    """View v (of kind k) may go with param view p: absent if allowed, else the param's
    kind and byte length (and 1-D unless flat)."""
    if k == MT_ABSENT:
        return not required
    return k == p_kind and v.len == p.len and (flat or v.ndim == 1)


cdef int _check(str kernel, tuple names, tuple arrays, int required) except -1:
    """Dtype checks, before any pointer is taken: the param is float32 or float64, the
    first `required` arrays are present and every present one has the param's dtype."""
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


cdef int _explain(str kernel, tuple names, tuple arrays, int required, bint flat) except -1:
    """The slow path, run only when the C checks refused a call: raise its error
    (TypeError for dtypes, ValueError naming the argument for layouts and lengths)."""
    _check(kernel, names, arrays, required)
    for i in range(5):
        a = arrays[i]
        if a is not None:
            if not flat:
                check_ndim(kernel, names[i], a, 1)
            check_contiguous(kernel, (names[i],), (a,))
            if i != 1 and not a.flags.writeable:
                raise ValueError(f"{kernel}: {names[i]} is read-only")
    n = arrays[0].size
    for i in range(1, 5):
        if arrays[i] is not None and arrays[i].size != n:
            raise ValueError(f"{kernel}: {names[i]} has {arrays[i].size} elements, "
                             f"param has {n}")
    raise TypeError(f"{kernel}: unsupported arrays (dtype or memory layout)")


cdef int _launch(str kernel, tuple names, Which which, tuple arrays, int required,
                 const Hyper* h) except -1:
    """Check (param, grad, s1, s2, s3) in C and run update `which` on them without the GIL."""
    cdef mt_args v
    cdef int kind = 0
    cdef Py_ssize_t n
    mt_args_init(&v)
    try:
        n = _take_param(v.view, &kind, arrays[0], arrays[1], arrays[2], arrays[3], arrays[4],
                        required, False)
        if n < 0:
            _explain(kernel, names, arrays, required, False)
        with nogil:
            _run_view(which, kind, v.view, n, h)
    finally:
        mt_args_release(&v)
    return 0


# ------------------------------------------------- a whole group in one call

cdef enum:
    ARRAYS = 5              # views per parameter: param, grad, s1, s2, s3


cdef Hyper _at_step(Which which, const Hyper* base, double step) noexcept nogil:
    """The per-parameter constants of update `which` at `step` (its count of updates),
    computed exactly as the single-parameter entry points compute them."""
    cdef Hyper h = base[0]
    if which == ADAM:
        h.c1 = h.lr / (1.0 - pow(h.a, step))
        h.c2 = sqrt(1.0 - pow(h.b, step))
    elif which == ADAGRAD:
        h.c1 = h.lr / (1.0 + (step - 1.0) * h.lr_decay)
    return h


cdef list _launch_foreach(str kernel, tuple names, Which which, tuple lists, int required,
                          list steps, const Hyper* base):
    """Update every parameter of `lists` = (params, grads, s1s, s2s, s3s) (each a list, or
    None for an absent state) in one call; `steps` holds each parameter's step count
    (Adam, Adagrad) or SGD's first-step flag, or is None.

    Parameters the C checks refuse (float16, strided, mismatched) are left untouched and
    their indices returned, for the caller's single-parameter path (which raises for
    genuinely bad arguments)."""
    cdef list params = lists[0], grads = lists[1]
    cdef Py_ssize_t count = len(params), i, j
    cdef Py_buffer* views
    cdef Py_ssize_t* lengths
    cdef int* kinds
    cdef Hyper* hypers
    cdef list skipped = []
    cdef list s1s = lists[2], s2s = lists[3], s3s = lists[4]
    for j in range(1, ARRAYS):
        if lists[j] is not None and len(lists[j]) != count:
            raise ValueError(f"{kernel}: {names[j]} has {len(lists[j])} entries for "
                             f"{count} params")
    if steps is not None and len(steps) != count:
        raise ValueError(f"{kernel}: {len(steps)} step counts for {count} params")
    if count == 0:
        return skipped
    views = <Py_buffer*>malloc(count * ARRAYS * sizeof(Py_buffer))
    lengths = <Py_ssize_t*>malloc(count * sizeof(Py_ssize_t))
    kinds = <int*>malloc(count * sizeof(int))
    hypers = <Hyper*>malloc(count * sizeof(Hyper))
    if views == NULL or lengths == NULL or kinds == NULL or hypers == NULL:
        free(views)
        free(lengths)
        free(kinds)
        free(hypers)
        raise MemoryError()
    mt_views_init(views, count * ARRAYS)
    try:
        for i in range(count):
            lengths[i] = _take_param(views + i * ARRAYS, &kinds[i], params[i], grads[i],
                                     None if s1s is None else s1s[i],
                                     None if s2s is None else s2s[i],
                                     None if s3s is None else s3s[i], required, True)
            if lengths[i] < 0:
                mt_views_release(views + i * ARRAYS, ARRAYS)
                skipped.append(i)
            hypers[i] = base[0]
            if steps is None:
                continue
            if which == SGD:
                hypers[i].flags = base.flags | (FIRST if steps[i] else 0)
            else:
                hypers[i] = _at_step(which, base, <double>steps[i])
        with nogil:
            for i in range(count):
                if lengths[i] >= 0:
                    _run_view(which, kinds[i], views + i * ARRAYS, lengths[i], &hypers[i])
    finally:
        mt_views_release(views, count * ARRAYS)
        free(views)
        free(lengths)
        free(kinds)
        free(hypers)
    return skipped


# -------------------------------------------------------- Python entry points

PARALLEL_THRESHOLD = PARALLEL_MIN_STREAMING     # for the tests: sizes that use threads

_SGD_NAMES = ("param", "grad", "momentum_buf", "", "")
_ADAM_NAMES = ("param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
_RMSPROP_NAMES = ("param", "grad", "square_avg", "grad_avg", "momentum_buf")
_ADAGRAD_NAMES = ("param", "grad", "state_sum", "", "")


cdef Hyper _sgd_hyper(double lr, double momentum, double dampening, double weight_decay,
                      bint nesterov, bint maximize, bint first_step):
    cdef Hyper h
    h.lr, h.a, h.b, h.weight_decay = lr, momentum, 1.0 - dampening, weight_decay
    h.eps, h.c1, h.c2, h.lr_decay = 0, 0, 0, 0
    h.flags = (MAXIMIZE if maximize else 0) | (NESTEROV if nesterov else 0) \
        | (FIRST if first_step else 0)
    return h


def sgd_step(param, grad, momentum_buf, double lr, double momentum, double dampening,
             double weight_decay, bint nesterov, bint maximize, bint first_step):
    """SGD in place.  ``momentum_buf`` is None without momentum; ``first_step`` makes the
    buffer start as the first update (no dampening), as PyTorch does."""
    cdef Hyper h = _sgd_hyper(lr, momentum, dampening, weight_decay, nesterov, maximize,
                              first_step)
    _launch("sgd_step", _SGD_NAMES, SGD, (param, grad, momentum_buf, None, None), 2, &h)


def sgd_step_foreach(list params, list grads, momentum_bufs, list first_steps, double lr,
                     double momentum, double dampening, double weight_decay, bint nesterov,
                     bint maximize):
    """`sgd_step` on every parameter of a group in one call: lists of params and grads,
    a list of momentum buffers (None without momentum) and of first-step flags.
    Returns the indices of the parameters it could not take (left untouched)."""
    cdef Hyper h = _sgd_hyper(lr, momentum, dampening, weight_decay, nesterov, maximize,
                              False)
    return _launch_foreach("sgd_step_foreach", ("params", "grads", "momentum_bufs", "", ""),
                           SGD, (params, grads, momentum_bufs, None, None),
                           2 if momentum_bufs is None else 3, first_steps, &h)


cdef Hyper _adam_hyper(double lr, double beta1, double beta2, double eps, double weight_decay,
                       bint amsgrad, bint maximize, bint decoupled):
    cdef Hyper h
    h.lr, h.a, h.b, h.eps, h.weight_decay = lr, beta1, beta2, eps, weight_decay
    h.c1, h.c2, h.lr_decay = 0, 0, 0
    h.flags = (MAXIMIZE if maximize else 0) | (AMSGRAD if amsgrad else 0) \
        | (DECOUPLED if decoupled else 0)
    return h


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, double step, double lr,
              double beta1, double beta2, double eps, double weight_decay, bint amsgrad,
              bint maximize, bint decoupled):
    """Adam (``decoupled=False``) or AdamW in place; ``step`` counts this update (1, 2, ...).
    ``max_exp_avg_sq`` is required with ``amsgrad`` and ignored without."""
    cdef Hyper base = _adam_hyper(lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
                                  decoupled)
    cdef Hyper h = _at_step(ADAM, &base, step)
    if not amsgrad:
        max_exp_avg_sq = None
    _launch("adam_step", _ADAM_NAMES, ADAM,
            (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq), 5 if amsgrad else 4, &h)


def adam_step_foreach(list params, list grads, list exp_avgs, list exp_avg_sqs,
                      max_exp_avg_sqs, list steps, double lr, double beta1, double beta2,
                      double eps, double weight_decay, bint amsgrad, bint maximize,
                      bint decoupled):
    """`adam_step` on every parameter of a group in one call (lists of arrays; the
    ``max_exp_avg_sqs`` list only with amsgrad, else None; each parameter's step count).
    Returns the indices of the parameters it could not take (left untouched)."""
    cdef Hyper h = _adam_hyper(lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
                               decoupled)
    if not amsgrad:
        max_exp_avg_sqs = None
    return _launch_foreach("adam_step_foreach",
                           ("params", "grads", "exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs"),
                           ADAM, (params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs),
                           5 if amsgrad else 4, steps, &h)


cdef Hyper _rmsprop_hyper(double lr, double alpha, double eps, double weight_decay,
                          double momentum, bint centered, bint maximize):
    cdef Hyper h
    h.lr, h.a, h.b, h.eps, h.weight_decay = lr, alpha, momentum, eps, weight_decay
    h.c1, h.c2, h.lr_decay = 0, 0, 0
    h.flags = (MAXIMIZE if maximize else 0) | (CENTERED if centered else 0)
    return h


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buf, double lr, double alpha,
                 double eps, double weight_decay, double momentum, bint centered,
                 bint maximize):
    """RMSprop in place.  ``grad_avg`` is required when centered, ``momentum_buf`` when
    momentum > 0; pass None otherwise."""
    cdef Hyper h = _rmsprop_hyper(lr, alpha, eps, weight_decay, momentum, centered, maximize)
    if not centered:
        grad_avg = None
    if momentum <= 0:
        momentum_buf = None
    if centered and grad_avg is None or momentum > 0 and momentum_buf is None:
        raise TypeError("rmsprop_step: centered needs grad_avg and momentum needs "
                        "momentum_buf")
    _launch("rmsprop_step", _RMSPROP_NAMES, RMSPROP,
            (param, grad, square_avg, grad_avg, momentum_buf), 3, &h)


def rmsprop_step_foreach(list params, list grads, list square_avgs, grad_avgs, momentum_bufs,
                         double lr, double alpha, double eps, double weight_decay,
                         double momentum, bint centered, bint maximize):
    """`rmsprop_step` on every parameter of a group in one call (``grad_avgs`` a list when
    centered, ``momentum_bufs`` one when momentum > 0, else None).
    Returns the indices of the parameters it could not take (left untouched)."""
    cdef Hyper h = _rmsprop_hyper(lr, alpha, eps, weight_decay, momentum, centered, maximize)
    if not centered:
        grad_avgs = None
    if momentum <= 0:
        momentum_bufs = None
    if centered and grad_avgs is None or momentum > 0 and momentum_bufs is None:
        raise TypeError("rmsprop_step_foreach: centered needs grad_avgs and momentum needs "
                        "momentum_bufs")
    return _launch_foreach("rmsprop_step_foreach",
                           ("params", "grads", "square_avgs", "grad_avgs", "momentum_bufs"),
                           RMSPROP, (params, grads, square_avgs, grad_avgs, momentum_bufs), 3,
                           None, &h)


cdef Hyper _adagrad_hyper(double lr, double lr_decay, double weight_decay, double eps,
                          bint maximize):
    cdef Hyper h
    h.lr, h.eps, h.weight_decay = lr, eps, weight_decay
    h.a, h.b, h.c1, h.c2, h.lr_decay = 0, 0, 0, 0, lr_decay
    h.flags = MAXIMIZE if maximize else 0
    return h


def adagrad_step(param, grad, state_sum, double step, double lr, double lr_decay,
                 double weight_decay, double eps, bint maximize):
    """Adagrad in place; ``step`` counts this update (1, 2, ...)."""
    cdef Hyper base = _adagrad_hyper(lr, lr_decay, weight_decay, eps, maximize)
    cdef Hyper h = _at_step(ADAGRAD, &base, step)
    _launch("adagrad_step", _ADAGRAD_NAMES, ADAGRAD, (param, grad, state_sum, None, None), 3,
            &h)


def adagrad_step_foreach(list params, list grads, list state_sums, list steps, double lr,
                         double lr_decay, double weight_decay, double eps, bint maximize):
    """`adagrad_step` on every parameter of a group in one call (lists of arrays and of
    step counts).  Returns the indices of the parameters it could not take (left untouched)."""
    cdef Hyper h = _adagrad_hyper(lr, lr_decay, weight_decay, eps, maximize)
    return _launch_foreach("adagrad_step_foreach", ("params", "grads", "state_sums", "", ""),
                           ADAGRAD, (params, grads, state_sums, None, None), 3, steps, &h)
