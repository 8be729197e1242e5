"""2-D convolution (conv1d is the H = 1 case) forward and backward: im2col + BLAS gemm.

For a chunk of nb samples and one group, im2col unfolds the input into a (K, nb * L)
matrix: K = C/groups * kH * kW rows (one per weight tap), L = OH * OW columns per sample
(one per output position).  Then

    forward        y(O/g, nb L)  = W(O/g, K) @ col(K, nb L)  (+ bias)
    weight grad  gW^T(K, O/g)   += col(K, nb L) @ gy(O/g, nb L)^T
    input grad  gcol(K, nb L)    = W(O/g, K)^T @ gy(O/g, nb L), folded back by col2im

(the weight gradient is accumulated transposed, then transposed once: OpenBLAS runs that
product ~20% faster than gy @ col^T).
Large images use one sample per chunk (the gemm reads and writes the NCHW arrays in
place); small ones batch samples so that each gemm is wide enough to run at BLAS speed,
at the price of regrouping y and gy between the (n, o, l) and (o, n, l) layouts.  A 1x1
kernel with stride 1 and no padding needs no unfolding: the input is its own col.

Padding is given for the top/left edges only; the output shape fixes how far the windows
reach past the bottom/right edges (asymmetric 'same' padding needs nothing more).  Input
positions outside the image read as zero.

Batches above a size threshold are spread over OpenMP threads, each with its own buffers
and weight-gradient partial sums.  Parallelism comes from the batch, so SciPy's OpenBLAS is
held at one thread while a call works through several chunks, serially too: its own
threads would only add a synchronisation per small gemm (and oversubscribe the cores
inside a parallel region).  A single chunk (one large image) leaves BLAS its threads.
When the BLAS thread control cannot be found, the kernels stay serial.  All buffers live in
one workspace kept between calls, so a training step allocates (and page-faults) none; a call
that finds the workspace in use by another Python thread runs serially on private buffers
(so only one call at a time changes the BLAS thread count).
"""
import ctypes
import glob
import os
import threading

import numpy as np

from cython cimport floating
from cython.parallel cimport parallel, prange, threadid
from libc.string cimport memcpy, memset

from microtorch._kernels._blas cimport gemm_rm
from microtorch._kernels._checks cimport F32, check_contiguous, check_ndim, float_kind
from microtorch._kernels._fmath cimport row_sum
from microtorch._kernels._threads cimport num_threads
from microtorch._kernels._windows cimport valid_range

# Batches with fewer multiply-adds than this run on one thread: below it, starting the
# OpenMP team and reducing per-thread weight gradients costs more than it saves (measured
# fwd+bwd on the 2-core box: 1.2M multiply-adds gained nothing, 2.5M 1.16x, 9.8M 1.8x).
cdef enum:
    PARALLEL_MIN_MACS = 1 << 22

# Samples are batched into one gemm until it has this many columns (nb * L) ...
cdef enum:
    CHUNK_COLS = 1024
# ... and while the chunk's col buffer stays below this many bytes (cache-sized).
cdef enum:
    CHUNK_BYTES = 1 << 19


cdef struct Geom:
    Py_ssize_t C, H, W          # input channels per group, input height and width
    Py_ssize_t kH, kW, OH, OW
    Py_ssize_t sh, sw, ph, pw, dh, dw
    Py_ssize_t K, L             # col rows (C * kH * kW) and columns per sample (OH * OW)
    Py_ssize_t og, groups       # output channels per group, groups
    Py_ssize_t xs, ys           # elements per input sample and per output sample
    Py_ssize_t nb               # samples per chunk
    bint direct                 # the input is its own col (1x1, stride 1, no padding)


cdef void im2col(const floating* x, floating* col, Py_ssize_t ld, const Geom* g) noexcept nogil:
    """col row (c, i, j), ld apart, gets x[c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] at
    column oh * OW + ow (0 outside the image)."""
    cdef Py_ssize_t c, i, j, oh, ow, lo, hi, rlo, rhi
    cdef floating* dst
    cdef floating* d
    cdef const floating* src
    for c in range(g.C):
        for i in range(g.kH):
            valid_range(i * g.dh - g.ph, g.sh, g.H, g.OH, &rlo, &rhi)
            for j in range(g.kW):
                valid_range(j * g.dw - g.pw, g.sw, g.W, g.OW, &lo, &hi)
                dst = col + ((c * g.kH + i) * g.kW + j) * ld
                memset(dst, 0, rlo * g.OW * sizeof(floating))
                for oh in range(rlo, rhi):
                    src = x + (c * g.H + oh * g.sh + i * g.dh - g.ph) * g.W + j * g.dw - g.pw
                    d = dst + oh * g.OW
                    if g.sw == 1 and lo == 0 and hi == g.OW:
                        for ow in range(g.OW):
                            d[ow] = src[ow]
                    else:
                        for ow in range(lo):
                            d[ow] = 0
                        if g.sw == 1:
                            for ow in range(lo, hi):
                                d[ow] = src[ow]
                        else:
                            for ow in range(lo, hi):
                                d[ow] = src[ow * g.sw]
                        for ow in range(hi, g.OW):
                            d[ow] = 0
                memset(dst + rhi * g.OW, 0, (g.OH - rhi) * g.OW * sizeof(floating))


cdef void col2im(const floating* col, Py_ssize_t ld, floating* gx, const Geom* g) noexcept nogil:
    """gx(C, H, W) += the fold of col: the adjoint of im2col (gx zeroed by the caller)."""
    cdef Py_ssize_t c, i, j, oh, ow, lo, hi, rlo, rhi
    cdef const floating* s
    cdef floating* d
    for c in range(g.C):
        for i in range(g.kH):
            valid_range(i * g.dh - g.ph, g.sh, g.H, g.OH, &rlo, &rhi)
            for j in range(g.kW):
                valid_range(j * g.dw - g.pw, g.sw, g.W, g.OW, &lo, &hi)
                for oh in range(rlo, rhi):
                    s = col + ((c * g.kH + i) * g.kW + j) * ld + oh * g.OW
                    d = gx + (c * g.H + oh * g.sh + i * g.dh - g.ph) * g.W + j * g.dw - g.pw
                    if g.sw == 1:
                        for ow in range(lo, hi):
                            d[ow] += s[ow]
                    else:
                        for ow in range(lo, hi):
                            d[ow * g.sw] += s[ow]


cdef void _forward_chunk(const floating* x, const floating* w, const floating* b, floating* y,
                         Py_ssize_t nb, floating* col, floating* tmp,
                         const Geom* g) noexcept nogil:
    """y of nb samples (x, y point at the first); col and tmp are this thread's scratch."""
    cdef Py_ssize_t grp, s, o, l, ld = nb * g.L, gsize = g.C * g.H * g.W
    cdef const floating* cols
    cdef const floating* src
    cdef floating* yg
    cdef floating bo
    for grp in range(g.groups):
        if g.direct:
            cols = x + grp * gsize
        else:
            for s in range(nb):
                im2col(x + s * g.xs + grp * gsize, col + s * g.L, ld, g)
            cols = col
        if nb == 1:                      # straight into y; the bias rows first (beta = 1)
            yg = y + grp * g.og * g.L
            if b != NULL:
                for o in range(g.og):
                    bo = b[grp * g.og + o]
                    for l in range(g.L):
                        yg[o * g.L + l] = bo
            gemm_rm(False, False, <int>g.og, <int>g.L, <int>g.K, <floating>1, w + grp * g.og * g.K,
                    <int>g.K, cols, <int>g.L, <floating>(1 if b != NULL else 0), yg, <int>g.L)
        else:                            # (o, n, l) scratch, regrouped into (n, o, l) + bias
            gemm_rm(False, False, <int>g.og, <int>ld, <int>g.K, <floating>1, w + grp * g.og * g.K,
                    <int>g.K, cols, <int>ld, <floating>0, tmp, <int>ld)
            for s in range(nb):
                for o in range(g.og):
                    yg = y + s * g.ys + (grp * g.og + o) * g.L
                    src = tmp + o * ld + s * g.L
                    bo = b[grp * g.og + o] if b != NULL else 0
                    for l in range(g.L):
                        yg[l] = src[l] + bo


cdef void _backward_chunk(const floating* gy, const floating* x, const floating* w,
                          floating* gx, floating* gwt, double* gb, Py_ssize_t nb,
                          floating* col, floating* gcol, floating* tmp,
                          const Geom* g) noexcept nogil:
    """nb samples' share of the three gradients: gx written; the weight gradient added,
    transposed, to gwt (one (K, O/g) block per group: col @ gy^T is the faster gemm);
    the bias gradient added to gb in double.  Any of gx, gwt, gb may be NULL."""
    cdef Py_ssize_t grp, s, o, l, ld = nb * g.L, gsize = g.C * g.H * g.W
    cdef const floating* gyc
    cdef const floating* cols
    cdef const floating* src
    if gb != NULL:
        for s in range(nb):
            for o in range(g.og * g.groups):
                gb[o] += row_sum(gy + s * g.ys + o * g.L, g.L)
    for grp in range(g.groups):
        if nb == 1:
            gyc = gy + grp * g.og * g.L
        else:                            # gather this group's gy as (o, n, l)
            for o in range(g.og):
                for s in range(nb):
                    memcpy(tmp + o * ld + s * g.L, gy + s * g.ys + (grp * g.og + o) * g.L,
                           g.L * sizeof(floating))
            gyc = tmp
        if gwt != NULL:
            if g.direct:
                cols = x + grp * gsize
            else:
                for s in range(nb):
                    im2col(x + s * g.xs + grp * gsize, col + s * g.L, ld, g)
                cols = col
            gemm_rm(False, True, <int>g.K, <int>g.og, <int>ld, <floating>1, cols, <int>ld,
                    gyc, <int>ld, <floating>1, gwt + grp * g.K * g.og, <int>g.og)
        if gx != NULL:
            if g.direct:
                gemm_rm(True, False, <int>g.K, <int>g.L, <int>g.og, <floating>1,
                        w + grp * g.og * g.K, <int>g.K, gyc, <int>g.L, <floating>0,
                        gx + grp * gsize, <int>g.L)
            else:
                gemm_rm(True, False, <int>g.K, <int>ld, <int>g.og, <floating>1,
                        w + grp * g.og * g.K, <int>g.K, gyc, <int>ld, <floating>0, gcol, <int>ld)
                for s in range(nb):
                    memset(gx + s * g.xs + grp * gsize, 0, gsize * sizeof(floating))
                    col2im(gcol + s * g.L, ld, gx + s * g.xs + grp * gsize, g)


# ------------------------------------------------------ workspace, BLAS threads

cdef object _ws_lock = threading.Lock()
cdef object _ws = np.empty(0, dtype=np.uint8)


cdef object _buffer(Py_ssize_t nbytes, bint owned):
    """A byte buffer of at least `nbytes`: the shared workspace (grown as needed) when this
    call holds `_ws_lock`, else a private one (another thread is using the workspace)."""
    global _ws
    if not owned:
        return np.empty(nbytes, dtype=np.uint8)
    if _ws.shape[0] < nbytes:
        _ws = np.empty(nbytes, dtype=np.uint8)
    return _ws


cdef inline Py_ssize_t _aligned(Py_ssize_t nbytes) noexcept nogil:
    return (nbytes + 63) // 64 * 64


def _find_blas_threads():
    """(get, set) of the thread count of the OpenBLAS that SciPy bundles, or None."""
    import scipy
    root = os.path.dirname(scipy.__file__)
    for pattern in ("../scipy.libs/*openblas*", ".dylibs/*openblas*", "../scipy.libs/*.dll"):
        for path in glob.glob(os.path.join(root, pattern)):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for prefix in ("scipy_openblas", "openblas"):
                for suffix in ("64_", ""):
                    get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                    set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                    if get is not None and set_ is not None:
                        get.restype = ctypes.c_int
                        set_.argtypes = [ctypes.c_int]
                        return get, set_
    return None


cdef object _blas_threads = None


cdef int _serial_blas():
    """Hold SciPy's OpenBLAS at one thread; return the count to restore (0: none to
    restore, -1: thread control not found, so stay serial)."""
    global _blas_threads
    if _blas_threads is None:
        _blas_threads = _find_blas_threads() or False
    if _blas_threads is False:
        return -1
    get, set_ = _blas_threads
    cdef int previous = get()
    if previous == 1:
        return 0
    set_(1)
    return previous


cdef inline int _threads_for(Py_ssize_t chunks, Py_ssize_t macs) noexcept nogil:
    cdef int t = num_threads()
    if t < 2 or chunks < 2 or macs < PARALLEL_MIN_MACS:
        return 1
    return t if t < chunks else <int>chunks


# ------------------------------------------------------------------- entries

cdef int _geometry(str kernel, Geom* g, x, weight, out, Py_ssize_t groups, tuple stride,
                   tuple padding, tuple dilation, bint backward) except -1:
    """Check shapes and settings (with the GIL) and fill `g`."""
    check_ndim(kernel, "x", x, 4)
    check_ndim(kernel, "weight", weight, 4)
    check_ndim(kernel, "grad" if backward else "out", out, 4)
    n, c, h, w_ = x.shape
    o, cg, kh, kw = weight.shape
    if groups < 1 or c != cg * groups or o % groups != 0:
        raise ValueError(f"{kernel}: x of shape {x.shape} and weight of shape {weight.shape} "
                         f"do not match groups={groups}")
    if out.shape[0] != n or out.shape[1] != o:
        raise ValueError(f"{kernel}: {'grad' if backward else 'out'} has shape {out.shape}, "
                         f"expected ({n}, {o}, OH, OW)")
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    if min(sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        raise ValueError(f"{kernel}: stride {stride} and dilation {dilation} must be positive "
                         f"and padding {padding} non-negative")
    g.C, g.H, g.W, g.kH, g.kW = cg, h, w_, kh, kw
    g.OH, g.OW = out.shape[2], out.shape[3]
    g.sh, g.sw, g.ph, g.pw, g.dh, g.dw = sh, sw, ph, pw, dh, dw
    g.K = cg * kh * kw
    g.L = g.OH * g.OW
    g.og, g.groups = o // groups, groups
    g.xs, g.ys = c * h * w_, o * g.L
    g.direct = (kh == 1 and kw == 1 and sh == 1 and sw == 1 and ph == 0 and pw == 0
                and g.OH == h and g.OW == w_)
    g.nb = 1
    if not g.direct and g.L > 0:
        g.nb = max(1, min(n, CHUNK_COLS // g.L, CHUNK_BYTES // max(1, g.K * g.L * 8)))
    if max(g.K, g.nb * g.L, o) > 2147483647:
        raise ValueError(f"{kernel}: a dimension does not fit the BLAS int")
    return 0


cdef int _forward_typed(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] w,
                        const floating[::1] bias, floating[:, :, :, ::1] y, Geom g) except -1:
    cdef Py_ssize_t c, n, N = x.shape[0], O = w.shape[0]
    cdef Py_ssize_t chunks = (N + g.nb - 1) // g.nb if N else 0
    cdef Py_ssize_t cbytes = 0 if g.direct else _aligned(g.K * g.nb * g.L * sizeof(floating))
    cdef Py_ssize_t tbytes = 0 if g.nb == 1 else _aligned(g.og * g.nb * g.L * sizeof(floating))
    cdef Py_ssize_t per = cbytes + tbytes
    cdef int t = 0, threads, restore = 0
    cdef bint owned = False
    cdef unsigned char[::1] ws
    cdef unsigned char* base
    cdef const floating* b = NULL
    if N == 0 or O == 0 or g.L == 0:
        return 0
    if g.K == 0:
        for n in range(N):
            for c in range(O):
                y[n, c, :, :] = bias[c] if bias is not None else 0
        return 0
    if bias is not None:
        b = &bias[0]
    threads = _threads_for(chunks, N * O * g.K * g.L // g.groups)
    owned = _ws_lock.acquire(False)
    try:
        if not owned:
            threads = 1
        elif chunks > 1:
            restore = _serial_blas()
            if restore < 0:
                threads = 1
        ws = _buffer(max(per * threads, 64), owned)
        base = &ws[0]
        with nogil:
            if threads == 1:
                for c in range(chunks):
                    n = c * g.nb
                    _forward_chunk(&x[0, 0, 0, 0] + n * g.xs, &w[0, 0, 0, 0], b,
                                   &y[0, 0, 0, 0] + n * g.ys, min(g.nb, N - n),
                                   <floating*>base, <floating*>(base + cbytes), &g)
            else:
                with parallel(num_threads=threads):
                    t = threadid()
                    for c in prange(chunks, schedule="static"):
                        _forward_chunk(&x[0, 0, 0, 0] + c * g.nb * g.xs, &w[0, 0, 0, 0], b,
                                       &y[0, 0, 0, 0] + c * g.nb * g.ys,
                                       min(g.nb, N - c * g.nb), <floating*>(base + t * per),
                                       <floating*>(base + t * per + cbytes), &g)
    finally:
        if owned:
            _ws_lock.release()
        if restore > 0:
            _blas_threads[1](restore)
    return 0


def conv2d_forward(x, weight, bias, out, tuple stride, tuple padding, tuple dilation,
                   Py_ssize_t groups):
    """out(N, O, OH, OW) = conv2d(x(N, C, H, W), weight(O, C/groups, kH, kW)) + bias(O,).

    stride/padding/dilation are (h, w) pairs; padding is the top/left padding, the out
    shape sets the bottom/right one.  bias may be None.  All arrays C-contiguous, one
    float dtype.
    """
    cdef Geom g
    kernel = "conv2d_forward"
    names = ("x", "weight", "bias?", "out")
    arrays = (x, weight, bias, out)
    kind = float_kind(kernel, names, arrays)
    check_contiguous(kernel, names, arrays)
    _geometry(kernel, &g, x, weight, out, groups, stride, padding, dilation, False)
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"{kernel}: bias has shape {bias.shape}, expected ({weight.shape[0]},)")
    if kind == F32:
        _forward_typed[float](x, weight, bias, out, g)
    else:
        _forward_typed[double](x, weight, bias, out, g)


cdef void _reduce_weight_grad(floating* gw, const unsigned char* base, Py_ssize_t per,
                              Py_ssize_t offset, int threads, const Geom* g,
                              double beta_w) noexcept nogil:
    """gw(O, K) = beta_w * gw + the sum of the threads' transposed partials."""
    cdef Py_ssize_t grp, o, k, block = g.K * g.og
    cdef int r
    cdef floating acc
    cdef const floating* part
    for grp in range(g.groups):
        for o in range(g.og):
            for k in range(g.K):
                acc = <floating>(beta_w * gw[(grp * g.og + o) * g.K + k]) if beta_w != 0 else 0
                for r in range(threads):
                    part = <const floating*>(base + r * per + offset)
                    acc = acc + part[grp * block + k * g.og + o]
                gw[(grp * g.og + o) * g.K + k] = acc


cdef int _backward_typed(const floating[:, :, :, ::1] gy, const floating[:, :, :, ::1] x,
                         const floating[:, :, :, ::1] w, floating[:, :, :, ::1] gx,
                         floating[:, :, :, ::1] gw, floating[::1] gb, Geom g,
                         double beta_w, double beta_b) except -1:
    cdef Py_ssize_t c, i, N = x.shape[0], O = w.shape[0], wsize = O * g.K
    cdef Py_ssize_t chunks = (N + g.nb - 1) // g.nb if N else 0
    cdef bint has_x = gx is not None and N * g.xs > 0
    cdef bint has_w = gw is not None and wsize > 0
    cdef bint has_b = gb is not None
    cdef Py_ssize_t col_bytes = _aligned(g.K * g.nb * g.L * sizeof(floating))
    cdef Py_ssize_t cbytes = col_bytes if has_w and not g.direct else 0
    cdef Py_ssize_t gbytes = col_bytes if has_x and not g.direct else 0
    cdef Py_ssize_t tbytes = 0 if g.nb == 1 else _aligned(g.og * g.nb * g.L * sizeof(floating))
    cdef Py_ssize_t bbytes = _aligned(O * sizeof(double))
    cdef Py_ssize_t wbytes = _aligned(wsize * sizeof(floating)) if has_w else 0
    # per thread: bias sums (doubles), transposed weight-gradient partial, col, gcol, gy
    cdef Py_ssize_t per = bbytes + wbytes + cbytes + gbytes + tbytes
    cdef int t = 0, r, threads, restore = 0
    cdef bint owned = False
    cdef unsigned char[::1] ws
    cdef unsigned char* base
    cdef unsigned char* mine = NULL
    cdef floating* gxp = &gx[0, 0, 0, 0] if has_x else NULL
    cdef floating* gwp = &gw[0, 0, 0, 0] if has_w else NULL
    cdef double* gbp
    cdef double* bpart
    cdef floating bw = <floating>beta_w
    if N == 0 or O == 0 or g.L == 0 or g.K == 0:       # empty sums: zero gradients
        if has_x:
            gx[...] = 0
        for i in range(wsize if has_w else 0):
            gwp[i] = bw * gwp[i] if beta_w != 0 else 0
        for i in range(O if has_b else 0):
            gb[i] = <floating>(beta_b * gb[i]) if beta_b != 0 else 0
        return 0
    threads = _threads_for(chunks, N * O * g.K * g.L // g.groups * (2 if has_x else 1))
    owned = _ws_lock.acquire(False)
    try:
        if not owned:
            threads = 1
        elif chunks > 1:
            restore = _serial_blas()
            if restore < 0:
                threads = 1
        ws = _buffer(per * threads, owned)
        base = &ws[0]
        with nogil:
            if threads == 1:
                memset(base, 0, bbytes + wbytes)
                for c in range(chunks):
                    i = c * g.nb
                    _backward_chunk(&gy[0, 0, 0, 0] + i * g.ys, &x[0, 0, 0, 0] + i * g.xs,
                                    &w[0, 0, 0, 0], gxp + i * g.xs if has_x else NULL,
                                    <floating*>(base + bbytes) if has_w else NULL,
                                    <double*>base if has_b else NULL, min(g.nb, N - i),
                                    <floating*>(base + bbytes + wbytes),
                                    <floating*>(base + bbytes + wbytes + cbytes),
                                    <floating*>(base + bbytes + wbytes + cbytes + gbytes), &g)
            else:
                with parallel(num_threads=threads):
                    t = threadid()
                    mine = base + t * per
                    memset(mine, 0, bbytes + wbytes)
                    for c in prange(chunks, schedule="static"):
                        _backward_chunk(
                            &gy[0, 0, 0, 0] + c * g.nb * g.ys, &x[0, 0, 0, 0] + c * g.nb * g.xs,
                            &w[0, 0, 0, 0], gxp + c * g.nb * g.xs if has_x else NULL,
                            <floating*>(mine + bbytes) if has_w else NULL,
                            <double*>mine if has_b else NULL, min(g.nb, N - c * g.nb),
                            <floating*>(mine + bbytes + wbytes),
                            <floating*>(mine + bbytes + wbytes + cbytes),
                            <floating*>(mine + bbytes + wbytes + cbytes + gbytes), &g)
                for r in range(1, threads if has_b else 1):
                    gbp = <double*>base
                    bpart = <double*>(base + r * per)
                    for i in range(O):
                        gbp[i] += bpart[i]
            if has_w:
                _reduce_weight_grad(gwp, base, per, bbytes, threads, &g, beta_w)
            if has_b:
                gbp = <double*>base
                for i in range(O):
                    gb[i] = <floating>(beta_b * gb[i] + gbp[i]) if beta_b != 0 else <floating>gbp[i]
    finally:
        if owned:
            _ws_lock.release()
        if restore > 0:
            _blas_threads[1](restore)
    return 0


def conv2d_backward(grad, x, weight, grad_x, grad_w, grad_b, tuple stride, tuple padding,
                    tuple dilation, Py_ssize_t groups, double beta_w=0.0, double beta_b=0.0):
    """Gradients of conv2d_forward in one call.

    grad_x(N, C, H, W) = the input gradient; grad_w = beta_w * grad_w + the weight
    gradient; grad_b(O,) = beta_b * grad_b + grad summed over N, OH, OW.  Any of grad_x,
    grad_w, grad_b may be None (not computed).  All arrays C-contiguous, one float dtype.
    """
    cdef Geom g
    kernel = "conv2d_backward"
    names = ("grad", "x", "weight", "grad_x?", "grad_w?", "grad_b?")
    arrays = (grad, x, weight, grad_x, grad_w, grad_b)
    kind = float_kind(kernel, names, arrays)
    check_contiguous(kernel, names, arrays)
    _geometry(kernel, &g, x, weight, grad, groups, stride, padding, dilation, True)
    for name, arr, shape in (("grad_x", grad_x, x.shape), ("grad_w", grad_w, weight.shape),
                             ("grad_b", grad_b, (weight.shape[0],))):
        if arr is not None and arr.shape != shape:
            raise ValueError(f"{kernel}: {name} has shape {arr.shape}, expected {shape}")
    if kind == F32:
        _backward_typed[float](grad, x, weight, grad_x, grad_w, grad_b, g, beta_w, beta_b)
    else:
        _backward_typed[double](grad, x, weight, grad_x, grad_w, grad_b, g, beta_w, beta_b)
