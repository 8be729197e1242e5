"""Elementwise math functions: exp, log, sqrt, abs, clamp, ...

Integer inputs are computed in the default float dtype, as PyTorch does.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ._operands import float_array, promote_arrays, refuse_bool
from ._out import write_out


class Exp(ArrayFunction):
    node_name = "ExpBackward0"

    @staticmethod
    def forward(ctx, x):
        out = np.asarray(np.exp(float_array(x)))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g * out,)


class Sqrt(ArrayFunction):
    node_name = "SqrtBackward0"

    @staticmethod
    def forward(ctx, x):
        out = np.asarray(np.sqrt(float_array(x)))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g / (2 * out),)


class Log(ArrayFunction):
    node_name = "LogBackward0"

    @staticmethod
    def forward(ctx, x):
        x = float_array(x)
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g / x,)


class Log1p(ArrayFunction):
    node_name = "Log1PBackward0"

    @staticmethod
    def forward(ctx, x):
        x = float_array(x)
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g / (1 + x),)


def exp(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """e ** input, elementwise."""
    if out is not None:
        return write_out(out, "exp", lambda: exp(input), input)
    return Exp.apply(input)


def sqrt(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Square root, elementwise (NaN below 0)."""
    if out is not None:
        return write_out(out, "sqrt", lambda: sqrt(input), input)
    return Sqrt.apply(input)


def log(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Natural logarithm, elementwise (-inf at 0, NaN below)."""
    if out is not None:
        return write_out(out, "log", lambda: log(input), input)
    return Log.apply(input)


def log1p(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """log(1 + input), accurate for small input."""
    if out is not None:
        return write_out(out, "log1p", lambda: log1p(input), input)
    return Log1p.apply(input)


class Abs(ArrayFunction):
    node_name = "AbsBackward0"

    @staticmethod
    def forward(ctx, x):
        refuse_bool(x, "abs_cpu")
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * np.where(np.isnan(x), 0, np.sign(x)),)


def abs(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """|input| (gradient 0 at 0, as PyTorch)."""
    if out is not None:
        return write_out(out, "abs", lambda: abs(input), input)
    return Abs.apply(input)


def square(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """input ** 2."""
    if out is not None:
        return write_out(out, "square", lambda: square(input), input)
    from .arithmetic import pow

    return pow(input, 2)


class Sign(ArrayFunction):
    """-1, 0 or 1: piecewise constant, so the gradient is zero (PyTorch records the node)."""

    node_name = "SignBackward0"

    @staticmethod
    def forward(ctx, x):
        out = np.sign(x)
        if x.dtype.kind == "f":
            out = np.where(np.isnan(x), x.dtype.type(0), out)     # torch.sign(nan) is 0
        return np.asarray(out)

    @staticmethod
    def backward(ctx, g):
        return (np.zeros_like(g),)


def sign(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """-1, 0 or 1 by the sign of each element (gradient zero)."""
    if out is not None:
        return write_out(out, "sign", lambda: sign(input), input)
    if input._data.dtype == np.bool_:
        raise RuntimeError("Boolean inputs not supported for sign, use logical_not or bitwise "
                           "operations instead")
    return Sign.apply(input)


class Clamp(ArrayFunction):
    """Clamp to constant bounds (numbers or arrays); PyTorch's node for scalar bounds."""

    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        if x.dtype.kind != "f" and (isinstance(lo, float) or isinstance(hi, float)):
            x = x.astype(np.float32)
        out = x
        if lo is not None:
            out = np.maximum(out, np.asarray(lo, dtype=x.dtype)) if isinstance(lo, np.ndarray) \
                else np.where(out < lo, np.asarray(lo, dtype=x.dtype), out)
        if hi is not None:
            out = np.minimum(out, np.asarray(hi, dtype=x.dtype)) if isinstance(hi, np.ndarray) \
                else np.where(out > hi, np.asarray(hi, dtype=x.dtype), out)
        ctx.lo, ctx.hi = lo, hi
        ctx.save_for_backward(x)
        return np.asarray(out, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        keep = np.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            keep &= x >= ctx.lo
        if ctx.hi is not None:
            keep &= x <= ctx.hi
        return (np.where(keep, g, 0).astype(g.dtype, copy=False),)


class ClampTensor(ArrayFunction):
    """Clamp to tensor bounds (PyTorch's ClampBackward0: one slot each for input, min and
    max). Where a bound is picked, its gradient goes to that bound (when min > max, max
    wins); the output has the broadcast shape of all three."""

    node_name = "ClampBackward0"

    @staticmethod
    def forward(ctx, x, lo, hi):
        for bound in (lo, hi):
            if bound is not None:
                x, _ = promote_arrays(x, bound)
        lo = None if lo is None else np.asarray(lo, dtype=x.dtype)
        hi = None if hi is None else np.asarray(hi, dtype=x.dtype)
        out = x if lo is None else np.maximum(x, lo)
        out = out if hi is None else np.minimum(out, hi)
        ctx.save_for_backward(x, lo, hi)
        return np.asarray(out)

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_tensors
        need = ctx.needs_input_grad
        zero = np.zeros((), g.dtype)
        if lo is None:
            to_x, to_lo, to_hi = x <= hi, None, x > hi
        elif hi is None:
            to_x, to_lo, to_hi = x >= lo, x < lo, None
        else:
            to_x = (x >= lo) & (x <= hi)
            to_lo, to_hi = (x < lo) & (lo < hi), (x > hi) | (hi < lo)
        return tuple(np.where(m, g, zero) if n and m is not None else None
                     for m, n in zip((to_x, to_lo, to_hi), need))


def clamp(input: Tensor, min=None, max=None, *, out: Tensor | None = None) -> Tensor:
    """Limit every element to [min, max]; the gradient passes where min <= x <= max."""
    if out is not None:
        return write_out(out, "clamp", lambda: clamp(input, min, max), input, min, max)
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return ClampTensor.apply(input, min, max)
    return Clamp.apply(input, lo=min, hi=max)


clip = clamp
