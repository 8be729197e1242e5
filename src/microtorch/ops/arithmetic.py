"""Elementwise arithmetic with broadcasting: + - * / ** and friends.

Backward returns gradients in the broadcast shape; the engine sums them back to each
input's shape. A Python scalar operand gets no edge in the graph.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.graph import needs_grad, record
from ..autograd.node import Node
from ._operands import binary, broadcast_error, require_tensor


class AddBackward0(Node):
    __slots__ = ("alpha",)

    def backward(self, g):
        return g, (g if self.alpha == 1 else g * self.alpha)


class SubBackward0(Node):
    __slots__ = ("alpha",)

    def backward(self, g):
        return g, (-g if self.alpha == 1 else g * -self.alpha)


class RsubBackward1(Node):
    __slots__ = ()

    def backward(self, g):
        return (-g,)


class MulBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        x, y = self.saved_tensors
        return g * y, g * x


class MulBackward1(Node):
    """Multiplication by a Python scalar (saved like a tensor, so a second backward raises,
    as in PyTorch)."""

    __slots__ = ()

    def name(self) -> str:
        return "MulBackward0"

    def backward(self, g):
        (scalar,) = self.saved_tensors
        return (g * scalar,)


class DivBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        x, y = self.saved_tensors
        gx = g / y
        return gx, -gx * x / y


class DivBackward1(Node):
    """Division by a Python scalar."""

    __slots__ = ()

    def name(self) -> str:
        return "DivBackward0"

    def backward(self, g):
        (scalar,) = self.saved_tensors
        return (g / scalar,)


class RdivBackward(Node):
    """scalar / tensor: d/dx (s / x) = -s / x**2 = -out / x."""

    __slots__ = ()

    def name(self) -> str:
        return "MulBackward0"          # PyTorch records s / x as s * reciprocal(x)

    def backward(self, g):
        x, out = self.saved_tensors
        return (-g * out / x,)


class NegBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        return (-g,)


class PowBackward0(Node):
    """tensor ** scalar."""

    __slots__ = ("exponent",)

    def backward(self, g):
        (x,) = self.saved_tensors
        e = self.exponent
        if e == 0:
            return (np.zeros_like(g),)
        if e == 2:
            return (g * 2 * x,)
        return (g * e * x ** (e - 1),)


class PowBackward1(Node):
    """tensor ** tensor."""

    __slots__ = ()

    def backward(self, g):
        x, y, out = self.saved_tensors
        gx = g * y * np.where(y == 0, 0.0, x ** np.where(y == 0, 1, y - 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            gy = g * np.where((x == 0) & (y >= 0), 0.0, out * np.log(x))
        return gx, gy


class PowBackward2(Node):
    """scalar ** tensor: d/dy (s ** y) = out * log(s)."""

    __slots__ = ("base",)

    def backward(self, g):
        (out,) = self.saved_tensors
        if self.base == 0:
            return (np.zeros_like(g),)
        return (g * out * np.log(self.base),)


def _wrap_out(data: np.ndarray) -> Tensor:
    return Tensor._wrap(data if isinstance(data, np.ndarray) else np.asarray(data))


def add(input: Tensor, other, *, alpha=1) -> Tensor:
    """input + alpha * other."""
    if not isinstance(input, Tensor):
        return add(other, input) if alpha == 1 else add(other * alpha, input)
    x, y, t = binary(input, other)
    try:
        out = _wrap_out(x + y if alpha == 1 else x + alpha * y)
    except ValueError:
        raise broadcast_error(x.shape, y.shape) from None
    if needs_grad(input, t):
        node = AddBackward0()
        node.alpha = alpha
        record(node, out, input, t)
    return out


def sub(input: Tensor, other, *, alpha=1) -> Tensor:
    """input - alpha * other."""
    if not isinstance(input, Tensor):
        return rsub(other, input, alpha=alpha)
    x, y, t = binary(input, other)
    if x.dtype == np.bool_:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. "
            "Use the `^` or `logical_xor()` operator instead."
        )
    try:
        out = _wrap_out(x - y if alpha == 1 else x - alpha * y)
    except ValueError:
        raise broadcast_error(x.shape, y.shape) from None
    if needs_grad(input, t):
        node = SubBackward0()
        node.alpha = alpha
        record(node, out, input, t)
    return out


def rsub(input: Tensor, other, *, alpha=1) -> Tensor:
    """other - alpha * input (the reflected `scalar - tensor`)."""
    x, y, t = binary(input, other)
    if t is not None:
        return sub(t, input, alpha=alpha)
    out = _wrap_out(y - x if alpha == 1 else y - alpha * x)
    if needs_grad(input):
        node = RsubBackward1() if alpha == 1 else MulBackward1()
        if alpha != 1:
            node.saved = (-alpha,)
        record(node, out, input)
    return out


def mul(input: Tensor, other) -> Tensor:
    """input * other."""
    if not isinstance(input, Tensor):
        return mul(other, input)
    x, y, t = binary(input, other)
    try:
        out = _wrap_out(x * y)
    except ValueError:
        raise broadcast_error(x.shape, y.shape) from None
    if t is None:
        if needs_grad(input):
            node = MulBackward1()
            node.saved = (y,)
            record(node, out, input)
        return out
    if needs_grad(input, t):
        node = MulBackward0()
        node.saved = (x, y)
        node.versions = ((input._version, input._version[0]), (t._version, t._version[0]))
        record(node, out, input, t)
    return out


def _true_div_arrays(x, y):
    if x.dtype.kind != "f":
        x = x.astype(_dtype.default_np())
        if isinstance(y, np.ndarray) and y.dtype.kind != "f":
            y = y.astype(x.dtype)
    return x, y


def div(input: Tensor, other, *, rounding_mode: str | None = None) -> Tensor:
    """input / other (true division; `rounding_mode` 'trunc' or 'floor' as PyTorch)."""
    if rounding_mode is not None:
        x, y, _ = binary(input, other)
        q = np.true_divide(x, y)
        q = np.trunc(q) if rounding_mode == "trunc" else np.floor(q)
        return Tensor._wrap(np.asarray(q).astype(x.dtype if x.dtype.kind != "b" else np.int64))
    if not isinstance(input, Tensor):
        return rdiv(other, input)
    x, y, t = binary(input, other)
    x, y = _true_div_arrays(x, y)
    try:
        out = _wrap_out(x / y)
    except ValueError:
        raise broadcast_error(x.shape, y.shape) from None
    if t is None:
        if needs_grad(input):
            node = DivBackward1()
            node.saved = (y,)
            record(node, out, input)
        return out
    if needs_grad(input, t):
        node = DivBackward0()
        node.saved = (x, y)
        node.versions = ((input._version, input._version[0]), (t._version, t._version[0]))
        record(node, out, input, t)
    return out


def rdiv(input: Tensor, other) -> Tensor:
    """other / input (the reflected `scalar / tensor`)."""
    x, y, t = binary(input, other)
    if t is not None:
        return div(t, input)
    x, _ = _true_div_arrays(x, None)
    with np.errstate(divide="ignore"):
        out = _wrap_out(y / x)
    if needs_grad(input):
        node = RdivBackward()
        node.saved = (x, out._data)
        node.versions = ((input._version, input._version[0]),)
        record(node, out, input)
    return out


def neg(input: Tensor) -> Tensor:
    """-input."""
    if input._data.dtype == np.bool_:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    out = Tensor._wrap(np.negative(input._data))
    if needs_grad(input):
        record(NegBackward0(), out, input)
    return out


def pow(input, exponent) -> Tensor:
    """input ** exponent (tensor or scalar exponent; a scalar base goes through `rpow`)."""
    if not isinstance(input, Tensor):
        return rpow(exponent, input)
    x, e, t = binary(input, exponent)
    if t is None:
        if x.dtype.kind in "iub" and isinstance(e, (int, np.integer)) and e < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        out = _wrap_out(x * x if e == 2 else x ** e)
        if needs_grad(input):
            node = PowBackward0()
            node.exponent = e
            node.save_for_backward(input)
            record(node, out, input)
        return out
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = _wrap_out(x ** e)
    except ValueError:
        raise broadcast_error(x.shape, e.shape) from None
    if needs_grad(input, t):
        node = PowBackward1()
        node.saved = (x, e, out._data)
        node.versions = ((input._version, input._version[0]), (t._version, t._version[0]))
        record(node, out, input, t)
    return out


def rpow(input: Tensor, base) -> Tensor:
    """base ** input for a scalar base."""
    x, b, t = binary(input, base)
    if t is not None:
        return pow(t, input)
    if x.dtype.kind != "f" and isinstance(b, float):
        x = x.astype(_dtype.default_np())
    out = _wrap_out(np.power(b, x) if x.dtype.kind == "f" else np.power(b, x).astype(x.dtype))
    if needs_grad(input):
        node = PowBackward2()
        node.base = b
        node.saved = (out._data,)
        record(node, out, input)
    return out


def _tensor_first(input, other):
    """(input, other) with a Python-number input made a 0-d tensor typed against other."""
    if isinstance(input, Tensor):
        return input, other
    return Tensor._wrap(np.asarray(input, dtype=_dtype.promote_scalar(other._data, input))), other


def floor_divide(input: Tensor, other) -> Tensor:
    """input // other (not differentiable, as in PyTorch)."""
    x, y, _ = binary(*_tensor_first(input, other))
    return _wrap_out(np.floor_divide(x, y))


def remainder(input: Tensor, other) -> Tensor:
    """input % other with the sign of the divisor (Python's and PyTorch's convention)."""
    x, y, _ = binary(*_tensor_first(input, other))
    return _wrap_out(np.remainder(x, y))


class MaximumBackward0(Node):
    __slots__ = ("pick_first",)

    def backward(self, g):
        x, y = self.saved_tensors
        first = self.pick_first(x, y)
        tie = x == y
        gx = np.where(tie, g / 2, np.where(first, g, 0))
        gy = np.where(tie, g / 2, np.where(first, 0, g))
        return gx, gy


class MinimumBackward0(MaximumBackward0):
    __slots__ = ()


def _elementwise_extreme(input: Tensor, other, fn, pick_first, node_cls) -> Tensor:
    require_tensor(input, fn.__name__)
    require_tensor(other, fn.__name__, "other", 2)
    x, y, t = binary(input, other)
    try:
        out = Tensor._wrap(fn(x, y))
    except ValueError:
        raise broadcast_error(x.shape, y.shape) from None
    if needs_grad(input, t):
        node = node_cls()
        node.pick_first = pick_first
        node.saved = (x, y)
        record(node, out, input, t)
    return out


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum (NaN propagates; ties share the gradient)."""
    return _elementwise_extreme(input, other, np.maximum, np.greater, MaximumBackward0)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum (NaN propagates; ties share the gradient)."""
    return _elementwise_extreme(input, other, np.minimum, np.less, MinimumBackward0)
