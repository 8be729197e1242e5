"""Turning op arguments into arrays with PyTorch's dtype promotion."""
from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype
from .._tensor import Tensor


def to_tensor(x) -> Tensor:
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


def promote_arrays(x: np.ndarray, y):
    """(x, y) promoted as PyTorch does; `y` is an array or a Python number (a weak scalar)."""
    if type(y) is np.ndarray:
        if x.dtype != y.dtype:
            dt = _dtype.promote(x, y)
            return x.astype(dt, copy=False), y.astype(dt, copy=False)
        return x, y
    dt = _dtype.promote_scalar(x, y)
    return (x if dt == x.dtype else x.astype(dt)), y


def operand(b):
    """A binary op's second operand as `apply` takes it: a Tensor or a Python number."""
    if isinstance(b, Tensor):
        return b
    if isinstance(b, np.generic):
        b = b.item()
    if isinstance(b, numbers.Number) and not isinstance(b, complex):
        return b
    return to_tensor(b)


def float_array(x: np.ndarray) -> np.ndarray:
    """`x` itself if floating, else converted to the default float dtype (as PyTorch's
    unary float ops do on integer tensors)."""
    return x if x.dtype.kind == "f" else x.astype(_dtype.default_np())


def require_tensor(x, op: str, arg: str = "input", position: int = 1) -> None:
    """TypeError like PyTorch's argument parser when `x` is not a Tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{op}(): argument '{arg}' (position {position}) must be Tensor, not "
            f"{type(x).__name__}"
        )
