"""Comparisons and logical ops (not differentiable): ==, <, isnan, logical_not, allclose, ..."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._broadcast import broadcast_error
from .._tensor import Tensor
from ._operands import binary, require_tensor


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
    if isinstance(y, np.ndarray) and x.shape != y.shape:
        try:
            np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise broadcast_error(x.shape, y.shape) from None
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


def _close_operands(name: str, input, other, rtol: float, atol: float):
    """PyTorch's checks for isclose/allclose (same dtype, non-negative tolerances,
    broadcastable shapes); returns the two arrays."""
    require_tensor(input, name)
    require_tensor(other, name, "other", 2)
    x, y = input._data, other._data
    if x.dtype != y.dtype:
        raise RuntimeError(f"{_dtype.scalar_name(x.dtype)} did not match "
                           f"{_dtype.scalar_name(y.dtype)}")
    for arg, v in (("rtol", rtol), ("atol", atol)):
        if v < 0:
            raise RuntimeError(f"{arg} must be greater than or equal to zero, but got {v}")
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise broadcast_error(x.shape, y.shape) from None
    return x, y


def _isclose(x: np.ndarray, y: np.ndarray, rtol: float, atol: float,
             equal_nan: bool) -> np.ndarray:
    """|x - y| <= atol + rtol * |y| elementwise, computed as PyTorch does: equal values
    (equal infinities too) are close, integers are compared in the default float dtype,
    bools only by equality."""
    close = np.asarray(x == y)
    if x.dtype == np.bool_:
        return close
    if equal_nan and x.dtype.kind == "f":
        close = close | (np.isnan(x) & np.isnan(y))
    if rtol == 0 and atol == 0:
        return close
    if x.dtype.kind != "f":
        x, y = x.astype(_dtype.default_np()), y.astype(_dtype.default_np())
    with np.errstate(all="ignore"):
        allowed = atol + np.abs(rtol * y)
        actual = np.abs(x - y)
    return close | (np.isfinite(actual) & (actual <= allowed))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True if |input - other| <= atol + rtol * |other| everywhere (same dtype required)."""
    x, y = _close_operands("allclose", input, other, rtol, atol)
    return bool(np.all(_isclose(x, y, rtol, atol, equal_nan)))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Where |input - other| <= atol + rtol * |other| (a bool tensor; same dtype required)."""
    x, y = _close_operands("isclose", input, other, rtol, atol)
    return Tensor._wrap(_isclose(x, y, rtol, atol, equal_nan))
