"""Masks: triangular parts (tril, triu) and masked_fill.

Together they make the causal attention mask of a GPT: `tril(ones(T, T))` keeps what a
position may attend to, and `scores.masked_fill(tril == 0, float('-inf'))` hides the rest
before the softmax. tril/triu act on the last two dims (batches of matrices too); their
gradient is the same triangle of the output's gradient. masked_fill's gradient is zero
where the mask replaced the input and, for a tensor value, the sum of the rest's gradient.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ..autograd.grad_mode import state
from ._operands import check_scalar_fits, require_tensor
from ._out import write_out
from .inplace import check_broadcast_into, check_inplace


class Tril(ArrayFunction):
    """The lower triangle (on and below diagonal `diagonal`), zeros above."""

    node_name = "TrilBackward0"

    @staticmethod
    def forward(ctx, x, diagonal=0, inplace=False):
        ctx.diagonal = diagonal
        out = np.tril(x, diagonal)
        if inplace:
            x[...] = out
            ctx.mark_dirty(x)
            return x
        return out

    @staticmethod
    def backward(ctx, g):
        return (np.tril(g, ctx.diagonal),)


class Triu(ArrayFunction):
    """The upper triangle (on and above diagonal `diagonal`), zeros below."""

    node_name = "TriuBackward0"

    @staticmethod
    def forward(ctx, x, diagonal=0, inplace=False):
        ctx.diagonal = diagonal
        out = np.triu(x, diagonal)
        if inplace:
            x[...] = out
            ctx.mark_dirty(x)
            return x
        return out

    @staticmethod
    def backward(ctx, g):
        return (np.triu(g, ctx.diagonal),)


def _check_triangle(name: str, input, diagonal) -> None:
    require_tensor(input, name)
    if not isinstance(diagonal, numbers.Integral):
        raise TypeError(f"{name}(): argument 'diagonal' must be int, not "
                        f"{type(diagonal).__name__}")
    if input._data.ndim < 2:
        raise RuntimeError(f"{name.rstrip('_')}: input tensor must have at least 2 dimensions")


def tril(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Lower triangle of the last two dims: elements (i, j) with j - i <= diagonal."""
    _check_triangle("tril", input, diagonal)
    if out is not None:
        return write_out(out, "tril", lambda: Tril.apply(input, diagonal=int(diagonal)), input)
    return Tril.apply(input, diagonal=int(diagonal))


def triu(input: Tensor, diagonal: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Upper triangle of the last two dims: elements (i, j) with j - i >= diagonal."""
    _check_triangle("triu", input, diagonal)
    if out is not None:
        return write_out(out, "triu", lambda: Triu.apply(input, diagonal=int(diagonal)), input)
    return Triu.apply(input, diagonal=int(diagonal))


def tril_(input: Tensor, diagonal: int = 0) -> Tensor:
    """In-place tril: zero the elements above diagonal `diagonal`."""
    _check_triangle("tril_", input, diagonal)
    check_inplace(input)
    return Tril.apply(input, diagonal=int(diagonal), inplace=True)


def triu_(input: Tensor, diagonal: int = 0) -> Tensor:
    """In-place triu: zero the elements below diagonal `diagonal`."""
    _check_triangle("triu_", input, diagonal)
    check_inplace(input)
    return Triu.apply(input, diagonal=int(diagonal), inplace=True)


# ---- masked_fill ---------------------------------------------------------------------------

def _fill_value(value, dtype: np.dtype) -> np.ndarray:
    """`value` as a 0-d array of the input's dtype (PyTorch casts it, e.g. 2.5 -> 2, and
    refuses values the dtype cannot hold, e.g. inf for an integer tensor)."""
    v = np.asarray(value)
    check_scalar_fits(v.item(), dtype)
    return v.astype(dtype)


def _masked(ctx, x, mask, value, inplace):
    v = _fill_value(value, x.dtype)
    if inplace:
        np.copyto(x, v, where=mask)
        ctx.mark_dirty(x)
        return x
    return np.where(mask, v, x)


class MaskedFill(ArrayFunction):
    """input with value where mask is True; the mask and a number value are options."""

    node_name = "MaskedFillBackward0"

    @staticmethod
    def forward(ctx, x, mask=None, value=0.0, inplace=False):
        mask = mask._data                   # a Tensor option: its saved array is guarded
        ctx.save_for_backward(mask)
        return _masked(ctx, x, mask, value, inplace)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return (np.where(mask, np.zeros((), g.dtype), g),)


class MaskedFillTensor(ArrayFunction):
    """input with a 0-d tensor's value where mask is True: the value gets the gradient of
    every element it filled (returned in the output's shape; the engine sums it)."""

    node_name = "MaskedFillBackward1"

    @staticmethod
    def forward(ctx, x, value, mask=None, inplace=False):
        mask = mask._data                   # a Tensor option: its saved array is guarded
        ctx.save_for_backward(mask)
        return _masked(ctx, x, mask, value, inplace)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        zero = np.zeros((), g.dtype)
        return (np.where(mask, zero, g),
                np.where(mask, g, zero) if ctx.needs_input_grad[1] else None)


def _check_masked_fill(input, mask, value) -> None:
    require_tensor(input, "masked_fill")
    require_tensor(mask, "masked_fill", "mask", 2)
    if mask._data.dtype != np.bool_:
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_dtype.c_name(mask._data.dtype)}")
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value._data.ndim} dimension(s).")


def _apply_masked_fill(input: Tensor, mask: Tensor, value, inplace: bool) -> Tensor:
    if isinstance(value, Tensor):
        if not inplace and value._requires_grad and state.enabled \
                and input._data.dtype.kind != "f":
            raise RuntimeError(f"Autograd not support dtype: {input.dtype.scalar_name}")
        return MaskedFillTensor.apply(input, value, mask=mask, inplace=inplace)
    return MaskedFill.apply(input, mask=mask, value=value, inplace=inplace)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """input with `value` (a number or a 0-d tensor) wherever the bool `mask` is True;
    input and mask broadcast together."""
    _check_masked_fill(input, mask, value)
    return _apply_masked_fill(input, mask, value, inplace=False)


def masked_fill_(input: Tensor, mask: Tensor, value) -> Tensor:
    """In-place masked_fill (the mask must broadcast to input's shape)."""
    _check_masked_fill(input, mask, value)
    check_broadcast_into(mask._data.shape, input._data.shape)
    check_inplace(input)
    return _apply_masked_fill(input, mask, value, inplace=True)
