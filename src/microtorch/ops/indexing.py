"""Indexing: t[index] and t[index] = value, with ints, slices, None, Ellipsis, boolean
masks and integer arrays/tensors. Basic indexing returns a view; gradients of advanced
indexing accumulate on repeated indices.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state
from ..autograd.graph import needs_grad, record
from ..autograd.node import Node
from .inplace import check_inplace, rebase


def _convert(index):
    """(numpy index, is_basic): Tensors and lists become arrays; validates slice steps."""
    if isinstance(index, tuple):
        parts = [_convert_one(i) for i in index]
        return tuple(p for p, _ in parts), all(b for _, b in parts)
    part, basic = _convert_one(index)
    return part, basic


def _convert_one(i):
    if isinstance(i, Tensor):
        arr = i._data
        if arr.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return arr, False
    if isinstance(i, slice):
        if i.step is not None and int(i.step) <= 0:
            raise ValueError("step must be greater than zero")
        return i, True
    if i is None or i is Ellipsis or isinstance(i, (int, np.integer)) and not isinstance(i, bool):
        return i, True
    if isinstance(i, (list, np.ndarray, bool)):
        arr = np.asarray(i)
        if arr.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return arr, False
    raise IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
        f"indices (got {type(i).__name__})"
    )


def _index_error(x: np.ndarray, err: IndexError) -> IndexError:
    msg = str(err).replace("axis", "dimension")
    return IndexError(f"{msg} (indexing a tensor of shape {tuple(x.shape)})")


class SelectBackward0(Node):
    """Basic indexing (ints/slices/None): the gradient is written into a zero tensor."""

    __slots__ = ("index",)

    def backward(self, g):
        gx = np.zeros(self.in_shape, dtype=g.dtype)
        gx[self.index] = g
        return (gx,)


class IndexBackward0(Node):
    """Advanced indexing: repeated indices accumulate their gradients."""

    __slots__ = ("index",)

    def backward(self, g):
        gx = np.zeros(self.in_shape, dtype=g.dtype)
        np.add.at(gx, self.index, g)
        return (gx,)


def getitem(input: Tensor, index) -> Tensor:
    """input[index]."""
    x = input._data
    idx, basic = _convert(index)
    try:
        y = x[idx]
    except IndexError as err:
        raise _index_error(x, err) from None
    if basic:
        out = input._view_of(np.asarray(y) if not isinstance(y, np.ndarray) else y)
        if not isinstance(y, np.ndarray):
            out._data = x[idx + (Ellipsis,)] if isinstance(idx, tuple) else x[idx, ...]
    else:
        out = Tensor._wrap(np.asarray(y))
    if needs_grad(input):
        node = SelectBackward0() if basic else IndexBackward0()
        node.index = idx
        node.in_shape = x.shape
        record(node, out, input)
    return out


class IndexPutBackward0(Node):
    """t[index] = value: the overwritten part of t gets no gradient; value gets it."""

    __slots__ = ("index",)

    def backward(self, g):
        gself = np.array(g, copy=True)
        gself[self.index] = 0
        return gself, g[self.index]


def setitem(input: Tensor, index, value) -> None:
    """input[index] = value (in place; recorded when autograd is involved)."""
    x = input._data
    idx, _ = _convert(index)
    v = value._data if isinstance(value, Tensor) else np.asarray(value)
    track = state.enabled and (input._requires_grad or (
        isinstance(value, Tensor) and value._requires_grad))
    if track:
        check_inplace(input)
    try:
        x[idx] = v.astype(x.dtype, copy=False) if v.dtype != x.dtype else v
    except IndexError as err:
        raise _index_error(x, err) from None
    except ValueError as err:
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
            f"indexing result of shape {list(np.shape(x[idx]))} ({err})"
        ) from None
    input._version[0] += 1
    if track:
        node = IndexPutBackward0()
        node.index = idx
        rebase(node, input, value if isinstance(value, Tensor) else None)
