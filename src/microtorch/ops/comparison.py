"""Comparisons and logical ops (not differentiable): ==, <, isnan, logical_not, allclose, ..."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._broadcast import broadcast_error
from .._tensor import Tensor
from ._operands import binary, require_tensor, to_tensor


def compare(input: Tensor, other, fn) -> Tensor:
    """A bool tensor of fn(input, other) with broadcasting (`t == None` is False)."""
    if other is None and fn in (np.equal, np.not_equal):
        return fn is np.not_equal
    require_tensor(input, _NAMES.get(fn, fn.__name__))
    x, y, _ = binary(input, other)
    try:
        return Tensor._wrap(np.asarray(fn(x, y)))
    except ValueError:
        raise broadcast_error(x.shape, np.shape(y)) from None


_NAMES = {np.equal: "eq", np.not_equal: "ne", np.less: "lt", np.less_equal: "le",
          np.greater: "gt", np.greater_equal: "ge"}


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
        raise NotImplementedError(
            f"\"{fn.__name__}_cpu\" not implemented for '{_dtype.scalar_name(x.dtype)}'")
    return Tensor._wrap(np.asarray(fn(x, y)))


def logical_not(input: Tensor) -> Tensor:
    """True where input is zero (a bool tensor, for any input dtype)."""
    return Tensor._wrap(np.logical_not(input._data))


def bitwise_not(input: Tensor) -> Tensor:
    """~input: logical not for bool tensors, bitwise not for integers."""
    x = input._data
    if x.dtype.kind == "f":
        raise NotImplementedError(
            f"\"bitwise_not_cpu\" not implemented for '{_dtype.scalar_name(x.dtype)}'")
    return Tensor._wrap(np.invert(x))


def isnan(input: Tensor) -> Tensor:
    return Tensor._wrap(np.isnan(input._data))


def isinf(input: Tensor) -> Tensor:
    return Tensor._wrap(np.isinf(input._data))


def isfinite(input: Tensor) -> Tensor:
    return Tensor._wrap(np.isfinite(input._data))


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements."""
    require_tensor(input, "equal")
    require_tensor(other, "equal", "other", 2)
    return input._data.shape == other._data.shape and bool(np.array_equal(input._data, other._data))


def allclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True if |input - other| <= atol + rtol * |other| everywhere."""
    require_tensor(input, "allclose")
    require_tensor(other, "allclose", "other", 2)
    return bool(np.allclose(input._data, to_tensor(other)._data, rtol=rtol, atol=atol,
                            equal_nan=equal_nan))


def isclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    require_tensor(input, "isclose")
    require_tensor(other, "isclose", "other", 2)
    return Tensor._wrap(np.isclose(input._data, to_tensor(other)._data, rtol=rtol, atol=atol,
                                   equal_nan=equal_nan))
