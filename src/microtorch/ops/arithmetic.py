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
    check_int_divisor,
    operand,
    promote_arrays,
    refuse_bool,
    refuse_bool_sub,
    require_tensor,
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
        return np.add(x, y if alpha == 1 else alpha * y)

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
        return np.subtract(x, y if alpha == 1 else alpha * y)

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
        return np.asarray(number - x if alpha == 1 else number - alpha * x)

    @staticmethod
    def backward(ctx, g):
        return (-g if ctx.alpha == 1 else g * -ctx.alpha),


class Mul(ArrayFunction):
    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, y):
        x, y = promote_arrays(x, y)
        ctx.save_for_backward(x, y)
        return np.multiply(x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return (g * y if ctx.needs_input_grad[0] else None,
                g * x if ctx.needs_input_grad[1] else None)


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
        x, y = _true_div_arrays(*promote_arrays(x, y))
        ctx.save_for_backward(x, y)
        return np.true_divide(x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = g / y
        return gx, (-gx * x / y if ctx.needs_input_grad[1] else None)


class DivRounding(ArrayFunction):
    """x / y rounded down ("floor") or toward zero ("trunc"): piecewise constant, so both
    gradients are zero (PyTorch still records the node)."""

    node_name = "DivBackward2"

    @staticmethod
    def forward(ctx, x, y, rounding_mode, inplace=False):
        a, y = promote_arrays(x, y)
        refuse_bool(a, f"div_{rounding_mode}_cpu")
        check_int_divisor(a, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.true_divide(a, y)
        q = np.trunc(q) if rounding_mode == "trunc" else np.floor(q)
        return _into(ctx, x, np.asarray(q).astype(a.dtype), inplace)

    @staticmethod
    def backward(ctx, g):
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
    refuse_bool(x, "remainder_cpu")
    check_int_divisor(x, y)
    return x, y


class Remainder(ArrayFunction):
    """x % y with the sign of y: d/dx = 1, d/dy = -floor(x / y)."""

    node_name = "RemainderBackward1"

    @staticmethod
    def forward(ctx, x, y, inplace=False):
        a, y = _remainder_operands(_source(x, inplace), y)
        ctx.save_for_backward(a, y)
        return _into(ctx, x, np.asarray(np.remainder(a, y)), inplace)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g, (-g * np.floor(x / y) if ctx.needs_input_grad[1] else None)


class RemainderScalar(ArrayFunction):
    """tensor % number: d/dx = 1."""

    node_name = "RemainderBackward0"

    @staticmethod
    def forward(ctx, x, other, inplace=False):
        a, other = _remainder_operands(x, other)
        return _into(ctx, x, np.asarray(np.remainder(a, other)), inplace)

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
        if e == 2:
            return (g * 2 * x,)
        return (g * e * x ** (e - 1),)


def _int_power(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Integer a ** y with negative exponents as PyTorch computes them: 1 stays 1, -1 gives
    +-1 by the exponent's parity, every other base gives 0 (numpy refuses these)."""
    with np.errstate(over="ignore"):
        pos = np.power(a, np.maximum(y, 0))
    neg = np.where(a == 1, 1, np.where(a == -1, np.where(y % 2 == 0, 1, -1), 0))
    return np.asarray(np.where(y < 0, neg, pos)).astype(pos.dtype)


class Pow(ArrayFunction):
    """tensor ** tensor."""

    node_name = "PowBackward1"

    @staticmethod
    def forward(ctx, x, y, inplace=False):
        a, y = promote_arrays(_source(x, inplace), y)
        refuse_bool(a, "pow")
        if a.dtype.kind in "iu" and np.any(y < 0):
            out = _int_power(a, y)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.power(a, y)
        ctx.save_for_backward(a, y, None if inplace else out)
        return _into(ctx, x, out, inplace)

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved_tensors
        if out is None:                    # in-place: the result was written into x
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                out = np.power(x, y)
        gx = g * y * np.where(y == 0, 0.0, x ** np.where(y == 0, 1, y - 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            gy = g * np.where((x == 0) & (y >= 0), 0.0, out * np.log(x))
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
        out = np.power(b, x) if x.dtype.kind == "f" else np.power(b, x).astype(x.dtype)
        ctx.base = b
        ctx.save_for_backward(out)
        return np.asarray(out)

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        if ctx.base == 0:
            return (np.zeros_like(g),)
        return (g * out * np.log(ctx.base),)


def add(input: Tensor, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """input + alpha * other."""
    if out is not None:
        return write_out(out, "add", lambda: add(input, other, alpha=alpha), input, other)
    if not isinstance(input, Tensor):
        return add(other, input) if alpha == 1 else add(other * alpha, input)
    return Add.apply(input, operand(other), alpha=alpha)


def sub(input: Tensor, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """input - alpha * other."""
    if out is not None:
        return write_out(out, "sub", lambda: sub(input, other, alpha=alpha), input, other)
    if not isinstance(input, Tensor):
        return rsub(other, input, alpha=alpha)
    return Sub.apply(input, operand(other), alpha=alpha)


def rsub(input: Tensor, other, *, alpha=1) -> Tensor:
    """other - alpha * input (the reflected `number - tensor`)."""
    other = operand(other)
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


def div(input: Tensor, other, *, rounding_mode: str | None = None,
        out: Tensor | None = None) -> Tensor:
    """input / other (true division; `rounding_mode` 'trunc' or 'floor' as PyTorch)."""
    if out is not None:
        return write_out(out, "div", lambda: div(input, other, rounding_mode=rounding_mode),
                         input, other)
    if rounding_mode is not None:
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
        return np.asarray(np.remainder(a, y))


class FloorDivide(NoDerivative):
    """x // y (no derivative in PyTorch)."""

    node_name = NoDerivative.node_name

    @staticmethod
    def forward(ctx, x, y, inplace=False):
        a, y = promote_arrays(x, y)
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


def div_(input: Tensor, other, *, rounding_mode: str | None = None) -> Tensor:
    """In place: input /= other (true division, or rounded as `div` does)."""
    if rounding_mode is None:
        return _inplace.div_(input, other)
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


def _extreme_backward(ctx, g, first):
    """Gradient of maximum/minimum: to the picked operand, split in half on ties."""
    x, y = ctx.saved_tensors
    first = first(x, y)
    tie = x == y
    gx = np.where(tie, g / 2, np.where(first, g, 0))
    gy = np.where(tie, g / 2, np.where(first, 0, g))
    return gx, gy


class Maximum(ArrayFunction):
    """Elementwise maximum (NaN propagates; ties share the gradient)."""

    node_name = "MaximumBackward0"

    @staticmethod
    def forward(ctx, x, y):
        x, y = promote_arrays(x, y)
        ctx.save_for_backward(x, y)
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx, g):
        return _extreme_backward(ctx, g, np.greater)


class Minimum(ArrayFunction):
    """Elementwise minimum (NaN propagates; ties share the gradient)."""

    node_name = "MinimumBackward0"

    @staticmethod
    def forward(ctx, x, y):
        x, y = promote_arrays(x, y)
        ctx.save_for_backward(x, y)
        return np.minimum(x, y)

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
