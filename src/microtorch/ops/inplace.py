"""In-place ops: add_, sub_, mul_, div_, zero_, fill_, copy_, clamp_, uniform_, normal_.

Each is a `Function` whose forward writes into the input's array, marks it dirty and
returns it: `Function.apply` then bumps the tensor's version counter (so a backward that
saved the old value raises; this happens under no_grad too, which optimizers rely on) and,
when recording, makes the tensor the output of the new node, whose input edge is the
tensor's old history. The public entries validate first, before any data is written: an
in-place change of a leaf that requires grad raises (as in PyTorch), as does one of a view
of a tensor that requires grad (which microtorch does not record).
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .. import random as _random
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ..autograd.grad_mode import state
from ._operands import binary, refuse_bool_sub


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


def inplace_operand(t: Tensor, other):
    """`other` as `apply` takes it (a Tensor or a Python number), after checking that the
    promoted result can be cast back to t's dtype (PyTorch's rule: never to a lower
    category, bool < integer < float; a narrower float is fine) and that `other`
    broadcasts to t's shape."""
    check_no_overlap(t)
    x, y, o = binary(t, other)
    check_cast_back(x.dtype, t._data.dtype)
    if isinstance(y, np.ndarray):
        check_broadcast_into(y.shape, x.shape)
    return y if o is None else o


def check_no_overlap(t: Tensor) -> None:
    """PyTorch's RuntimeError for an elementwise write into a tensor whose elements share
    memory (an expanded tensor: a stride of 0 along a dimension longer than 1)."""
    a = t._data
    if a.size and any(s == 0 and n > 1 for s, n in zip(a.strides, a.shape)):
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to "
            "a single memory location. Please clone() the tensor before performing the "
            "operation.")


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def check_cast_back(result: np.dtype, out: np.dtype) -> None:
    """PyTorch's RuntimeError when an in-place result cannot be cast to the tensor's dtype."""
    if _CATEGORY[result.kind] > _CATEGORY[out.kind]:
        raise RuntimeError(f"result type {_dtype.scalar_name(result)} can't be cast to the "
                           f"desired output type {_dtype.scalar_name(out)}")


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


def _like(x: np.ndarray, y):
    """The operand `y` (in the promoted dtype, checked by `inplace_operand`: numpy computes
    in it and casts the result into x, as PyTorch does), copied if it shares memory with x
    so that the write into x cannot change it."""
    if not isinstance(y, np.ndarray):
        return y
    return y.copy() if np.may_share_memory(x, y) else y


class AddInplace(ArrayFunction):
    """x += alpha * y."""

    node_name = "AddBackward0"

    @staticmethod
    def forward(ctx, x, y, alpha=1):
        y = _like(x, y)
        ctx.alpha = alpha
        np.add(x, y if alpha == 1 else np.multiply(y, alpha), out=x, casting="unsafe")
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g, (g if ctx.alpha == 1 else g * ctx.alpha)


class SubInplace(AddInplace):
    """x -= alpha * y: AddInplace applied with -alpha, under PyTorch's name."""

    node_name = "SubBackward0"


class MulInplace(ArrayFunction):
    """x *= y; the old x is kept (copied) only when y needs a gradient."""

    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, y):
        y = _like(x, y)
        old = x.copy() if ctx.needs_input_grad[1] else None
        np.multiply(x, y, out=x, casting="unsafe")
        ctx.save_for_backward(old, y)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        old, y = ctx.saved_tensors
        return g * y, (None if old is None else g * old)


class DivInplace(ArrayFunction):
    """x /= y (true division); the old x is kept only when y needs a gradient."""

    node_name = "DivBackward0"

    @staticmethod
    def forward(ctx, x, y):
        y = _like(x, y)
        old = x.copy() if ctx.needs_input_grad[1] else None
        np.divide(x, y, out=x, casting="unsafe")
        ctx.save_for_backward(old, y)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        old, y = ctx.saved_tensors
        gx = g / y
        return gx, (None if old is None else -gx * old / y)


def add_(t: Tensor, other, *, alpha=1) -> Tensor:
    """t += alpha * other."""
    y = inplace_operand(t, other)
    check_inplace(t)
    return AddInplace.apply(t, y, alpha=alpha)


def sub_(t: Tensor, other, *, alpha=1) -> Tensor:
    """t -= alpha * other."""
    refuse_bool_sub(t._data, other._data if isinstance(other, Tensor) else other)
    y = inplace_operand(t, other)
    check_inplace(t)
    return SubInplace.apply(t, y, alpha=-alpha)


def mul_(t: Tensor, other) -> Tensor:
    """t *= other."""
    y = inplace_operand(t, other)
    check_inplace(t)
    return MulInplace.apply(t, y)


def div_(t: Tensor, other) -> Tensor:
    """t /= other (true division; t must be floating)."""
    if t._data.dtype.kind != "f":
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {t.dtype.name}"
        )
    y = inplace_operand(t, other)
    check_inplace(t)
    return DivInplace.apply(t, y)


class Fill(ArrayFunction):
    """Every element set to a number: the old values no longer matter."""

    node_name = "FillBackward2"

    @staticmethod
    def forward(ctx, x, value):
        x[...] = value
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return (np.zeros_like(g),)


class FillTensor(ArrayFunction):
    """Every element set to a tensor's value: its gradient is the sum of the output's
    (given in the output's shape; the engine sums it back to the value's)."""

    node_name = "FillBackward3"

    @staticmethod
    def forward(ctx, x, value):
        x[...] = value
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return np.zeros_like(g), (g if ctx.needs_input_grad[1] else None)


class Zero(ArrayFunction):
    """Every element set to 0 (PyTorch records zero_ apart from fill_)."""

    node_name = "ZeroBackward0"

    @staticmethod
    def forward(ctx, x):
        x.fill(0)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return (np.zeros_like(g),)


def fill_(t: Tensor, value) -> Tensor:
    """Set every element to `value`."""
    check_inplace(t)
    if isinstance(value, Tensor):
        return FillTensor.apply(t, value)
    return Fill.apply(t, value=value)


def zero_(t: Tensor) -> Tensor:
    """Set every element to 0."""
    check_inplace(t)
    return Zero.apply(t)


class Copy(ArrayFunction):
    """x's elements replaced by src's (broadcast, cast to x's dtype)."""

    node_name = "CopyBackwards"

    @staticmethod
    def forward(ctx, x, src):
        np.copyto(x, src, casting="unsafe")
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return np.zeros_like(g), (g if ctx.needs_input_grad[1] else None)


def copy_(t: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy `src` (broadcast, cast to t's dtype) into t."""
    check_no_overlap(t)
    s = src._data if isinstance(src, Tensor) else np.asarray(src)
    check_broadcast_into(s.shape, t._data.shape)
    check_inplace(t)
    return Copy.apply(t, src if isinstance(src, Tensor) else s)


class ClampInplace(ArrayFunction):
    """x limited to [min, max]; the gradient passes where x was inside the bounds."""

    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        if ctx.needs_input_grad[0]:
            keep = np.ones(x.shape, bool)
            if min is not None:
                keep &= x >= min
            if max is not None:
                keep &= x <= max
            ctx.save_for_backward(keep)
        if min is not None:
            np.copyto(x, np.asarray(min, dtype=x.dtype), where=x < min)
        if max is not None:
            np.copyto(x, np.asarray(max, dtype=x.dtype), where=x > max)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        (keep,) = ctx.saved_tensors
        return (np.where(keep, g, 0).astype(g.dtype, copy=False),)


def clamp_(t: Tensor, min=None, max=None) -> Tensor:
    """Limit t's elements to [min, max] in place (tensor bounds act as constants)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    check_no_overlap(t)
    check_inplace(t)
    lo = min._data if isinstance(min, Tensor) else min
    hi = max._data if isinstance(max, Tensor) else max
    return ClampInplace.apply(t, min=lo, max=hi)


clip_ = clamp_


class Uniform(ArrayFunction):
    """x filled with samples from U(a, b): the old values get a zero gradient."""

    node_name = "UniformBackward0"

    @staticmethod
    def forward(ctx, x, a, b, generator):
        x[...] = _random.rng(generator).uniform(a, b, x.shape)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return (np.zeros_like(g),)


class Normal(ArrayFunction):
    """x filled with samples from N(mean, std**2): the old values get a zero gradient."""

    node_name = "NormalBackward0"

    @staticmethod
    def forward(ctx, x, mean, std, generator):
        x[...] = _random.rng(generator).normal(mean, std, x.shape)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return (np.zeros_like(g),)


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples from U(a, b)."""
    check_inplace(t)
    return Uniform.apply(t, a=a, b=b, generator=generator)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples from N(mean, std**2)."""
    check_inplace(t)
    return Normal.apply(t, mean=mean, std=std, generator=generator)
