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
from ._operands import binary, operand, promote_arrays, require_tensor
from ._out import write_out
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
        x, y = promote_arrays(x, y)
        if x.dtype == np.bool_:
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not supported. "
                "Use the `^` or `logical_xor()` operator instead."
            )
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
    def forward(ctx, x, y, rounding_mode):
        x, y = promote_arrays(x, y)
        q = np.true_divide(x, y)
        q = np.trunc(q) if rounding_mode == "trunc" else np.floor(q)
        return np.asarray(q).astype(x.dtype if x.dtype.kind != "b" else np.int64)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.zeros_like(g) if need else None for need in ctx.needs_input_grad)


class Remainder(ArrayFunction):
    """x % y with the sign of y: d/dx = 1, d/dy = -floor(x / y)."""

    node_name = "RemainderBackward1"

    @staticmethod
    def forward(ctx, x, y):
        x, y = promote_arrays(x, y)
        ctx.save_for_backward(x, y)
        return np.asarray(np.remainder(x, y))

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g, (-g * np.floor(x / y) if ctx.needs_input_grad[1] else None)


class RemainderScalar(ArrayFunction):
    """tensor % number: d/dx = 1."""

    node_name = "RemainderBackward0"

    @staticmethod
    def forward(ctx, x, other):
        x, other = promote_arrays(x, other)
        return np.asarray(np.remainder(x, other))

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
    def forward(ctx, x, exponent):
        x, e = promote_arrays(x, exponent)
        if x.dtype.kind in "iub" and isinstance(e, (int, np.integer)) and e < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        ctx.exponent = e
        ctx.save_for_backward(x)
        return np.asarray(x * x if e == 2 else x ** e)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        e = ctx.exponent
        if e == 0:
            return (np.zeros_like(g),)
        if e == 2:
            return (g * 2 * x,)
        return (g * e * x ** (e - 1),)


class Pow(ArrayFunction):
    """tensor ** tensor."""

    node_name = "PowBackward1"

    @staticmethod
    def forward(ctx, x, y):
        x, y = promote_arrays(x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.power(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved_tensors
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


def floor_divide(input: Tensor, other, *, out: Tensor | None = None) -> Tensor:
    """input // other (not differentiable, as in PyTorch)."""
    if out is not None:
        return write_out(out, "floor_divide", lambda: floor_divide(input, other), input, other)
    x, y, _ = binary(*_tensor_first(input, other))
    return Tensor._wrap(np.asarray(np.floor_divide(x, y)))


def remainder(input: Tensor, other, *, out: Tensor | None = None) -> Tensor:
    """input % other with the sign of the divisor (Python's and PyTorch's convention)."""
    if out is not None:
        return write_out(out, "remainder", lambda: remainder(input, other), input, other)
    if isinstance(input, Tensor):
        other = operand(other)
        if isinstance(other, Tensor):
            return Remainder.apply(input, other)
        return RemainderScalar.apply(input, other=other)
    x, y, _ = binary(*_tensor_first(input, other))
    return Tensor._wrap(np.asarray(np.remainder(x, y)))


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
