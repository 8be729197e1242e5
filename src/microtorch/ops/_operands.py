"""Turning op arguments into arrays with PyTorch's dtype promotion."""
from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype
from .._tensor import Tensor


def to_tensor(x, like: np.ndarray | None = None) -> Tensor:
    """A Tensor for `x` (a Tensor is returned as is; arrays and lists are converted)."""
    if isinstance(x, Tensor):
        return x
    from .._factories import tensor

    return tensor(x)


def binary(a: Tensor, b):
    """(x, y, b_tensor) for a binary op: arrays promoted as PyTorch does.

    `b` may be a Tensor, a Python/numpy scalar (returned as a Python scalar with
    `b_tensor` None, so numpy treats it as a weak scalar) or array-like.
    """
    x = a._data
    if isinstance(b, Tensor):
        y = b._data
        if x.dtype != y.dtype:
            dt = _dtype.promote(x, y)
            x = x.astype(dt, copy=False)
            y = y.astype(dt, copy=False)
        return x, y, b
    if isinstance(b, (np.generic, np.ndarray)) and np.ndim(b) == 0 and not isinstance(b, np.ndarray):
        b = b.item()
    if isinstance(b, numbers.Number) and not isinstance(b, complex):
        dt = _dtype.promote_scalar(x, b)
        if dt != x.dtype:
            x = x.astype(dt)
        return x, b, None
    return binary(a, to_tensor(b))


def is_float(x: np.ndarray) -> bool:
    return x.dtype.kind == "f"


def float_array(x: np.ndarray) -> np.ndarray:
    """`x` itself if floating, else converted to the default float dtype (as PyTorch's
    unary float ops do on integer tensors)."""
    return x if x.dtype.kind == "f" else x.astype(_dtype.default_np())
