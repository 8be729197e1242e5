# Argument checks of the Python-facing kernels, in Python: the slow path.
#
# A kernel first takes its arrays in C (_args.pxd).  Only when those C checks
# refuse a call does it run these, which raise the ordinary Python exception
# naming the kernel and the argument (TypeError for dtypes, ValueError for
# shapes and layouts) before any pointer is touched.  They are `cdef inline`
# functions in a .pxd: each module compiles its own copy and no module imports
# another at run time for them.

cdef enum:
    F32 = 1
    F64 = 2

# Inputs with fewer elements than this run serially: below it the cost of
# waking the OpenMP team exceeds the work (measured in docs/cython-kernels.md).
cdef enum:
    PARALLEL_MIN = 65536

# Memory-bound streams (relu, the activation backwards) gain little from a
# second thread (one core nearly saturates memory bandwidth) and lose badly
# when the machine is busy, so they go parallel only for very large buffers.
cdef enum:
    PARALLEL_MIN_STREAMING = 1 << 21

cdef enum:
    REDUCE_NONE = 0
    REDUCE_MEAN = 1
    REDUCE_SUM = 2


cdef inline str _describe_dtypes(tuple arrays):
    names = [str(getattr(a, "dtype", type(a).__name__)) for a in arrays if a is not None]
    last = names.pop()
    return last if not names else ", ".join(names) + " and " + last


cdef inline int float_kind(str kernel, tuple names, tuple arrays) except -1:
    """Return F32 or F64 when every array has that one float dtype.

    Otherwise raise TypeError naming the kernel and the dtypes it got. Only arguments whose
    name ends in "?" (optional weights and biases) may be None: a None anywhere else would
    reach the nogil code as a NULL buffer.
    """
    cdef int kind = 0
    cdef int this
    for name, a in zip(names, arrays):
        if a is None:
            if not name.endswith("?"):
                raise TypeError(f"{kernel}: {name} must be a numpy array, not None")
            continue
        dtype = getattr(a, "dtype", None)
        if dtype is None or not hasattr(a, "flags"):
            raise TypeError(f"{kernel}: expected a numpy array for {name.rstrip('?')}, "
                            f"got {type(a).__name__}")
        char = dtype.char
        this = F32 if char == "f" else F64 if char == "d" else 0
        if this == 0 or (kind != 0 and this != kind):
            raise TypeError(f"{kernel}: expected float32 or float64 arrays of one dtype, "
                            f"got {_describe_dtypes(arrays)}")
        kind = this
    return kind


cdef inline int check_contiguous(str kernel, tuple names, tuple arrays) except -1:
    """Raise ValueError unless every non-None array is C-contiguous."""
    for name, a in zip(names, arrays):
        if a is not None and not a.flags.c_contiguous:
            raise ValueError(f"{kernel}: {name.rstrip('?')} must be C-contiguous "
                             f"(got strides {a.strides} for shape {a.shape})")
    return 0


cdef inline int check_writable(str kernel, str name, object a) except -1:
    """Raise ValueError if an output array is read-only."""
    if a is not None and not a.flags.writeable:
        raise ValueError(f"{kernel}: {name} is read-only")
    return 0


cdef inline int check_ndim(str kernel, str name, object a, int ndim) except -1:
    if a is not None and a.ndim != ndim:
        raise ValueError(f"{kernel}: {name.rstrip('?')} must be {ndim}-D, got shape {a.shape}")
    return 0


cdef inline int check_target(str kernel, object target) except -1:
    """Class-index targets are C-contiguous 1-D int64 arrays."""
    dtype = getattr(target, "dtype", None)
    if dtype is None or dtype.kind != "i" or dtype.itemsize != 8:
        got = type(target).__name__ if dtype is None else str(dtype)
        raise TypeError(f"{kernel}: expected an int64 target, got {got}")
    check_ndim(kernel, "target", target, 1)
    check_contiguous(kernel, ("target",), (target,))
    return 0


cdef inline int check_shape(str kernel, str name, tuple shape, tuple expected) except -1:
    if shape != expected:
        raise ValueError(f"{kernel}: {name.rstrip('?')} has shape {shape}, expected {expected}")
    return 0


cdef inline int check_reduction(str kernel, int reduction) except -1:
    if reduction != REDUCE_NONE and reduction != REDUCE_MEAN and reduction != REDUCE_SUM:
        raise ValueError(f"{kernel}: reduction must be 0 (none), 1 (mean) or 2 (sum), "
                         f"got {reduction}")
    return 0


cdef inline Py_ssize_t reduced_len(int reduction, Py_ssize_t n):
    """Length of a loss output (and of its incoming gradient) for a reduction."""
    return n if reduction == REDUCE_NONE else 1
