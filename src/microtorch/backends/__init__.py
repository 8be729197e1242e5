"""`microtorch.backends`: the backend flags scripts set or query unconditionally.

There is no cuDNN, CUDA or MPS backend: `is_available()` is False everywhere, and the
flags (`cudnn.benchmark`, `cudnn.deterministic`, `cuda.matmul.allow_tf32`, ...) are kept
with PyTorch's defaults but change nothing.
"""
from . import cuda, cudnn, mps, openmp

__all__ = ["cuda", "cudnn", "mps", "openmp"]
