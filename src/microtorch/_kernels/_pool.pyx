"""2-D max and average pooling (1-D pooling is the H = 1 case), forward and backward.

Every kernel works on (P, H, W) planes, P = N * C, C-contiguous; planes are independent
and spread over OpenMP threads when there is enough work.  The output shape (OH, OW)
comes from the caller, who applies PyTorch's size rule (ceil_mode included); a window
is clipped to the image and its padding.

Max pooling saves, per output, the flat index ih * W + iw of the maximum within its
plane (PyTorch's `return_indices`); a NaN in the window wins, as in PyTorch.  Average
pooling divides by the window area including padding (count_include_pad), by the number
of image elements in the window, or by a fixed divisor.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY
from libc.stdint cimport int64_t
from libc.string cimport memset

from microtorch._kernels._checks cimport (
    F32, PARALLEL_MIN, check_contiguous, check_ndim, float_kind,
)
from microtorch._kernels._threads cimport num_threads
from microtorch._kernels._windows cimport valid_range


cdef struct Win:
    Py_ssize_t H, W, OH, OW
    Py_ssize_t kH, kW, sh, sw, ph, pw, dh, dw
    bint include_pad
    Py_ssize_t divisor          # 0: none


cdef inline int _threads(Py_ssize_t planes, Py_ssize_t work) noexcept nogil:
    cdef int t = num_threads()
    return 1 if t < 2 or planes < 2 or work < PARALLEL_MIN else t


cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* One kernel tap applied to a row of outputs: out[ow] and arg[ow] take the input
       value at ow * step + off when it is larger, is NaN, or is the first one seen.
       The choice is a bit mask, not a branch (random data defeats branch prediction),
       and iterations are independent, so the loop pipelines. */
    #define MT_MAX_TAP(NAME, T, U)                                                     \
    static inline void NAME(const T* row, T* out, int64_t* arg, Py_ssize_t lo,        \
                            Py_ssize_t hi, Py_ssize_t step, Py_ssize_t off,            \
                            int64_t base) {                                            \
        for (Py_ssize_t ow = lo; ow < hi; ow++) {                                      \
            Py_ssize_t k = ow * step + off;                                            \
            T v = row[k], cur = out[ow];                                               \
            int64_t a = arg[ow];                                                       \
            int take = (a < 0) | (v > cur) | (v != v);                                 \
            U vb, cb, m = (U)0 - (U)take;                                              \
            memcpy(&vb, &v, sizeof vb);                                                \
            memcpy(&cb, &cur, sizeof cb);                                              \
            cb ^= (cb ^ vb) & m;                                                       \
            memcpy(&out[ow], &cb, sizeof cb);                                          \
            arg[ow] = a ^ ((a ^ (base + (int64_t)k)) & -(int64_t)take);                \
        }                                                                              \
    }
    MT_MAX_TAP(mt_max_tap_f, float, uint32_t)
    MT_MAX_TAP(mt_max_tap_d, double, uint64_t)
    """
    void mt_max_tap_f(const float* row, float* out, int64_t* arg, Py_ssize_t lo, Py_ssize_t hi,
                      Py_ssize_t step, Py_ssize_t off, int64_t base) noexcept nogil
    void mt_max_tap_d(const double* row, double* out, int64_t* arg, Py_ssize_t lo,
                      Py_ssize_t hi, Py_ssize_t step, Py_ssize_t off, int64_t base) noexcept nogil


cdef void _max_plane(const floating* x, floating* y, int64_t* idx, const Win* w) noexcept nogil:
    """Window maxima of one plane, an output row at a time: the kernel taps, in row-major
    order, each update the whole row. A strictly larger value replaces the running maximum,
    so the first maximum wins ties; a NaN always replaces it, as in PyTorch."""
    cdef Py_ssize_t oh, ow, i, j, ih, lo, hi, off
    cdef floating* yrow
    cdef int64_t* irow
    for oh in range(w.OH):
        yrow = y + oh * w.OW
        irow = idx + oh * w.OW
        for ow in range(w.OW):
            yrow[ow] = -INFINITY
            irow[ow] = -1
        for i in range(w.kH):
            ih = oh * w.sh - w.ph + i * w.dh
            if ih < 0 or ih >= w.H:
                continue
            for j in range(w.kW):
                off = j * w.dw - w.pw
                valid_range(off, w.sw, w.W, w.OW, &lo, &hi)
                if floating is float:
                    mt_max_tap_f(x + ih * w.W, yrow, irow, lo, hi, w.sw, off, ih * w.W)
                else:
                    mt_max_tap_d(x + ih * w.W, yrow, irow, lo, hi, w.sw, off, ih * w.W)


cdef Py_ssize_t _max_plane_backward(const floating* g, const int64_t* idx, floating* gx,
                                    Py_ssize_t n_out, Py_ssize_t n_in) noexcept nogil:
    """gx[idx[k]] += g[k]; returns how many indices were out of range (skipped)."""
    cdef Py_ssize_t k, bad = 0
    cdef int64_t i
    memset(gx, 0, n_in * sizeof(floating))
    for k in range(n_out):
        i = idx[k]
        if 0 <= i < n_in:
            gx[i] += g[k]
        elif i != -1:
            bad += 1
    return bad


cdef inline void _avg_window(const Win* w, Py_ssize_t oh, Py_ssize_t ow, Py_ssize_t* h0,
                             Py_ssize_t* h1, Py_ssize_t* w0, Py_ssize_t* w1,
                             Py_ssize_t* divisor) noexcept nogil:
    """The clipped window of output (oh, ow) and its divisor (0 for an empty window)."""
    cdef Py_ssize_t hs = oh * w.sh - w.ph, ws = ow * w.sw - w.pw
    cdef Py_ssize_t he = min(hs + w.kH, w.H + w.ph), we = min(ws + w.kW, w.W + w.pw)
    cdef Py_ssize_t area = (he - hs) * (we - ws), count
    h0[0], w0[0] = max(hs, 0), max(ws, 0)
    h1[0], w1[0] = min(he, w.H), min(we, w.W)
    count = (h1[0] - h0[0]) * (w1[0] - w0[0])
    if h0[0] >= h1[0] or w0[0] >= w1[0]:
        divisor[0] = 0
    elif w.divisor:
        divisor[0] = w.divisor
    else:
        divisor[0] = area if w.include_pad else count


cdef void _avg_plane(const floating* x, floating* y, const Win* w) noexcept nogil:
    """Window sums accumulated in the input's dtype, then divided (as PyTorch: a float32
    sum may overflow to inf)."""
    cdef Py_ssize_t oh, ow, ih, iw, h0, h1, w0, w1, divisor
    cdef floating s
    for oh in range(w.OH):
        for ow in range(w.OW):
            _avg_window(w, oh, ow, &h0, &h1, &w0, &w1, &divisor)
            s = 0
            for ih in range(h0, h1):
                for iw in range(w0, w1):
                    s += x[ih * w.W + iw]
            y[oh * w.OW + ow] = s / divisor if divisor else 0


cdef void _avg_plane_backward(const floating* g, floating* gx, const Win* w) noexcept nogil:
    cdef Py_ssize_t oh, ow, ih, iw, h0, h1, w0, w1, divisor
    cdef floating share
    memset(gx, 0, w.H * w.W * sizeof(floating))
    for oh in range(w.OH):
        for ow in range(w.OW):
            _avg_window(w, oh, ow, &h0, &h1, &w0, &w1, &divisor)
            share = g[oh * w.OW + ow] / divisor if divisor else 0
            for ih in range(h0, h1):
                for iw in range(w0, w1):
                    gx[ih * w.W + iw] += share


cdef inline void _adaptive_range(Py_ssize_t o, Py_ssize_t n_in, Py_ssize_t n_out,
                                 Py_ssize_t* start, Py_ssize_t* end) noexcept nogil:
    """PyTorch's adaptive window: [floor(o * n_in / n_out), ceil((o + 1) * n_in / n_out))."""
    start[0] = (o * n_in) // n_out
    end[0] = ((o + 1) * n_in + n_out - 1) // n_out


cdef void _adaptive_plane(const floating* x, floating* y, const Win* w,
                          bint backward) noexcept nogil:
    """Forward: y = window means of x.  Backward (x is the gradient of y, y of the input):
    spread each gradient evenly over its window."""
    cdef Py_ssize_t oh, ow, ih, iw, h0, h1, w0, w1
    cdef double scale
    cdef floating s
    if backward:
        memset(y, 0, w.H * w.W * sizeof(floating))
    for oh in range(w.OH):
        _adaptive_range(oh, w.H, w.OH, &h0, &h1)
        for ow in range(w.OW):
            _adaptive_range(ow, w.W, w.OW, &w0, &w1)
            scale = 1.0 / ((h1 - h0) * (w1 - w0))
            if backward:
                for ih in range(h0, h1):
                    for iw in range(w0, w1):
                        y[ih * w.W + iw] += <floating>(x[oh * w.OW + ow] * scale)
            else:
                s = 0
                for ih in range(h0, h1):
                    for iw in range(w0, w1):
                        s += x[ih * w.W + iw]
                y[oh * w.OW + ow] = s / (h1 - h0) / (w1 - w0)


# ------------------------------------------------------------------- entries

cdef enum Kind:
    MAX
    AVG
    AVG_BACKWARD
    ADAPTIVE
    ADAPTIVE_BACKWARD


cdef int _planes_typed(Kind kind, const floating[:, :, ::1] a, floating[:, :, ::1] b,
                       const Win* w) except -1:
    """Run a plane kernel over all planes: a is the input (or output gradient), b the
    output (or input gradient)."""
    cdef Py_ssize_t p, P = a.shape[0], asize = a.shape[1] * a.shape[2]
    cdef Py_ssize_t bsize = b.shape[1] * b.shape[2]
    cdef int threads = _threads(P, P * (w.H * w.W + w.OH * w.OW * w.kH * w.kW))
    if P == 0 or bsize == 0:
        return 0
    with nogil:
        for p in prange(P, num_threads=threads, schedule="static"):
            if kind == AVG:
                _avg_plane(&a[0, 0, 0] + p * asize, &b[0, 0, 0] + p * bsize, w)
            elif kind == AVG_BACKWARD:
                _avg_plane_backward(&a[0, 0, 0] + p * asize, &b[0, 0, 0] + p * bsize, w)
            else:
                _adaptive_plane(&a[0, 0, 0] + p * asize, &b[0, 0, 0] + p * bsize, w,
                                kind == ADAPTIVE_BACKWARD)
    return 0


cdef int _max_typed(const floating[:, :, ::1] x, floating[:, :, ::1] y, int64_t[:, :, ::1] idx,
                    const Win* w) except -1:
    cdef Py_ssize_t p, P = x.shape[0], xs = w.H * w.W, ys = w.OH * w.OW
    cdef int threads = _threads(P, P * (xs + ys * w.kH * w.kW))
    if P == 0 or ys == 0:
        return 0
    with nogil:
        for p in prange(P, num_threads=threads, schedule="static"):
            _max_plane(&x[0, 0, 0] + p * xs, &y[0, 0, 0] + p * ys, &idx[0, 0, 0] + p * ys, w)
    return 0


cdef int _max_backward_typed(const floating[:, :, ::1] g, const int64_t[:, :, ::1] idx,
                             floating[:, :, ::1] gx) except -1:
    cdef Py_ssize_t p, P = gx.shape[0], xs = gx.shape[1] * gx.shape[2]
    cdef Py_ssize_t ys = g.shape[1] * g.shape[2], bad = 0
    cdef int threads = _threads(P, P * (xs + ys))
    if P == 0 or xs == 0:
        return 0
    if ys == 0:
        gx[...] = 0
        return 0
    with nogil:
        for p in prange(P, num_threads=threads, schedule="static"):
            bad += _max_plane_backward(&g[0, 0, 0] + p * ys, &idx[0, 0, 0] + p * ys,
                                       &gx[0, 0, 0] + p * xs, ys, xs)
    if bad:
        raise IndexError(f"max_pool2d_backward: {bad} indices outside [0, {xs})")
    return 0


cdef int _window(str kernel, Win* w, x, y, tuple kernel_size, tuple stride, tuple padding,
                 tuple dilation) except -1:
    check_ndim(kernel, "x", x, 3)
    check_ndim(kernel, "out", y, 3)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{kernel}: x of shape {x.shape} and out of shape {y.shape} have "
                         "different numbers of planes")
    w.H, w.W = x.shape[1], x.shape[2]
    w.OH, w.OW = y.shape[1], y.shape[2]
    w.kH, w.kW = kernel_size
    w.sh, w.sw = stride
    w.ph, w.pw = padding
    w.dh, w.dw = dilation
    if min(w.kH, w.kW, w.sh, w.sw, w.dh, w.dw) < 1 or min(w.ph, w.pw) < 0:
        raise ValueError(f"{kernel}: kernel_size {kernel_size}, stride {stride} and dilation "
                         f"{dilation} must be positive and padding {padding} non-negative")
    w.include_pad = True
    w.divisor = 0
    return 0


cdef int _check_indices(str kernel, object indices) except -1:
    """TypeError unless `indices` is a numpy array (its dtype and shape are checked after)."""
    if getattr(indices, "dtype", None) is None or not hasattr(indices, "flags"):
        raise TypeError(f"{kernel}: expected an int64 numpy array for indices, got "
                        f"{type(indices).__name__}")
    return 0


def max_pool2d_forward(x, out, indices, tuple kernel_size, tuple stride, tuple padding,
                       tuple dilation):
    """out(P, OH, OW) = window maxima of x(P, H, W); indices(P, OH, OW) int64 = their
    flat positions ih * W + iw within the plane.  Windows with no image element give -inf
    and index -1."""
    cdef Win w
    kernel = "max_pool2d_forward"
    kind = float_kind(kernel, ("x", "out"), (x, out))
    _check_indices(kernel, indices)
    check_contiguous(kernel, ("x", "out", "indices"), (x, out, indices))
    _window(kernel, &w, x, out, kernel_size, stride, padding, dilation)
    if indices.dtype != "int64" or indices.shape != out.shape:
        raise ValueError(f"{kernel}: indices must be int64 of shape {out.shape}")
    if kind == F32:
        _max_typed[float](x, out, indices, &w)
    else:
        _max_typed[double](x, out, indices, &w)


def max_pool2d_backward(grad, indices, grad_x):
    """grad_x(P, H, W) = zeros with grad(P, OH, OW) added at the saved indices."""
    kernel = "max_pool2d_backward"
    kind = float_kind(kernel, ("grad", "grad_x"), (grad, grad_x))
    _check_indices(kernel, indices)
    check_contiguous(kernel, ("grad", "indices", "grad_x"), (grad, indices, grad_x))
    check_ndim(kernel, "grad", grad, 3)
    check_ndim(kernel, "grad_x", grad_x, 3)
    if indices.dtype != "int64" or indices.shape != grad.shape or grad.shape[0] != grad_x.shape[0]:
        raise ValueError(f"{kernel}: grad {grad.shape}, indices {indices.shape} "
                         f"({indices.dtype}) and grad_x {grad_x.shape} do not match")
    if kind == F32:
        _max_backward_typed[float](grad, indices, grad_x)
    else:
        _max_backward_typed[double](grad, indices, grad_x)


def avg_pool2d_forward(x, out, tuple kernel_size, tuple stride, tuple padding,
                       bint count_include_pad, Py_ssize_t divisor=0):
    """out(P, OH, OW) = window means of x(P, H, W) (see the module docstring for the
    divisor; divisor > 0 overrides it)."""
    cdef Win w
    kernel = "avg_pool2d_forward"
    kind = float_kind(kernel, ("x", "out"), (x, out))
    check_contiguous(kernel, ("x", "out"), (x, out))
    _window(kernel, &w, x, out, kernel_size, stride, padding, (1, 1))
    w.include_pad, w.divisor = count_include_pad, max(divisor, 0)
    if kind == F32:
        _planes_typed[float](AVG, x, out, &w)
    else:
        _planes_typed[double](AVG, x, out, &w)


def avg_pool2d_backward(grad, grad_x, tuple kernel_size, tuple stride, tuple padding,
                        bint count_include_pad, Py_ssize_t divisor=0):
    """grad_x(P, H, W) = each grad(P, OH, OW) spread over its window, divided as forward."""
    cdef Win w
    kernel = "avg_pool2d_backward"
    kind = float_kind(kernel, ("grad", "grad_x"), (grad, grad_x))
    check_contiguous(kernel, ("grad", "grad_x"), (grad, grad_x))
    _window(kernel, &w, grad_x, grad, kernel_size, stride, padding, (1, 1))
    w.include_pad, w.divisor = count_include_pad, max(divisor, 0)
    if kind == F32:
        _planes_typed[float](AVG_BACKWARD, grad, grad_x, &w)
    else:
        _planes_typed[double](AVG_BACKWARD, grad, grad_x, &w)


def adaptive_avg_pool2d_forward(x, out):
    """out(P, OH, OW) = means of x(P, H, W) over PyTorch's adaptive windows."""
    cdef Win w
    kernel = "adaptive_avg_pool2d_forward"
    kind = float_kind(kernel, ("x", "out"), (x, out))
    check_contiguous(kernel, ("x", "out"), (x, out))
    _window(kernel, &w, x, out, (1, 1), (1, 1), (0, 0), (1, 1))
    if (out.shape[1] == 0 or out.shape[2] == 0) and x.shape[1] * x.shape[2] != 0:
        raise ValueError(f"{kernel}: empty output size {out.shape[1:]}")
    if kind == F32:
        _planes_typed[float](ADAPTIVE, x, out, &w)
    else:
        _planes_typed[double](ADAPTIVE, x, out, &w)


def adaptive_avg_pool2d_backward(grad, grad_x):
    """grad_x(P, H, W) = each grad(P, OH, OW) spread evenly over its adaptive window."""
    cdef Win w
    kernel = "adaptive_avg_pool2d_backward"
    kind = float_kind(kernel, ("grad", "grad_x"), (grad, grad_x))
    check_contiguous(kernel, ("grad", "grad_x"), (grad, grad_x))
    _window(kernel, &w, grad_x, grad, (1, 1), (1, 1), (0, 0), (1, 1))
    if kind == F32:
        _planes_typed[float](ADAPTIVE_BACKWARD, grad, grad_x, &w)
    else:
        _planes_typed[double](ADAPTIVE_BACKWARD, grad, grad_x, &w)
