"""Shape ops: reshape/view, transpose/permute, (un)squeeze, flatten, expand, repeat, clone, casts.

Ops that return numpy views share the input's version counter, as PyTorch views do.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.graph import needs_grad, record
from ..autograd.node import Node


def wrap_dim(dim, ndim: int) -> int:
    """A possibly negative dim as an index in [0, ndim), or IndexError as PyTorch words it."""
    if isinstance(dim, Tensor):
        dim = dim.item()
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    n = max(ndim, 1)
    if dim < -n or dim >= n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return int(dim) % n


def _size_args(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    out = []
    for s in shape:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"shape must be a sequence of ints, got {shape}")
        out.append(int(s))
    return tuple(out)


def _infer(shape: tuple, numel: int, src_shape: tuple) -> tuple:
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class ViewBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        return (g.reshape(self.in_shape),)


class ReshapeAliasBackward0(ViewBackward0):
    __slots__ = ()


def _reshaped(input: Tensor, shape: tuple, view: bool) -> Tensor:
    x = input._data
    shape = _infer(shape, x.size, x.shape)
    if view:
        try:
            y = x.view()
            y.shape = shape
        except AttributeError:
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (input shape "
                f"{list(x.shape)}, requested {list(shape)}): at least one dimension spans across "
                "two contiguous subspaces. Use .reshape(...) instead."
            ) from None
        out = input._view_of(y)
    else:
        y = x.reshape(shape)
        out = input._view_of(y) if np.may_share_memory(y, x) else Tensor._wrap(y)
    if needs_grad(input):
        node = ViewBackward0() if view else ReshapeAliasBackward0()
        node.in_shape = x.shape
        record(node, out, input)
    return out


def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (a view when possible, else a copy); -1 is inferred."""
    return _reshaped(input, _size_args(shape), view=False)


def view(input: Tensor, *shape) -> Tensor:
    """The same storage seen with a new shape; raises when the strides do not allow it."""
    if len(shape) == 1 and isinstance(shape[0], _dtype.dtype):
        raise NotImplementedError("view(dtype) is not supported by microtorch")
    return _reshaped(input, _size_args(shape), view=True)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, other._data.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other._data.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    shape = input._data.shape
    if not shape:
        return reshape(input, (1,))
    s, e = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split one dim into `sizes`."""
    shape = input._data.shape
    d = wrap_dim(dim, len(shape))
    return reshape(input, shape[:d] + tuple(sizes) + shape[d + 1:])


class PermuteBackward0(Node):
    __slots__ = ("inverse",)

    def backward(self, g):
        return (np.transpose(g, self.inverse),)


class TransposeBackward0(Node):
    __slots__ = ("d0", "d1")

    def backward(self, g):
        return (np.swapaxes(g, self.d0, self.d1) if g.ndim else g,)


def permute(input: Tensor, *dims) -> Tensor:
    """Reorder the dims (a view)."""
    nd = input._data.ndim
    dims = _size_args(dims) if dims else ()
    if len(dims) != nd:
        raise RuntimeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    dims = tuple(wrap_dim(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError(f"permute(): duplicate dims are not allowed (got {list(dims)})")
    out = input._view_of(np.transpose(input._data, dims))
    if needs_grad(input):
        node = PermuteBackward0()
        node.inverse = tuple(np.argsort(dims))
        record(node, out, input)
    return out


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (a view)."""
    nd = input._data.ndim
    d0, d1 = wrap_dim(dim0, nd), wrap_dim(dim1, nd)
    out = input._view_of(np.swapaxes(input._data, d0, d1) if nd else input._data)
    if needs_grad(input):
        node = TransposeBackward0()
        node.d0, node.d1 = d0, d1
        record(node, out, input)
    return out


swapaxes = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a matrix (a 0-d or 1-d tensor is returned as is)."""
    if input._data.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D"
        )
    return transpose(input, 0, 1) if input._data.ndim == 2 else transpose(input, 0, 0)


class UnsqueezeBackward0(ViewBackward0):
    __slots__ = ()


class SqueezeBackward0(ViewBackward0):
    __slots__ = ()


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at `dim`."""
    x = input._data
    d = wrap_dim(dim, x.ndim + 1)
    out = input._view_of(np.expand_dims(x, d))
    if needs_grad(input):
        node = UnsqueezeBackward0()
        node.in_shape = x.shape
        record(node, out, input)
    return out


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove size-1 dims (all of them, or those in `dim`)."""
    x = input._data
    if dim is None:
        axes = tuple(i for i, s in enumerate(x.shape) if s == 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        axes = tuple(d for d in (wrap_dim(d, x.ndim) for d in dims) if x.ndim and x.shape[d] == 1)
    out = input._view_of(np.squeeze(x, axis=axes) if axes else x.view())
    if needs_grad(input):
        node = SqueezeBackward0()
        node.in_shape = x.shape
        record(node, out, input)
    return out


class ExpandBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        return (g,)


def expand(input: Tensor, *sizes) -> Tensor:
    """Broadcast to a larger shape without copying (-1 keeps a dim)."""
    x = input._data
    sizes = _size_args(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({x.ndim})"
        )
    lead = len(sizes) - x.ndim
    shape = tuple(
        (x.shape[i - lead] if s == -1 else s) if i >= lead else s for i, s in enumerate(sizes)
    )
    try:
        y = np.broadcast_to(x, shape)
    except ValueError:
        raise RuntimeError(
            f"The expanded size of the tensor ({list(shape)}) must match the existing size "
            f"({list(x.shape)}) at non-singleton dimensions"
        ) from None
    out = input._view_of(y)
    if needs_grad(input):
        record(ExpandBackward0(), out, input)
    return out


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, shape) -> Tensor:
    return expand(input, tuple(shape))


class RepeatBackward0(Node):
    __slots__ = ("repeats",)

    def backward(self, g):
        shape = self.in_shape
        reps = self.repeats
        lead = len(reps) - len(shape)
        full = (1,) * lead + tuple(shape)
        split = []
        for r, s in zip(reps, full):
            split += [r, s]
        g = g.reshape(split).sum(axis=tuple(range(0, 2 * len(reps), 2)))
        return (g.reshape(shape),)


def repeat(input: Tensor, *repeats) -> Tensor:
    """Tile the tensor `repeats` times along each dim (copies)."""
    reps = _size_args(repeats)
    x = input._data
    if len(reps) < x.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if any(r < 0 for r in reps):
        raise RuntimeError(f"Trying to create tensor with negative dimension: repeats {list(reps)}")
    full = (1,) * (len(reps) - x.ndim) + x.shape
    numel = 1
    for r, n in zip(reps, full):
        numel *= r * n
    if numel * x.itemsize >= 2**62:
        raise RuntimeError(f"repeat: the result would have {numel} elements of {x.itemsize} bytes "
                           f"(shape {[r * n for r, n in zip(reps, full)]}), more than can be stored")
    out = Tensor._wrap(np.tile(x, reps))
    if needs_grad(input):
        node = RepeatBackward0()
        node.repeats = reps
        node.in_shape = x.shape
        record(node, out, input)
    return out


class CloneBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        return (g,)


def clone(input: Tensor) -> Tensor:
    """A copy with its own storage (differentiable)."""
    out = Tensor._wrap(np.array(input._data, copy=True, order="C"))
    if needs_grad(input):
        record(CloneBackward0(), out, input)
    return out


class ToCopyBackward0(Node):
    __slots__ = ()

    def backward(self, g):
        return (g,)


def to_dtype(input: Tensor, dtype) -> Tensor:
    """The tensor converted to `dtype` (self when it already has it)."""
    target = _dtype.to_numpy_dtype(dtype)
    x = input._data
    if x.dtype == target:
        return input
    out = Tensor._wrap(x.astype(target))
    if target.kind == "f" and needs_grad(input):
        record(ToCopyBackward0(), out, input)
    return out
