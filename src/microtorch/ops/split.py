"""split, chunk and unbind: one tensor cut into several views along a dim.

Each piece is a numpy view of the input (so a view Tensor sharing its version counter).
Backward concatenates the pieces' gradients, with zeros for pieces that got none.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ._operands import require_tensor
from .shape import wrap_dim


def _join_grads(ctx, grads):
    """The input's gradient: the pieces' gradients side by side along ctx.dim."""
    parts = [np.zeros(shape, dtype=ctx.dtype) if g is None else g
             for g, shape in zip(grads, ctx.piece_shapes)]
    if ctx.squeezed:
        return (np.stack(parts, axis=ctx.dim),)
    return (np.concatenate(parts, axis=ctx.dim),)


def _as_list(grads) -> list:
    return grads if isinstance(grads, list) else [grads]


class _Cut(ArrayFunction):
    """x cut at `bounds` along `dim` (each piece a view)."""

    @staticmethod
    def forward(ctx, x, dim, sizes):
        ctx.dim, ctx.dtype, ctx.squeezed = dim, x.dtype, False
        stops = np.cumsum(sizes)
        index = [slice(None)] * x.ndim
        pieces = []
        for start, stop in zip(stops - np.asarray(sizes, dtype=np.int64), stops):
            index[dim] = slice(int(start), int(stop))
            pieces.append(x[tuple(index)])
        ctx.piece_shapes = [p.shape for p in pieces]
        return tuple(pieces)

    @staticmethod
    def backward(ctx, grads):
        return _join_grads(ctx, _as_list(grads))


class Split(_Cut):
    node_name = "SplitBackward0"


class SplitWithSizes(_Cut):
    node_name = "SplitWithSizesBackward0"


class Unbind(ArrayFunction):
    node_name = "UnbindBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim, ctx.dtype, ctx.squeezed = dim, x.dtype, True
        moved = np.moveaxis(x, dim, 0)
        pieces = tuple(moved[i, ...] for i in range(moved.shape[0]))    # views, also when 0-d
        ctx.piece_shapes = [p.shape for p in pieces]
        return pieces

    @staticmethod
    def backward(ctx, grads):
        return _join_grads(ctx, _as_list(grads))


def _int_list(sizes) -> list:
    if isinstance(sizes, Tensor) or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
        raise TypeError("split_with_sizes(): argument 'split_sizes' (position 2) must be "
                        f"tuple of ints, not {type(sizes).__name__}")
    return [int(s) for s in sizes]


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of `split_size_or_sections` elements along `dim` (the last may be smaller), or
    of the given sizes (a list that sums to the dim's size)."""
    require_tensor(tensor, "split", "tensor")
    x = tensor._data
    if x.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, Tensor) and split_size_or_sections.ndim == 0:
        split_size_or_sections = split_size_or_sections.item()
    if isinstance(split_size_or_sections, (list, tuple, Tensor)):
        sizes = _int_list(split_size_or_sections)
        if any(s < 0 for s in sizes):
            raise RuntimeError("split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={sizes}")
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
        return SplitWithSizes.apply(tensor, dim=d, sizes=sizes)
    size = int(split_size_or_sections)
    if size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
    if size == 0 and n != 0:
        raise RuntimeError("split_size can only be 0 if dimension size is 0, but got dimension "
                           f"size of {n}")
    if n == 0:
        sizes = [0]
    else:
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    return Split.apply(tensor, dim=d, sizes=sizes)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most `chunks` pieces of ceil(size / chunks) elements along `dim`."""
    require_tensor(input, "chunk")
    if input._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    if n == 0:
        return SplitWithSizes.apply(input, dim=d, sizes=[0] * chunks)
    return split(input, -(-n // chunks), d)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along `dim`, each without that dim."""
    require_tensor(input, "unbind")
    if input._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input._data.ndim)
    if input._data.shape[d] == 0:
        return ()
    return Unbind.apply(input, dim=d)
