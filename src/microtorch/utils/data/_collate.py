"""`default_collate` (a list of samples -> one batch) and `default_convert` (one sample,
no batching), with PyTorch's rules:

- tensors are stacked along a new first dim; numpy arrays become tensors, then stacked;
- numpy scalars keep their dtype, Python floats give float64, ints int64, bools bool;
- strings are returned as the list they came in;
- dicts are collated key by key, tuples and lists position by position (a tuple of fields
  gives a *list* of batches, a namedtuple a namedtuple).
"""
from __future__ import annotations

import collections.abc
import copy

import numpy as np

from ... import _dtype
from ..._factories import tensor
from ..._tensor import Tensor
from ...ops.join import stack

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_text_array(a: np.ndarray) -> bool:
    return a.dtype.kind in "SaUO"


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _array_to_tensor(a, err: str) -> Tensor:
    """A numpy array or scalar as a tensor of the same dtype (TypeError when unsupported)."""
    a = np.asarray(a)
    if _is_text_array(a):
        raise TypeError(err.format(a.dtype))
    _dtype.from_numpy_dtype(a.dtype)
    return Tensor._wrap(a)


def default_collate(batch):
    """Merge a list of samples into a batch (see the module docstring for the rules)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, np.ndarray):
        if _is_text_array(elem):
            raise TypeError(_ERR.format(elem.dtype))
        return default_collate([_array_to_tensor(b, _ERR) for b in batch])
    if isinstance(elem, (str, bytes)):             # before numpy: np.str_ is a str
        return batch
    if isinstance(elem, np.generic):               # before float: np.float64 is a float
        return _array_to_tensor(np.array(batch), _ERR)
    if isinstance(elem, float):
        return tensor(batch, dtype=_dtype.float64)
    if isinstance(elem, int):                      # bool is an int: bools give a bool tensor
        return tensor(batch)
    if isinstance(elem, collections.abc.Mapping):
        merged = {key: default_collate([d[key] for d in batch]) for key in elem}
        if isinstance(elem, collections.abc.MutableMapping):
            out = copy.copy(elem)
            out.update(merged)
            return out
        try:
            return type(elem)(merged)
        except TypeError:
            return merged
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(field) for field in zip(*batch)]   # fields are tuples
        if isinstance(elem, (tuple, list)):
            return fields
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data):
    """Turn numpy arrays (and numpy scalars) inside one sample into tensors; keep the rest."""
    if isinstance(data, (Tensor, str, bytes)):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        return data if _is_text_array(np.asarray(data)) else _array_to_tensor(data, _ERR)
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        converted = [default_convert(d) for d in data]
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    return data
