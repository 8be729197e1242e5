"""In-place ops: add_, sub_, mul_, div_, zero_, fill_, copy_, clamp_, uniform_, normal_.

Each bumps the tensor's version counter, so a backward that saved the old value raises.
Under grad mode, in-place on a leaf that requires grad raises (as in PyTorch); on a
non-leaf it is recorded by re-pointing the tensor's `grad_fn` at a new node whose input
is the tensor's old history.
"""
from __future__ import annotations

import numpy as np

from .. import random as _random
from .._tensor import Tensor
from ..autograd.grad_mode import state
from ..autograd.graph import record
from ..autograd.node import Node
from ._operands import binary


def check_inplace(t: Tensor) -> None:
    """Raise for in-place changes autograd cannot record (leaf or view that requires grad)."""
    if t._requires_grad and state.enabled:
        if t.grad_fn is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        if t._base is not None:
            raise RuntimeError(
                "microtorch does not record in-place operations on a view of a tensor that "
                "requires grad; use an out-of-place operation (e.g. torch.where) instead."
            )


def rebase(node: Node, t: Tensor, other: Tensor | None = None) -> None:
    """Record `node` as the new `grad_fn` of `t`, taking t's previous history as input 0."""
    old = Tensor._wrap(t._data)
    old.grad_fn = t.grad_fn
    old._requires_grad = t._requires_grad
    if other is None:
        record(node, t, old)
    else:
        record(node, t, old, other)


def _tracked(t: Tensor, other) -> bool:
    return state.enabled and (t._requires_grad or (isinstance(other, Tensor) and other._requires_grad))


def _operand(t: Tensor, other, op: str):
    x, y, o = binary(t, other)
    if x.dtype != t._data.dtype:
        raise RuntimeError(
            f"result type {x.dtype} can't be cast to the desired output type {t._data.dtype} "
            f"({op})"
        )
    if isinstance(y, np.ndarray):
        check_broadcast_into(y.shape, x.shape)
    return y, o


def check_broadcast_into(src: tuple, dst: tuple) -> None:
    """Raise unless an array of shape `src` broadcasts to exactly `dst`."""
    if src == dst:
        return
    try:
        shape = np.broadcast_shapes(src, dst)
    except ValueError:
        shape = None
    if shape != dst:
        raise RuntimeError(
            f"output with shape {list(dst)} doesn't match the broadcast shape "
            f"{list(shape) if shape is not None else list(src)}"
        )


class AddBackward0(Node):
    __slots__ = ("alpha",)

    def backward(self, g):
        return g, g * self.alpha


class MulBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        old, y = self.saved
        return g * y, (None if old is None else g * old)


class DivBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        old, y = self.saved
        gx = g / y
        return gx, (None if old is None else -gx * old / y)


def add_(t: Tensor, other, *, alpha=1) -> Tensor:
    """t += alpha * other."""
    y, o = _operand(t, other, "add_")
    track = _tracked(t, o)
    if track:
        check_inplace(t)
    x = t._data
    if alpha == 1:
        np.add(x, y, out=x, casting="unsafe")
    else:
        np.add(x, np.multiply(y, alpha), out=x, casting="unsafe")
    t._version[0] += 1
    if track:
        node = AddBackward0()
        node.alpha = alpha
        rebase(node, t, o)
    return t


def sub_(t: Tensor, other, *, alpha=1) -> Tensor:
    """t -= alpha * other."""
    return add_(t, other, alpha=-alpha)


def mul_(t: Tensor, other) -> Tensor:
    """t *= other."""
    y, o = _operand(t, other, "mul_")
    track = _tracked(t, o)
    old = None
    if track:
        check_inplace(t)
        old = t._data.copy() if o is not None and o._requires_grad else None
    np.multiply(t._data, y, out=t._data, casting="unsafe")
    t._version[0] += 1
    if track:
        node = MulBackward0()
        node.saved = (old, y)
        rebase(node, t, o)
    return t


def div_(t: Tensor, other) -> Tensor:
    """t /= other (true division; t must be floating)."""
    if t._data.dtype.kind != "f":
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {t.dtype.name}"
        )
    y, o = _operand(t, other, "div_")
    track = _tracked(t, o)
    old = None
    if track:
        check_inplace(t)
        old = t._data.copy() if o is not None and o._requires_grad else None
    np.divide(t._data, y, out=t._data, casting="unsafe")
    t._version[0] += 1
    if track:
        node = DivBackward0()
        node.saved = (old, y)
        rebase(node, t, o)
    return t


class FillBackward0(Node):
    """fill_/zero_: the old values no longer matter."""

    __slots__ = ()

    def backward(self, g):
        return (np.zeros_like(g),)


def fill_(t: Tensor, value) -> Tensor:
    """Set every element to `value`."""
    v = value._data if isinstance(value, Tensor) else value
    track = state.enabled and t._requires_grad
    if track:
        check_inplace(t)
    t._data[...] = v
    t._version[0] += 1
    if track:
        rebase(FillBackward0(), t)
    return t


def zero_(t: Tensor) -> Tensor:
    """Set every element to 0."""
    return fill_(t, 0)


class CopyBackwards(Node):
    __slots__ = ()

    def backward(self, g):
        return np.zeros_like(g), g


def copy_(t: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy `src` (broadcast, cast to t's dtype) into t."""
    s = src._data if isinstance(src, Tensor) else np.asarray(src)
    check_broadcast_into(s.shape, t._data.shape)
    track = _tracked(t, src)
    if track:
        check_inplace(t)
    np.copyto(t._data, s, casting="unsafe")
    t._version[0] += 1
    if track:
        rebase(CopyBackwards(), t, src if isinstance(src, Tensor) else None)
    return t


class ClampBackward1(Node):
    __slots__ = ()

    def backward(self, g):
        (keep,) = self.saved
        return (np.where(keep, g, 0).astype(g.dtype, copy=False),)


def clamp_(t: Tensor, min=None, max=None) -> Tensor:
    """Limit t's elements to [min, max] in place."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    track = state.enabled and t._requires_grad
    x = t._data
    keep = None
    if track:
        check_inplace(t)
        keep = np.ones(x.shape, bool)
        if min is not None:
            keep &= x >= min
        if max is not None:
            keep &= x <= max
    if min is not None:
        np.copyto(x, np.asarray(min, dtype=x.dtype), where=x < min)
    if max is not None:
        np.copyto(x, np.asarray(max, dtype=x.dtype), where=x > max)
    t._version[0] += 1
    if track:
        node = ClampBackward1()
        node.saved = (keep,)
        rebase(node, t)
    return t


clip_ = clamp_


def _random_fill(t: Tensor, sample, generator) -> Tensor:
    check_inplace(t)
    rng = _random.rng(generator)
    t._data[...] = sample(rng, t._data.shape)
    t._version[0] += 1
    return t


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples from U(a, b)."""
    return _random_fill(t, lambda r, s: r.uniform(a, b, s), generator)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples from N(mean, std**2)."""
    return _random_fill(t, lambda r, s: r.normal(mean, std, s), generator)
