"""Comparisons and logical ops (not differentiable): ==, <, isnan, logical_not, allclose, ..."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ._operands import binary, to_tensor


def compare(input: Tensor, other, fn) -> Tensor:
    """A bool tensor of fn(input, other) with broadcasting."""
    try:
        x, y, _ = binary(input, other)
    except (TypeError, ValueError, RuntimeError):
        if fn is np.equal:
            return False
        if fn is np.not_equal:
            return True
        raise
    return Tensor._wrap(np.asarray(fn(x, y)))


def eq(input: Tensor, other) -> Tensor:
    return compare(input, other, np.equal)


def ne(input: Tensor, other) -> Tensor:
    return compare(input, other, np.not_equal)


def lt(input: Tensor, other) -> Tensor:
    return compare(input, other, np.less)


def le(input: Tensor, other) -> Tensor:
    return compare(input, other, np.less_equal)


def gt(input: Tensor, other) -> Tensor:
    return compare(input, other, np.greater)


def ge(input: Tensor, other) -> Tensor:
    return compare(input, other, np.greater_equal)


def bitwise(input: Tensor, other, fn) -> Tensor:
    """&, |, ^ on bool or integer tensors."""
    x, y, _ = binary(input, other)
    if x.dtype.kind == "f":
        raise RuntimeError(f"\"{fn.__name__}_cpu\" not implemented for '{x.dtype}'")
    return Tensor._wrap(np.asarray(fn(x, y)))


def logical_not(input: Tensor) -> Tensor:
    """~input for bool tensors (bitwise not for integers)."""
    x = input._data
    if x.dtype.kind == "f":
        raise RuntimeError("~ (bitwise_not) is only supported for integer and boolean tensors")
    return Tensor._wrap(np.invert(x))


def isnan(input: Tensor) -> Tensor:
    return Tensor._wrap(np.isnan(input._data))


def isinf(input: Tensor) -> Tensor:
    return Tensor._wrap(np.isinf(input._data))


def isfinite(input: Tensor) -> Tensor:
    return Tensor._wrap(np.isfinite(input._data))


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements."""
    return input._data.shape == other._data.shape and bool(np.array_equal(input._data, other._data))


def allclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True if |input - other| <= atol + rtol * |other| everywhere."""
    return bool(np.allclose(input._data, to_tensor(other)._data, rtol=rtol, atol=atol,
                            equal_nan=equal_nan))


def isclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    return Tensor._wrap(np.isclose(input._data, to_tensor(other)._data, rtol=rtol, atol=atol,
                                   equal_nan=equal_nan))
