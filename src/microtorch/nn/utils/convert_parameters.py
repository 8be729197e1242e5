"""All parameters as one flat vector, and back."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...ops import join as _join


def parameters_to_vector(parameters) -> Tensor:
    """The parameters flattened and concatenated (differentiable, like torch.cat)."""
    return _join.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of `vec` into the parameters (in place)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    data = vec._data
    offset = 0
    for p in parameters:
        n = p._data.size
        np.copyto(p._data, data[offset:offset + n].reshape(p._data.shape), casting="unsafe")
        p._version[0] += 1
        offset += n
