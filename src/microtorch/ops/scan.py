"""Running and total products and sums: cumsum, cumprod, prod.

Integer and bool inputs accumulate in int64, as in PyTorch. The product gradients follow
PyTorch's cases: without zeros they divide the product by the input (so an overflowed
product gives inf); with zeros they multiply the other factors instead.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ._operands import require_tensor
from .reduction import NO_DIM, check_grad_dtype, check_keepdim_needs_dim, pick_keepdim
from .shape import wrap_dim


def _accumulator(x: np.ndarray, dtype) -> np.ndarray:
    """x in the dtype the accumulation runs in: `dtype` if given, int64 for integers."""
    if dtype is not None:
        return x.astype(_dtype.to_numpy_dtype(dtype), copy=False)
    return x if x.dtype.kind == "f" else x.astype(np.int64)


def _scan(fn, x: np.ndarray, axis: int) -> np.ndarray:
    """np.cumsum/np.cumprod along `axis`, accumulating narrow floats in float64 as PyTorch's
    CPU kernels do (so a running value may leave float32's range and come back)."""
    if x.dtype.kind == "f" and x.dtype.itemsize < 8:
        with np.errstate(over="ignore", invalid="ignore"):
            return fn(x, axis=axis, dtype=np.float64).astype(x.dtype)
    return fn(x, axis=axis)


def _reverse_cumsum(g: np.ndarray, axis: int) -> np.ndarray:
    return np.flip(_scan(np.cumsum, np.flip(g, axis), axis), axis)


class Cumsum(ArrayFunction):
    node_name = "CumsumBackward0"

    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.axis, ctx.in_dtype = dim, x.dtype
        x = _accumulator(x, dtype)
        return x.copy() if x.ndim == 0 else _scan(np.cumsum, x, dim)

    @staticmethod
    def backward(ctx, g):
        g = g.astype(ctx.in_dtype, copy=False)
        return (g if g.ndim == 0 else _reverse_cumsum(g, ctx.axis),)


def _exclusive_cumprod(x: np.ndarray, axis: int) -> np.ndarray:
    """prod of the elements before each position along `axis` (1 for the first)."""
    if x.shape[axis] == 0:
        return np.ones_like(x)
    shifted = np.concatenate([np.ones_like(np.take(x, [0], axis=axis)),
                              np.take(x, np.arange(x.shape[axis] - 1), axis=axis)], axis=axis)
    return _scan(np.cumprod, shifted, axis)


def _cumprod_grad(x: np.ndarray, out: np.ndarray, g: np.ndarray, axis: int) -> np.ndarray:
    """Gradient of cumprod along `axis`, by PyTorch's cases. Without zeros it is the
    reversed cumsum of out * g divided by x. With zeros: before the first zero of a line
    the same formula over that prefix; at the first zero, sum_j g_j * prod(x[z+1..j]) times
    the product before it; after it, 0."""
    if x.size <= 1 or x.shape[axis] == 1:
        return g
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = out * g
        is_zero = x == 0
        if not is_zero.any():
            return _reverse_cumsum(w, axis) / x
        zeros_before = np.cumsum(is_zero, axis=axis)
        head = zeros_before == 0
        gx = np.where(head, _reverse_cumsum(np.where(head, w, 0), axis) / x, 0).astype(g.dtype)
        first = np.argmax(zeros_before == 1, axis=axis)
        has_zero = np.take_along_axis(zeros_before, np.expand_dims(first, axis), axis) == 1
        between = (zeros_before == 1) & ~_one_hot(first, x.shape, axis)
        tail = np.sum(_scan(np.cumprod, np.where(between, x, x.dtype.type(1)), axis)
                      * np.where(zeros_before == 1, g, 0), axis=axis, keepdims=True)
        before = np.take_along_axis(out, np.expand_dims(np.maximum(first - 1, 0), axis), axis)
        before = np.where(np.expand_dims(first, axis) == 0, 1, before)
        at_zero = np.where(has_zero, tail * before, 0).astype(g.dtype)
        np.put_along_axis(gx, np.expand_dims(first, axis),
                          np.where(has_zero, at_zero,
                                   np.take_along_axis(gx, np.expand_dims(first, axis), axis)),
                          axis)
    return gx


def _one_hot(index: np.ndarray, shape: tuple, axis: int) -> np.ndarray:
    """A bool array of `shape` true at position index[...] along `axis`."""
    hot = np.zeros(shape, dtype=bool)
    np.put_along_axis(hot, np.expand_dims(index, axis), True, axis)
    return hot


class Cumprod(ArrayFunction):
    node_name = "CumprodBackward0"

    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.axis = dim
        acc = _accumulator(x, dtype)
        out = acc.copy() if acc.ndim == 0 else _scan(np.cumprod, acc, dim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors          # as PyTorch: the input's dtype, not `dtype`'s
        g = g.astype(x.dtype, copy=False)
        return (g if g.ndim == 0 else _cumprod_grad(x, out, g, ctx.axis),)


def _others_product(x: np.ndarray, axis: int) -> np.ndarray:
    """For each element, the product of the other elements along `axis`."""
    before = _exclusive_cumprod(x, axis)
    after = np.flip(_exclusive_cumprod(np.flip(x, axis), axis), axis)
    return before * after


def _prod_grad(x: np.ndarray, out: np.ndarray, g: np.ndarray, axis: int) -> np.ndarray:
    """g * d(prod)/dx along `axis` (out and g keep the reduced axis): out / x without
    zeros, the product of the other elements otherwise."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if not (x == 0).any():
            return g * (out / x)
        return g * _others_product(x, axis)


class Prod(ArrayFunction):
    """Product of all elements."""

    node_name = "ProdBackward0"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        x = _accumulator(x, dtype)
        out = np.asarray(np.prod(x))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if x.ndim == 0:
            return (g.astype(ctx.in_dtype, copy=False),)
        if np.count_nonzero(x == 0) > 1:                  # every partial product is 0
            return (np.zeros(x.shape, ctx.in_dtype),)
        flat = _prod_grad(x.reshape(-1), out.reshape(1), g.reshape(1), 0)
        return (flat.reshape(x.shape).astype(ctx.in_dtype, copy=False),)


class ProdDim(ArrayFunction):
    """Product along one dim."""

    node_name = "ProdBackward1"

    @staticmethod
    def forward(ctx, x, dim, keepdim, dtype):
        ctx.in_dtype, ctx.axis, ctx.keepdim = x.dtype, dim, keepdim
        x = _accumulator(x, dtype)
        out = x.copy() if x.ndim == 0 else np.prod(x, axis=dim, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if x.ndim == 0:
            return (g.astype(ctx.in_dtype, copy=False),)
        if not ctx.keepdim:
            g, out = np.expand_dims(g, ctx.axis), np.expand_dims(out, ctx.axis)
        if not x.size:
            return (np.zeros(x.shape, ctx.in_dtype),)
        return (_prod_grad(x, out, g, ctx.axis).astype(ctx.in_dtype, copy=False),)


def _scan_dim(input: Tensor, dim, name: str) -> int:
    require_tensor(input, name)
    if dim is None:
        raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')
    return wrap_dim(dim, input._data.ndim)


def _scan_dtype(input: Tensor, dtype):
    if dtype is not None:
        check_grad_dtype(input, _dtype.to_numpy_dtype(dtype))
    return dtype


def cumsum(input: Tensor, dim: int | None = None, *, dtype=None) -> Tensor:
    """Running sums along `dim`."""
    d = _scan_dim(input, dim, "cumsum")
    return Cumsum.apply(input, dim=d, dtype=_scan_dtype(input, dtype))


def cumprod(input: Tensor, dim: int | None = None, *, dtype=None) -> Tensor:
    """Running products along `dim`."""
    d = _scan_dim(input, dim, "cumprod")
    return Cumprod.apply(input, dim=d, dtype=_scan_dtype(input, dtype))


def prod(input: Tensor, dim=NO_DIM, keepdim: bool | None = None, *, dtype=None,
         keepdims: bool | None = None) -> Tensor:
    """Product of all elements, or along `dim` (one int, as in PyTorch's overloads)."""
    require_tensor(input, "prod")
    keepdim = keepdim if keepdims is None else keepdims
    if dim is NO_DIM:
        check_keepdim_needs_dim("prod", dim, keepdim, dtype)
        return Prod.apply(input, dtype=_scan_dtype(input, dtype))
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"prod(): argument 'dim' (position 2) must be int, not "
                        f"{type(dim).__name__}")
    d = wrap_dim(dim, input._data.ndim)
    return ProdDim.apply(input, dim=d, keepdim=pick_keepdim(keepdim, None),
                         dtype=_scan_dtype(input, dtype))
