# Array arguments of the Python-facing kernels, taken in C (the fast path).
#
# Each array argument is taken through the buffer protocol and checked with C
# compares: a C-contiguous (or, for gemm, any-strided) buffer of float32,
# float64 or int64, writable when it is an output.  That costs about 0.05 us an
# argument (typed memoryviews measured 0.11-0.2 us, the old Python-level checks
# about 0.4 us).  Nothing here raises: a refused argument only makes the kernel
# run its Python-level checks (_checks.pxd), which then raise the error that
# names the kernel and the argument.  So the messages cost nothing until a call
# is wrong.
#
# Usage in a `def` kernel:
#
#     cdef mt_args a
#     mt_args_init(&a)
#     try:
#         kind = mt_same(take(&a, 0, x, IN), take(&a, 1, out, OUT))
#         if kind <= 0 or <C compares on a.view[i].shape/ndim>:
#             _explain(...)        # raises
#         with nogil:
#             <work on a.view[i].buf>
#     finally:
#         mt_args_release(&a)
#
# The views stay acquired until the `finally`, so no buffer can be resized or
# freed under the nogil code, and a None argument leaves its view's `buf` NULL:
# the kernels test `buf != NULL` before they pass a pointer on.

cdef extern from *:
    """
    #define MT_MAX_ARGS 8
    enum { MT_BAD = -1, MT_ABSENT = 0, MT_F32 = 1, MT_F64 = 2, MT_I64 = 3 };
    enum { MT_IN = 0, MT_OUT = 1, MT_IN_STRIDED = 2 };

    typedef struct { Py_buffer view[MT_MAX_ARGS]; } mt_args;

    /* n views that hold nothing yet (a None argument leaves its view so). */
    static inline void mt_views_init(Py_buffer* v, Py_ssize_t n) {
        for (Py_ssize_t i = 0; i < n; i++) {
            v[i].obj = NULL;
            v[i].buf = NULL;
            v[i].ndim = -1;
        }
    }

    /* Release every acquired view among n (PyBuffer_Release resets obj to NULL). */
    static inline void mt_views_release(Py_buffer* v, Py_ssize_t n) {
        for (Py_ssize_t i = 0; i < n; i++) {
            if (v[i].obj != NULL) PyBuffer_Release(&v[i]);
        }
    }

    static inline void mt_args_init(mt_args* a) { mt_views_init(a->view, MT_MAX_ARGS); }
    static inline void mt_args_release(mt_args* a) { mt_views_release(a->view, MT_MAX_ARGS); }

    /* The element kind of an acquired view, from its one-letter format. */
    static inline int mt_kind(const Py_buffer* v) {
        const char* f = v->format;
        if (f == NULL || f[0] == 0 || f[1] != 0) return MT_BAD;
        if (f[0] == 'f' && v->itemsize == 4) return MT_F32;
        if (f[0] == 'd' && v->itemsize == 8) return MT_F64;
        if ((f[0] == 'l' || f[0] == 'q') && v->itemsize == 8) return MT_I64;
        return MT_BAD;
    }

    /* Acquire obj into view v.  mode MT_IN: C-contiguous, read-only allowed; MT_OUT:
       C-contiguous and writable; MT_IN_STRIDED: any strides (gemm checks them).
       Returns the kind, MT_ABSENT for None, MT_BAD (no exception left set) when
       the object is not such a buffer. */
    static inline int mt_take_view(Py_buffer* v, PyObject* obj, int mode) {
        int flags = PyBUF_FORMAT | (mode == MT_IN_STRIDED ? PyBUF_STRIDES : PyBUF_C_CONTIGUOUS);
        if (mode == MT_OUT) flags |= PyBUF_WRITABLE;
        if (obj == Py_None) return MT_ABSENT;
        if (PyObject_GetBuffer(obj, v, flags) != 0) {
            PyErr_Clear();
            v->obj = NULL;
            v->buf = NULL;
            v->ndim = -1;
            return MT_BAD;
        }
        return mt_kind(v);
    }

    static inline int mt_take(mt_args* a, int i, PyObject* obj, int mode) {
        return mt_take_view(&a->view[i], obj, mode);
    }

    /* The one kind shared by kinds a and b (MT_ABSENT for none), or MT_BAD. */
    static inline int mt_same(int a, int b) {
        if (a == MT_BAD || b == MT_BAD) return MT_BAD;
        if (a == MT_ABSENT) return b;
        if (b == MT_ABSENT || a == b) return a;
        return MT_BAD;
    }
    """
    enum:
        MT_BAD
        MT_ABSENT
        MT_F32
        MT_F64
        MT_I64
        MT_IN
        MT_OUT
        MT_IN_STRIDED
    ctypedef struct mt_args:
        Py_buffer view[8]
    void mt_views_init(Py_buffer* v, Py_ssize_t n) noexcept
    void mt_views_release(Py_buffer* v, Py_ssize_t n) noexcept
    void mt_args_init(mt_args* a) noexcept
    void mt_args_release(mt_args* a) noexcept
    int mt_take_view(Py_buffer* v, object obj, int mode) noexcept
    int mt_take(mt_args* a, int i, object obj, int mode) noexcept
    int mt_same(int a, int b) noexcept


cdef inline bint is_1d(const Py_buffer* v, Py_ssize_t n) noexcept:
    """v is a 1-D view of n elements."""
    return v.ndim == 1 and v.shape[0] == n


cdef inline bint is_1d_or_absent(const Py_buffer* v, Py_ssize_t n) noexcept:
    """v is absent (None) or a 1-D view of n elements."""
    return v.buf == NULL and v.ndim == -1 or v.ndim == 1 and v.shape[0] == n


cdef inline bint is_2d(const Py_buffer* v, Py_ssize_t rows, Py_ssize_t cols) noexcept:
    return v.ndim == 2 and v.shape[0] == rows and v.shape[1] == cols
