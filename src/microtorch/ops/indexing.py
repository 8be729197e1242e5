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

import math
import warnings

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ..autograd.grad_mode import state
from .inplace import _writeable, check_inplace
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
        if arr.size == 0 and isinstance(i, list):      # PyTorch: an empty int64 index
            arr = arr.astype(np.int64)
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
    if _sequence_as_tuple(index):
        index = tuple(index)
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


def _sequence_as_tuple(index) -> bool:
    """PyTorch's rule: a short list holding a sequence, slice, tensor, None or Ellipsis is
    read as a tuple of indices (with its deprecation warning)."""
    if type(index) is not list or len(index) >= 32 or not any(
            i is None or i is Ellipsis or isinstance(i, (list, tuple, slice, Tensor, np.ndarray))
            for i in index):
        return False
    warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated and "
                  "will be changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In "
                  "pytorch 2.9 this will be interpreted as tensor index, x[torch.tensor(seq)], "
                  "which will result either in an error or a different result", UserWarning,
                  stacklevel=5)
    return True


def _advanced_shape(shape: tuple, key: tuple) -> tuple:
    """The shape of `a[key]` for an array of `shape` (key: full slices and index arrays, as
    `_plan` makes it), after PyTorch's checks of masks and of indices into size-0 dims."""
    arrays, dims, at, d = [], [], [], 0
    for k, p in enumerate(key):
        if isinstance(p, slice):
            d += 1
            continue
        at.append(k)
        if p.dtype == np.bool_:
            for j in range(p.ndim):
                if p.shape[j] != shape[d + j]:
                    raise IndexError(f"The shape of the mask {list(p.shape)} at index {j} does "
                                     f"not match the shape of the indexed tensor {list(shape)} at "
                                     f"index {d + j}")
            arrays.append((int(np.count_nonzero(p)),))
            dims += range(d, d + p.ndim)
            d += p.ndim
        else:
            arrays.append(p.shape)
            dims.append(d)
            d += 1
    try:
        index_shape = np.broadcast_shapes(*arrays)
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with "
                         f"shapes {', '.join(str(list(a)) for a in arrays)}") from None
    if 0 in index_shape or 0 not in (shape[i] for i in dims):
        rest = [n for i, n in enumerate(shape) if i not in dims]
        if at == list(range(at[0], at[-1] + 1)):       # adjacent: in place, as numpy
            first = dims[0]
            return tuple(rest[:first]) + index_shape + tuple(rest[first:])
        return index_shape + tuple(rest)
    raise IndexError("index is out of bounds for dimension with size 0")


def _index_or_empty(x: np.ndarray, key: tuple, err: IndexError) -> np.ndarray:
    """After numpy's IndexError: an empty result when PyTorch's has no elements (it checks
    no index then), else PyTorch's error."""
    shape = _advanced_shape(x.shape, key)
    if 0 in shape:
        return np.empty(shape, x.dtype)
    raise _index_error(x, err)


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
            return _index_or_empty(x, index, err)

    @staticmethod
    def backward(ctx, g):
        gx = np.zeros(ctx.in_shape, dtype=g.dtype)
        if g.size:                         # an empty result read no index
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
        if advanced is not None:
            v = _put_value(target, advanced, v, isinstance(value, np.ndarray))
        elif not target.flags.writeable:   # a region of an expanded tensor
            if not _expands(v.shape, target.shape):
                raise _expand_error(v, target.shape)
            if not target.size:
                v = None
            elif any(st == 0 and n > 1 for st, n in zip(target.strides, target.shape)):
                raise RuntimeError(
                    "unsupported operation: more than one element of the written-to tensor "
                    "refers to a single memory location. Please clone() the tensor before "
                    "performing the operation.")
        if v is not None and not target.flags.writeable:
            target = _writeable(target)     # PyTorch writes through the expanded view
        try:
            if v is not None:
                target[index] = v.astype(x.dtype, copy=False) if v.dtype != x.dtype else v
        except IndexError as err:
            raise _index_error(target, err) from None
        except ValueError:
            raise _expand_error(v, target.shape) from None
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


def _put_value(target: np.ndarray, key: tuple, v: np.ndarray, tensor: bool) -> np.ndarray | None:
    """The value that `target[key] = v` writes, checked as PyTorch's index_put_: without its
    leading size-1 dims it must broadcast to the indexing result, and a tensor value must
    have the target's dtype (unless it is one element put through one mask: PyTorch's
    masked_fill_ path). None when the result is empty (PyTorch then reads no index)."""
    shape = _advanced_shape(target.shape, key)
    vshape = v.shape
    while vshape and vshape[0] == 1:
        vshape = vshape[1:]
    arrays = [p for p in key if isinstance(p, np.ndarray)]
    if not (v.size == 1 and len(arrays) == 1 and arrays[0].dtype == np.bool_):
        if len(vshape) > len(shape) or any(a != b and a != 1 for a, b in
                                           zip(vshape[::-1], shape[::-1])):
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(vshape)} cannot be "
                               f"broadcast to indexing result of shape {list(shape)}")
        if tensor and v.dtype != target.dtype:
            raise RuntimeError(
                "Index put requires the source and destination dtypes match, got "
                f"{_dtype.scalar_name(target.dtype)} for the destination and "
                f"{_dtype.scalar_name(v.dtype)} for the source.")
    return None if 0 in shape else v.reshape(vshape)


def _expands(vshape: tuple, shape: tuple) -> bool:
    """True if a value of `vshape`, without its leading size-1 dims, expands to `shape`."""
    while vshape and vshape[0] == 1:
        vshape = vshape[1:]
    return len(vshape) <= len(shape) and all(
        a in (1, b) for a, b in zip(vshape[::-1], shape[::-1]))


def _expand_error(v: np.ndarray, shape: tuple) -> RuntimeError:
    """PyTorch's error when a value `v` cannot be copied into a region of `shape`."""
    vshape = v.shape
    while vshape and vshape[0] == 1:
        vshape = vshape[1:]
    if len(vshape) > len(shape):
        return RuntimeError(f"expand(torch.{_dtype.scalar_name(v.dtype)}Tensor{{{list(vshape)}}}, "
                            f"size={list(shape)}): the number of sizes provided ({len(shape)}) "
                            "must be greater or equal to the number of dimensions in the tensor "
                            f"({len(vshape)})")
    lead = len(shape) - len(vshape)
    d = max((i for i, n in enumerate(vshape) if n not in (1, shape[lead + i])), default=0)
    return RuntimeError(f"The expanded size of the tensor ({shape[lead + d]}) must match the "
                        f"existing size ({vshape[d] if vshape else 1}) at non-singleton dimension "
                        f"{lead + d}.  Target sizes: {list(shape)}.  Tensor sizes: {list(vshape)}")


class CopySlices(IndexPut):
    """An assignment into a view of t (PyTorch's node for in-place ops on views)."""

    node_name = "CopySlices"


class CopyWhole(IndexPut):
    """t[...] = tensor: PyTorch copies into t itself."""

    node_name = "CopyBackwards"


class FillWhole(IndexPut):
    """t[...] = number (or 0-d tensor): PyTorch fills t itself."""

    node_name = "FillBackward3"


_C_TYPES = {"int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t",
            "uint8": "uint8_t", "float32": "float", "float64": "double"}


def _check_scalar_fits(value, dtype: np.dtype) -> None:
    """PyTorch's error for a Python number that the tensor's dtype cannot hold (NaN or inf
    in an integer, a finite float beyond float32's range); bool and float16 take any."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or dtype.kind not in "iuf" \
            or dtype == np.float16:
        return
    if dtype.kind == "f":
        bad = math.isfinite(value) and abs(value) > float(np.finfo(dtype).max)
    else:
        info = np.iinfo(dtype)
        bad = value != value or (abs(value) > info.max if dtype.kind == "u"
                                 else not info.min <= value <= info.max)
    if bad:
        raise RuntimeError(f"value cannot be converted to type {_C_TYPES[dtype.name]} without "
                           "overflow")


def setitem(input: Tensor, index, value) -> None:
    """input[index] = value (in place; recorded when autograd is involved)."""
    if not isinstance(value, Tensor):
        _check_scalar_fits(value, input._data.dtype)
    if index is False:                      # PyTorch writes nothing, checks nothing more
        return
    if index is True:                       # PyTorch copies into the unsqueezed tensor
        index = None
    steps, advanced = _plan(index, input._data.shape, reading=False)
    if steps:
        _region(input._data, steps)         # its index errors come before in-place checks
        if input._base is None and input._requires_grad and input._grad_fn is None \
                and state.enabled:          # PyTorch writes through a view of the leaf
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in "
                               "an in-place operation.")
    check_inplace(input, value)
    if steps:
        fn = CopySlices
    elif advanced is not None:
        fn = IndexPut
    else:
        fn = CopyWhole if (isinstance(value, Tensor) and value._data.ndim) or not input._data.ndim \
            else FillWhole                  # PyTorch fills only a tensor with dims
    fn.apply(input, value, steps=steps, advanced=advanced)
