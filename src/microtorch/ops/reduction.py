"""Reductions: sum, mean, var, std, max/min (with indices), amax/amin, argmax/argmin.

`dim` may be None (all dims), an int or a tuple; `axis=` is accepted as its alias, as
PyTorch does. Backward expands the gradient back over the reduced dims.
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.graph import needs_grad, record
from ..autograd.node import Node
from .shape import wrap_dim

_UNSET = object()


def normalize_dims(dim, ndim: int) -> tuple:
    """`dim` (None, int, list or tuple) as a sorted tuple of non-negative axes.

    A 0-d tensor accepts dim 0 or -1 (as PyTorch) and has no axes to reduce.
    """
    if dim is None:
        return tuple(range(ndim))
    if ndim == 0:
        for d in dim if isinstance(dim, (list, tuple)) else (dim,):
            wrap_dim(d, 0)
        return ()
    if isinstance(dim, (list, tuple)):
        dims = tuple(sorted(wrap_dim(d, ndim) for d in dim))
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
        return dims if dims else tuple(range(ndim))
    return (wrap_dim(dim, ndim),)


def _pick_dim(dim, axis):
    if axis is not None:
        if dim is not None:
            raise TypeError("received both 'dim' and its alias 'axis'")
        return axis
    return dim


def _expand(g: np.ndarray, dims: tuple, keepdim: bool) -> np.ndarray:
    return g if keepdim or not dims else np.expand_dims(g, dims)


def _keepdim_shape(shape: tuple, dims: tuple) -> tuple:
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _filled(shape: tuple, g: np.ndarray, kshape: tuple) -> np.ndarray:
    """A new array of `shape` holding g (reduced over some dims) repeated along them."""
    out = np.empty(shape, dtype=g.dtype)
    out[...] = g.reshape(kshape)
    return out


class SumBackward0(Node):
    __slots__ = ("kshape",)

    def backward(self, g):
        return (_filled(self.in_shape, g, self.kshape),)


class MeanBackward0(Node):
    __slots__ = ("kshape", "count")

    def backward(self, g):
        return (_filled(self.in_shape, g / self.count, self.kshape),)


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, axis=None) -> Tensor:
    """Sum over `dim` (all elements by default). Integer and bool tensors sum to int64."""
    x = input._data
    if dim is None and axis is None and dtype is None and x.dtype.kind == "f":
        dims = None
        out = Tensor._wrap(np.asarray(np.add.reduce(x, axis=None)))
    else:
        dim = _pick_dim(dim, axis)
        dims = normalize_dims(dim, x.ndim)
        if dtype is not None:
            out_dt = _dtype.to_numpy_dtype(dtype)
        else:
            out_dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.int64)
        out = Tensor._wrap(np.asarray(np.add.reduce(x, axis=dims, keepdims=keepdim, dtype=out_dt)))
    if needs_grad(input):
        node = SumBackward0()
        node.kshape = _keepdim_shape(x.shape, dims if dims is not None else range(x.ndim))
        node.in_shape = x.shape
        record(node, out, input)
    return out


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, axis=None) -> Tensor:
    """Arithmetic mean over `dim` (floating tensors only, as PyTorch)."""
    dim = _pick_dim(dim, axis)
    x = input._data
    if dtype is not None:
        x = x.astype(_dtype.to_numpy_dtype(dtype))
    if x.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input.dtype.name.capitalize()}"
        )
    dims = tuple(range(x.ndim)) if dim is None else normalize_dims(dim, x.ndim)
    count = 1
    for d in dims:
        count *= x.shape[d]
    total = np.add.reduce(x, axis=dims, keepdims=keepdim)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = Tensor._wrap(np.asarray(total / x.dtype.type(count)))
    if needs_grad(input):
        node = MeanBackward0()
        node.kshape = _keepdim_shape(x.shape, dims)
        node.count = x.dtype.type(count)
        node.in_shape = x.shape
        record(node, out, input)
    return out


class VarBackward0(Node):
    __slots__ = ("dims", "keepdim", "denom")

    def backward(self, g):
        (x,) = self.saved_tensors
        g = _expand(g, self.dims, self.keepdim)
        centered = x - x.mean(axis=self.dims, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g * (np.float64(2.0) / np.float64(self.denom)) * centered,)


class StdBackward0(Node):
    __slots__ = ("dims", "keepdim", "denom")

    def backward(self, g):
        x, out = self.saved_tensors
        g = _expand(g, self.dims, self.keepdim)
        out = _expand(out, self.dims, self.keepdim)
        centered = x - x.mean(axis=self.dims, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = g * centered / (self.denom * out)
        return (np.where(out == 0, 0, grad).astype(grad.dtype, copy=False),)


def _var_args(dim, unbiased, correction, axis):
    dim = _pick_dim(dim, axis)
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    if unbiased is not None and correction is not _UNSET:
        raise TypeError("var/std: pass either 'unbiased' or 'correction', not both")
    if correction is _UNSET or correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, correction


def _var_forward(input, dim, correction, keepdim, name):
    x = input._data
    if x.dtype.kind != "f":
        raise RuntimeError(f"{name}(): input dtype should be floating point, got {input.dtype}")
    dims = normalize_dims(dim, x.ndim)
    n = 1
    for d in dims:
        n *= x.shape[d]
    denom = builtins.max(n - correction, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        centered = x - x.mean(axis=dims, keepdims=True) if n else x
        ss = np.sum(centered * centered, axis=dims, keepdims=keepdim)
        var = ss / x.dtype.type(denom) if denom else ss * np.nan
    return x, dims, np.asarray(var, dtype=x.dtype), denom


def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=_UNSET, axis=None) -> Tensor:
    """Variance over `dim`, with Bessel's correction by default (correction=1)."""
    dim, correction = _var_args(dim, unbiased, correction, axis)
    x, dims, v, denom = _var_forward(input, dim, correction, keepdim, "var")
    out = Tensor._wrap(v)
    if needs_grad(input):
        node = VarBackward0()
        node.dims, node.keepdim, node.denom = dims, keepdim, denom
        node.save_for_backward(input)
        record(node, out, input)
    return out


def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=_UNSET, axis=None) -> Tensor:
    """Standard deviation over `dim`, with Bessel's correction by default."""
    dim, correction = _var_args(dim, unbiased, correction, axis)
    x, dims, v, denom = _var_forward(input, dim, correction, keepdim, "std")
    out = Tensor._wrap(np.sqrt(v))
    if needs_grad(input):
        node = StdBackward0()
        node.dims, node.keepdim, node.denom = dims, keepdim, denom
        node.saved = (x, out._data)
        node.versions = ((input._version, input._version[0]),)
        record(node, out, input)
    return out


class AmaxBackward0(Node):
    """Gradient shared evenly among the elements equal to the extreme value."""

    __slots__ = ("dims", "keepdim")

    def backward(self, g):
        x, out = self.saved_tensors
        out = _expand(out, self.dims, self.keepdim)
        mask = (x == out) | (np.isnan(x) & np.isnan(out))
        count = mask.sum(axis=self.dims, keepdims=True)
        return (np.where(mask, _expand(g, self.dims, self.keepdim) / count, 0).astype(g.dtype),)


class AminBackward0(AmaxBackward0):
    __slots__ = ()


class MaxBackward0(AmaxBackward0):
    __slots__ = ()


class MinBackward0(AmaxBackward0):
    __slots__ = ()


def _extreme(input, dims, keepdim, fn, node_cls, name):
    x = input._data
    if x.size == 0:
        raise IndexError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )
    out = Tensor._wrap(np.asarray(fn(x, axis=dims, keepdims=keepdim)))
    if needs_grad(input):
        node = node_cls()
        node.dims, node.keepdim = dims, keepdim
        node.saved = (x, out._data)
        node.versions = ((input._version, input._version[0]),)
        record(node, out, input)
    return out


def amax(input: Tensor, dim=(), keepdim: bool = False, *, axis=None) -> Tensor:
    """Maximum over `dim` (all dims for ()); ties share the gradient evenly."""
    dims = normalize_dims(_pick_dim(dim, axis) if dim != () or axis is not None else None,
                          input._data.ndim)
    return _extreme(input, dims, keepdim, np.amax, AmaxBackward0, "amax")


def amin(input: Tensor, dim=(), keepdim: bool = False, *, axis=None) -> Tensor:
    """Minimum over `dim` (all dims for ()); ties share the gradient evenly."""
    dims = normalize_dims(_pick_dim(dim, axis) if dim != () or axis is not None else None,
                          input._data.ndim)
    return _extreme(input, dims, keepdim, np.amin, AminBackward0, "amin")


class MaxBackward1(Node):
    """max/min along one dim: the gradient goes to the selected index."""

    __slots__ = ("dim", "keepdim")

    def backward(self, g):
        (idx,) = self.saved_tensors
        gx = np.zeros(self.in_shape, dtype=g.dtype)
        if not self.keepdim:
            g = np.expand_dims(g, self.dim)
        np.put_along_axis(gx, np.expand_dims(idx, self.dim), g, axis=self.dim)
        return (gx,)


class MinBackward1(MaxBackward1):
    __slots__ = ()


_return_types = {
    "max": namedtuple("max", ["values", "indices"]),
    "min": namedtuple("min", ["values", "indices"]),
}


def _extreme_dim(input, dim, keepdim, argfn, name, node_cls):
    x = input._data
    d = wrap_dim(dim, builtins.max(x.ndim, 1))
    if x.ndim == 0:
        values, indices = Tensor._wrap(x.copy()), Tensor._wrap(np.zeros((), np.int64))
        return _return_types[name](values, indices)
    if x.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    idx = _nan_aware_arg(x, d, argfn)
    vals = np.take_along_axis(x, np.expand_dims(idx, d), axis=d)
    if not keepdim:
        vals = np.squeeze(vals, axis=d)
    idx_out = np.expand_dims(idx, d) if keepdim else idx
    values = Tensor._wrap(vals)
    if needs_grad(input):
        node = node_cls()
        node.dim, node.keepdim = d, keepdim
        node.in_shape = x.shape
        node.saved = (idx,)
        record(node, values, input)
    return _return_types[name](values, Tensor._wrap(idx_out.astype(np.int64)))


def _nan_aware_arg(x, d, argfn):
    """argmax/argmin that, like PyTorch, picks the first NaN when there is one."""
    idx = argfn(x, axis=d)
    if x.dtype.kind == "f":
        nan = np.isnan(x)
        if nan.any():
            has = nan.any(axis=d)
            idx = np.where(has, np.argmax(nan, axis=d), idx)
    return idx


def max(input: Tensor, dim=None, keepdim: bool = False, *, axis=None):
    """The largest element; with `dim`, (values, indices) along it; with a tensor, maximum."""
    if isinstance(dim, Tensor):
        from .arithmetic import maximum

        return maximum(input, dim)
    dim = _pick_dim(dim, axis)
    if dim is None:
        return _extreme(input, tuple(range(input._data.ndim)), False, np.amax, MaxBackward0, "max")
    return _extreme_dim(input, dim, keepdim, np.argmax, "max", MaxBackward1)


def min(input: Tensor, dim=None, keepdim: bool = False, *, axis=None):
    """The smallest element; with `dim`, (values, indices) along it; with a tensor, minimum."""
    if isinstance(dim, Tensor):
        from .arithmetic import minimum

        return minimum(input, dim)
    dim = _pick_dim(dim, axis)
    if dim is None:
        return _extreme(input, tuple(range(input._data.ndim)), False, np.amin, MinBackward0, "min")
    return _extreme_dim(input, dim, keepdim, np.argmin, "min", MinBackward1)


def _arg(input, dim, keepdim, argfn, name):
    x = input._data
    if x.size == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                           "input.numel() == 0.")
    if dim is None:
        idx = np.asarray(_nan_aware_arg(x.reshape(-1), 0, argfn))
        if keepdim:
            idx = idx.reshape([1] * x.ndim)
        return Tensor._wrap(idx.astype(np.int64))
    if x.ndim == 0:
        return Tensor._wrap(np.zeros((), np.int64))
    d = wrap_dim(dim, x.ndim)
    idx = _nan_aware_arg(x, d, argfn)
    if keepdim:
        idx = np.expand_dims(idx, d)
    return Tensor._wrap(np.asarray(idx, dtype=np.int64))


def argmax(input: Tensor, dim=None, keepdim: bool = False, *, axis=None) -> Tensor:
    """Index of the largest element (over all elements, or along `dim`)."""
    return _arg(input, _pick_dim(dim, axis), keepdim, np.argmax, "argmax")


def argmin(input: Tensor, dim=None, keepdim: bool = False, *, axis=None) -> Tensor:
    """Index of the smallest element (over all elements, or along `dim`)."""
    return _arg(input, _pick_dim(dim, axis), keepdim, np.argmin, "argmin")


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where any element (along `dim`) is non-zero."""
    dims = None if dim is None else normalize_dims(dim, input._data.ndim)
    return Tensor._wrap(np.asarray(np.any(input._data, axis=dims, keepdims=keepdim)))


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where every element (along `dim`) is non-zero."""
    dims = None if dim is None else normalize_dims(dim, input._data.ndim)
    return Tensor._wrap(np.asarray(np.all(input._data, axis=dims, keepdims=keepdim)))
