"""`microtorch.linalg`: the norms of `torch.linalg` (vector, matrix, either) and svdvals."""
from __future__ import annotations

from .ops.linalg import linalg_norm as norm
from .ops.linalg import matrix_norm, svdvals, vector_norm

__all__ = ["matrix_norm", "norm", "svdvals", "vector_norm"]
