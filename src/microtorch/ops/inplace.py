"""In-place ops: add_, sub_, mul_, div_, zero_, fill_, copy_, uniform_, normal_ (clamp_ is in
ops/unary.py, with clamp).

Each is a `Function` whose forward writes into the input's array, marks it dirty and
returns it: `Function.apply` then bumps the tensor's version counter (so a backward that
saved the old value raises; this happens under no_grad too, which optimizers rely on) and,
when recording, makes the tensor the output of the new node, whose input edge is the
tensor's old history (for a view, the base's history is rebased: see autograd/views.py).
The public entries validate first, before any data is written, with PyTorch's errors for
what cannot be recorded (a leaf that requires grad, a view of one, ...).
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .. import random as _random
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ..autograd.grad_mode import state
from ..autograd.views import check_inplace_target
from ._operands import (
    binary,
    check_alpha,
    check_scalar_fits,
    promoted,
    refuse_bool_sub,
    scaled,
)


def check_inplace(t: Tensor, *operands) -> None:
    """PyTorch's refusals, before any data is written, of in-place changes whose result
    requires grad (t or one of the tensor `operands` does): of a leaf that requires grad, a
    view of one, a view made under no_grad or by a multi-view op (unbind, split)."""
    if state.enabled:
        requires = t.requires_grad or any(isinstance(o, Tensor) and o.requires_grad
                                           for o in operands)
        check_inplace_target(t, requires)


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


def check_cast_back(result: np.dtype, out: np.dtype, out_name=_dtype.scalar_name) -> None:
    """PyTorch's RuntimeError when an in-place result cannot be cast to the tensor's dtype
    (`out_name`: how the message names the tensor's dtype; some kernels print the C type)."""
    if _CATEGORY[result.kind] > _CATEGORY[out.kind]:
        raise RuntimeError(f"result type {_dtype.scalar_name(result)} can't be cast to the "
                           f"desired output type {out_name(out)}")


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
        np.add(x, y if alpha == 1 else scaled(y, alpha, x.dtype), out=x, casting="unsafe")
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g, (g if ctx.alpha == 1 else g * ctx.alpha)


class SubInplace(AddInplace):
    """x -= alpha * y: AddInplace applied with -alpha, under PyTorch's name."""

    node_name = "SubBackward0"


class MulInplace(ArrayFunction):
    """x *= y; the old x is kept (copied) only when y needs a gradient, y itself (guarded by
    its version counter, so `x.mul_(x)` fails in backward, as in PyTorch) only when x does."""

    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, y):
        operand = y
        y = _like(x, y)
        old = x.copy() if ctx.needs_input_grad[1] else None
        np.multiply(x, y, out=x, casting="unsafe")
        ctx.save_for_backward(old, operand if ctx.needs_input_grad[0] else None)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        old, y = ctx.saved_tensors
        return (None if y is None else g * y), (None if old is None else g * old)


class DivInplace(ArrayFunction):
    """x /= y (true division); the old x is kept only when y needs a gradient; y is saved
    guarded by its version counter (as in MulInplace)."""

    node_name = "DivBackward0"

    @staticmethod
    def forward(ctx, x, y):
        operand = y
        y = _like(x, y)
        old = x.copy() if ctx.needs_input_grad[1] else None
        np.divide(x, y, out=x, casting="unsafe")
        ctx.save_for_backward(old, operand)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        old, y = ctx.saved_tensors
        return g / y, (None if old is None else -g * ((old / y) / y))   # PyTorch's order


def add_(t: Tensor, other, *, alpha=1) -> Tensor:
    """t += alpha * other."""
    if alpha.__class__ is not int or alpha != 1:
        check_alpha(promoted(t, other), alpha)
    y = inplace_operand(t, other)
    check_inplace(t, other)
    return AddInplace.apply(t, y, alpha=alpha)


def sub_(t: Tensor, other, *, alpha=1) -> Tensor:
    """t -= alpha * other."""
    refuse_bool_sub(t._data, other._data if isinstance(other, Tensor) else other)
    if alpha.__class__ is not int or alpha != 1:
        check_alpha(promoted(t, other), alpha, negated=True)
    y = inplace_operand(t, other)
    check_inplace(t, other)
    return SubInplace.apply(t, y, alpha=-alpha)


def mul_(t: Tensor, other) -> Tensor:
    """t *= other."""
    y = inplace_operand(t, other)
    check_inplace(t, other)
    return MulInplace.apply(t, y)


class DivModeInplace(DivInplace):
    """x /= y called with an explicit `rounding_mode=None` (PyTorch's node name for it)."""

    node_name = "DivBackward2"


def div_(t: Tensor, other, *, node: type = DivInplace) -> Tensor:
    """t /= other (true division; t must be floating). `node`: the Function to record."""
    if t._data.dtype.kind != "f":
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {t.dtype.name}"
        )
    y = inplace_operand(t, other)
    check_inplace(t, other)
    return node.apply(t, y)


def _writeable(x: np.ndarray) -> np.ndarray:
    """x, or for a read-only expanded array a writeable view of the same memory: fill_ and
    zero_ write every element, the shared ones too, as PyTorch does."""
    if x.flags.writeable:
        return x
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    flat = root.reshape(-1, order="A")          # a view: an owning array is contiguous
    start = (x.__array_interface__["data"][0] - root.__array_interface__["data"][0]) \
        // x.itemsize
    return np.lib.stride_tricks.as_strided(flat[start:], x.shape, x.strides)


class Fill(ArrayFunction):
    """Every element set to a number: the old values no longer matter."""

    node_name = "FillBackward2"

    @staticmethod
    def forward(ctx, x, value):
        _writeable(x)[...] = np.asarray(value).astype(x.dtype)   # -1 wraps to 255 in uint8
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
        _writeable(x)[...] = value
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
        _writeable(x).fill(0)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return (np.zeros_like(g),)


def fill_(t: Tensor, value) -> Tensor:
    """Set every element to `value` (a number the dtype can hold, or a 0-d tensor)."""
    check_inplace(t, value)
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError("fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value._data.ndim} dimensions.")
        check_no_overlap(t)      # PyTorch refuses an expanded tensor here (not for a number)
        return FillTensor.apply(t, value)
    check_scalar_fits(value, t._data.dtype)
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
        if src is not x:                    # t.copy_(t) writes nothing (PyTorch: is_same)
            np.copyto(x, src, casting="unsafe")
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return np.zeros_like(g), (g if ctx.needs_input_grad[1] else None)


def copy_(t: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy `src` (broadcast, cast to t's dtype) into t."""
    if src is not t:
        check_no_overlap(t)
    s = src._data if isinstance(src, Tensor) else np.asarray(src)
    check_broadcast_into(s.shape, t._data.shape)
    check_inplace(t, src)
    return Copy.apply(t, src if isinstance(src, Tensor) else s)


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
