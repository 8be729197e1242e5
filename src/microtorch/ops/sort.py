"""Ordering ops: sort, argsort, topk, flip and roll.

NaN orders above every number, as in PyTorch: last when ascending, first when descending.
sort is stable (equal elements keep their order, in both directions). The gradient of a
sorted or selected value goes back to the position it came from.
"""
from __future__ import annotations

import numpy as np

from .. import return_types
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ._operands import require_tensor
from .shape import wrap_dim


def _order(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sorting indices along `axis`, NaN largest."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    # descending and stable: sort the reversed array ascending, then read it backwards
    n = x.shape[axis]
    rev = np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
    return (n - 1) - rev


def _scatter_back(ctx, g):
    """Gradient of values picked at ctx.indices: each goes back to where it came from."""
    if g is None:
        return None
    out = np.zeros(ctx.shape, dtype=g.dtype)
    if ctx.ndim0:
        return out + g
    np.put_along_axis(out, ctx.indices, g, axis=ctx.axis)
    return out


class Sort(ArrayFunction):
    node_name = "SortBackward0"

    @staticmethod
    def forward(ctx, x, dim, descending):
        ctx.shape, ctx.ndim0 = x.shape, x.ndim == 0
        if x.ndim == 0:
            return x.copy(), np.zeros((), dtype=np.int64)
        idx = _order(x, dim, descending)
        ctx.indices, ctx.axis = idx, dim
        return np.take_along_axis(x, idx, axis=dim), idx.astype(np.int64, copy=False)

    @staticmethod
    def backward(ctx, grads):
        return (_scatter_back(ctx, grads[0]),)


class Topk(ArrayFunction):
    node_name = "TopkBackward0"

    @staticmethod
    def forward(ctx, x, k, dim, largest):
        ctx.shape, ctx.ndim0 = x.shape, x.ndim == 0
        if x.ndim == 0:
            return x.copy(), np.zeros((), dtype=np.int64)
        index = [slice(None)] * x.ndim
        index[dim] = slice(0, k)
        idx = _order(x, dim, largest)[tuple(index)]
        ctx.indices, ctx.axis = idx, dim
        return np.take_along_axis(x, idx, axis=dim), idx.astype(np.int64, copy=False)

    @staticmethod
    def backward(ctx, grads):
        return (_scatter_back(ctx, grads[0]),)


def _sort_dim(input: Tensor, dim: int, name: str) -> int:
    require_tensor(input, name)
    return wrap_dim(dim, input._data.ndim)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) of `input` sorted along `dim` (stable in microtorch either way)."""
    d = _sort_dim(input, dim, "sort")
    return return_types.sort(*Sort.apply(input, dim=d, descending=bool(descending)))


def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """Indices that sort `input` along `dim`."""
    d = _sort_dim(input, dim, "argsort")
    x = input._data
    if x.ndim == 0:
        return Tensor._wrap(np.zeros((), dtype=np.int64))
    return Tensor._wrap(_order(x, d, bool(descending)).astype(np.int64, copy=False))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """(values, indices) of the k largest (or smallest) elements along `dim`, in order."""
    d = _sort_dim(input, dim, "topk")
    x = input._data
    if x.dtype == np.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    return return_types.topk(*Topk.apply(input, k=int(k), dim=d,
                                                  largest=bool(largest)))


class Flip(ArrayFunction):
    node_name = "FlipBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x, dims).copy() if dims else x.copy()

    @staticmethod
    def backward(ctx, g):
        return (np.flip(g, ctx.dims) if ctx.dims else g,)


def _dims_tuple(dims, name: str) -> tuple:
    if isinstance(dims, (int, np.integer)) and not isinstance(dims, bool):
        raise TypeError(f"{name}(): argument 'dims' (position 2) must be tuple of ints, not int")
    return tuple(dims)


def flip(input: Tensor, dims) -> Tensor:
    """A copy with the order of the elements reversed along each of `dims`."""
    require_tensor(input, "flip")
    ndim = input._data.ndim
    wrapped = [wrap_dim(d, ndim) for d in _dims_tuple(dims, "flip")]
    for d in wrapped:
        if wrapped.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return Flip.apply(input, dims=tuple(wrapped) if ndim else ())


def fliplr(input: Tensor) -> Tensor:
    """Flip left-right: reverse dim 1 (needs at least 2 dims)."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """Flip up-down: reverse dim 0 (needs at least 1 dim)."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


class Roll(ArrayFunction):
    node_name = "RollBackward0"

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        if dims is None:
            return np.roll(x.reshape(-1), shifts[0]).reshape(x.shape)
        return np.roll(x, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        back = tuple(-s for s in ctx.shifts)
        if ctx.dims is None:
            return (np.roll(g.reshape(-1), back[0]).reshape(g.shape),)
        return (np.roll(g, back, ctx.dims),)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Elements shifted cyclically by `shifts` along `dims` (the flattened tensor without
    dims)."""
    require_tensor(input, "roll")
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               "dims:0")
        return Roll.apply(input, shifts=shifts, dims=None)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    ndim = input._data.ndim
    if ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return Roll.apply(input, shifts=shifts, dims=tuple(wrap_dim(d, ndim) for d in dims))
