"""Shape ops: reshape/view, transpose/permute, (un)squeeze, flatten, expand, repeat, clone, casts.

Ops whose forward returns a numpy view of the input make view tensors (sharing the input's
version counter, as PyTorch views do); `Function.apply` detects this.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction


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
    """`shape` with its -1 (if any) filled in for `numel` elements; PyTorch's errors."""
    known, infer = 1, None
    for i, s in enumerate(shape):
        if s == -1:
            if infer is not None:
                raise RuntimeError("only one dimension can be inferred")
            infer = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
        else:
            known *= s
    if infer is None:
        if known == numel:
            return shape
    elif known == numel or known > 0 and numel % known == 0:
        if known == 0:
            raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {list(shape)} "
                               "because the unspecified dimension size -1 can be any value and "
                               "is ambiguous")
        return shape[:infer] + (numel // known,) + shape[infer + 1:]
    raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")


class View(ArrayFunction):
    """The same storage seen with a new shape; raises when the strides do not allow it."""

    node_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            y = x.view()
            y.shape = shape
        except AttributeError:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None
        return y

    @staticmethod
    def backward(ctx, g):
        return (g.reshape(ctx.in_shape),)


class ReshapeAlias(View):
    """reshape() of a non-contiguous tensor whose strides allow a view."""

    node_name = "ReshapeAliasBackward0"


class UnsafeView(View):
    """The reshape of a fresh copy (PyTorch's `_unsafe_view`, recorded after CloneBackward0)."""

    node_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)


def viewable(x: np.ndarray, shape: tuple) -> bool:
    """True if `x`'s strides let it be seen in `shape` without a copy."""
    y = x.view()
    try:
        y.shape = shape
    except AttributeError:
        return False
    return True


def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (a view when possible, else a copy); -1 is inferred.

    The node is PyTorch's: ViewBackward0 for a contiguous input, ReshapeAliasBackward0 for
    another view, CloneBackward0 then UnsafeViewBackward0 for a copy."""
    x = input._data
    shape = _infer(_size_args(shape), x.size, x.shape)
    if x.flags.c_contiguous:
        return View.apply(input, shape=shape)
    if viewable(x, shape):
        return ReshapeAlias.apply(input, shape=shape)
    return UnsafeView.apply(Clone.apply(input), shape=shape)


def view(input: Tensor, *shape) -> Tensor:
    """The same storage seen with a new shape; raises when the strides do not allow it."""
    if len(shape) == 1 and isinstance(shape[0], _dtype.dtype):
        raise NotImplementedError("view(dtype) is not supported by microtorch")
    x = input._data
    return View.apply(input, shape=_infer(_size_args(shape), x.size, x.shape))


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, other._data.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other._data.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    shape = input._data.shape
    s, e = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))
    if not shape:
        return reshape(input, (1,))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split one dim into `sizes`."""
    shape = input._data.shape
    d = wrap_dim(dim, len(shape))
    sizes = _size_args((sizes,))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if not shape:
        raise RuntimeError("unflatten got an unexpected error:\nDimension specified as 0 but "
                           "tensor has no dimensions")
    try:
        sizes = _infer(sizes, shape[d], shape)
    except RuntimeError as err:
        if "is invalid for input of size" in str(err):
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to "
                               f"the size of dim {d} ({shape[d]}) in the input tensor") from None
        raise RuntimeError(f"unflatten got an unexpected error:\n{err}") from None
    return View.apply(input, shape=shape[:d] + sizes + shape[d + 1:])


class Permute(ArrayFunction):
    node_name = "PermuteBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, g):
        return (np.transpose(g, ctx.inverse),)


class Transpose(ArrayFunction):
    node_name = "TransposeBackward0"

    @staticmethod
    def forward(ctx, x, dim0, dim1):
        ctx.dim0, ctx.dim1 = dim0, dim1
        return np.swapaxes(x, dim0, dim1) if x.ndim else x

    @staticmethod
    def backward(ctx, g):
        return (np.swapaxes(g, ctx.dim0, ctx.dim1) if g.ndim else g,)


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
    return Permute.apply(input, dims=dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (a view)."""
    nd = input._data.ndim
    d0, d1 = wrap_dim(dim0, nd), wrap_dim(dim1, nd)
    return Transpose.apply(input, dim0=d0, dim1=d1)


swapaxes = transpose


class T(Transpose):
    """t(): PyTorch names its node TBackward0 (a 0-d or 1-d tensor keeps its shape)."""

    node_name = "TBackward0"


def t(input: Tensor) -> Tensor:
    """Transpose a matrix (a 0-d or 1-d tensor is returned as is)."""
    if input._data.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D"
        )
    return T.apply(input, dim0=0, dim1=1 if input._data.ndim == 2 else 0)


class Unsqueeze(View):
    node_name = "UnsqueezeBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.in_shape = x.shape
        return np.expand_dims(x, dim)


class Squeeze(View):
    """squeeze() of every size-1 dim; the subclasses name the `dim` and `dims` overloads."""

    node_name = "SqueezeBackward0"

    @staticmethod
    def forward(ctx, x, axes):
        ctx.in_shape = x.shape
        return np.squeeze(x, axis=axes) if axes else x.view()


class SqueezeDim(Squeeze):
    node_name = "SqueezeBackward1"


class SqueezeDims(Squeeze):
    node_name = "SqueezeBackward2"


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at `dim`."""
    return Unsqueeze.apply(input, dim=wrap_dim(dim, input._data.ndim + 1))


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove size-1 dims (all of them, or those in `dim`)."""
    x = input._data
    if dim is None:
        return Squeeze.apply(input, axes=tuple(i for i, s in enumerate(x.shape) if s == 1))
    several = isinstance(dim, (tuple, list))
    dims = [wrap_dim(d, x.ndim) for d in (dim if several else (dim,))]
    for i, d in enumerate(dims):
        if d in dims[:i]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    axes = tuple(d for d in dims if x.ndim and x.shape[d] == 1)
    return (SqueezeDims if several else SqueezeDim).apply(input, axes=axes)


class Expand(ArrayFunction):
    """A broadcast view; the engine sums the gradient back to the input's shape."""

    node_name = "ExpandBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        try:
            out = np.broadcast_to(x, shape)
            if out.size == x.size and out.size and x.flags.writeable:
                # nothing repeated (only leading size-1 dims added): a writable view
                return x.reshape(shape)   # a view: only size-1 dims are added
            return out
        except ValueError:
            raise RuntimeError(
                f"The expanded size of the tensor ({list(shape)}) must match the existing size "
                f"({list(x.shape)}) at non-singleton dimensions"
            ) from None

    @staticmethod
    def backward(ctx, g):
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
    return Expand.apply(input, shape=shape)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, shape) -> Tensor:
    return expand(input, tuple(shape))


class Repeat(ArrayFunction):
    node_name = "RepeatBackward0"

    @staticmethod
    def forward(ctx, x, repeats):
        ctx.in_shape, ctx.repeats = x.shape, repeats
        return np.tile(x, repeats)

    @staticmethod
    def backward(ctx, g):
        shape = ctx.in_shape
        reps = ctx.repeats
        full = (1,) * (len(reps) - len(shape)) + tuple(shape)
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
    return Repeat.apply(input, repeats=reps)


def empty_like_preserve(a: np.ndarray) -> np.ndarray:
    """An uninitialised array shaped like `a`, laid out like `a` (PyTorch's
    `memory_format=torch.preserve_format`, the layout of clone and flip results)."""
    if a.flags.c_contiguous or a.ndim < 2:
        return np.empty(a.shape, a.dtype)
    return empty_like_operands(a.shape, a.dtype, a)


def empty_like_operands(shape: tuple, dtype, *operands: np.ndarray) -> np.ndarray:
    """An uninitialised array of `shape` whose dims are laid out as PyTorch lays out an
    elementwise result: dims stably sorted outer to inner by decreasing stride of the first
    operand that tells them apart (a stride of 0 or a dim of size 1 tells nothing)."""
    ndim = len(shape)
    strides = []
    for a in operands:
        lead = ndim - a.ndim
        strides.append([0 if i < lead or a.shape[i - lead] == 1 else a.strides[i - lead]
                        for i in range(ndim)])

    def inner_first(d0: int, d1: int) -> bool:    # d0 (now outer) belongs inside d1
        for st in strides:
            if st[d0] and st[d1] and st[d0] != st[d1]:
                return st[d0] < st[d1]
        return False

    perm = list(range(ndim))
    for i in range(1, ndim):
        j = i
        while j > 0 and inner_first(perm[j - 1], perm[j]):
            perm[j - 1], perm[j] = perm[j], perm[j - 1]
            j -= 1
    return np.empty([shape[d] for d in perm], dtype).transpose(np.argsort(perm))


class Clone(ArrayFunction):
    node_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, x, contiguous=False):
        if x.flags.c_contiguous or contiguous:
            return np.array(x, order="C")
        out = empty_like_preserve(x)
        out[...] = x
        return out

    @staticmethod
    def backward(ctx, g):
        return (g,)


def clone(input: Tensor) -> Tensor:
    """A copy with its own storage (differentiable), laid out like input."""
    return Clone.apply(input)


def contiguous(input: Tensor) -> Tensor:
    """input itself when C-contiguous, else a C-contiguous copy (recorded as a clone)."""
    return input if input._data.flags.c_contiguous else Clone.apply(input, contiguous=True)


class ToCopy(ArrayFunction):
    """A dtype conversion (only floating results carry a gradient; the engine casts it back)."""

    node_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return (g,)


def to_dtype(input: Tensor, dtype) -> Tensor:
    """The tensor converted to `dtype` (self when it already has it)."""
    target = _dtype.to_numpy_dtype(dtype)
    if input._data.dtype == target:
        return input
    return ToCopy.apply(input, dtype=target)
