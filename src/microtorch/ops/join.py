"""Joining and selecting: cat, stack, where.

cat and stack take one graph slot per joined tensor; where has two (input and other), its
condition being an option, as in PyTorch's nodes.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._broadcast import broadcast_error
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ._operands import operand, promote_arrays, to_tensor
from ._out import write_out
from .shape import empty_like_operands, wrap_dim


def _common_dtype(arrays: list) -> np.dtype:
    """PyTorch's promotion of the joined tensors' dtypes (0-d ones count as full tensors)."""
    dt = arrays[0].dtype
    for a in arrays[1:]:
        if a.dtype != dt:
            dt = _dtype.promote(np.empty((1,), dt), np.empty((1,), a.dtype))
    return dt


class Cat(ArrayFunction):
    node_name = "CatBackward0"

    @staticmethod
    def forward(ctx, *arrays, dim):
        dt = _common_dtype(arrays)
        ndim = max(a.ndim for a in arrays)
        # sizes along dim; None for the 1-D empty tensors that PyTorch skips
        ctx.dim, ctx.sizes = dim, [None if _skipped(a, ndim) else a.shape[dim] for a in arrays]
        return np.ascontiguousarray(np.concatenate([a.astype(dt, copy=False) for a in arrays
                                                    if not _skipped(a, ndim)], axis=dim))

    @staticmethod
    def backward(ctx, g):
        bounds = np.cumsum([n for n in ctx.sizes if n is not None])[:-1]
        pieces = iter(np.split(g, bounds, axis=ctx.dim))
        return tuple(np.zeros(0, g.dtype) if n is None else next(pieces) for n in ctx.sizes)


def _skipped(a: np.ndarray, ndim: int) -> bool:
    """A 1-D empty tensor joined with tensors of more dims: PyTorch leaves it out."""
    return a.ndim == 1 and a.shape[0] == 0 and ndim != 1


def cat(tensors, dim: int = 0, *, axis=None, out: Tensor | None = None) -> Tensor:
    """Join tensors along an existing dim (1-D empty tensors are skipped, as PyTorch, but
    keep their slot in the graph)."""
    if out is not None:
        return write_out(out, "cat", lambda: cat(tensors, dim, axis=axis), tensors)
    if axis is not None:
        dim = axis
    if isinstance(tensors, Tensor):
        raise TypeError("cat(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        "Tensor")
    if not len(tensors):
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    ts = [to_tensor(t) for t in tensors]
    for i, t in enumerate(ts):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    parts = [t for t in ts if not (t._data.ndim == 1 and t._data.shape[0] == 0)]
    if not parts:                      # only 1-D empty tensors: no dim to check (PyTorch)
        return Cat.apply(*ts, dim=0)
    ref = parts[0]._data
    d = wrap_dim(dim, ref.ndim)
    for i, t in enumerate(parts):
        s = t._data.shape
        if len(s) != ref.ndim or s[:d] + s[d + 1:] != ref.shape[:d] + ref.shape[d + 1:]:
            raise RuntimeError(
                f"Sizes of tensors must match except in dimension {d}. Expected size "
                f"{list(ref.shape)} but got size {list(s)} for tensor number {i} in the list."
            )
    return Cat.apply(*ts, dim=d)


concat = concatenate = cat


class Stack(ArrayFunction):
    node_name = "StackBackward0"

    @staticmethod
    def forward(ctx, *arrays, dim):
        dt = _common_dtype(arrays)
        ctx.dim = dim
        return np.ascontiguousarray(np.stack([a.astype(dt, copy=False) for a in arrays],
                                             axis=dim))

    @staticmethod
    def backward(ctx, g):
        return tuple(np.moveaxis(g, ctx.dim, 0))


def stack(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Join same-shape tensors along a new dim."""
    if out is not None:
        return write_out(out, "stack", lambda: stack(tensors, dim), tensors)
    if isinstance(tensors, Tensor):
        raise TypeError("stack(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        "not Tensor")
    if not len(tensors):
        raise RuntimeError("stack expects a non-empty TensorList")
    ts = [to_tensor(t) for t in tensors]
    shape = ts[0]._data.shape
    for i, t in enumerate(ts):
        if t._data.shape != shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                f"and {list(t._data.shape)} at entry {i}"
            )
    return Stack.apply(*ts, dim=wrap_dim(dim, len(shape) + 1))


class Where(ArrayFunction):
    """input where condition, other elsewhere; input or other may be a Python number."""

    node_name = "WhereBackward0"

    @staticmethod
    def forward(ctx, x, y, condition, guard=None):
        """`guard`: the condition's Tensor (its saved array is then version-guarded)."""
        operands = [a for a in (condition, x, y) if isinstance(a, np.ndarray)]
        if isinstance(x, np.ndarray):
            x, y = promote_arrays(x, y)
        else:
            y, x = promote_arrays(y, x)
        ctx.save_for_backward(condition)
        try:
            out = np.where(condition, x, y)
        except ValueError:
            raise broadcast_error(condition.shape, np.shape(x), np.shape(y)) from None
        if out.ndim > 1 and not all(a.flags.c_contiguous for a in operands):
            laid = empty_like_operands(out.shape, out.dtype, *operands)
            laid[...] = out                 # PyTorch's layout for strided operands
            out = laid
        return out

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        zero = np.zeros((), dtype=g.dtype)
        return np.where(cond, g, zero), np.where(cond, zero, g)


def where(condition, input=None, other=None):
    """Elementwise choice: input where condition is True, other elsewhere.

    With only `condition`, the indices of its non-zero elements (as `nonzero(as_tuple=True)`).
    """
    cond_tensor = to_tensor(condition)
    cond = cond_tensor._data
    if input is None and other is None:
        return tuple(Tensor._wrap(i) for i in _nonzero_indices(cond))
    if cond.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {_dtype.from_numpy_dtype(cond.dtype).name}")
    input, other = operand(input), operand(other)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = to_tensor(input)
    return Where.apply(input, other, condition=cond, guard=cond_tensor)


def _nonzero_indices(x: np.ndarray) -> np.ndarray:
    """(ndim, n) int64: row d holds the d-th index of each of x's n non-zero elements (a 0-d
    x counts as one element, with one row)."""
    return np.stack(np.nonzero(x.reshape(1) if x.ndim == 0 else x)).astype(np.int64, copy=False)


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, column-major as
    PyTorch's, or a tuple of 1-D ones (a 0-d input counts as one element)."""
    x = input._data
    idx = _nonzero_indices(x)
    if as_tuple:
        return tuple(Tensor._wrap(i) for i in idx)
    if x.ndim == 0:
        return Tensor._wrap(np.zeros((idx.shape[1], 0), np.int64))
    return Tensor._wrap(idx.T)
