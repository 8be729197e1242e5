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
from ..autograd.function import ArrayFunction
from ._out import write_out
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


def pick_keepdim(keepdim: bool, keepdims: bool | None) -> bool:
    """`keepdims=` (numpy's spelling) is accepted as the alias of `keepdim=`, as PyTorch does."""
    return keepdim if keepdims is None else bool(keepdims)


def _expand(g: np.ndarray, dims: tuple, keepdim: bool) -> np.ndarray:
    return g if keepdim or not dims else np.expand_dims(g, dims)


def _keepdim_shape(shape: tuple, dims: tuple) -> tuple:
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _filled(shape: tuple, g: np.ndarray, kshape: tuple) -> np.ndarray:
    """A new array of `shape` holding g (reduced over some dims) repeated along them."""
    out = np.empty(shape, dtype=g.dtype)
    out[...] = g.reshape(kshape)
    return out


class Sum(ArrayFunction):
    node_name = "SumBackward0"

    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False, dtype=None):
        ctx.in_shape, ctx.dims = x.shape, dims
        if dims is None:
            return np.asarray(np.add.reduce(x, axis=None))
        return np.asarray(np.add.reduce(x, axis=dims, keepdims=keepdim, dtype=dtype))

    @staticmethod
    def backward(ctx, g):
        shape = ctx.in_shape
        dims = range(len(shape)) if ctx.dims is None else ctx.dims
        return (_filled(shape, g, _keepdim_shape(shape, dims)),)


class SumDim(Sum):
    """sum over given dims (PyTorch records the `dim` overload as SumBackward1)."""

    node_name = "SumBackward1"


class Mean(ArrayFunction):
    node_name = "MeanBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype=None):
        if dtype is not None:
            x = x.astype(dtype)
        count = 1
        for d in dims:
            count *= x.shape[d]
        ctx.in_shape, ctx.dims, ctx.count = x.shape, dims, x.dtype.type(count)
        total = np.add.reduce(x, axis=dims, keepdims=keepdim)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(total / ctx.count)

    @staticmethod
    def backward(ctx, g):
        shape = ctx.in_shape
        with np.errstate(invalid="ignore", divide="ignore"):
            g = g / ctx.count
        return (_filled(shape, g, _keepdim_shape(shape, ctx.dims)),)


class MeanDim(Mean):
    """mean over given dims (PyTorch's MeanBackward1)."""

    node_name = "MeanBackward1"


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, axis=None,
        keepdims: bool | None = None, out: Tensor | None = None) -> Tensor:
    """Sum over `dim` (all elements by default). Integer and bool tensors sum to int64."""
    if out is not None:
        return write_out(out, "sum", lambda: sum(input, dim, keepdim, dtype=dtype, axis=axis,
                                                 keepdims=keepdims), input)
    keepdim = pick_keepdim(keepdim, keepdims)
    x = input._data
    if dim is None and axis is None and dtype is None and x.dtype.kind == "f":
        return Sum.apply(input)
    dim = _pick_dim(dim, axis)
    dims = normalize_dims(dim, x.ndim)
    if dtype is not None:
        out_dt = _dtype.to_numpy_dtype(dtype)
    else:
        out_dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.int64)
    return (Sum if dim is None else SumDim).apply(input, dims=dims, keepdim=keepdim, dtype=out_dt)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, axis=None,
         keepdims: bool | None = None, out: Tensor | None = None) -> Tensor:
    """Arithmetic mean over `dim` (floating tensors only, as PyTorch)."""
    if out is not None:
        return write_out(out, "mean", lambda: mean(input, dim, keepdim, dtype=dtype, axis=axis,
                                                   keepdims=keepdims), input)
    keepdim = pick_keepdim(keepdim, keepdims)
    dim = _pick_dim(dim, axis)
    x = input._data
    out_dt = x.dtype if dtype is None else _dtype.to_numpy_dtype(dtype)
    if out_dt.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input.dtype.name.capitalize()}"
        )
    dims = tuple(range(x.ndim)) if dim is None else normalize_dims(dim, x.ndim)
    return (Mean if dim is None else MeanDim).apply(input, dims=dims, keepdim=keepdim,
                                                    dtype=None if out_dt == x.dtype else out_dt)


def _variance(ctx, x, dims, correction, keepdim):
    """The variance array of x over dims; stores what backward needs on ctx."""
    n = 1
    for d in dims:
        n *= x.shape[d]
    denom = builtins.max(n - correction, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        centered = x - x.mean(axis=dims, keepdims=True) if n else x
        ss = np.sum(centered * centered, axis=dims, keepdims=keepdim)
        var = ss / x.dtype.type(denom) if denom else ss * np.nan
    ctx.dims, ctx.keepdim, ctx.denom = dims, keepdim, denom
    return np.asarray(var, dtype=x.dtype)


class Var(ArrayFunction):
    node_name = "VarBackward0"

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        ctx.save_for_backward(x)
        return _variance(ctx, x, dims, correction, keepdim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        g = _expand(g, ctx.dims, ctx.keepdim)
        centered = x - x.mean(axis=ctx.dims, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g * (np.float64(2.0) / np.float64(ctx.denom)) * centered,)


class Std(ArrayFunction):
    node_name = "StdBackward0"

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        out = np.sqrt(_variance(ctx, x, dims, correction, keepdim))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        g = _expand(g, ctx.dims, ctx.keepdim)
        out = _expand(out, ctx.dims, ctx.keepdim)
        centered = x - x.mean(axis=ctx.dims, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = g * centered / (ctx.denom * out)
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


def _var_dims(input, dim, name):
    """The reduced dims of var/std, after checking the input is floating."""
    x = input._data
    if x.dtype.kind != "f":
        raise RuntimeError(f"{name}(): input dtype should be floating point, got {input.dtype}")
    return normalize_dims(dim, x.ndim)


def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=_UNSET, axis=None, keepdims: bool | None = None,
        out: Tensor | None = None) -> Tensor:
    """Variance over `dim`, with Bessel's correction by default (correction=1)."""
    if out is not None:
        return write_out(out, "var", lambda: var(input, dim, unbiased, keepdim, correction=correction,
                                                 axis=axis, keepdims=keepdims), input)
    keepdim = pick_keepdim(keepdim, keepdims)
    dim, correction = _var_args(dim, unbiased, correction, axis)
    dims = _var_dims(input, dim, "var")
    return Var.apply(input, dims=dims, correction=correction, keepdim=keepdim)


def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=_UNSET, axis=None, keepdims: bool | None = None,
        out: Tensor | None = None) -> Tensor:
    """Standard deviation over `dim`, with Bessel's correction by default."""
    if out is not None:
        return write_out(out, "std", lambda: std(input, dim, unbiased, keepdim, correction=correction,
                                                 axis=axis, keepdims=keepdims), input)
    keepdim = pick_keepdim(keepdim, keepdims)
    dim, correction = _var_args(dim, unbiased, correction, axis)
    dims = _var_dims(input, dim, "std")
    return Std.apply(input, dims=dims, correction=correction, keepdim=keepdim)


def _reduce_extreme(ctx, x, dims, keepdim, fn):
    out = np.asarray(fn(x, axis=dims, keepdims=keepdim))
    ctx.dims, ctx.keepdim = dims, keepdim
    ctx.save_for_backward(x, out)
    return out


class Amax(ArrayFunction):
    """Maximum over dims; the gradient is shared evenly among the elements equal to it."""

    node_name = "AmaxBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        return _reduce_extreme(ctx, x, dims, keepdim, np.amax)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        out = _expand(out, ctx.dims, ctx.keepdim)
        mask = (x == out) | (np.isnan(x) & np.isnan(out))
        count = mask.sum(axis=ctx.dims, keepdims=True)
        return (np.where(mask, _expand(g, ctx.dims, ctx.keepdim) / count, 0).astype(g.dtype),)


class Amin(Amax):
    node_name = "AminBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        return _reduce_extreme(ctx, x, dims, keepdim, np.amin)


class Max(Amax):
    """max() over all elements."""

    node_name = "MaxBackward1"


class Min(Amin):
    """min() over all elements."""

    node_name = "MinBackward1"


def _extreme(input, dims, keepdim, fn_cls, name):
    if input._data.size == 0:
        raise IndexError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )
    return fn_cls.apply(input, dims=dims, keepdim=keepdim)


def amax(input: Tensor, dim=(), keepdim: bool = False, *, axis=None,
         keepdims: bool | None = None, out: Tensor | None = None) -> Tensor:
    """Maximum over `dim` (all dims for ()); ties share the gradient evenly."""
    if out is not None:
        return write_out(out, "amax",
                         lambda: amax(input, dim, keepdim, axis=axis, keepdims=keepdims), input)
    keepdim = pick_keepdim(keepdim, keepdims)
    dims = normalize_dims(_pick_dim(dim, axis) if dim != () or axis is not None else None,
                          input._data.ndim)
    return _extreme(input, dims, keepdim, Amax, "amax")


def amin(input: Tensor, dim=(), keepdim: bool = False, *, axis=None,
         keepdims: bool | None = None, out: Tensor | None = None) -> Tensor:
    """Minimum over `dim` (all dims for ()); ties share the gradient evenly."""
    if out is not None:
        return write_out(out, "amin",
                         lambda: amin(input, dim, keepdim, axis=axis, keepdims=keepdims), input)
    keepdim = pick_keepdim(keepdim, keepdims)
    dims = normalize_dims(_pick_dim(dim, axis) if dim != () or axis is not None else None,
                          input._data.ndim)
    return _extreme(input, dims, keepdim, Amin, "amin")


def _select_extreme(ctx, x, dim, keepdim, argfn):
    """(values, int64 indices) of the extreme along `dim`; stores what backward needs."""
    ctx.in_shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    idx = _nan_aware_arg(x, dim, argfn)
    ctx.save_for_backward(idx)
    vals = np.take_along_axis(x, np.expand_dims(idx, dim), axis=dim)
    if not keepdim:
        vals = np.squeeze(vals, axis=dim)
    idx_out = np.expand_dims(idx, dim) if keepdim else idx
    return vals, idx_out.astype(np.int64)


class MaxDim(ArrayFunction):
    """max along one dim, returning (values, indices): the gradient goes to the selected
    index (the indices output is integer, so it gets none)."""

    node_name = "MaxBackward0"

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        return _select_extreme(ctx, x, dim, keepdim, np.argmax)

    @staticmethod
    def backward(ctx, grads):
        g = grads[0]
        if not ctx.in_shape:
            return (g,)
        (idx,) = ctx.saved_tensors
        gx = np.zeros(ctx.in_shape, dtype=g.dtype)
        if not ctx.keepdim:
            g = np.expand_dims(g, ctx.dim)
        np.put_along_axis(gx, np.expand_dims(idx, ctx.dim), g, axis=ctx.dim)
        return (gx,)


class MinDim(MaxDim):
    node_name = "MinBackward0"

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        return _select_extreme(ctx, x, dim, keepdim, np.argmin)


_return_types = {
    "max": namedtuple("max", ["values", "indices"]),
    "min": namedtuple("min", ["values", "indices"]),
}


def _extreme_dim(input, dim, keepdim, fn_cls, name):
    x = input._data
    d = wrap_dim(dim, builtins.max(x.ndim, 1))
    if x.ndim and x.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    return _return_types[name](*fn_cls.apply(input, dim=d, keepdim=keepdim))


def _nan_aware_arg(x, d, argfn):
    """argmax/argmin that, like PyTorch, picks the first NaN when there is one."""
    idx = argfn(x, axis=d)
    if x.dtype.kind == "f":
        nan = np.isnan(x)
        if nan.any():
            has = nan.any(axis=d)
            idx = np.where(has, np.argmax(nan, axis=d), idx)
    return idx


def max(input: Tensor, dim=None, keepdim: bool = False, *, axis=None,
        keepdims: bool | None = None):
    """The largest element; with `dim`, (values, indices) along it; with a tensor, maximum."""
    keepdim = pick_keepdim(keepdim, keepdims)
    if isinstance(dim, Tensor):
        from .arithmetic import maximum

        return maximum(input, dim)
    dim = _pick_dim(dim, axis)
    if dim is None:
        return _extreme(input, tuple(range(input._data.ndim)), False, Max, "max")
    return _extreme_dim(input, dim, keepdim, MaxDim, "max")


def min(input: Tensor, dim=None, keepdim: bool = False, *, axis=None,
        keepdims: bool | None = None):
    """The smallest element; with `dim`, (values, indices) along it; with a tensor, minimum."""
    keepdim = pick_keepdim(keepdim, keepdims)
    if isinstance(dim, Tensor):
        from .arithmetic import minimum

        return minimum(input, dim)
    dim = _pick_dim(dim, axis)
    if dim is None:
        return _extreme(input, tuple(range(input._data.ndim)), False, Min, "min")
    return _extreme_dim(input, dim, keepdim, MinDim, "min")


def _arg(input, dim, keepdim, argfn, name):
    x = input._data
    if x.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if x.size == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                           "input.numel() == 0.")
    if dim is None:
        idx = np.asarray(_nan_aware_arg(x.reshape(-1), 0, argfn))
        if keepdim:
            idx = idx.reshape([1] * x.ndim)
        return Tensor._wrap(idx.astype(np.int64))
    if x.ndim == 0:
        if dim is not None:
            wrap_dim(dim, 0)
        return Tensor._wrap(np.zeros((), np.int64))
    d = wrap_dim(dim, x.ndim)
    idx = _nan_aware_arg(x, d, argfn)
    if keepdim:
        idx = np.expand_dims(idx, d)
    return Tensor._wrap(np.asarray(idx, dtype=np.int64))


def argmax(input: Tensor, dim=None, keepdim: bool = False, *, axis=None,
           keepdims: bool | None = None) -> Tensor:
    """Index of the largest element (over all elements, or along `dim`)."""
    keepdim = pick_keepdim(keepdim, keepdims)
    return _arg(input, _pick_dim(dim, axis), keepdim, np.argmax, "argmax")


def argmin(input: Tensor, dim=None, keepdim: bool = False, *, axis=None,
           keepdims: bool | None = None) -> Tensor:
    """Index of the smallest element (over all elements, or along `dim`)."""
    keepdim = pick_keepdim(keepdim, keepdims)
    return _arg(input, _pick_dim(dim, axis), keepdim, np.argmin, "argmin")


def any(input: Tensor, dim=None, keepdim: bool = False, *,
        keepdims: bool | None = None) -> Tensor:
    """True where any element (along `dim`) is non-zero."""
    keepdim = pick_keepdim(keepdim, keepdims)
    dims = None if dim is None else normalize_dims(dim, input._data.ndim)
    return Tensor._wrap(np.asarray(np.any(input._data, axis=dims, keepdims=keepdim)))


def all(input: Tensor, dim=None, keepdim: bool = False, *,
        keepdims: bool | None = None) -> Tensor:
    """True where every element (along `dim`) is non-zero."""
    keepdim = pick_keepdim(keepdim, keepdims)
    dims = None if dim is None else normalize_dims(dim, input._data.ndim)
    return Tensor._wrap(np.asarray(np.all(input._data, axis=dims, keepdims=keepdim)))
