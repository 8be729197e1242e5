"""Compiled kernels of microtorch (Cython, float32/float64, GIL released).

Each kernel writes into an ``out`` array that the caller preallocated; see the
module docstrings for the exact contracts.  The matmul kernels pull in SciPy's
BLAS, so they are imported on first use to keep ``import microtorch`` light.
"""
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
from microtorch._kernels._softmax import (
    log_softmax_backward,
    log_softmax_forward,
    softmax_backward,
    softmax_forward,
)
from microtorch._kernels._threads import get_num_threads, openmp_enabled, set_num_threads

_MATMUL = ("gemm", "linear_backward", "linear_forward", "sum_rows")

__all__ = [
    "REDUCTION_MEAN", "REDUCTION_NONE", "REDUCTION_SUM",
    "bce_backward", "bce_forward", "bce_with_logits_backward", "bce_with_logits_forward",
    "cross_entropy_backward", "cross_entropy_forward",
    "cross_entropy_prob_backward", "cross_entropy_prob_forward",
    "gemm", "get_num_threads", "l1_backward", "l1_forward", "linear_backward", "linear_forward",
    "log_softmax_backward", "log_softmax_forward", "mse_backward", "mse_forward",
    "nll_backward", "nll_forward", "openmp_enabled", "relu_backward", "relu_forward",
    "set_num_threads", "sigmoid_backward", "sigmoid_forward", "softmax_backward",
    "softmax_forward", "sum_rows", "tanh_backward", "tanh_forward",
]


def __getattr__(name):
    """Import the BLAS-backed kernels (and SciPy) only when first asked for."""
    if name in _MATMUL:
        from microtorch._kernels import _matmul
        value = getattr(_matmul, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MATMUL))
