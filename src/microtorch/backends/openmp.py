"""`backends.openmp`: whether microtorch's kernels were compiled with OpenMP."""
from __future__ import annotations


def is_available() -> bool:
    """True when the Cython kernels use OpenMP threads."""
    from .._kernels import openmp_enabled

    return openmp_enabled()
