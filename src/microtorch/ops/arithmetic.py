"""Elementwise arithmetic with broadcasting: + - * / ** and friends.

Each differentiable op is a `Function` whose forward and backward work on numpy arrays
(the built-ins' fast path through `Function.apply`). Backward returns gradients in the
broadcast shape; the engine sums them back to each input's shape. A Python-number operand
is passed to `apply` as is: it gets a `(None, 0)` edge, as in PyTorch's nodes.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from . import inplace as _inplace
from ._operands import (
    check_alpha,
    check_broadcast,
    check_int_divisor,
    operand,
    promote_arrays,
    promoted,
    refuse_bool,
    refuse_bool_sub,
    require_tensor,
    scaled,
)
from ._out import write_out
from .inplace import check_inplace, inplace_operand
from .pointwise import reciprocal


class Add(ArrayFunction):
    node_name = "AddBackward0"

    @staticmethod
    def forward(ctx, x, y, alpha=1):
        x, y = promote_arrays(x, y)
        ctx.alpha = alpha
        return np.add(x, y if alpha == 1 else scaled(y, alpha, x.dtype))

    @staticmethod
    def backward(ctx, g):
        return g, (g if ctx.alpha == 1 else g * ctx.alpha)


class Sub(ArrayFunction):
    node_name = "SubBackward0"

    @staticmethod
    def forward(ctx, x, y, alpha=1):
        refuse_bool_sub(x, y)
        x, y = promote_arrays(x, y)
        ctx.alpha = alpha
        if alpha == 1:
            return np.subtract(x, y)
        return np.add(x, scaled(y, -alpha, x.dtype))      # PyTorch adds -alpha * y

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.alpha == 1 else g * -ctx.alpha)


class Rsub(ArrayFunction):
    """number - alpha * tensor."""

    node_name = "RsubBackward1"

    @staticmethod
    def forward(ctx, x, number, alpha=1):
        refuse_bool_sub(x, number)
        x, number = promote_arrays(x, number)
        ctx.alpha = alpha
        return np.asarray(number - x if alpha == 1 else number + (-alpha) * x)

    @staticmethod
    def backward(ctx, g):
        return (-g if ctx.alpha == 1 else g * -ctx.alpha),


class Mul(ArrayFunction):
    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)         # as given, so guarded by their version counters
        return np.multiply(*promote_arrays(x, y))

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return (g * _in_dtype(y, g) if ctx.needs_input_grad[0] else None,
                g * _in_dtype(x, g) if ctx.needs_input_grad[1] else None)


def _in_dtype(a, g: np.ndarray):
    """A saved operand in the gradient's dtype (the promoted one), as the forward computed."""
    return a.astype(g.dtype) if type(a) is np.ndarray and a.dtype != g.dtype else a


def _true_div_arrays(x, y):
    if x.dtype.kind != "f":
        x = x.astype(_dtype.default_np())
        if isinstance(y, np.ndarray) and y.dtype.kind != "f":
            y = y.astype(x.dtype)
    return x, y


class Div(ArrayFunction):
    node_name = "DivBackward0"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, y)   # as given: guarded
        x, y = _true_div_arrays(*promote_arrays(x, y))
        return np.true_divide(x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        y = _in_dtype(y, g)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):   # PyTorch's order
            return g / y, (-g * ((_in_dtype(x, g) / y) / y) if ctx.needs_input_grad[1] else None)


class DivMode(Div):
    """x / y called with an explicit `rounding_mode=None`: true division, recorded under
    the node of the rounding overload."""

    node_name = "DivBackward2"


def _rounded_quotient(a: np.ndarray, y, rounding_mode: str) -> np.ndarray:
    """a / y rounded down or toward zero, as PyTorch computes it (floats: Python's `//`, so
    inf // 1 is NaN; integers exactly)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if rounding_mode == "floor":
            return np.asarray(np.floor_divide(a, y))
        if a.dtype.kind == "f":
            return np.asarray(np.trunc(np.true_divide(a, y)))
        q = np.floor_divide(a, y)
        return np.asarray(q + ((q < 0) & (q * y != a)))


class DivRounding(ArrayFunction):
    """x / y rounded down ("floor") or toward zero ("trunc"): piecewise constant, so both
    gradients are zero (PyTorch still records the node)."""

    node_name = "DivBackward2"

    @staticmethod
    def forward(ctx, x, y, rounding_mode, inplace=False):
        need = ctx.needs_input_grad       # PyTorch saves (and guards) both operands anyway
        ctx.save_for_backward(x.copy() if inplace and need[1] else x if need[1] else None,
                              y if need[0] and isinstance(y, np.ndarray) else None)
        a, y = promote_arrays(x, y)
        check_broadcast(a, y)
        refuse_bool(a, f"div_{rounding_mode}_cpu")
        check_int_divisor(a, y)
        return _into(ctx, x, _rounded_quotient(a, y, rounding_mode).astype(a.dtype), inplace)

    @staticmethod
    def backward(ctx, g):
        _ = ctx.saved_tensors             # raises if an operand was modified in place
        return tuple(np.zeros_like(g) if need else None for need in ctx.needs_input_grad)


def _source(x: np.ndarray, inplace: bool) -> np.ndarray:
    """The operand to compute from: a copy of x for an in-place op (x itself is
    overwritten, while backward may still need its old value)."""
    return x.copy() if inplace else x


def _into(ctx, target: np.ndarray, out: np.ndarray, inplace: bool) -> np.ndarray:
    """`out`, or for an in-place op `out` cast into the input array `target` (marked dirty)."""
    if not inplace:
        return out
    target[...] = out
    ctx.mark_dirty(target)
    return target


def _remainder_operands(x, y):
    """x and y promoted for remainder, with PyTorch's bool and integer-zero checks."""
    x, y = promote_arrays(x, y)
    check_broadcast(x, y)
    refuse_bool(x, "remainder_cpu")
    check_int_divisor(x, y)
    return x, y


def _remainder_array(a: np.ndarray, y) -> np.ndarray:
    """a % y with the sign of y, as PyTorch computes it: a zero result keeps a's sign
    (-1.0 % 1.0 is -0.0; numpy gives 0.0)."""
    with np.errstate(all="ignore"):
        out = np.asarray(np.remainder(a, y))
    if out.dtype.kind == "f":
        out = np.where(out == 0, np.copysign(np.zeros((), out.dtype), a), out)
    return out


class Remainder(ArrayFunction):
    """x % y with the sign of y: d/dx = 1, d/dy = -floor(x / y)."""

    node_name = "RemainderBackward1"

    @staticmethod
    def forward(ctx, x, y, inplace=False):
        a, y = _remainder_operands(_source(x, inplace) if ctx.needs_input_grad[1] else x, y)
        if ctx.needs_input_grad[1]:         # saved only for y's gradient, as in PyTorch
            ctx.save_for_backward(a, y)
        return _into(ctx, x, _remainder_array(a, y), inplace)

    @staticmethod
    def backward(ctx, g):
        if not ctx.needs_input_grad[1]:
            return g, None
        x, y = ctx.saved_tensors
        with np.errstate(all="ignore"):                      # Python's x // y: inf // 1 is NaN
            return g, -g * np.floor_divide(x, y)


class RemainderScalar(ArrayFunction):
    """tensor % number: d/dx = 1."""

    node_name = "RemainderBackward0"

    @staticmethod
    def forward(ctx, x, other, inplace=False):
        a, other = _remainder_operands(x, other)
        return _into(ctx, x, _remainder_array(a, other), inplace)

    @staticmethod
    def backward(ctx, g):
        return (g,)


class Neg(ArrayFunction):
    node_name = "NegBackward0"

    @staticmethod
    def forward(ctx, x):
        if x.dtype == np.bool_:
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        return np.negative(x)

    @staticmethod
    def backward(ctx, g):
        return (-g,)


class PowScalar(ArrayFunction):
    """tensor ** number."""

    node_name = "PowBackward0"

    @staticmethod
    def forward(ctx, x, exponent, inplace=False):
        a, e = promote_arrays(_source(x, inplace), exponent)
        if a.dtype.kind in "iub" and isinstance(e, (int, np.integer)) and e < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        ctx.exponent = e
        ctx.save_for_backward(a)
        out = np.asarray(a * a if e == 2 else a ** e)
        if a.dtype == np.bool_:            # bool ** bool stays bool (numpy: int8)
            out = out.astype(np.bool_)
        return _into(ctx, x, out, inplace)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        e = ctx.exponent
        if e == 0:
            return (np.zeros_like(g),)
        if e == 2:                          # PyTorch's order: g * (e * x ** (e - 1))
            return (g * (2 * x),)
        return (g * (e * x ** (e - 1)),)


def _int_power(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Integer a ** y with negative exponents as PyTorch computes them: 1 stays 1, -1 gives
    +-1 by the exponent's parity, every other base gives 0 (numpy refuses these)."""
    with np.errstate(over="ignore"):
        pos = np.power(a, np.maximum(y, 0))
    neg = np.where(a == 1, 1, np.where(a == -1, np.where(y % 2 == 0, 1, -1), 0))
    return np.asarray(np.where(y < 0, neg, pos)).astype(pos.dtype)


def _float_power(a: np.ndarray, y) -> np.ndarray:
    """a ** y as C's pow computes it, like PyTorch for a tensor exponent: numpy takes a
    square root for a broadcast exponent 0.5, which differs at -inf and -0."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.asarray(np.power(a, y))
    half = (y == 0.5) & ((a == 0) | (a == -np.inf))
    if np.any(half):
        out = np.where(half, np.abs(a), out)
    return out


class Pow(ArrayFunction):
    """tensor ** tensor. Saved as PyTorch saves them (guarded against later in-place
    changes): the base as given (in place: its old values), the exponent and the result."""

    node_name = "PowBackward1"

    @staticmethod
    def forward(ctx, x, y, inplace=False):
        base = _source(x, inplace)
        a, e = promote_arrays(base, y)
        refuse_bool(a, "pow")
        if a.dtype.kind in "iu" and np.any(e < 0):
            out = _int_power(a, e)
        elif a.dtype.kind == "f":
            out = _float_power(a, e)
        else:
            with np.errstate(over="ignore"):
                out = np.power(a, e)
        out = _into(ctx, x, out, inplace)
        ctx.dtype = a.dtype
        ctx.save_for_backward(base, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = (t.astype(ctx.dtype, copy=False) for t in ctx.saved_tensors)
        zero = np.zeros((), g.dtype)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            gx = np.where(y == 0, zero, g * (y * _float_power(x, y - 1)))
            gy = g * np.where((x == 0) & (y >= 0), zero, out * np.log(x))
        return gx, gy


class Rpow(ArrayFunction):
    """number ** tensor: d/dy (s ** y) = out * log(s)."""

    node_name = "PowBackward2"

    @staticmethod
    def forward(ctx, x, base):
        x, b = promote_arrays(x, base)
        refuse_bool(x, "pow")
        if x.dtype.kind != "f" and isinstance(b, float):
            x = x.astype(_dtype.default_np())
        if x.dtype.kind == "f":
            with np.errstate(all="ignore"):
                out = np.asarray(np.power(x.dtype.type(b), x))
        else:
            out = _int_power(np.asarray(b, dtype=x.dtype), x)
        ctx.base = b
        ctx.save_for_backward(x if b == 0 else None, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        with np.errstate(all="ignore"):
            d = out * out.dtype.type(np.log(ctx.base))   # as PyTorch: g * (out * log(base))
            if ctx.base == 0:                            # 0 ** y: zero gradient for y >= 0
                d = np.where(x >= 0, np.zeros((), d.dtype), d)
            return (g * d,)


def _check_alpha(input: Tensor, other, alpha, negated: bool = False) -> None:
    """PyTorch's checks of a non-default alpha (the rare path: the caller tests
    `alpha.__class__ is not int or alpha != 1` first, which lets the common 1 through)."""
    check_alpha(promoted(input, other), alpha, negated)


def add(input: Tensor, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """input + alpha * other."""
    if out is not None:
        return write_out(out, "add", lambda: add(input, other, alpha=alpha), input, other)
    if not isinstance(input, Tensor):
        return add(other, input) if alpha == 1 else add(other * alpha, input)
    if alpha.__class__ is not int or alpha != 1:
        _check_alpha(input, other, alpha)
    return Add.apply(input, operand(other), alpha=alpha)


def sub(input: Tensor, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """input - alpha * other."""
    if out is not None:
        return write_out(out, "sub", lambda: sub(input, other, alpha=alpha), input, other)
    if not isinstance(input, Tensor):
        return rsub(other, input, alpha=alpha)
    if alpha.__class__ is not int or alpha != 1:
        other = operand(other)
        refuse_bool_sub(input._data, other._data if isinstance(other, Tensor) else other)
        _check_alpha(input, other, alpha, negated=True)
    return Sub.apply(input, operand(other), alpha=alpha)


def rsub(input: Tensor, other, *, alpha=1) -> Tensor:
    """other - alpha * input (the reflected `number - tensor`)."""
    other = operand(other)
    if alpha.__class__ is not int or alpha != 1:
        refuse_bool_sub(input._data, other._data if isinstance(other, Tensor) else other)
        _check_alpha(input, other, alpha, negated=True)
    if isinstance(other, Tensor):
        return Sub.apply(other, input, alpha=alpha)
    return Rsub.apply(input, number=other, alpha=alpha)


def mul(input: Tensor, other, *, out: Tensor | None = None) -> Tensor:
    """input * other."""
    if out is not None:
        return write_out(out, "mul", lambda: mul(input, other), input, other)
    if not isinstance(input, Tensor):
        return mul(other, input)
    return Mul.apply(input, operand(other))


def _check_rounding_mode(rounding_mode) -> None:
    if rounding_mode not in (None, "trunc", "floor"):
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                         f"found '{rounding_mode}'")


def div(input: Tensor, other, *, rounding_mode: str | None = ...,
        out: Tensor | None = None) -> Tensor:
    """input / other (true division; `rounding_mode` 'trunc' or 'floor' as PyTorch). The
    default `...` means not given: an explicit None records PyTorch's DivBackward2."""
    if out is not None:
        return write_out(out, "div", lambda: div(input, other, rounding_mode=rounding_mode),
                         input, other)
    if rounding_mode is not ...:
        _check_rounding_mode(rounding_mode)
        if rounding_mode is None:
            return DivMode.apply(*_tensor_first(input, operand(other)))
        return DivRounding.apply(input, operand(other), rounding_mode=rounding_mode)
    if not isinstance(input, Tensor):
        return rdiv(other, input)
    return Div.apply(input, operand(other))


def rdiv(input: Tensor, other) -> Tensor:
    """other / input (the reflected `number / tensor`)."""
    other = operand(other)
    if isinstance(other, Tensor):
        return Div.apply(other, input)
    return mul(reciprocal(input), other)  # PyTorch's graph: MulBackward0(ReciprocalBackward0)


def neg(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """-input."""
    if out is not None:
        return write_out(out, "neg", lambda: neg(input), input)
    return Neg.apply(input)


def pow(input, exponent, *, out: Tensor | None = None) -> Tensor:
    """input ** exponent (tensor or number exponent; a number base goes through `rpow`)."""
    if out is not None:
        return write_out(out, "pow", lambda: pow(input, exponent), input, exponent)
    if not isinstance(input, Tensor):
        return rpow(exponent, input)
    exponent = operand(exponent)
    if isinstance(exponent, Tensor):
        return Pow.apply(input, exponent)
    return PowScalar.apply(input, exponent=exponent)


def rpow(input: Tensor, base) -> Tensor:
    """base ** input for a number base."""
    base = operand(base)
    if isinstance(base, Tensor):
        return Pow.apply(base, input)
    return Rpow.apply(input, base=base)


def _tensor_first(input, other):
    """(input, other) with a Python-number input made a 0-d tensor typed against other."""
    if isinstance(input, Tensor):
        return input, other
    return Tensor._wrap(np.asarray(input, dtype=_dtype.promote_scalar(other._data, input))), other


class NoDerivative(ArrayFunction):
    """An op PyTorch defines no derivative for: it records a node whose backward raises
    (forward sets `ctx.aten_op`, the name the error prints)."""

    node_name = "torch::autograd::NotImplemented"
    _grad_edges_only = True

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(f"derivative for aten::{ctx.aten_op} is not implemented")


class RemainderOfNumber(NoDerivative):
    """number % tensor (the number made a 0-d tensor first): no derivative in PyTorch."""

    node_name = NoDerivative.node_name

    @staticmethod
    def forward(ctx, x, y):
        a, y = _remainder_operands(x, y)
        ctx.aten_op = "remainder"
        return _remainder_array(a, y)


class FloorDivide(NoDerivative):
    """x // y (no derivative in PyTorch)."""

    node_name = NoDerivative.node_name

    @staticmethod
    def forward(ctx, x, y, inplace=False):
        a, y = promote_arrays(x, y)
        check_broadcast(a, y)
        refuse_bool(a, "div_floor_cpu")
        check_int_divisor(a, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.asarray(np.floor_divide(a, y))
        ctx.aten_op = "floor_divide_" if inplace else "floor_divide"
        return _into(ctx, x, out, inplace)


def floor_divide(input: Tensor, other, *, out: Tensor | None = None) -> Tensor:
    """input // other (no derivative, as in PyTorch: backward through it raises)."""
    if out is not None:
        return write_out(out, "floor_divide", lambda: floor_divide(input, other), input, other)
    input, other = _tensor_first(input, other)
    return FloorDivide.apply(input, operand(other))


def floor_divide_(input: Tensor, other) -> Tensor:
    """In place: input //= other."""
    other = inplace_operand(input, other)
    check_inplace(input)
    return FloorDivide.apply(input, other, inplace=True)


def div_(input: Tensor, other, *, rounding_mode: str | None = ...) -> Tensor:
    """In place: input /= other (true division, or rounded as `div` does)."""
    if rounding_mode is ...:
        return _inplace.div_(input, other)
    _check_rounding_mode(rounding_mode)
    if rounding_mode is None:
        return _inplace.div_(input, other, node=_inplace.DivModeInplace)
    other = inplace_operand(input, other)
    check_inplace(input)
    return DivRounding.apply(input, other, rounding_mode=rounding_mode, inplace=True)


def remainder_(input: Tensor, other) -> Tensor:
    """In place: input %= other (the sign of the divisor)."""
    other = inplace_operand(input, other)
    check_inplace(input)
    if isinstance(other, Tensor):
        return Remainder.apply(input, other, inplace=True)
    return RemainderScalar.apply(input, other=other, inplace=True)


def pow_(input: Tensor, exponent) -> Tensor:
    """In place: input **= exponent."""
    exponent = inplace_operand(input, exponent)
    check_inplace(input)
    if isinstance(exponent, Tensor):
        return Pow.apply(input, exponent, inplace=True)
    return PowScalar.apply(input, exponent=exponent, inplace=True)


def remainder(input: Tensor, other, *, out: Tensor | None = None) -> Tensor:
    """input % other with the sign of the divisor (Python's and PyTorch's convention)."""
    if out is not None:
        return write_out(out, "remainder", lambda: remainder(input, other), input, other)
    if isinstance(input, Tensor):
        other = operand(other)
        if isinstance(other, Tensor):
            return Remainder.apply(input, other)
        return RemainderScalar.apply(input, other=other)
    return RemainderOfNumber.apply(*_tensor_first(input, other))


def _extreme_backward(ctx, g, beats):
    """Gradient of maximum/minimum as PyTorch computes it: half to each operand on ties,
    else all of it to each operand the other does not beat (so a NaN sends it to both)."""
    x, y = promote_arrays(*ctx.saved_tensors)
    zero = np.zeros((), g.dtype)
    half = np.where(x == y, g / 2, g)
    return np.where(beats(y, x), zero, half), np.where(beats(x, y), zero, half)


class Maximum(ArrayFunction):
    """Elementwise maximum (NaN propagates; ties share the gradient)."""

    node_name = "MaximumBackward0"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)          # as given: guarded against later changes
        return np.maximum(*promote_arrays(x, y))

    @staticmethod
    def backward(ctx, g):
        return _extreme_backward(ctx, g, np.greater)


class Minimum(ArrayFunction):
    """Elementwise minimum (NaN propagates; ties share the gradient)."""

    node_name = "MinimumBackward0"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)          # as given: guarded against later changes
        return np.minimum(*promote_arrays(x, y))

    @staticmethod
    def backward(ctx, g):
        return _extreme_backward(ctx, g, np.less)


def maximum(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise maximum (NaN propagates; ties share the gradient)."""
    if out is not None:
        return write_out(out, "maximum", lambda: maximum(input, other), input, other)
    require_tensor(input, "maximum")
    require_tensor(other, "maximum", "other", 2)
    return Maximum.apply(input, other)


def minimum(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise minimum (NaN propagates; ties share the gradient)."""
    if out is not None:
        return write_out(out, "minimum", lambda: minimum(input, other), input, other)
    require_tensor(input, "minimum")
    require_tensor(other, "minimum", "other", 2)
    return Minimum.apply(input, other)
