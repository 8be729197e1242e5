"""dtypes as PyTorch names them, and PyTorch's type-promotion rules.

A `dtype` wraps a numpy dtype. Promotion follows PyTorch, not numpy: categories are
bool < integer < floating; a float32 tensor with an int64 tensor gives float32; Python
scalars never upcast a tensor of their own category; a zero-dim tensor only decides the
result when its category is higher than every dimensioned operand's.
"""
from __future__ import annotations

import builtins

import numpy as np


class dtype:
    """A tensor element type (`microtorch.float32`, ...)."""

    __slots__ = ("name", "np", "is_floating_point", "itemsize", "_category", "scalar_name",
                 "c_name")

    def __init__(self, name: str, np_dtype: type, scalar_name: str, c_name: str) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.scalar_name = scalar_name
        """PyTorch's ScalarType name, as its messages print it ('Float', 'Long')."""
        self.c_name = c_name
        """The C++ type name PyTorch's exact-dtype errors print ('float', 'long int')."""
        self.is_floating_point = self.np.kind == "f"
        self.itemsize = self.np.itemsize
        self._category = {"b": 0, "u": 1, "i": 1, "f": 2}[self.np.kind]

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return self.name



float16 = half = dtype("float16", np.float16, "Half", "c10::Half")
float32 = float = dtype("float32", np.float32, "Float", "float")
float64 = double = dtype("float64", np.float64, "Double", "double")
uint8 = dtype("uint8", np.uint8, "Byte", "unsigned char")
int8 = dtype("int8", np.int8, "Char", "signed char")
int16 = short = dtype("int16", np.int16, "Short", "short int")
int32 = int = dtype("int32", np.int32, "Int", "int")
int64 = long = dtype("int64", np.int64, "Long", "long int")
bool = dtype("bool", np.bool_, "Bool", "bool")  # noqa: A001 - PyTorch's name

_FROM_NUMPY = {d.np: d for d in (float16, float32, float64, uint8, int8, int16, int32, int64, bool)}
_default = float32


def from_numpy_dtype(np_dtype: np.dtype) -> dtype:
    """The microtorch dtype of a numpy dtype; TypeError for ones microtorch does not support."""
    try:
        return _FROM_NUMPY[np_dtype]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np_dtype}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        ) from None


def scalar_name(np_dtype: np.dtype) -> str:
    """PyTorch's ScalarType name of a numpy dtype ('Float', 'Long'), as messages print it."""
    d = _FROM_NUMPY.get(np_dtype)
    return d.scalar_name if d is not None else str(np_dtype)


def c_name(np_dtype: np.dtype) -> str:
    """The C++ type name of a numpy dtype, as PyTorch's exact-dtype errors print it."""
    d = _FROM_NUMPY.get(np_dtype)
    return d.c_name if d is not None else str(np_dtype)


def to_numpy_dtype(d) -> np.dtype:
    """Accept a microtorch dtype, a numpy dtype or a Python type; return the numpy dtype."""
    if isinstance(d, dtype):
        return d.np
    if d is builtins.float:
        return _default.np
    if d is builtins.int:
        return np.dtype(np.int64)
    return from_numpy_dtype(np.dtype(d)).np


def get_default_dtype() -> dtype:
    """The dtype of floating tensors made from Python floats (float32 unless changed)."""
    return _default


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype; only float32 and float64 are allowed, as in PyTorch."""
    global _default
    if d not in (float32, float64):
        raise TypeError("only floating-point types are supported as the default type")
    _default = d


def default_np() -> np.dtype:
    """The numpy dtype of the default floating dtype."""
    return _default.np


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def promote(a: np.ndarray, b: np.ndarray) -> np.dtype:
    """PyTorch's result dtype for a binary op on two tensors' arrays."""
    da, db = a.dtype, b.dtype
    if da == db:
        return da
    ca, cb = _CATEGORY[da.kind], _CATEGORY[db.kind]
    if (a.ndim == 0) == (b.ndim == 0):
        if ca == cb:
            return np.promote_types(da, db)
        return da if ca > cb else db
    zero, dim = (da, db) if a.ndim == 0 else (db, da)
    return zero if _CATEGORY[zero.kind] > _CATEGORY[dim.kind] else dim


def promote_scalar(a: np.ndarray, s) -> np.dtype:
    """PyTorch's result dtype for a tensor's array with a Python scalar."""
    k = a.dtype.kind
    if isinstance(s, builtins.float):
        return a.dtype if k == "f" else _default.np
    if isinstance(s, builtins.bool):
        return a.dtype
    if k == "b":
        return np.dtype(np.int64)
    return a.dtype
