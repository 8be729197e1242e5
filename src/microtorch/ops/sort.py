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
from .shape import empty_like_preserve, wrap_dim


def _order(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sorting indices along `axis`, NaN largest."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    # descending and stable: sort the reversed array ascending, then read it backwards
    n = x.shape[axis]
    rev = np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
    return (n - 1) - rev


def _picked(ctx, values: np.ndarray, idx: np.ndarray) -> tuple:
    """(values, indices) as outputs; the indices are saved as PyTorch saves them (so an
    in-place change of the returned indices makes backward raise)."""
    ctx.save_for_backward(idx)
    return values, idx


def _scatter_back(ctx, g):
    """Gradient of values picked at the saved indices: each goes back to where it came
    from."""
    (idx,) = ctx.saved_tensors
    if g is None:
        return None
    out = np.zeros(ctx.shape, dtype=g.dtype)
    if ctx.ndim0:
        return out + g
    np.put_along_axis(out, idx, g, axis=ctx.axis)
    return out


class Sort(ArrayFunction):
    node_name = "SortBackward0"

    @staticmethod
    def forward(ctx, x, dim, descending):
        ctx.shape, ctx.ndim0 = x.shape, x.ndim == 0
        if x.ndim == 0:
            return _picked(ctx, x.copy(), np.zeros((), dtype=np.int64))
        idx = _order(x, dim, descending).astype(np.int64, copy=False)
        ctx.axis = dim
        return _picked(ctx, np.take_along_axis(x, idx, axis=dim), idx)

    @staticmethod
    def backward(ctx, grads):
        return (_scatter_back(ctx, grads[0]),)


def _select_order(row: np.ndarray, k: int, largest: bool, sort: bool) -> list:
    """Indices of the k selected elements of a 1-d row, in the order PyTorch's CPU topk
    returns them. It runs libstdc++'s std::nth_element (or std::partial_sort when
    k * 64 <= n) on (value, index) pairs, so ties and the sorted=False order come out as
    there; this replays those algorithms step by step."""
    vals = row.tolist()
    nan = [v != v for v in vals]
    if largest:
        def less(i, j):
            return (nan[i] and not nan[j]) or vals[i] > vals[j]
    else:
        def less(i, j):
            return (not nan[i] and nan[j]) or vals[i] < vals[j]
    q = list(range(len(vals)))
    n = len(q)
    if k * 64 <= n:
        _heap_select(q, 0, k, n, less)
        _sort_heap(q, 0, k, less)
    else:
        _introselect(q, 0, k - 1, n, less)
        if sort:
            _introsort(q, 0, k - 1, less)
    return q[:k]


def _insertion_sort(q, first, last, less):
    for i in range(first + 1, last):
        val = q[i]
        if less(val, q[first]):
            q[first + 1:i + 1] = q[first:i]
            q[first] = val
        else:
            j = i
            while less(val, q[j - 1]):
                q[j] = q[j - 1]
                j -= 1
            q[j] = val


def _partition_pivot(q, first, last, less) -> int:
    """Median of three moved to `first`, then the unguarded Hoare partition of the rest."""
    a, b, c = first + 1, first + (last - first) // 2, last - 1
    if less(q[a], q[b]):
        m = b if less(q[b], q[c]) else (c if less(q[a], q[c]) else a)
    else:
        m = a if less(q[a], q[c]) else (c if less(q[b], q[c]) else b)
    q[first], q[m] = q[m], q[first]
    pivot, lo, hi = q[first], first + 1, last
    while True:
        while less(q[lo], pivot):
            lo += 1
        hi -= 1
        while less(pivot, q[hi]):
            hi -= 1
        if not lo < hi:
            return lo
        q[lo], q[hi] = q[hi], q[lo]
        lo += 1


def _introselect(q, first, nth, last, less):
    depth = 2 * ((last - first).bit_length() - 1)
    while last - first > 3:
        if depth == 0:
            _heap_select(q, first, nth + 1, last, less)
            q[first], q[nth] = q[nth], q[first]
            return
        depth -= 1
        cut = _partition_pivot(q, first, last, less)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(q, first, last, less)


def _introsort(q, first, last, less):
    """std::sort: introsort down to runs of 16, then one insertion sort."""
    def loop(first, last, depth):
        while last - first > 16:
            if depth == 0:
                _heap_select(q, first, last, last, less)
                _sort_heap(q, first, last, less)
                return
            depth -= 1
            cut = _partition_pivot(q, first, last, less)
            loop(cut, last, depth)
            last = cut

    if last - first > 1:
        loop(first, last, 2 * ((last - first).bit_length() - 1))
        _insertion_sort(q, first, last, less)


def _adjust_heap(q, first, hole, length, value, less):
    top, child = hole, hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if less(q[first + child], q[first + child - 1]):
            child -= 1
        q[first + hole] = q[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        q[first + hole] = q[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and less(q[first + parent], value):
        q[first + hole] = q[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    q[first + hole] = value


def _heap_select(q, first, middle, last, less):
    length = middle - first
    if length > 1:
        for parent in range((length - 2) // 2, -1, -1):
            _adjust_heap(q, first, parent, length, q[first + parent], less)
    for i in range(middle, last):
        if less(q[i], q[first]):
            value, q[i] = q[i], q[first]
            _adjust_heap(q, first, 0, length, value, less)


def _sort_heap(q, first, last, less):
    while last - first > 1:
        last -= 1
        value, q[last] = q[last], q[first]
        _adjust_heap(q, first, 0, last - first, value, less)


_REPLAY_LIMIT = 1 << 16
"""Inputs up to this many elements replay PyTorch's selection order in Python; larger ones
use numpy's stable order (the same values; ties and sorted=False may be ordered differently)."""


def _topk_indices(x: np.ndarray, k: int, axis: int, largest: bool, sort: bool) -> np.ndarray:
    if x.size > _REPLAY_LIMIT or k == 0:
        index = [slice(None)] * x.ndim
        index[axis] = slice(0, k)
        return _order(x, axis, largest)[tuple(index)]
    rows = np.moveaxis(x, axis, -1)
    flat = rows.reshape(-1, rows.shape[-1])
    picked = np.array([_select_order(r, k, largest, sort) for r in flat], dtype=np.int64)
    return np.moveaxis(picked.reshape(rows.shape[:-1] + (k,)), -1, axis)


class Topk(ArrayFunction):
    node_name = "TopkBackward0"

    @staticmethod
    def forward(ctx, x, k, dim, largest, sorted=True):
        ctx.shape, ctx.ndim0 = x.shape, x.ndim == 0
        if x.ndim == 0:
            return _picked(ctx, x.copy(), np.zeros((), dtype=np.int64))
        idx = _topk_indices(x, k, dim, largest, sorted).astype(np.int64, copy=False)
        ctx.axis = dim
        return _picked(ctx, np.take_along_axis(x, idx, axis=dim), idx)

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
    return return_types.topk(*Topk.apply(input, k=int(k), dim=d, largest=bool(largest),
                                         sorted=bool(sorted)))


class Flip(ArrayFunction):
    node_name = "FlipBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        out = empty_like_preserve(x)
        out[...] = np.flip(x, dims) if dims else x
        return out

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
        return np.ascontiguousarray(np.roll(x, shifts, dims))

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
    if not shifts:
        raise RuntimeError("`shifts` required")
    if dims is None or (isinstance(dims, (tuple, list)) and not dims):
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
