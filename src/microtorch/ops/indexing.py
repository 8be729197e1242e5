"""Indexing: t[index] and t[index] = value, with ints, slices, None, Ellipsis, boolean
masks and integer arrays/tensors.

The index is read as PyTorch reads it: first its basic parts, one view op each in order
(an int selects, a slice slices, None unsqueezes; full slices inside a tuple are skipped),
then the advanced parts (integer arrays, masks) index what is left, in one copying op.
The graph is PyTorch's: SelectBackward0, SliceBackward0, UnsqueezeBackward0 and
IndexBackward0 nodes (AliasBackward0 when nothing is done). Gradients of advanced indexing
accumulate on repeated indices. An assignment is one in-place node: CopySlices when it
writes into a view, IndexPutBackward0 for advanced indexing of the whole tensor.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from .inplace import check_inplace
from .shape import Unsqueeze


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


def _plan(index, shape: tuple, reading: bool = True) -> tuple[list, tuple | None]:
    """(basic steps, advanced index): how PyTorch applies `index` to a tensor of `shape`.

    Steps are ("select", dim, int), ("slice", dim, slice) or ("unsqueeze", dim), in order;
    the advanced index (None if there is none) is a numpy index into the result of the
    steps, holding only full slices and arrays, which numpy and PyTorch read alike. A full
    slice is skipped, except when reading with a lone slice (`t[:]` is a new view).
    """
    single = not isinstance(index, tuple)
    items = [_convert_one(i) for i in ((index,) if single else index)]
    if sum(_dims_taken(p) for p, _ in items) > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    ellipses = [k for k, (p, _) in enumerate(items) if p is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    shape, dim, steps, advanced = list(shape), 0, [], []
    for k, (p, basic) in enumerate(items):
        if p is Ellipsis:           # up to the dims that the items after it take
            dim = len(shape) - sum(_dims_taken(q) for q, _ in items[k + 1:])
        elif p is None:
            steps.append(("unsqueeze", dim))
            shape.insert(dim, 1)
            dim += 1
        elif isinstance(p, slice):
            bounds = p.indices(shape[dim])
            if single and reading or bounds != (0, shape[dim], 1):
                steps.append(("slice", dim, p))
                shape[dim] = len(range(*bounds))
            dim += 1
        elif basic or p.ndim == 0 and p.dtype != np.bool_:
            steps.append(("select", dim, int(p)))
            del shape[dim]
        elif p.ndim == 0:                  # a bool: PyTorch unsqueezes, then keeps all or none
            steps.append(("unsqueeze", dim))
            shape.insert(dim, 1)
            advanced.append((dim, np.zeros(int(bool(p)), dtype=np.int64)))
            dim += 1
        else:
            advanced.append((dim, p))
            dim += _dims_taken(p)
    if not advanced:
        return steps, None
    key, at = [], 0
    for d, p in advanced:
        key += [slice(None)] * (d - at) + [p]
        at = d + _dims_taken(p)
    return steps, tuple(key)


def _dims_taken(p) -> int:
    """How many dims of the indexed tensor one converted index item takes."""
    if p is None or p is Ellipsis:
        return 0
    if isinstance(p, np.ndarray) and p.dtype == np.bool_:
        return p.ndim
    return 1


def _key(dim: int, item) -> tuple:
    """The numpy index of `item` at `dim` (the trailing Ellipsis keeps a 0-d result a view)."""
    return (slice(None),) * dim + (item, Ellipsis)


def _region(a: np.ndarray, steps: list) -> np.ndarray:
    """The numpy view of `a` that the basic steps select."""
    try:
        for step in steps:
            a = np.expand_dims(a, step[1]) if step[0] == "unsqueeze" else a[_key(*step[1:])]
    except IndexError as err:
        raise _index_error(a, err) from None
    return a


class Select(ArrayFunction):
    """x.select(dim, i) (an int index): a view; the gradient is written into zeros."""

    node_name = "SelectBackward0"

    @staticmethod
    def forward(ctx, x, key):
        ctx.in_shape, ctx.key = x.shape, key
        try:
            return x[key]
        except IndexError as err:
            raise _index_error(x, err) from None

    @staticmethod
    def backward(ctx, g):
        gx = np.zeros(ctx.in_shape, dtype=g.dtype)
        gx[ctx.key] = g
        return (gx,)


class Slice(Select):
    """x[start:stop:step] along one dim (a view)."""

    node_name = "SliceBackward0"


class Alias(ArrayFunction):
    """x[...] and other indices that select everything: a new view of the same data."""

    node_name = "AliasBackward0"

    @staticmethod
    def forward(ctx, x):
        return x.view()

    @staticmethod
    def backward(ctx, g):
        return (g,)


class Index(ArrayFunction):
    """Advanced indexing (a copy): repeated indices accumulate their gradients."""

    node_name = "IndexBackward0"

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape, ctx.index = x.shape, index
        try:
            return np.asarray(x[index])
        except IndexError as err:
            raise _index_error(x, err) from None

    @staticmethod
    def backward(ctx, g):
        gx = np.zeros(ctx.in_shape, dtype=g.dtype)
        np.add.at(gx, ctx.index, g)
        return (gx,)


def getitem(input: Tensor, index) -> Tensor:
    """input[index]."""
    kind = type(index)
    if kind is int and input._data.ndim:                   # the common cases, planned
        return Select.apply(input, key=(index, Ellipsis))
    if kind is slice and (index.step is None or type(index.step) is int and index.step > 0):
        return Slice.apply(input, key=(index, Ellipsis))
    steps, advanced = _plan(index, input._data.shape)
    out = input
    for step in steps:
        if step[0] == "unsqueeze":
            out = Unsqueeze.apply(out, dim=step[1])
        else:
            out = (Select if step[0] == "select" else Slice).apply(out, key=_key(*step[1:]))
    if advanced is not None:
        return Index.apply(out, index=advanced)
    return out if steps else Alias.apply(input)


class IndexPut(ArrayFunction):
    """t[index] = value, in place: the overwritten part of t gets no gradient; value gets it.

    Its name is PyTorch's for advanced indexing of the whole tensor; the subclasses name
    the other cases."""

    node_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, x, value, steps, advanced):
        v = value if isinstance(value, np.ndarray) else np.asarray(value)
        target = _region(x, steps)
        index = Ellipsis if advanced is None else advanced
        try:
            target[index] = v.astype(x.dtype, copy=False) if v.dtype != x.dtype else v
        except IndexError as err:
            raise _index_error(target, err) from None
        except ValueError as err:
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
                f"indexing result of shape {list(np.shape(target[index]))} ({err})"
            ) from None
        ctx.steps, ctx.index = steps, index
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        gself = gvalue = None
        if ctx.needs_input_grad[0]:
            gself = np.array(g, copy=True)
            _region(gself, ctx.steps)[ctx.index] = 0
        if ctx.needs_input_grad[1]:
            gvalue = np.asarray(_region(g, ctx.steps)[ctx.index])
        return gself, gvalue


class CopySlices(IndexPut):
    """An assignment into a view of t (PyTorch's node for in-place ops on views)."""

    node_name = "CopySlices"


class CopyWhole(IndexPut):
    """t[...] = tensor: PyTorch copies into t itself."""

    node_name = "CopyBackwards"


class FillWhole(IndexPut):
    """t[...] = number (or 0-d tensor): PyTorch fills t itself."""

    node_name = "FillBackward3"


def setitem(input: Tensor, index, value) -> None:
    """input[index] = value (in place; recorded when autograd is involved)."""
    steps, advanced = _plan(index, input._data.shape, reading=False)
    check_inplace(input)
    if steps:
        fn = CopySlices
    elif advanced is not None:
        fn = IndexPut
    else:
        fn = CopyWhole if isinstance(value, Tensor) and value._data.ndim else FillWhole
    fn.apply(input, value, steps=steps, advanced=advanced)
