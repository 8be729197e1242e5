"""Running and total products and sums: cumsum, cumprod, prod.

Integer and bool inputs accumulate in int64, as in PyTorch. The product gradients are
exact when inputs are zero: they multiply the other factors instead of dividing the
product by the input.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ._operands import require_tensor
from .reduction import pick_keepdim
from .shape import wrap_dim


def _accumulator(x: np.ndarray, dtype) -> np.ndarray:
    """x in the dtype the accumulation runs in: `dtype` if given, int64 for integers."""
    if dtype is not None:
        return x.astype(_dtype.to_numpy_dtype(dtype), copy=False)
    return x if x.dtype.kind == "f" else x.astype(np.int64)


def _reverse_cumsum(g: np.ndarray, axis: int) -> np.ndarray:
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


class Cumsum(ArrayFunction):
    node_name = "CumsumBackward0"

    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.axis, ctx.in_dtype = dim, x.dtype
        x = _accumulator(x, dtype)
        return x.copy() if x.ndim == 0 else np.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        gx = g if g.ndim == 0 else _reverse_cumsum(g, ctx.axis)
        return (gx.astype(ctx.in_dtype, copy=False),)


def _exclusive_cumprod(x: np.ndarray, axis: int) -> np.ndarray:
    """prod of the elements before each position along `axis` (1 for the first)."""
    if x.shape[axis] == 0:
        return np.ones_like(x)
    shifted = np.concatenate([np.ones_like(np.take(x, [0], axis=axis)),
                              np.take(x, np.arange(x.shape[axis] - 1), axis=axis)], axis=axis)
    return np.cumprod(shifted, axis=axis)


def _cumprod_grad(x: np.ndarray, g: np.ndarray, axis: int) -> np.ndarray:
    """d/dx_i of sum_j g_j * prod_{k<=j} x_k = prod_{k<i} x_k * S_i, where
    S_i = g_i + x_{i+1} * S_{i+1} (no division, so zeros are handled exactly)."""
    xm, gm = np.moveaxis(x, axis, 0), np.moveaxis(g, axis, 0)
    n = xm.shape[0]
    suffix = np.empty_like(gm)
    if n:
        suffix[n - 1] = gm[n - 1]
    for i in range(n - 2, -1, -1):
        suffix[i] = gm[i] + xm[i + 1] * suffix[i + 1]
    return np.moveaxis(_exclusive_cumprod(xm, 0) * suffix, 0, axis)


class Cumprod(ArrayFunction):
    node_name = "CumprodBackward0"

    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.axis, ctx.in_dtype = dim, x.dtype
        x = _accumulator(x, dtype)
        ctx.save_for_backward(x)
        return x.copy() if x.ndim == 0 else np.cumprod(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        gx = g if g.ndim == 0 else _cumprod_grad(x, g, ctx.axis)
        return (gx.astype(ctx.in_dtype, copy=False),)


def _others_product(x: np.ndarray, axis: int) -> np.ndarray:
    """For each element, the product of the other elements along `axis`."""
    before = _exclusive_cumprod(x, axis)
    after = np.flip(_exclusive_cumprod(np.flip(x, axis), axis), axis)
    return before * after


class Prod(ArrayFunction):
    """Product of all elements."""

    node_name = "ProdBackward0"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        x = _accumulator(x, dtype)
        ctx.save_for_backward(x)
        return np.asarray(np.prod(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        flat = x.reshape(-1)
        others = _others_product(flat, 0).reshape(x.shape) if flat.size else x
        return ((g * others).astype(ctx.in_dtype, copy=False),)


class ProdDim(ArrayFunction):
    """Product along one dim."""

    node_name = "ProdBackward1"

    @staticmethod
    def forward(ctx, x, dim, keepdim, dtype):
        ctx.in_dtype, ctx.axis, ctx.keepdim = x.dtype, dim, keepdim
        x = _accumulator(x, dtype)
        ctx.save_for_backward(x)
        if x.ndim == 0:
            return x.copy()
        return np.prod(x, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if x.ndim == 0:
            return (g.astype(ctx.in_dtype, copy=False),)
        if not ctx.keepdim:
            g = np.expand_dims(g, ctx.axis)
        others = _others_product(x, ctx.axis) if x.size else x
        return ((g * others).astype(ctx.in_dtype, copy=False),)


def _scan_dim(input: Tensor, dim, name: str) -> int:
    require_tensor(input, name)
    if dim is None:
        raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')
    return wrap_dim(dim, input._data.ndim)


def cumsum(input: Tensor, dim: int | None = None, *, dtype=None) -> Tensor:
    """Running sums along `dim`."""
    return Cumsum.apply(input, dim=_scan_dim(input, dim, "cumsum"), dtype=dtype)


def cumprod(input: Tensor, dim: int | None = None, *, dtype=None) -> Tensor:
    """Running products along `dim`."""
    return Cumprod.apply(input, dim=_scan_dim(input, dim, "cumprod"), dtype=dtype)


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype=None,
         keepdims: bool | None = None) -> Tensor:
    """Product of all elements, or along `dim` (one int, as in PyTorch)."""
    require_tensor(input, "prod")
    keepdim = pick_keepdim(keepdim, keepdims)
    if dim is None:
        return Prod.apply(input, dtype=dtype)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"prod(): argument 'dim' (position 2) must be int, not "
                        f"{type(dim).__name__}")
    return ProdDim.apply(input, dim=wrap_dim(dim, input._data.ndim), keepdim=bool(keepdim),
                         dtype=dtype)
