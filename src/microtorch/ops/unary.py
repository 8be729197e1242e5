"""Elementwise math functions: exp, log, sqrt, abs, clamp, ...

Integer inputs are computed in the default float dtype, as PyTorch does.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ._operands import check_scalar_fits, float_array, promote_scalars, refuse_bool
from ._out import write_out
from .inplace import check_broadcast_into, check_cast_back, check_inplace, check_no_overlap
from .pointwise import result_dtype


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
        if x.dtype == np.bool_:                     # PyTorch: the sign of a bool is itself
            return x.copy()
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
    return Sign.apply(input)


def _number(v):
    """A numpy scalar bound as the Python number PyTorch's parser sees."""
    return v.item() if isinstance(v, np.generic) else v


class Clamp(ArrayFunction):
    """Clamp to number bounds (PyTorch's ClampBackward1): max(x, min) then min(., max), so a
    NaN bound gives NaN and min > max gives max; the gradient passes where
    min <= x <= max."""

    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, x, lo=None, hi=None, inplace=False):
        dt = promote_scalars(x, lo, hi)
        a = x.astype(dt, copy=False)
        ctx.lo = lo = None if lo is None else dt.type(lo)
        ctx.hi = hi = None if hi is None else dt.type(hi)
        out = a if lo is None else np.maximum(a, lo)
        out = out if hi is None else np.minimum(out, hi)
        if ctx.needs_input_grad[0]:          # x as given (guarded, as PyTorch saves self)
            ctx.save_for_backward(a.copy() if inplace else x)
        if inplace:
            x[...] = out
            ctx.mark_dirty(x)
            return x
        return np.asarray(out)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        keep = np.ones(x.shape, bool) if ctx.lo is None else x >= ctx.lo
        if ctx.hi is not None:
            keep &= x <= ctx.hi
        return (np.where(keep, g, np.zeros((), g.dtype)),)


class ClampTensor(ArrayFunction):
    """Clamp to tensor bounds (PyTorch's ClampBackward0: one slot each for input, min and
    max). Where a bound is picked, its gradient goes to that bound (when min > max, max
    wins); the output has the broadcast shape of all three."""

    node_name = "ClampBackward0"

    @staticmethod
    def forward(ctx, x, lo, hi, inplace=False):
        ctx.dtype = dt = result_dtype(*(a for a in (x, lo, hi) if a is not None))
        # saved as given (guarded against later in-place changes); x copied if written here
        ctx.save_for_backward(x.copy() if inplace and any(ctx.needs_input_grad) else x, lo, hi)
        a = x.astype(dt, copy=False)
        lo = None if lo is None else lo.astype(dt, copy=False)
        hi = None if hi is None else hi.astype(dt, copy=False)
        out = a if lo is None else np.maximum(a, lo)
        out = out if hi is None else np.minimum(out, hi)
        if inplace:
            x[...] = out
            ctx.mark_dirty(x)
            return x
        return np.asarray(out)

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = (None if a is None else a.astype(ctx.dtype, copy=False)
                     for a in ctx.saved_tensors)
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


def _clamp_signature_error(name: str, min, max) -> TypeError:
    """PyTorch's parser error for a tensor bound mixed with a number bound."""
    got = ", ".join(f"{k}={type(v).__name__}" for k, v in (("max", max), ("min", min))
                    if v is not None)
    return TypeError(
        f"{name}() received an invalid combination of arguments - got (Tensor, {got}), but "
        "expected one of:\n * (Tensor input, Tensor min = None, Tensor max = None, *, "
        "Tensor out = None)\n * (Tensor input, Number min = None, Number max = None, *, "
        "Tensor out = None)\n")


def _bounds(name: str, min, max):
    """(min, max) as clamp's overloads take them: both tensors (or None), or both numbers (or
    None). Next to a number, a 0-d tensor that does not require grad counts as its number
    (PyTorch's parser); other mixes are a TypeError."""
    min, max = _number(min), _number(max)
    if isinstance(min, Tensor) == isinstance(max, Tensor) or min is None or max is None:
        return min, max
    if not all(_as_number(v) for v in (min, max)):
        raise _clamp_signature_error(name, min, max)
    return tuple(v.item() if isinstance(v, Tensor) else v for v in (min, max))


def _as_number(v) -> bool:
    return not isinstance(v, Tensor) or (v._data.ndim == 0 and not v._requires_grad)


def _clamp_dtype(input: Tensor, min, max) -> np.dtype:
    """Check clamp's dtypes and number bounds as PyTorch does; return the result dtype."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        dt = result_dtype(*(t._data for t in (input, min, max) if t is not None))
        if dt == np.bool_ and min is not None and max is not None:
            refuse_bool(np.empty(0, dt), "clamp_cpu")
        return dt
    dt = promote_scalars(input._data, min, max)
    kernel = "clamp" if min is not None and max is not None else \
        "clamp_min" if min is not None else "clamp_max"
    refuse_bool(np.empty(0, dt), f"{kernel}_scalar_cpu")
    for v in (min, max):
        if v is not None:
            check_scalar_fits(v, dt)
    return dt


def _clamp(name: str, input: Tensor, min, max) -> Tensor:
    min, max = _bounds(name, min, max)
    _clamp_dtype(input, min, max)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return ClampTensor.apply(input, min, max)
    return Clamp.apply(input, lo=min, hi=max)


def _clamp_(name: str, input: Tensor, min, max) -> Tensor:
    min, max = _bounds(name, min, max)
    tensors = isinstance(min, Tensor) or isinstance(max, Tensor)
    own = input._data.dtype
    dt = result_dtype(*(t._data for t in (input, min, max) if t is not None)) if tensors \
        else promote_scalars(input._data, min, max)
    check_cast_back(dt, own, _dtype.scalar_name if tensors else _dtype.c_name)
    check_no_overlap(input)
    _clamp_dtype(input, min, max)
    for t in (min, max):
        if isinstance(t, Tensor):
            check_broadcast_into(t._data.shape, input._data.shape)
    check_inplace(input, min, max)
    if tensors:
        return ClampTensor.apply(input, min, max, inplace=True)
    return Clamp.apply(input, lo=min, hi=max, inplace=True)


def clamp(input: Tensor, min=None, max=None, *, out: Tensor | None = None) -> Tensor:
    """Limit every element to [min, max] (numbers, or tensors that broadcast); a NaN bound
    gives NaN; the gradient passes where min <= x <= max."""
    if out is not None:
        return write_out(out, "clamp", lambda: clamp(input, min, max), input, min, max)
    return _clamp("clamp", input, min, max)


def clip(input: Tensor, min=None, max=None, *, out: Tensor | None = None) -> Tensor:
    """Alias of clamp."""
    if out is not None:
        return write_out(out, "clip", lambda: clip(input, min, max), input, min, max)
    return _clamp("clip", input, min, max)


def clamp_(input: Tensor, min=None, max=None) -> Tensor:
    """In-place clamp (the result must keep input's dtype and shape)."""
    return _clamp_("clamp_", input, min, max)


def clip_(input: Tensor, min=None, max=None) -> Tensor:
    """In-place clip (alias of clamp_)."""
    return _clamp_("clip_", input, min, max)
