"""Compiled kernels of microtorch (Cython, float32/float64, GIL released).

Each kernel writes into an ``out`` array that the caller preallocated; see the
module docstrings for the exact contracts.  The matmul kernels pull in SciPy's
BLAS, so they are imported on first use to keep ``import microtorch`` light.
"""
import importlib.machinery
import importlib.util
import os
import sys

from microtorch._kernels._elementwise import (
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from microtorch._kernels._losses import (
    REDUCTION_MEAN,
    REDUCTION_NONE,
    REDUCTION_SUM,
    bce_backward,
    bce_forward,
    bce_with_logits_backward,
    bce_with_logits_forward,
    cross_entropy_backward,
    cross_entropy_forward,
    cross_entropy_prob_backward,
    cross_entropy_prob_forward,
    l1_backward,
    l1_forward,
    mse_backward,
    mse_forward,
    nll_backward,
    nll_forward,
)
from microtorch._kernels._pool import (
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from microtorch._kernels._softmax import (
    log_softmax_backward,
    log_softmax_forward,
    softmax_backward,
    softmax_forward,
)
from microtorch._kernels._threads import get_num_threads, openmp_enabled, set_num_threads

_MATMUL = ("gemm", "linear_backward", "linear_forward", "small_f32_overflow", "sum_rows")
_CONV = ("conv2d_backward", "conv2d_forward")

__all__ = [
    "REDUCTION_MEAN", "REDUCTION_NONE", "REDUCTION_SUM",
    "adaptive_avg_pool2d_backward", "adaptive_avg_pool2d_forward", "avg_pool2d_backward",
    "avg_pool2d_forward", "conv2d_backward", "conv2d_forward",
    "max_pool2d_backward", "max_pool2d_forward",
    "bce_backward", "bce_forward", "bce_with_logits_backward", "bce_with_logits_forward",
    "cross_entropy_backward", "cross_entropy_forward",
    "cross_entropy_prob_backward", "cross_entropy_prob_forward",
    "gemm", "get_num_threads", "l1_backward", "l1_forward", "linear_backward", "linear_forward",
    "log_softmax_backward", "log_softmax_forward", "mse_backward", "mse_forward",
    "nll_backward", "nll_forward", "openmp_enabled", "relu_backward", "relu_forward",
    "set_num_threads", "sigmoid_backward", "sigmoid_forward", "small_f32_overflow",
    "softmax_backward", "softmax_forward", "sum_rows", "tanh_backward", "tanh_forward",
]


def _preload_scipy_blas() -> None:
    """Load SciPy's BLAS table, ``scipy.linalg.cython_blas``, without scipy.linalg itself.

    The BLAS kernels cimport that module.  Imported the usual way it runs
    scipy/linalg/__init__.py first, which imports all of scipy.linalg: about 200 modules and
    20 MB of memory, most of what a small training run needs beyond numpy.  Loaded from
    its file it costs about 45 modules and 5 MB, and it is the same module SciPy's own
    imports later find in sys.modules.  If the file cannot be found, the usual import runs
    when the kernels are imported.
    """
    name = "scipy.linalg.cython_blas"
    if name in sys.modules:
        return
    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.submodule_search_locations:
        return
    folder = os.path.join(spec.submodule_search_locations[0], "linalg")
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    try:
        files = [f for f in os.listdir(folder) if f.startswith("cython_blas.") and f.endswith(suffixes)]
    except OSError:
        return
    if files:
        blas = importlib.util.spec_from_file_location(name, os.path.join(folder, files[0]))
        module = importlib.util.module_from_spec(blas)
        sys.modules[name] = module
        try:
            blas.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise


def __getattr__(name):
    """Import the BLAS-backed kernels (and SciPy's BLAS) only when first asked for."""
    if name in _MATMUL or name in _CONV:
        _preload_scipy_blas()
        from microtorch._kernels import _conv, _matmul
        value = getattr(_matmul if name in _MATMUL else _conv, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MATMUL) | set(_CONV))
