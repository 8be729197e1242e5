# Row-major GEMM over SciPy's BLAS, for kernels that call BLAS from C (conv, ...).
#
# BLAS is column-major and our buffers are row-major.  A row-major matrix is the
# column-major view of its transpose, so C = op(A) @ op(B) is computed as the
# column-major product C^T = op(B)^T @ op(A)^T: swap the operands and m/n, keep
# the transpose flags.  SciPy's declarations are not const-qualified, hence the casts.

from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm


cdef inline void gemm_rm(bint trans_a, bint trans_b, int m, int n, int k,
                         floating alpha, const floating* a, int lda,
                         const floating* b, int ldb,
                         floating beta, floating* c, int ldc) noexcept nogil:
    """Row-major C(m, n) = alpha * op(A) @ op(B) + beta * C, with m, n, k >= 1.

    lda/ldb/ldc are the row lengths of the stored matrices."""
    cdef char ta = b"T" if trans_a else b"N"
    cdef char tb = b"T" if trans_b else b"N"
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*>b, &ldb, <float*>a, &lda, &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>b, &ldb, <double*>a, &lda, &beta, c, &ldc)
