"""Matrix products through the BLAS that SciPy bundles (scipy.linalg.cython_blas).

BLAS is column-major and our arrays are row-major.  A row-major matrix is the
column-major view of its transpose, so C = op(A) @ op(B) is computed as the
column-major product C^T = op(B)^T @ op(A)^T: swap the operands and m/n, keep
the transpose flags.  An F-contiguous operand is the C-contiguous view of its
transpose, so it is handled by flipping its flag.  Nothing is ever copied.

Arguments are checked in C (_args.pxd); only a refused call runs the Python
checks that raise the error naming the kernel and the argument.
"""
from cython cimport floating
from libc.float cimport FLT_MAX
from libc.limits cimport INT_MAX
from libc.math cimport INFINITY, fabsf
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from microtorch._kernels._args cimport (
    MT_F32, MT_F64, MT_IN, MT_IN_STRIDED, MT_OUT, is_1d, is_1d_or_absent, is_2d, mt_args,
    mt_args_init, mt_args_release, mt_same, mt_take, mt_take_view, mt_views_init,
    mt_views_release,
)
from microtorch._kernels._blas cimport gemm_rm
from microtorch._kernels._checks cimport (
    check_contiguous, check_ndim, check_shape, check_writable, float_kind,
)
from microtorch._kernels._fmath cimport row_sum


cdef void _scale(floating* c, Py_ssize_t size, floating beta) noexcept nogil:
    """C = beta * C, except that beta == 0 clears C (BLAS never reads C then)."""
    cdef Py_ssize_t i
    if beta == 0:
        for i in range(size):
            c[i] = 0
    else:
        for i in range(size):
            c[i] = beta * c[i]


# ------------------------------------------------------------ operands

cdef struct Operand:
    # A 2-D operand as BLAS sees it: C-contiguous storage of M (trans False) or of M.T
    # (trans True, for an F-contiguous M); ld is the storage's row length.
    const void* data
    Py_ssize_t rows, cols       # of M as the caller passed it
    int ld
    bint trans


cdef bint _operand(const Py_buffer* v, Operand* op) noexcept:
    """Describe a 2-D C- or F-contiguous view (from MT_IN_STRIDED) as an Operand; False
    if it is neither.  An empty matrix is never read: any layout will do."""
    cdef Py_ssize_t r, c, s0, s1, item = v.itemsize
    if v.ndim != 2:
        return False
    r, c = v.shape[0], v.shape[1]
    s0, s1 = v.strides[0], v.strides[1]
    op.data, op.rows, op.cols = v.buf, r, c
    if r == 0 or c == 0 or (c <= 1 or s1 == item) and (r <= 1 or s0 == c * item):
        op.ld, op.trans = <int>max(c, 1), False
        return True
    if (r <= 1 or s0 == item) and (c <= 1 or s1 == r * item):
        op.ld, op.trans = <int>max(r, 1), True
        return True
    return False


cdef inline bint _fits_int(Py_ssize_t a, Py_ssize_t b, Py_ssize_t c) noexcept:
    return a <= INT_MAX and b <= INT_MAX and c <= INT_MAX


cdef void _gemm_ops(const Operand* a, bint trans_a, const Operand* b, bint trans_b,
                    floating* out, int m, int n, int k, floating alpha,
                    floating beta) noexcept nogil:
    """out(m, n) = alpha op(a) @ op(b) + beta out, for operands of any supported layout."""
    if m == 0 or n == 0:
        return
    if k == 0:
        _scale(out, <Py_ssize_t>m * n, beta)
    else:
        gemm_rm(trans_a != a.trans, trans_b != b.trans, m, n, k, alpha,
                <const floating*>a.data, a.ld, <const floating*>b.data, b.ld, beta, out, n)


# ------------------------------------------------------------ slow path

cdef int _explain_operand(str kernel, str name, arr) except -1:
    check_ndim(kernel, name, arr, 2)
    if not (arr.flags.c_contiguous or arr.flags.f_contiguous):
        raise ValueError(f"{kernel}: {name} must be C- or F-contiguous "
                         f"(got strides {arr.strides} for shape {arr.shape})")
    return 0


cdef int _explain_gemm(str kernel, a, b, out, bint trans_a, bint trans_b) except -1:
    """The slow path of gemm and linear_forward: raise the error of a refused call."""
    float_kind(kernel, ("a", "b", "out"), (a, b, out))
    _explain_operand(kernel, "a", a)
    _explain_operand(kernel, "b", b)
    check_ndim(kernel, "out", out, 2)
    check_contiguous(kernel, ("out",), (out,))
    check_writable(kernel, "out", out)
    m, k = a.shape[::-1] if trans_a else a.shape
    k_b, n = b.shape[::-1] if trans_b else b.shape
    if k != k_b or out.shape != (m, n):
        raise ValueError(f"{kernel}: op(a) has shape {(m, k)} and op(b) has shape {(k_b, n)}; "
                         f"expected out of shape {(m, n)}, got {out.shape}")
    for d in (m, n, k):
        if d > INT_MAX:
            raise ValueError(f"{kernel}: dimension {d} does not fit the BLAS int (max {INT_MAX})")
    raise TypeError(f"{kernel}: unsupported arrays (dtype or memory layout)")


# ------------------------------------------------------------ gemm

cdef int _gemm_checked(str kernel, mt_args* v, a, b, out, bint trans_a, bint trans_b,
                       Operand* oa, Operand* ob, Py_ssize_t* k) except -1:
    """Take (a, b, out) into views 0-2, check them in C; return the float kind."""
    cdef int kind = mt_same(mt_same(mt_take(v, 0, a, MT_IN_STRIDED),
                                    mt_take(v, 1, b, MT_IN_STRIDED)),
                            mt_take(v, 2, out, MT_OUT))
    cdef Py_ssize_t m, n, kb
    if (kind == MT_F32 or kind == MT_F64) and _operand(&v.view[0], oa) \
            and _operand(&v.view[1], ob) and v.view[2].ndim == 2:
        m, k[0] = (oa.cols, oa.rows) if trans_a else (oa.rows, oa.cols)
        kb, n = (ob.cols, ob.rows) if trans_b else (ob.rows, ob.cols)
        if k[0] == kb and is_2d(&v.view[2], m, n) and _fits_int(m, n, kb):
            return kind
    _explain_gemm(kernel, a, b, out, trans_a, trans_b)
    return -1


def gemm(a, b, out, bint trans_a=False, bint trans_b=False, double alpha=1.0, double beta=0.0):
    """out = alpha * op(a) @ op(b) + beta * out, where op(m) is m or m.T.

    a and b are 2-D, C- or F-contiguous; out is (m, n) C-contiguous.  beta=1
    accumulates into out (gradient accumulation); with beta=0 out is not read.
    """
    cdef mt_args v
    cdef Operand oa, ob
    cdef Py_ssize_t k
    cdef int kind, m, n
    mt_args_init(&v)
    try:
        kind = _gemm_checked("gemm", &v, a, b, out, trans_a, trans_b, &oa, &ob, &k)
        m, n = <int>v.view[2].shape[0], <int>v.view[2].shape[1]
        with nogil:
            if kind == MT_F32:
                _gemm_ops(&oa, trans_a, &ob, trans_b, <float*>v.view[2].buf, m, n, <int>k,
                          <float>alpha, <float>beta)
            else:
                _gemm_ops(&oa, trans_a, &ob, trans_b, <double*>v.view[2].buf, m, n, <int>k,
                          alpha, beta)
    finally:
        mt_args_release(&v)


cdef void _fill_rows(const floating* bias, floating* out, Py_ssize_t rows,
                     Py_ssize_t cols) noexcept nogil:
    """Copy bias(cols,) into every row of out(rows, cols)."""
    cdef Py_ssize_t i
    for i in range(rows):
        memcpy(out + i * cols, bias, cols * sizeof(floating))


def linear_forward(x, weight, bias, out):
    """out(N, O) = x(N, I) @ weight(O, I).T + bias(O,); bias may be None.

    x and weight are C- or F-contiguous.  The bias is broadcast into out, then one gemm
    accumulates onto it (beta=1).
    """
    cdef mt_args v
    cdef Operand ox, ow
    cdef Py_ssize_t k
    cdef int kind, m, n
    mt_args_init(&v)
    try:
        kind = _gemm_checked("linear_forward", &v, x, weight, out, False, True, &ox, &ow, &k)
        m, n = <int>v.view[2].shape[0], <int>v.view[2].shape[1]
        if mt_same(kind, mt_take(&v, 3, bias, MT_IN)) != kind \
                or not is_1d_or_absent(&v.view[3], n):
            float_kind("linear_forward", ("x", "weight", "bias?", "out"), (x, weight, bias, out))
            check_ndim("linear_forward", "bias", bias, 1)
            check_contiguous("linear_forward", ("bias",), (bias,))
            check_shape("linear_forward", "bias", bias.shape, (weight.shape[0],))
            raise TypeError("linear_forward: unsupported bias (dtype or memory layout)")
        with nogil:
            if kind == MT_F32:
                if v.view[3].buf != NULL:
                    _fill_rows(<const float*>v.view[3].buf, <float*>v.view[2].buf, m, n)
                _gemm_ops(&ox, False, &ow, True, <float*>v.view[2].buf, m, n, <int>k, 1,
                          1 if v.view[3].buf != NULL else 0)
            else:
                if v.view[3].buf != NULL:
                    _fill_rows(<const double*>v.view[3].buf, <double*>v.view[2].buf, m, n)
                _gemm_ops(&ox, False, &ow, True, <double*>v.view[2].buf, m, n, <int>k, 1,
                          1 if v.view[3].buf != NULL else 0)
    finally:
        mt_args_release(&v)


# ------------------------------------------------------------ bias gradients

cdef int _column_sums(const floating* g, Py_ssize_t rows, Py_ssize_t cols, bint g_trans,
                      floating* out, double beta) except -1 nogil:
    """out(cols,) = beta * out + the column sums of g(rows, cols), summed in double.

    g_trans: g is stored transposed (an F-contiguous g), so each column is a contiguous run.
    beta 0 overwrites out (never reading it)."""
    cdef Py_ssize_t i, j
    cdef double* acc
    if cols == 0:
        return 0
    if g_trans:
        for j in range(cols):
            out[j] = <floating>(beta * out[j] + row_sum(g + j * rows, rows)) if beta != 0 \
                else <floating>row_sum(g + j * rows, rows)
        return 0
    acc = <double*>malloc(cols * sizeof(double))
    if acc == NULL:
        with gil:
            raise MemoryError()
    for j in range(cols):
        acc[j] = 0
    for i in range(rows):                      # row by row: unit stride, vectorises
        for j in range(cols):
            acc[j] += g[i * cols + j]
    for j in range(cols):
        out[j] = <floating>(beta * out[j] + acc[j]) if beta != 0 else <floating>acc[j]
    free(acc)
    return 0


def sum_rows(g, out, bint accumulate):
    """out(O,) = g(N, O).sum(axis=0), or out += that when accumulate (bias gradient).

    Sums accumulate in double for both dtypes.
    """
    cdef mt_args v
    cdef int kind
    cdef Py_ssize_t rows = -1, cols = -1
    mt_args_init(&v)
    try:
        kind = mt_same(mt_take(&v, 0, g, MT_IN), mt_take(&v, 1, out, MT_OUT))
        if v.view[0].ndim == 2:
            rows, cols = v.view[0].shape[0], v.view[0].shape[1]
        if kind != MT_F32 and kind != MT_F64 or rows < 0 or not is_1d(&v.view[1], cols):
            float_kind("sum_rows", ("g", "out"), (g, out))
            check_ndim("sum_rows", "g", g, 2)
            check_ndim("sum_rows", "out", out, 1)
            check_contiguous("sum_rows", ("g", "out"), (g, out))
            check_shape("sum_rows", "out", out.shape, (g.shape[1],))
            check_writable("sum_rows", "out", out)
            raise TypeError("sum_rows: unsupported arrays (dtype or memory layout)")
        with nogil:
            if kind == MT_F32:
                _column_sums(<const float*>v.view[0].buf, rows, cols, False,
                             <float*>v.view[1].buf, 1.0 if accumulate else 0.0)
            else:
                _column_sums(<const double*>v.view[0].buf, rows, cols, False,
                             <double*>v.view[1].buf, 1.0 if accumulate else 0.0)
    finally:
        mt_args_release(&v)


# ------------------------------------------------------------ linear backward

cdef int _linear_backward_typed(const Operand* g, const Operand* x, const Operand* w,
                                floating* gx, floating* gw, floating* gb,
                                double beta_w, double beta_b) except -1 nogil:
    cdef int n = <int>g.rows, o = <int>g.cols, i = <int>x.cols
    if gx != NULL and n > 0 and i > 0:             # gx(N, I) = g(N, O) @ w(O, I)
        _gemm_ops(g, False, w, False, gx, n, i, o, 1, 0)
    if gw != NULL and o > 0 and i > 0:             # gw(O, I) = beta gw + g.T @ x
        _gemm_ops(g, True, x, False, gw, o, i, n, 1, <floating>beta_w)
    if gb != NULL:                                 # gb(O) = beta gb + sum of g's rows
        _column_sums(<const floating*>g.data, n, o, g.trans, gb, beta_b)
    return 0


cdef int _explain_linear_backward(names, arrays) except -1:
    kernel = "linear_backward"
    float_kind(kernel, names, arrays)
    g, x, weight, gx, gw, gb = arrays
    for name, arr in zip(names[:3], arrays[:3]):
        _explain_operand(kernel, name, arr)
    check_contiguous(kernel, names[3:], arrays[3:])
    n, o = g.shape
    i = weight.shape[1]
    check_shape(kernel, "x", x.shape, (n, i))
    check_shape(kernel, "weight", weight.shape, (o, i))
    for name, arr, shape in zip(names[3:], arrays[3:], ((n, i), (o, i), (o,))):
        if arr is not None:
            check_shape(kernel, name.rstrip("?"), arr.shape, shape)
            check_writable(kernel, name.rstrip("?"), arr)
    for d in (n, o, i):
        if d > INT_MAX:
            raise ValueError(f"{kernel}: dimension {d} does not fit the BLAS int (max {INT_MAX})")
    raise TypeError(f"{kernel}: unsupported arrays (dtype or memory layout)")


def linear_backward(g, x, weight, gx, gw, gb, double beta_w=0.0, double beta_b=0.0):
    """All three gradients of out = x @ weight.T + bias in one call.

    gx(N, I) = g(N, O) @ weight(O, I); gw(O, I) = beta_w * gw + g.T @ x;
    gb(O,) = beta_b * gb + g.sum(axis=0). Any of gx, gw, gb may be None (not computed);
    beta = 1 accumulates into an existing gradient buffer.  g, x and weight are C- or
    F-contiguous (transposes are passed to BLAS as flags); gx, gw, gb are C-contiguous.
    """
    cdef mt_args v
    cdef Operand og, ox, ow
    cdef int kind
    cdef Py_ssize_t n = -1, o = -1, i = -1
    mt_args_init(&v)
    try:
        kind = mt_same(mt_same(mt_take(&v, 0, g, MT_IN_STRIDED),
                               mt_same(mt_take(&v, 1, x, MT_IN_STRIDED),
                                       mt_take(&v, 2, weight, MT_IN_STRIDED))),
                       mt_same(mt_take(&v, 3, gx, MT_OUT),
                               mt_same(mt_take(&v, 4, gw, MT_OUT), mt_take(&v, 5, gb, MT_OUT))))
        if _operand(&v.view[0], &og) and _operand(&v.view[1], &ox) \
                and _operand(&v.view[2], &ow):
            n, o, i = og.rows, og.cols, ow.cols
        if (kind != MT_F32 and kind != MT_F64 or n < 0 or ox.rows != n or ox.cols != i
                or ow.rows != o or not _fits_int(n, o, i)
                or v.view[3].ndim != -1 and not is_2d(&v.view[3], n, i)
                or v.view[4].ndim != -1 and not is_2d(&v.view[4], o, i)
                or not is_1d_or_absent(&v.view[5], o)):
            _explain_linear_backward(("g", "x", "weight", "gx?", "gw?", "gb?"),
                                     (g, x, weight, gx, gw, gb))
        with nogil:
            if kind == MT_F32:
                _linear_backward_typed(&og, &ox, &ow, <float*>v.view[3].buf,
                                       <float*>v.view[4].buf, <float*>v.view[5].buf,
                                       beta_w, beta_b)
            else:
                _linear_backward_typed(&og, &ox, &ow, <double*>v.view[3].buf,
                                       <double*>v.view[4].buf, <double*>v.view[5].buf,
                                       beta_w, beta_b)
    finally:
        mt_args_release(&v)


# ------------------------------------------------------------ overflow screen

cdef float _max_abs(const char* p, const Py_buffer* v, int d) noexcept nogil:
    """The largest |element| of the float32 view v from dim d on at p; inf for a NaN."""
    cdef Py_ssize_t i, n = v.shape[d], step = v.strides[d]
    cdef float x, m = 0
    for i in range(n):
        if d + 1 < v.ndim:
            x = _max_abs(p + i * step, v, d + 1)
        else:
            x = fabsf((<const float*>(p + i * step))[0])
        if x != x:
            return INFINITY
        if x > m:
            m = x
    return m


cdef Py_ssize_t _size(const Py_buffer* v) noexcept:
    cdef Py_ssize_t d, n = 1
    for d in range(v.ndim):
        n *= v.shape[d]
    return n


def small_f32_overflow(a, b, Py_ssize_t cells=-1):
    """True when a small float32 product a @ b (1-D or (..., n, k) @ (..., k, p)) may hold a
    term beyond float32's range or meets a NaN/inf: max|a| * max|b| > FLT_MAX, in double.

    Small means at most 121 output `cells` per matrix (n * p by default) and at most 1024
    elements in a and b together.  Anything else (another dtype, an empty operand) is
    False.  One pass over both operands in C, so the common case costs a call.
    """
    cdef Py_buffer v[2]
    cdef Py_ssize_t na, nb
    cdef double ma, mb
    mt_views_init(v, 2)
    try:
        if mt_take_view(&v[0], a, MT_IN_STRIDED) != MT_F32 or v[0].ndim < 1 \
                or mt_take_view(&v[1], b, MT_IN_STRIDED) != MT_F32 or v[1].ndim < 1:
            return False
        if cells < 0:
            cells = (v[0].shape[v[0].ndim - 2] if v[0].ndim > 1 else 1) \
                * (v[1].shape[v[1].ndim - 1] if v[1].ndim > 1 else 1)
        na, nb = _size(&v[0]), _size(&v[1])
        if cells > 121 or na == 0 or nb == 0 or na + nb > 1024:
            return False
        with nogil:
            ma = _max_abs(<const char*>v[0].buf, &v[0], 0)
            mb = _max_abs(<const char*>v[1].buf, &v[1], 0)
        return not (ma * mb <= FLT_MAX)
    finally:
        mt_views_release(v, 2)
