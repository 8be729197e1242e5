"""Matrix products through the BLAS that SciPy bundles (scipy.linalg.cython_blas).

BLAS is column-major and our arrays are row-major.  A row-major matrix is the
column-major view of its transpose, so C = op(A) @ op(B) is computed as the
column-major product C^T = op(B)^T @ op(A)^T: swap the operands and m/n, keep
the transpose flags.  An F-contiguous operand is the C-contiguous view of its
transpose, so it is handled by flipping its flag.  Nothing is ever copied.
"""
from cython cimport floating
from libc.limits cimport INT_MAX
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dgemm, sgemm

from microtorch._kernels._checks cimport (
    F32, check_contiguous, check_ndim, check_shape, float_kind,
)


cdef void gemm_rm(bint trans_a, bint trans_b, int m, int n, int k,
                  floating alpha, const floating* a, int lda,
                  const floating* b, int ldb,
                  floating beta, floating* c, int ldc) noexcept nogil:
    """Row-major C(m, n) = alpha * op(A) @ op(B) + beta * C, with k >= 1.

    lda/ldb/ldc are row lengths of the stored (C-contiguous) matrices.
    SciPy's declarations are not const-qualified, hence the casts.
    """
    cdef char ta = b"T" if trans_a else b"N"
    cdef char tb = b"T" if trans_b else b"N"
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*>b, &ldb, <float*>a, &lda, &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>b, &ldb, <double*>a, &lda, &beta, c, &ldc)


cdef void _scale(floating* c, Py_ssize_t size, floating beta) noexcept nogil:
    """C = beta * C, except that beta == 0 clears C (BLAS never reads C then)."""
    cdef Py_ssize_t i
    if beta == 0:
        for i in range(size):
            c[i] = 0
    else:
        for i in range(size):
            c[i] = beta * c[i]


cdef int _gemm_typed(const floating[:, ::1] a, bint trans_a, const floating[:, ::1] b,
                     bint trans_b, floating[:, ::1] out, Py_ssize_t k,
                     double alpha, double beta) except -1:
    cdef int m = <int>out.shape[0], n = <int>out.shape[1]
    if m == 0 or n == 0:
        return 0
    with nogil:
        if k == 0:
            _scale(&out[0, 0], <Py_ssize_t>m * n, <floating>beta)
        else:
            gemm_rm(trans_a, trans_b, m, n, <int>k, <floating>alpha,
                    &a[0, 0], <int>a.shape[1], &b[0, 0], <int>b.shape[1],
                    <floating>beta, &out[0, 0], n)
    return 0


cdef tuple _as_c_operand(str kernel, str name, arr, bint trans):
    """Return (C-contiguous array, transpose flag) describing the same op(arr)."""
    check_ndim(kernel, name, arr, 2)
    if arr.flags.c_contiguous:
        return arr, trans
    if arr.flags.f_contiguous:
        return arr.T, not trans
    raise ValueError(f"{kernel}: {name} must be C- or F-contiguous "
                     f"(got strides {arr.strides} for shape {arr.shape})")


cdef int _check_int_dims(str kernel, tuple dims) except -1:
    for d in dims:
        if d > INT_MAX:
            raise ValueError(f"{kernel}: dimension {d} does not fit the BLAS int (max {INT_MAX})")
    return 0


cdef tuple _gemm_plan(str kernel, a, b, out, bint trans_a, bint trans_b):
    """Check a gemm call; return (kind, a, trans_a, b, trans_b, k) with C-contiguous operands."""
    kind = float_kind(kernel, ("a", "b", "out"), (a, b, out))
    check_ndim(kernel, "a", a, 2)
    check_ndim(kernel, "b", b, 2)
    check_ndim(kernel, "out", out, 2)
    check_contiguous(kernel, ("out",), (out,))
    m, k = a.shape[::-1] if trans_a else a.shape
    k_b, n = b.shape[::-1] if trans_b else b.shape
    if k != k_b or out.shape != (m, n):
        raise ValueError(f"{kernel}: op(a) has shape {(m, k)} and op(b) has shape {(k_b, n)}; "
                         f"expected out of shape {(m, n)}, got {out.shape}")
    _check_int_dims(kernel, (m, n, k))
    a, trans_a = _as_c_operand(kernel, "a", a, trans_a)
    b, trans_b = _as_c_operand(kernel, "b", b, trans_b)
    return kind, a, trans_a, b, trans_b, k


cdef int _gemm_run(tuple plan, out, double alpha, double beta) except -1:
    kind, a, trans_a, b, trans_b, k = plan
    if kind == F32:
        _gemm_typed[float](a, trans_a, b, trans_b, out, k, alpha, beta)
    else:
        _gemm_typed[double](a, trans_a, b, trans_b, out, k, alpha, beta)
    return 0


def gemm(a, b, out, bint trans_a=False, bint trans_b=False, double alpha=1.0, double beta=0.0):
    """out = alpha * op(a) @ op(b) + beta * out, where op(m) is m or m.T.

    a and b are 2-D, C- or F-contiguous; out is (m, n) C-contiguous.  beta=1
    accumulates into out (gradient accumulation); with beta=0 out is not read.
    """
    _gemm_run(_gemm_plan("gemm", a, b, out, trans_a, trans_b), out, alpha, beta)


cdef int _fill_rows_typed(const floating[::1] bias, floating[:, ::1] out) except -1:
    cdef Py_ssize_t i, rows = out.shape[0], cols = out.shape[1]
    if rows == 0 or cols == 0:
        return 0
    with nogil:
        for i in range(rows):
            memcpy(&out[i, 0], &bias[0], cols * sizeof(floating))
    return 0


def linear_forward(x, weight, bias, out):
    """out(N, O) = x(N, I) @ weight(O, I).T + bias(O,); bias may be None.

    The bias is broadcast into out, then one gemm accumulates onto it (beta=1).
    """
    kernel = "linear_forward"
    kind = float_kind(kernel, ("x", "weight", "bias?", "out"), (x, weight, bias, out))
    plan = _gemm_plan(kernel, x, weight, out, False, True)
    if bias is None:
        _gemm_run(plan, out, 1.0, 0.0)
        return
    check_ndim(kernel, "bias", bias, 1)
    check_contiguous(kernel, ("bias",), (bias,))
    check_shape(kernel, "bias", bias.shape, (weight.shape[0],))
    if kind == F32:
        _fill_rows_typed[float](bias, out)
    else:
        _fill_rows_typed[double](bias, out)
    _gemm_run(plan, out, 1.0, 1.0)


cdef int _sum_rows_typed(const floating[:, ::1] g, floating[::1] out, bint accumulate) except -1:
    cdef Py_ssize_t i, j, rows = g.shape[0], cols = g.shape[1]
    cdef double* acc
    if cols == 0:
        return 0
    acc = <double*>malloc(cols * sizeof(double))
    if acc == NULL:
        raise MemoryError()
    with nogil:
        for j in range(cols):
            acc[j] = 0
        for i in range(rows):                      # row by row: unit stride, vectorises
            for j in range(cols):
                acc[j] += g[i, j]
        if accumulate:
            for j in range(cols):
                out[j] = out[j] + <floating>acc[j]
        else:
            for j in range(cols):
                out[j] = <floating>acc[j]
    free(acc)
    return 0


def sum_rows(g, out, bint accumulate):
    """out(O,) = g(N, O).sum(axis=0), or out += that when accumulate (bias gradient).

    Sums accumulate in double for both dtypes.
    """
    kernel = "sum_rows"
    kind = float_kind(kernel, ("g", "out"), (g, out))
    check_ndim(kernel, "g", g, 2)
    check_ndim(kernel, "out", out, 1)
    check_contiguous(kernel, ("g", "out"), (g, out))
    check_shape(kernel, "out", out.shape, (g.shape[1],))
    if kind == F32:
        _sum_rows_typed[float](g, out, accumulate)
    else:
        _sum_rows_typed[double](g, out, accumulate)


cdef int _linear_backward_typed(const floating[:, ::1] g, const floating[:, ::1] x,
                                const floating[:, ::1] w, floating[:, ::1] gx,
                                floating[:, ::1] gw, floating[::1] gb,
                                double beta_w, double beta_b) except -1:
    cdef int n = <int>g.shape[0], o = <int>g.shape[1], i = <int>x.shape[1]
    cdef Py_ssize_t r, c
    cdef double* acc = NULL
    if gb is not None and o > 0:
        acc = <double*>malloc(o * sizeof(double))
        if acc == NULL:
            raise MemoryError()
    with nogil:
        if gx is not None and n > 0 and i > 0:
            if o == 0:
                _scale(&gx[0, 0], <Py_ssize_t>n * i, 0)
            else:                                   # gx(N, I) = g(N, O) @ w(O, I)
                gemm_rm(False, False, n, i, o, <floating>1, &g[0, 0], o, &w[0, 0], i,
                        <floating>0, &gx[0, 0], i)
        if gw is not None and o > 0 and i > 0:
            if n == 0:
                _scale(&gw[0, 0], <Py_ssize_t>o * i, <floating>beta_w)
            else:                                   # gw(O, I) = beta gw + g.T @ x
                gemm_rm(True, False, o, i, n, <floating>1, &g[0, 0], o, &x[0, 0], i,
                        <floating>beta_w, &gw[0, 0], i)
        if acc != NULL:                             # gb(O) = beta gb + sum of g's rows
            for c in range(o):
                acc[c] = 0
            for r in range(n):
                for c in range(o):
                    acc[c] += g[r, c]
            for c in range(o):
                gb[c] = <floating>(beta_b * gb[c] + acc[c]) if beta_b != 0 else <floating>acc[c]
    free(acc)
    return 0


def linear_backward(g, x, weight, gx, gw, gb, double beta_w=0.0, double beta_b=0.0):
    """All three gradients of out = x @ weight.T + bias in one call.

    gx(N, I) = g(N, O) @ weight(O, I); gw(O, I) = beta_w * gw + g.T @ x;
    gb(O,) = beta_b * gb + g.sum(axis=0). Any of gx, gw, gb may be None (not computed);
    beta = 1 accumulates into an existing gradient buffer. All arrays C-contiguous.
    """
    kernel = "linear_backward"
    names = ("g", "x", "weight", "gx?", "gw?", "gb?")
    arrays = (g, x, weight, gx, gw, gb)
    kind = float_kind(kernel, names, arrays)
    check_contiguous(kernel, names, arrays)
    check_ndim(kernel, "g", g, 2)
    check_ndim(kernel, "x", x, 2)
    check_ndim(kernel, "weight", weight, 2)
    n, o = g.shape
    i = weight.shape[1]
    check_shape(kernel, "x", x.shape, (n, i))
    check_shape(kernel, "weight", weight.shape, (o, i))
    if gx is not None:
        check_shape(kernel, "gx", gx.shape, (n, i))
    if gw is not None:
        check_shape(kernel, "gw", gw.shape, (o, i))
    if gb is not None:
        check_shape(kernel, "gb", gb.shape, (o,))
    _check_int_dims(kernel, (n, o, i))
    if kind == F32:
        _linear_backward_typed[float](g, x, weight, gx, gw, gb, beta_w, beta_b)
    else:
        _linear_backward_typed[double](g, x, weight, gx, gw, gb, beta_w, beta_b)
