# cython: language_level=3, boundscheck=False, wraparound=False
"""The replay loop of `microtorch.compile`: run a recorded list of kernel calls.

Each step is a `(callable, args)` pair whose argument tuple was built once, over buffers
that persist between calls; the loop calls each one through the C API, creating no Python
object per step beyond what the callable itself returns.
"""

cdef extern from "Python.h":
    ctypedef struct PyObject
    object PyObject_Call(object callable, object args, PyObject* kwargs)


def run(list steps):
    """Call `fn(*args)` for every `(fn, args)` in `steps`, in order; results are dropped."""
    cdef Py_ssize_t i
    cdef tuple step
    for i in range(len(steps)):
        step = <tuple>steps[i]
        PyObject_Call(step[0], <tuple>step[1], NULL)
