"""Norms: torch.norm / Tensor.norm and torch.linalg's vector_norm, matrix_norm, norm, svdvals.

A vector norm of order p reduces |x| over `dim`: (sum |x|**p) ** (1/p), with the special
orders 2 (Euclidean), 1, inf (max |x|), -inf (min |x|) and 0 (count of non-zeros). Its
gradient is zero-safe: where the norm is 0 (or an element is 0 for p < 1) the gradient is
0, not NaN, as in PyTorch. Matrix norms are built from vector norms ('fro', 1, -1, inf,
-inf) or from the singular values ('nuc', 2, -2), with the same graph nodes as PyTorch.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ._operands import require_tensor
from ._out import write_out
from .reduction import amax, amin, normalize_dims, pick_keepdim
from .reduction import sum as _sum
from .shape import unsqueeze, wrap_dim


def _sgn(x: np.ndarray) -> np.ndarray:
    """PyTorch's sign: 0 for NaN (numpy's sign gives NaN)."""
    return ((x > 0).astype(x.dtype) - (x < 0).astype(x.dtype))


class VectorNorm(ArrayFunction):
    """The order-`ord` norm of x over `dims` (a tuple of axes)."""

    node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, ord=2.0, dims=(), keepdim=False, dtype=None, single=False):
        if dtype is not None:
            x = x.astype(dtype, copy=False)
        ctx.ord, ctx.dims, ctx.keepdim = ord, dims, keepdim
        a = np.abs(x)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if single:                       # one element per result: |x| (or x != 0)
                out = (a != 0).astype(x.dtype) if ord == 0 else a
            elif ord == 2:
                out = np.sqrt(np.sum(a * a, axis=dims, keepdims=True))
            elif ord == 1:
                out = np.sum(a, axis=dims, keepdims=True)
            elif ord == math.inf:
                out = np.amax(a, axis=dims, keepdims=True)
            elif ord == -math.inf:
                out = np.amin(a, axis=dims, keepdims=True)
            elif ord == 0:
                out = np.sum(a != 0, axis=dims, keepdims=True).astype(x.dtype)
            else:
                out = np.sum(a ** ord, axis=dims, keepdims=True) ** (1.0 / ord)
        out = np.asarray(out, dtype=x.dtype).reshape(
            [1 if i in dims else n for i, n in enumerate(x.shape)])
        out = out if keepdim else np.squeeze(out, axis=dims)
        ctx.save_for_backward(x, out)        # the output itself: guarded as PyTorch's result
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        p = ctx.ord
        if p == 0:                           # PyTorch gives no gradient at all
            return (None,)
        if not ctx.keepdim:                  # the reduced dims back (size 1)
            g, out = np.expand_dims(g, ctx.dims), np.expand_dims(out, ctx.dims)
        zero = np.zeros((), g.dtype)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if p == 1:
                return (_sgn(x) * g,)
            if p == 2:
                return (g * np.where(out == 0, zero, x / out),)
            if math.isinf(p):
                a = np.abs(x)
                hit = (a == out) | np.isnan(a)
                count = np.sum(hit, axis=ctx.dims, keepdims=True).astype(g.dtype)
                return (_sgn(x) * ((g / count) * hit),)
            if p < 1:
                scaled = _sgn(x) * np.where(x == 0, zero, np.abs(x) ** (p - 1))
                return (scaled * g * out ** (1 - p),)
            scaled = _sgn(x) * np.abs(x) ** (p - 1) if p < 2 else x * np.abs(x) ** (p - 2)
            return (scaled * np.where(out == 0, zero, g / out ** (p - 1)),)


class Svdvals(ArrayFunction):
    """The singular values of the matrices spanned by `dims` (moved last for the SVD),
    largest first. d(sigma_i) = u_i v_i^T, so the gradient is U diag(g) V^T."""

    node_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, a, dims=(-2, -1)):
        ctx.dims = dims
        u, s, vh = np.linalg.svd(np.moveaxis(a, dims, (-2, -1)), full_matrices=False)
        ctx.save_for_backward(u, vh)
        return s

    @staticmethod
    def backward(ctx, g):
        u, vh = ctx.saved_tensors
        return (np.moveaxis((u * g[..., None, :]) @ vh, (-2, -1), ctx.dims),)


def _norm_dtype(name: str, x: np.ndarray, dtype) -> np.dtype | None:
    """The dtype to compute in, after PyTorch's checks (floating input; no narrowing)."""
    if x.dtype.kind != "f":
        raise RuntimeError(f"linalg.{name}: Expected a floating point or complex tensor as "
                           f"input. Got {_dtype.scalar_name(x.dtype)}")
    if dtype is None:
        return None
    dt = _dtype.to_numpy_dtype(dtype)
    if dt.kind != "f":
        raise RuntimeError(f"linalg.{name}: dtype should be floating point or complex, but got "
                           f"{_dtype.scalar_name(dt)}")
    if dt.itemsize < x.dtype.itemsize:
        raise RuntimeError(f"linalg.{name}: the dtype of the input ({_dtype.scalar_name(x.dtype)}) "
                           "should be convertible without narrowing to the specified dtype "
                           f"({_dtype.scalar_name(dt)})")
    return dt


def _vector_norm(x: Tensor, ord, dim, keepdim: bool, dtype) -> Tensor:
    if isinstance(ord, str) or not isinstance(ord, numbers.Number):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not "
                        f"{type(ord).__name__}")
    require_tensor(x, "linalg_vector_norm")
    data = x._data
    dt = _norm_dtype("vector_norm", data, dtype)
    dims = normalize_dims(dim, data.ndim)
    if (ord < 0 or math.isinf(ord)) and data.size == 0:    # max/min-like: no identity
        if dim is None:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on an empty "
                               "tensor because the operation does not have an identity")
        for d in dims:
            if data.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on the "
                                   f"dimension {d}because this dimension is empty and the "
                                   "operation does not have an identity")
    count = 1
    for d in dims:
        count *= data.shape[d]
    single = count == 1 and (data.ndim > 0 or dim is None)   # as PyTorch: no accumulation
    return VectorNorm.apply(x, ord=float(ord), dims=dims, keepdim=bool(keepdim), dtype=dt,
                            single=single)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None,
                out: Tensor | None = None, keepdims: bool | None = None) -> Tensor:
    """The order-`ord` vector norm of x over `dim` (all elements by default)."""
    keepdim = pick_keepdim(keepdim, keepdims)
    if out is not None:
        return write_out(out, "linalg_vector_norm",
                         lambda: _vector_norm(x, ord, dim, keepdim, dtype), x)
    return _vector_norm(x, ord, dim, keepdim, dtype)


def _matrix_dims(a: np.ndarray, dim) -> tuple:
    if a.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    dims = tuple(dim)
    if len(dims) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                           f"{' '.join(str(d) for d in dims)}")
    d0, d1 = (wrap_dim(d, a.ndim) for d in dims)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dims[0]}, "
                           f"{dims[1]})")
    return d0, d1


def _matrix_norm(A: Tensor, ord, dim, keepdim: bool, dtype) -> Tensor:
    require_tensor(A, "linalg_matrix_norm")
    a = A._data
    d0, d1 = _matrix_dims(a, dim)
    if ord == "fro":
        return _vector_norm(A, 2, (d0, d1), keepdim, dtype)
    if ord not in ("nuc", 1, -1, 2, -2, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if a.shape[d0] == 0 or a.shape[d1] == 0:           # every such norm of no entries is 0
        return _vector_norm(A, 2, (d0, d1), keepdim, dtype)
    if ord in ("nuc", 2, -2):
        _norm_dtype("matrix_norm", a, dtype)
        src = A if dtype is None else A.to(dtype)
        s = Svdvals.apply(src, dims=(d0, d1))
        out = _sum(s, -1) if ord == "nuc" else (amax if ord == 2 else amin)(s, -1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = unsqueeze(out, d)
        return out
    # 1 / -1: max / min over columns of the column sums of |A|; inf / -inf: over rows
    summed, kept = (d0, d1) if abs(ord) == 1 else (d1, d0)
    sums = _vector_norm(A, 1, summed, keepdim, dtype)
    if not keepdim and kept > summed:
        kept -= 1
    return (amax if ord > 0 else amin)(sums, kept, keepdim)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None,
                out: Tensor | None = None, keepdims: bool | None = None) -> Tensor:
    """A matrix norm over the two dims `dim`: 'fro', 'nuc', 1, -1, 2, -2, inf or -inf."""
    keepdim = pick_keepdim(keepdim, keepdims)
    if out is not None:
        return write_out(out, "linalg_matrix_norm",
                         lambda: _matrix_norm(A, ord, dim, keepdim, dtype), A)
    return _matrix_norm(A, ord, dim, keepdim, dtype)


def _linalg_norm(A: Tensor, ord, dim, keepdim: bool, dtype) -> Tensor:
    require_tensor(A, "linalg_norm")
    if dim is None:
        if ord is None:
            return _vector_norm(A, 2, None, keepdim, dtype)
        ndim = A._data.ndim
        if ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                               f"be 1D or 2D. Got {ndim}D.")
        dims = tuple(range(ndim))
    else:
        dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    if isinstance(ord, str) or len(dims) == 2:
        return _matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype)
    if len(dims) == 1:
        return _vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype)
    raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got "
                       f"{list(dims)}")


def linalg_norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *,
                out: Tensor | None = None, dtype=None, keepdims: bool | None = None) -> Tensor:
    """A vector norm (dim an int, or a 1-D input) or a matrix norm (dim a pair, or a 2-D
    input); with neither ord nor dim, the 2-norm of all elements."""
    keepdim = pick_keepdim(keepdim, keepdims)
    if out is not None:
        return write_out(out, "linalg_norm", lambda: _linalg_norm(A, ord, dim, keepdim, dtype),
                         A)
    return _linalg_norm(A, ord, dim, keepdim, dtype)


def _norm(input: Tensor, p, dim, keepdim: bool, dtype) -> Tensor:
    dims = [dim] if isinstance(dim, numbers.Integral) else dim
    if isinstance(p, str):
        if p == "fro" and (dims is None or len(dims) <= 2):
            return _vector_norm(input, 2, dims, keepdim, dtype)
        return _matrix_norm(input, p, range(input._data.ndim) if dims is None else dims,
                            keepdim, dtype)
    return _vector_norm(input, 2 if p is None else p, dims, keepdim, dtype)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out: Tensor | None = None,
         dtype=None) -> Tensor:
    """torch.norm: a vector norm of order p over `dim` ('fro' is the 2-norm; 'nuc' the
    nuclear norm of a matrix). torch.linalg.norm is the modern spelling."""
    if out is not None:
        return write_out(out, "norm", lambda: _norm(input, p, dim, keepdim, dtype), input)
    return _norm(input, p, dim, keepdim, dtype)


def svdvals(A: Tensor, *, driver=None, out: Tensor | None = None) -> Tensor:
    """The singular values of A (or of each matrix of a batch), in descending order."""
    require_tensor(A, "linalg_svdvals")
    _norm_dtype("svd", A._data, None)
    if A._data.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    if out is not None:
        return write_out(out, "linalg_svdvals", lambda: Svdvals.apply(A), A)
    return Svdvals.apply(A)
