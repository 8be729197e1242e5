"""Joining and selecting: cat, stack, where."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.graph import needs_grad, record
from ..autograd.node import Node
from ._operands import binary, broadcast_error, to_tensor
from .shape import wrap_dim


def _common_dtype(arrays: list) -> np.dtype:
    dt = arrays[0].dtype
    for a in arrays[1:]:
        if a.dtype != dt:
            dt = _dtype.promote(np.empty((1,), dt), a)
    return dt


class CatBackward0(Node):
    __slots__ = ("dim", "sizes")

    def backward(self, g):
        bounds = np.cumsum(self.sizes)[:-1]
        return tuple(np.split(g, bounds, axis=self.dim))


def cat(tensors, dim: int = 0, *, axis=None) -> Tensor:
    """Join tensors along an existing dim (1-D empty tensors are skipped, as PyTorch)."""
    if axis is not None:
        dim = axis
    if isinstance(tensors, Tensor):
        raise TypeError("cat(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        "Tensor")
    if not len(tensors):
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    ts = [to_tensor(t) for t in tensors]
    parts = [t for t in ts if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or ts[:1]
    ref = parts[0]._data
    if ref.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, ref.ndim)
    for i, t in enumerate(parts):
        s = t._data.shape
        if len(s) != ref.ndim or s[:d] + s[d + 1:] != ref.shape[:d] + ref.shape[d + 1:]:
            raise RuntimeError(
                f"Sizes of tensors must match except in dimension {d}. Expected size "
                f"{list(ref.shape)} but got size {list(s)} for tensor number {i} in the list."
            )
    dt = _common_dtype([t._data for t in parts])
    out = Tensor._wrap(np.concatenate([t._data.astype(dt, copy=False) for t in parts], axis=d))
    if needs_grad(*parts):
        node = CatBackward0()
        node.dim = d
        node.sizes = [t._data.shape[d] for t in parts]
        record(node, out, *parts)
    return out


concat = concatenate = cat


class StackBackward0(Node):
    __slots__ = ("dim",)

    def backward(self, g):
        return tuple(np.moveaxis(g, self.dim, 0))


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shape tensors along a new dim."""
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
    d = wrap_dim(dim, len(shape) + 1)
    dt = _common_dtype([t._data for t in ts])
    out = Tensor._wrap(np.stack([t._data.astype(dt, copy=False) for t in ts], axis=d))
    if needs_grad(*ts):
        node = StackBackward0()
        node.dim = d
        record(node, out, *ts)
    return out


class WhereBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        (cond,) = self.saved
        zero = np.zeros((), dtype=g.dtype)
        return np.where(cond, g, zero), np.where(cond, zero, g)


def where(condition, input=None, other=None):
    """Elementwise choice: input where condition is True, other elsewhere.

    With only `condition`, the indices of its non-zero elements (as `nonzero(as_tuple=True)`).
    """
    cond = to_tensor(condition)._data
    if input is None and other is None:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in np.nonzero(cond))
    if cond.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {_dtype.from_numpy_dtype(cond.dtype).name}")
    a = input if isinstance(input, Tensor) else None
    b = other if isinstance(other, Tensor) else None
    if a is not None:
        x, y, _ = binary(a, other)
    elif b is not None:
        y, x, _ = binary(b, input)
    else:
        x, y, _ = binary(to_tensor(input), other)
    try:
        out = Tensor._wrap(np.where(cond, x, y))
    except ValueError:
        raise broadcast_error(cond.shape, np.shape(x), np.shape(y)) from None
    if needs_grad(a, b):
        node = WhereBackward0()
        node.saved = (cond,)
        record(node, out, a, b)
    return out


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or a tuple of 1-D ones."""
    idx = np.nonzero(input._data)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in idx)
    return Tensor._wrap(np.stack(idx, axis=1).astype(np.int64) if idx else
                        np.zeros((0, 0), np.int64))
