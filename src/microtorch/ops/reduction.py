"""Reductions: sum, mean, var, std, max/min (with indices), amax/amin, argmax/argmin.

`dim` may be None (all dims), an int or a tuple; `axis=` is accepted as its alias, as
PyTorch does. Backward expands the gradient back over the reduced dims.
"""
from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ..autograd.grad_mode import is_grad_enabled
from ._out import write_out
from .arithmetic import maximum, minimum
from .shape import wrap_dim

_UNSET = object()

NO_DIM = object()
"""Default of `dim` where PyTorch's overloads tell "no dim given" from an explicit None."""


def check_keepdim_needs_dim(name: str, dim, keepdim, dtype=None) -> None:
    """PyTorch's argument parser refuses keepdim= without dim= for the ops whose dim-less
    overload has no keepdim (sum, mean, prod, max, min)."""
    if dim is NO_DIM and keepdim is not None:
        if dtype is not None:
            raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        "(keepdim=bool, ), but expected one of: (*, dtype) or (dim, keepdim)")


def check_grad_dtype(input: Tensor, dt: np.dtype) -> None:
    """PyTorch refuses a non-floating result dtype for an input that records a gradient."""
    if dt.kind != "f" and input.requires_grad and is_grad_enabled():
        raise RuntimeError(f"Autograd not support dtype: {_dtype.scalar_name(dt)}")


def normalize_dims(dim, ndim: int) -> tuple:
    """`dim` (None, int, list or tuple) as a sorted tuple of non-negative axes.

    A 0-d tensor accepts dim 0 or -1 (as PyTorch) and has no axes to reduce.
    """
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        dims = [wrap_dim(d, builtins.max(ndim, 1)) for d in dim]
        for d in dims:
            if dims.count(d) > 1:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        if ndim == 0:
            return ()
        return tuple(sorted(dims)) if dims else tuple(range(ndim))
    if ndim == 0:
        wrap_dim(dim, 0)
        return ()
    return (wrap_dim(dim, ndim),)


def _pick_dim(dim, axis):
    if axis is not None:
        if dim is not None:
            raise TypeError("received both 'dim' and its alias 'axis'")
        return axis
    return dim


def pick_keepdim(keepdim: bool | None, keepdims: bool | None) -> bool:
    """`keepdims=` (numpy's spelling) is accepted as the alias of `keepdim=`, as PyTorch does
    (None: not given, False)."""
    return bool(keepdim) if keepdims is None else bool(keepdims)


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


def _dims_given(name: str, dim, keepdim, keepdims, dtype, axis):
    """(dim, keepdim) of sum/mean after PyTorch's overload rules: keepdim needs a dim."""
    if dim is NO_DIM:
        if axis is None:
            check_keepdim_needs_dim(name, dim, keepdim if keepdims is None else keepdims, dtype)
        dim = None
    return _pick_dim(dim, axis), pick_keepdim(keepdim, keepdims)


def sum(input: Tensor, dim=NO_DIM, keepdim: bool | None = None, *, dtype=None, axis=None,
        keepdims: bool | None = None, out: Tensor | None = None) -> Tensor:
    """Sum over `dim` (all elements by default). Integer and bool tensors sum to int64."""
    if out is not None:
        return write_out(out, "sum", lambda: sum(input, dim, keepdim, dtype=dtype, axis=axis,
                                                 keepdims=keepdims), input)
    x = input._data
    if (dim is NO_DIM and keepdim is None and axis is None and dtype is None
            and keepdims is None and x.dtype.kind == "f"):
        return Sum.apply(input)
    dim, keepdim = _dims_given("sum", dim, keepdim, keepdims, dtype, axis)
    dims = normalize_dims(dim, x.ndim)
    if dtype is not None:
        out_dt = _dtype.to_numpy_dtype(dtype)
        check_grad_dtype(input, out_dt)
    else:
        out_dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.int64)
    return (Sum if dim is None else SumDim).apply(input, dims=dims, keepdim=keepdim, dtype=out_dt)


def mean(input: Tensor, dim=NO_DIM, keepdim: bool | None = None, *, dtype=None, axis=None,
         keepdims: bool | None = None, out: Tensor | None = None) -> Tensor:
    """Arithmetic mean over `dim` (floating tensors only, as PyTorch)."""
    if out is not None:
        return write_out(out, "mean", lambda: mean(input, dim, keepdim, dtype=dtype, axis=axis,
                                                   keepdims=keepdims), input)
    dim, keepdim = _dims_given("mean", dim, keepdim, keepdims, dtype, axis)
    x = input._data
    out_dt = x.dtype if dtype is None else _dtype.to_numpy_dtype(dtype)
    if out_dt.kind != "f":
        which = "Input" if dtype is None else "Optional"
        raise RuntimeError(
            "mean(): could not infer output dtype. " + which + " dtype must be either a floating "
            f"point or complex dtype. Got: {_dtype.scalar_name(out_dt)}"
        )
    dims = tuple(range(x.ndim)) if dim is None else normalize_dims(dim, x.ndim)
    return (Mean if dim is None else MeanDim).apply(input, dims=dims, keepdim=keepdim,
                                                    dtype=None if out_dt == x.dtype else out_dt)


def _variance(ctx, x, dims, correction, keepdim, full, root=False):
    """The variance (its square root with `root`) of x over dims; stores what backward
    needs on ctx.

    Squares accumulate in float64 (as PyTorch's CPU kernels), so float32 data near its
    range limit does not overflow; with a single result, PyTorch takes the mean in float32
    first (so that mean may overflow). The divisor is max(N - correction, 0), giving inf (or
    NaN for 0/0) when the correction leaves no degrees of freedom.
    """
    n = 1
    for d in dims:
        n *= x.shape[d]
    wide = x if x.dtype.itemsize >= 8 else x.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if n and x.dtype == np.float32 and x.size == n:
            centered = wide - np.float64(x.mean())
        else:
            centered = wide - wide.mean(axis=dims, keepdims=True) if n else wide
        ss = np.sum(centered * centered, axis=dims, keepdims=keepdim)
        var = np.true_divide(ss, builtins.max(n - correction, 0))
        if root:
            var = np.sqrt(var)
    ctx.dims, ctx.keepdim, ctx.dof, ctx.full = dims, keepdim, n - correction, full
    return np.asarray(var, dtype=x.dtype)


def _var_backward(ctx, x, g):
    """PyTorch's variance gradient 2 / (N - correction) * g * (x - mean); a full reduction
    without degrees of freedom gives g * inf (NaN where x equals the mean)."""
    g = _expand(g, ctx.dims, ctx.keepdim)
    if not x.size:
        return np.zeros(x.shape, g.dtype)
    dof = ctx.dof
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = x.mean(axis=ctx.dims, keepdims=True)
        if ctx.full and dof <= 0:
            return g * np.where(x == mean, np.nan, np.inf).astype(x.dtype)
        return ((2.0 / dof if dof else math.inf) * g) * (x - mean)


class Var(ArrayFunction):
    node_name = "VarBackward0"

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim, full):
        ctx.save_for_backward(x)
        return _variance(ctx, x, dims, correction, keepdim, full)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (_var_backward(ctx, x, g),)


class Std(ArrayFunction):
    node_name = "StdBackward0"

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim, full):
        out = _variance(ctx, x, dims, correction, keepdim, full, root=True)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            g_var = np.where(out == 0, 0, g / (out * 2)).astype(g.dtype, copy=False)
        return (_var_backward(ctx, x, g_var),)


def _var_args(name, dim, unbiased, keepdim, keepdims, correction, axis):
    """(dim, correction, keepdim) after PyTorch's var/std overloads: (unbiased),
    (dim, unbiased, keepdim) and (dim, *, correction, keepdim)."""
    if dim is NO_DIM:
        if unbiased is not None and (keepdim is not None or keepdims is not None):
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            "(unbiased=bool, keepdim=bool, ), but expected one of: (unbiased) "
                            "or (dim, unbiased, keepdim) or (dim, *, correction, keepdim)")
        dim = None
    dim = _pick_dim(dim, axis)
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    if unbiased is not None and correction is not _UNSET:
        raise TypeError(f"{name}(): pass either 'unbiased' or 'correction', not both")
    if correction is _UNSET or correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, correction, pick_keepdim(keepdim, keepdims)


def _var_dims(input, dim):
    """The reduced dims of var/std, after checking the input is floating."""
    x = input._data
    if x.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    return normalize_dims(dim, x.ndim)


def var(input: Tensor, dim=NO_DIM, unbiased=None, keepdim: bool | None = None, *,
        correction=_UNSET, axis=None, keepdims: bool | None = None,
        out: Tensor | None = None) -> Tensor:
    """Variance over `dim`, with Bessel's correction by default (correction=1)."""
    return _moment(Var, "var", input, dim, unbiased, keepdim, correction, axis, keepdims, out)


def std(input: Tensor, dim=NO_DIM, unbiased=None, keepdim: bool | None = None, *,
        correction=_UNSET, axis=None, keepdims: bool | None = None,
        out: Tensor | None = None) -> Tensor:
    """Standard deviation over `dim`, with Bessel's correction by default."""
    return _moment(Std, "std", input, dim, unbiased, keepdim, correction, axis, keepdims, out)


def _moment(fn, name: str, input: Tensor, dim, unbiased, keepdim, correction, axis, keepdims,
            out) -> Tensor:
    """The shared entry of var and std: PyTorch's argument rules, then `fn` (Var or Std)."""
    if out is not None:
        return write_out(out, name, lambda: _moment(fn, name, input, dim, unbiased, keepdim,
                                                    correction, axis, keepdims, None), input)
    dim, correction, keepdim = _var_args(name, dim, unbiased, keepdim, keepdims, correction, axis)
    return fn.apply(input, dims=_var_dims(input, dim), correction=correction, keepdim=keepdim,
                    full=dim is None or input._data.ndim == 0)


def _reduce_extreme(ctx, x, dims, keepdim, fn):
    out = np.asarray(fn(x, axis=dims, keepdims=keepdim))
    ctx.dims, ctx.keepdim = dims, keepdim
    ctx.save_for_backward(x, out)
    return out


class Amax(ArrayFunction):
    """Maximum over dims; the gradient is shared evenly among the elements equal to it
    (PyTorch's (g / count) * mask: a NaN result matches nothing and gives NaN)."""

    node_name = "AmaxBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        return _reduce_extreme(ctx, x, dims, keepdim, np.amax)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        mask = x == _expand(out, ctx.dims, ctx.keepdim)
        count = mask.sum(axis=ctx.dims, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ((_expand(g, ctx.dims, ctx.keepdim) / count.astype(g.dtype)) * mask,)


class Amin(Amax):
    node_name = "AminBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        return _reduce_extreme(ctx, x, dims, keepdim, np.amin)


class Max(ArrayFunction):
    """max() over all elements: the gradient is shared evenly among the elements equal to
    the result, or among the NaNs when the result is NaN; the others get exactly 0."""

    node_name = "MaxBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        return _reduce_extreme(ctx, x, dims, keepdim, np.amax)

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        mask = np.isnan(x) if np.isnan(out) else x == out
        return (np.where(mask, g / g.dtype.type(mask.sum()), g.dtype.type(0)),)


class Min(Max):
    """min() over all elements."""

    node_name = "MinBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        return _reduce_extreme(ctx, x, dims, keepdim, np.amin)


def _extreme(input, dims, keepdim, fn_cls, name, full):
    """A max-like reduction: PyTorch refuses empty inputs (no identity) by their class."""
    shape = input._data.shape
    if full:
        if input._data.size == 0:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
    else:
        _check_nonempty_dims(shape, dims, name)
    return fn_cls.apply(input, dims=dims, keepdim=keepdim)


def _check_nonempty_dims(shape, dims, name):
    for d in dims:
        if shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _amax_dims(input, dim, axis, name):
    """(dims, full) of amax/amin: () or None reduce all dims. An empty reduced dim is
    reported before a repeated one, as PyTorch does."""
    dim = _pick_dim(dim, axis) if dim != () or axis is not None else None
    full = dim is None or (isinstance(dim, (list, tuple)) and not dim)
    shape = input._data.shape
    if not full and 0 in shape:
        listed = dim if isinstance(dim, (list, tuple)) else (dim,)
        _check_nonempty_dims(shape, [wrap_dim(d, len(shape)) for d in listed], name)
    return normalize_dims(dim, len(shape)), full


def amax(input: Tensor, dim=(), keepdim: bool = False, *, axis=None,
         keepdims: bool | None = None, out: Tensor | None = None) -> Tensor:
    """Maximum over `dim` (all dims for ()); ties share the gradient evenly."""
    if out is not None:
        return write_out(out, "amax",
                         lambda: amax(input, dim, keepdim, axis=axis, keepdims=keepdims), input)
    dims, full = _amax_dims(input, dim, axis, "amax")
    return _extreme(input, dims, pick_keepdim(keepdim, keepdims), Amax, "amax", full)


def amin(input: Tensor, dim=(), keepdim: bool = False, *, axis=None,
         keepdims: bool | None = None, out: Tensor | None = None) -> Tensor:
    """Minimum over `dim` (all dims for ()); ties share the gradient evenly."""
    if out is not None:
        return write_out(out, "amin",
                         lambda: amin(input, dim, keepdim, axis=axis, keepdims=keepdims), input)
    dims, full = _amax_dims(input, dim, axis, "amin")
    return _extreme(input, dims, pick_keepdim(keepdim, keepdims), Amin, "amin", full)


def _select_extreme(ctx, x, dim, keepdim, argfn):
    """(values, int64 indices) of the extreme along `dim`; stores what backward needs."""
    ctx.in_shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    idx = np.asarray(_nan_aware_arg(x, dim, argfn), dtype=np.int64)
    vals = np.take_along_axis(x, np.expand_dims(idx, dim), axis=dim)
    if not keepdim:
        vals = np.squeeze(vals, axis=dim)
    idx_out = np.expand_dims(idx, dim) if keepdim else idx
    ctx.save_for_backward(idx_out)       # the returned indices, guarded as PyTorch's
    return vals, idx_out


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
            g, idx = np.expand_dims(g, ctx.dim), np.expand_dims(idx, ctx.dim)
        np.put_along_axis(gx, idx, g, axis=ctx.dim)
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


def _max_min(input, dim, keepdim, axis, keepdims, name, full_cls, dim_cls, pairwise):
    """PyTorch's overloads of max/min: (), (dim: int, keepdim) and (other: Tensor)."""
    keepdim = keepdim if keepdims is None else keepdims
    if isinstance(dim, Tensor):
        if keepdim is not None:
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            "(Tensor, keepdim=bool), but expected one of: (), (dim, keepdim) "
                            "or (other)")
        return pairwise(input, dim)
    if dim is NO_DIM and axis is None:
        check_keepdim_needs_dim(name, dim, keepdim)
        return _extreme(input, tuple(range(input._data.ndim)), False, full_cls, name, True)
    dim = _pick_dim(None if dim is NO_DIM else dim, axis)
    if dim is None:
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        "(dim=NoneType), but expected one of: (), (dim, keepdim) or (other)")
    return _extreme_dim(input, dim, bool(keepdim), dim_cls, name)


def max(input: Tensor, dim=NO_DIM, keepdim: bool | None = None, *, axis=None,
        keepdims: bool | None = None):
    """The largest element; with `dim`, (values, indices) along it; with a tensor, maximum."""
    if dim is NO_DIM and keepdim is None and keepdims is None and axis is None:
        return _extreme(input, tuple(range(input._data.ndim)), False, Max, "max", True)
    return _max_min(input, dim, keepdim, axis, keepdims, "max", Max, MaxDim, maximum)


def min(input: Tensor, dim=NO_DIM, keepdim: bool | None = None, *, axis=None,
        keepdims: bool | None = None):
    """The smallest element; with `dim`, (values, indices) along it; with a tensor, minimum."""
    if dim is NO_DIM and keepdim is None and keepdims is None and axis is None:
        return _extreme(input, tuple(range(input._data.ndim)), False, Min, "min", True)
    return _max_min(input, dim, keepdim, axis, keepdims, "min", Min, MinDim, minimum)


def _arg(input, dim, keepdim, argfn, name):
    x = input._data
    if x.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if x.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        idx = np.asarray(_nan_aware_arg(x.reshape(-1), 0, argfn))
        if keepdim:
            idx = idx.reshape([1] * x.ndim)
        return Tensor._wrap(idx.astype(np.int64))
    if x.ndim == 0:
        wrap_dim(dim, 0)
        return Tensor._wrap(np.zeros((), np.int64))
    d = wrap_dim(dim, x.ndim)
    _check_nonempty_dims(x.shape, (d,), name)
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
