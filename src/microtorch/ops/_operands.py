"""Turning op arguments into arrays with PyTorch's dtype promotion."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _dtype
from .._broadcast import broadcast_error
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


def promoted(a: Tensor, b) -> np.dtype:
    """The dtype of a binary op's result on tensor `a` and `b` (a Tensor or a number)."""
    b = operand(b)
    if isinstance(b, Tensor):
        return _dtype.promote(a._data, b._data)
    return _dtype.promote_scalar(a._data, b)


def promote_scalars(x: np.ndarray, *scalars) -> np.dtype:
    """PyTorch's result dtype for a tensor's array with several Python numbers (None skipped)."""
    dt = x.dtype
    for s in scalars:
        if s is not None:
            dt = _dtype.promote_scalar(np.empty(0, dt), s)
    return dt


_CONVERT_NAMES = {"int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t",
                  "uint8": "uint8_t", "float32": "float", "float64": "double",
                  "float16": "c10::Half"}


def check_scalar_fits(value, dt: np.dtype) -> None:
    """PyTorch's RuntimeError when a Python number cannot be converted to dtype `dt` (fill
    values, clamp bounds, alpha): NaN, inf or out of range for an integer dtype, a finite
    value beyond a narrower float's range. Bool takes anything."""
    kind = dt.kind
    if kind == "b" or isinstance(value, bool):
        return
    if kind == "f":
        ok = not math.isfinite(value) or abs(value) <= float(np.finfo(dt).max)
    else:
        info = np.iinfo(dt)
        lo = -info.max if kind == "u" else info.min     # PyTorch lets -255 wrap into uint8
        ok = (math.isfinite(value) if isinstance(value, float) else True) and lo <= value <= info.max
    if not ok:
        raise RuntimeError(f"value cannot be converted to type {_CONVERT_NAMES[dt.name]} "
                           "without overflow")


def check_alpha(result: np.dtype, alpha, negated: bool = False) -> None:
    """PyTorch's checks of add/sub's `alpha` against the result dtype: a bool alpha only for
    bool results, no float alpha for integral (or bool) ones, and it must fit the dtype
    (`negated`: for sub, which adds -alpha)."""
    if isinstance(alpha, bool):
        if result != np.bool_:
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
        return
    if result.kind in "iub" and not isinstance(alpha, numbers.Integral):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")
    check_scalar_fits(-alpha if negated else alpha, result)


def scaled(y, alpha, result: np.dtype):
    """alpha * y as PyTorch computes it in the result dtype: for bool, y and bool(alpha)."""
    if result == np.bool_:
        return np.logical_and(y, bool(alpha)) if type(y) is np.ndarray else bool(y and alpha)
    return y * alpha       # a Python number y stays one (a weak scalar for numpy)


def float_array(x: np.ndarray) -> np.ndarray:
    """`x` itself if floating, else converted to the default float dtype (as PyTorch's
    unary float ops do on integer tensors)."""
    return x if x.dtype.kind == "f" else x.astype(_dtype.default_np())


def check_broadcast(x: np.ndarray, y) -> None:
    """PyTorch's RuntimeError when x and an array y do not broadcast (checked before the
    dtype checks of a kernel, as PyTorch does)."""
    if isinstance(y, np.ndarray) and x.shape != y.shape:
        try:
            np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise broadcast_error(x.shape, y.shape) from None


def refuse_bool(x: np.ndarray, kernel: str) -> None:
    """PyTorch's NotImplementedError for a kernel that has no bool implementation."""
    if x.dtype == np.bool_:
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def check_int_divisor(x: np.ndarray, y) -> None:
    """PyTorch's RuntimeError for an integer division or remainder of a non-empty x by zero."""
    if x.dtype.kind in "iub" and x.size and np.any(np.asarray(y) == 0):
        raise RuntimeError("ZeroDivisionError")


def _is_bool(v) -> bool:
    return isinstance(v, bool) or getattr(v, "dtype", None) == np.bool_


def refuse_bool_sub(x, y) -> None:
    """PyTorch's RuntimeError for a subtraction with a bool operand (tensor or Python bool)."""
    if _is_bool(x) and _is_bool(y):
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. "
            "Use the `^` or `logical_xor()` operator instead.")
    if _is_bool(x) or _is_bool(y):
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def require_tensor(x, op: str, arg: str = "input", position: int = 1) -> None:
    """TypeError like PyTorch's argument parser when `x` is not a Tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{op}(): argument '{arg}' (position {position}) must be Tensor, not "
            f"{type(x).__name__}"
        )
