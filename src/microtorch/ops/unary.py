"""Elementwise math functions: exp, log, sqrt, abs, clamp, ...

Integer inputs are computed in the default float dtype, as PyTorch does.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.graph import needs_grad, record
from ..autograd.node import Node
from ._operands import float_array


class ExpBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        (out,) = self.saved_tensors
        return (g * out,)


class LogBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        (x,) = self.saved_tensors
        return (g / x,)


class Log1PBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        (x,) = self.saved_tensors
        return (g / (1 + x),)


class SqrtBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        (out,) = self.saved_tensors
        return (g / (2 * out),)


class AbsBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        (x,) = self.saved_tensors
        return (g * np.where(np.isnan(x), 0, np.sign(x)),)


class ClampBackward1(Node):
    __slots__ = ("min", "max")

    def backward(self, g):
        (x,) = self.saved_tensors
        keep = np.ones(x.shape, dtype=bool)
        if self.min is not None:
            keep &= x >= self.min
        if self.max is not None:
            keep &= x <= self.max
        return (np.where(keep, g, 0).astype(g.dtype, copy=False),)


def _saving_input(name, fn):
    def op(input: Tensor) -> Tensor:
        x = float_array(input._data)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = Tensor._wrap(fn(x))
        if needs_grad(input):
            node = name()
            node.saved = (x,)
            node.versions = ((input._version, input._version[0]),)
            record(node, out, input)
        return out

    return op


def _saving_output(name, fn):
    def op(input: Tensor) -> Tensor:
        out = Tensor._wrap(fn(float_array(input._data)))
        if needs_grad(input):
            node = name()
            node.saved = (out._data,)
            node.versions = ((out._version, 0),)
            record(node, out, input)
        return out

    return op


exp = _saving_output(ExpBackward0, np.exp)
exp.__doc__ = "e ** input, elementwise."
sqrt = _saving_output(SqrtBackward0, np.sqrt)
sqrt.__doc__ = "Square root, elementwise (NaN below 0)."
log = _saving_input(LogBackward0, np.log)
log.__doc__ = "Natural logarithm, elementwise (-inf at 0, NaN below)."
log1p = _saving_input(Log1PBackward0, np.log1p)
log1p.__doc__ = "log(1 + input), accurate for small input."


def abs(input: Tensor) -> Tensor:
    """|input| (gradient 0 at 0, as PyTorch)."""
    out = Tensor._wrap(np.abs(input._data))
    if needs_grad(input):
        node = AbsBackward0()
        node.save_for_backward(input)
        record(node, out, input)
    return out


def square(input: Tensor) -> Tensor:
    """input ** 2."""
    from .arithmetic import pow

    return pow(input, 2)


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (not differentiable: gradient zero)."""
    if input._data.dtype == np.bool_:
        raise RuntimeError("Boolean inputs not supported for sign, use logical_not or bitwise "
                           "operations instead")
    x = input._data
    out = np.sign(x)
    if x.dtype.kind == "f":
        out = np.where(np.isnan(x), x.dtype.type(0), out)     # torch.sign(nan) is 0
    return Tensor._wrap(np.asarray(out))


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limit every element to [min, max]; the gradient passes where min <= x <= max."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    lo = min._data if isinstance(min, Tensor) else min
    hi = max._data if isinstance(max, Tensor) else max
    x = input._data
    if x.dtype.kind != "f" and (isinstance(lo, float) or isinstance(hi, float)):
        x = x.astype(np.float32)
    out = x
    if lo is not None:
        out = np.maximum(out, np.asarray(lo, dtype=x.dtype)) if isinstance(lo, np.ndarray) \
            else np.where(out < lo, np.asarray(lo, dtype=x.dtype), out)
    if hi is not None:
        out = np.minimum(out, np.asarray(hi, dtype=x.dtype)) if isinstance(hi, np.ndarray) \
            else np.where(out > hi, np.asarray(hi, dtype=x.dtype), out)
    result = Tensor._wrap(np.asarray(out, dtype=x.dtype))
    if needs_grad(input):
        node = ClampBackward1()
        node.min, node.max = lo, hi
        node.save_for_backward(input)
        record(node, result, input)
    return result


clip = clamp
