"""Tensor factories: tensor, as_tensor, from_numpy, zeros, ones, full, rand, arange, ...

dtype inference follows PyTorch: Python floats give the default dtype (float32), ints
give int64, bools give bool; numpy arrays keep their dtype.
"""
from __future__ import annotations

import builtins
import numbers
from collections.abc import Sequence

import numpy as np

from . import _dtype
from . import random as _random
from ._device import check_device
from ._tensor import Tensor


def _finish(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(data)
    if requires_grad:
        t.requires_grad = True
    return t


def _nested_shape(data, dim: int = 0) -> tuple:
    """The shape of nested sequences, raising PyTorch's errors for ragged or non-numeric data.

    Only called when numpy could not make a numeric array, to explain why.
    """
    if isinstance(data, (list, tuple)):
        shapes = [_nested_shape(item, dim + 1) for item in data]
        for s in shapes[1:]:
            if s != shapes[0]:
                got = s[0] if s else 0
                want = shapes[0][0] if shapes[0] else 0
                raise ValueError(f"expected sequence of length {want} at dim {dim + 1} "
                                 f"(got {got})")
        return (len(data),) + (shapes[0] if shapes else ())
    if isinstance(data, Tensor):
        return data._data.shape
    if isinstance(data, np.ndarray):
        return data.shape
    if isinstance(data, (numbers.Number, np.generic)) and not isinstance(data, complex):
        return ()
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")


def _array_from_data(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        return np.array(data._data, copy=True)
    if isinstance(data, np.ndarray):
        _dtype.from_numpy_dtype(data.dtype)
        return np.array(data, copy=True)
    try:
        arr = np.array(data)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.dtype.kind in "OUSV":
        _nested_shape(data)
        raise TypeError(f"new(): invalid data type '{arr.dtype if arr is not None else data}'")
    if dtype is not None:
        target = _dtype.to_numpy_dtype(dtype)
        if target.kind in "iu" and arr.dtype.kind in "fiu" and not _has_own_dtype(data):
            _check_fits(arr, target)
        return arr.astype(target, copy=False)
    if not _has_own_dtype(data):
        arr = arr.astype(_inferred_dtype(data), copy=False)
    _dtype.from_numpy_dtype(arr.dtype)
    return arr


def _check_fits(arr: np.ndarray, target: np.dtype) -> None:
    """PyTorch's RuntimeError for Python numbers an integer dtype cannot hold (NaN, inf, out
    of range; uint8 also takes negatives down to -255, which wrap)."""
    if not arr.size:
        return
    info = np.iinfo(target)
    lo = -info.max if target.kind == "u" else info.min
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(arr).all() and arr.min() >= lo and arr.max() <= info.max
    if not ok:
        raise RuntimeError(f"value cannot be converted to type {target.name} without overflow")


def _has_own_dtype(data) -> bool:
    """True for objects that carry a numpy dtype (numpy scalars, array-likes such as a
    pandas Series): their dtype is kept, as PyTorch does."""
    return isinstance(data, np.generic) or (
        not isinstance(data, (list, tuple)) and
        (hasattr(data, "__array__") or isinstance(getattr(data, "dtype", None), np.dtype)))


def _inferred_dtype(data) -> np.dtype:
    """PyTorch's dtype for nested sequences: the promotion of every element's dtype, where
    Python floats count as the default dtype, ints as int64 and bools as bool, and numpy
    scalars, arrays and tensors as their own dtype."""
    found: set = set()
    _leaf_dtypes(data, found)
    if not found:
        return _dtype.default_np()
    top = builtins.max(_dtype._CATEGORY[d.kind] for d in found)
    result = None
    for d in found:
        if _dtype._CATEGORY[d.kind] == top:
            result = d if result is None else np.promote_types(result, d)
    return result


_PY_DTYPES = {bool: np.dtype(np.bool_), int: np.dtype(np.int64)}


def _leaf_dtypes(data, found: set) -> None:
    if isinstance(data, (list, tuple, range)) or (
            isinstance(data, Sequence) and not isinstance(data, (str, bytes))
            and not _has_own_dtype(data)):
        kinds = {type(v) for v in data}
        if kinds <= {float, int, bool}:
            found.update(_PY_DTYPES[k] if k is not float else _dtype.default_np() for k in kinds)
            return
        for v in data:
            _leaf_dtypes(v, found)
    elif isinstance(data, Tensor):
        found.add(data._data.dtype)
    elif isinstance(data, (np.ndarray, np.generic)):
        found.add(data.dtype)
    elif isinstance(data, float):
        found.add(_dtype.default_np())
    elif type(data) in _PY_DTYPES:
        found.add(_PY_DTYPES[type(data)])
    elif _has_own_dtype(data):
        found.add(np.asarray(data).dtype)
    elif isinstance(data, numbers.Number):
        found.add(_dtype.default_np() if isinstance(data, numbers.Real) and
                  not isinstance(data, numbers.Integral) else np.dtype(np.int64))


def tensor(data, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (nested lists, numbers, arrays or tensors)."""
    check_device(device)
    arr = _array_from_data(data, dtype)
    if dtype is not None:
        arr = arr.astype(_dtype.to_numpy_dtype(dtype), copy=False)
    return _finish(arr, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like `tensor`, but shares memory with a numpy array or tensor when the dtype allows."""
    check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        _dtype.from_numpy_dtype(data.dtype)
        target = data.dtype if dtype is None else _dtype.to_numpy_dtype(dtype)
        return Tensor._wrap(data if data.dtype == target else data.astype(target))
    return tensor(data, dtype=dtype)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory (and dtype) with a numpy array."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dtype.from_numpy_dtype(ndarray.dtype)
    return Tensor._wrap(ndarray)


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(
                f"size must be a tuple of ints, but got an element of type {type(s).__name__}"
            )
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        shape.append(int(s))
    return tuple(shape)


def _np_dtype(dtype, default=None) -> np.dtype:
    if dtype is None:
        return default if default is not None else _dtype.default_np()
    return _dtype.to_numpy_dtype(dtype)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    check_device(device)
    return _finish(np.zeros(_shape(size), dtype=_np_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    check_device(device)
    return _finish(np.ones(_shape(size), dtype=_np_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor."""
    check_device(device)
    return _finish(np.empty(_shape(size), dtype=_np_dtype(dtype)), requires_grad)


def _fill_dtype(fill_value) -> np.dtype:
    if isinstance(fill_value, bool):
        return np.dtype(np.bool_)
    if isinstance(fill_value, (int, np.integer)):
        return np.dtype(np.int64)
    return _dtype.default_np()


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with `fill_value` (dtype inferred from it: bool, int64 or default float)."""
    check_device(device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dt = _np_dtype(dtype, _fill_dtype(fill_value))
    return _finish(np.full(_shape((size,) if not isinstance(size, (tuple, list)) else size),
                           fill_value, dtype=dt), requires_grad)


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros(input._data.shape, dtype=dtype or input.dtype, device=device,
                 requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return ones(input._data.shape, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return empty(input._data.shape, dtype=dtype or input.dtype, device=device,
                 requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    return full(input._data.shape, fill_value, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Samples from U[0, 1)."""
    check_device(device)
    dt = _np_dtype(dtype)
    data = _random.rng(generator).random(_shape(size), dtype=np.float64).astype(dt)
    return _finish(data, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Samples from the standard normal distribution."""
    check_device(device)
    dt = _np_dtype(dtype)
    data = _random.rng(generator).standard_normal(_shape(size)).astype(dt)
    return _finish(data, requires_grad)


def rand_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return rand(input._data.shape, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return randn(input._data.shape, dtype=dtype or input.dtype, device=device,
                 requires_grad=requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, dtype=None,
                 device=None, requires_grad: bool = False) -> Tensor:
    """Integers from [low, high) in input's shape and dtype (`randint_like(x, high)` too)."""
    if high is None:
        low, high = 0, low
    return randint(low, high, input._data.shape, dtype=dtype or input.dtype, device=device,
                   requires_grad=requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high) (`randint(high, size)` also works)."""
    check_device(device)
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    data = _random.rng(generator).integers(low, high, _shape(tuple(size)))
    return _finish(data.astype(_np_dtype(dtype, np.dtype(np.int64))), requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None) -> Tensor:
    """A random permutation of 0..n-1."""
    check_device(device)
    return Tensor._wrap(_random.rng(generator).permutation(int(n)).astype(
        _np_dtype(dtype, np.dtype(np.int64))))


def arange(start, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from start to end (exclusive) by step; int64 when all arguments are ints."""
    check_device(device)
    if end is None:
        start, end = 0, start
    args = [a.item() if isinstance(a, Tensor) else a for a in (start, end, step)]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    all_int = builtins.all(isinstance(a, (int, np.integer)) for a in args)
    dt = _np_dtype(dtype, np.dtype(np.int64) if all_int else _dtype.default_np())
    data = np.arange(*args, dtype=np.float64 if dt.kind == "f" else None).astype(dt)
    return _finish(data, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from start to end, inclusive."""
    check_device(device)
    return _finish(np.linspace(start, end, int(steps)).astype(_np_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """The identity matrix (n x m)."""
    check_device(device)
    return _finish(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad)
