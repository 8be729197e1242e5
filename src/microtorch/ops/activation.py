"""Activations and normalisers: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax, logsumexp.

float32/float64 run through the Cython kernels; other dtypes are computed in float32 (for
float16) or rejected as PyTorch does for integer inputs of float-only functions. Ops whose
gradient is a function of their output (relu, sigmoid, tanh, softmax, log_softmax) save the
returned array, so an in-place change of the output before backward is detected.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .. import _kernels as K
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ._out import write_out
from .shape import to_dtype, wrap_dim


def kernel_array(x: np.ndarray, op: str) -> np.ndarray:
    """A C-contiguous float32/float64 array for a kernel (float16 is computed in float32)."""
    if x.dtype.kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for \'{_dtype.scalar_name(x.dtype)}\'')
    if x.dtype.itemsize < 4:
        x = x.astype(np.float32)
    return x if x.flags.c_contiguous else np.ascontiguousarray(x)


def _elementwise_forward(ctx, x: np.ndarray, op: str, kernel) -> np.ndarray:
    """kernel(x) in x's dtype (integers arrive as float32), saved for backward."""
    xk = kernel_array(x, op)
    y = np.empty_like(xk)
    kernel(xk.reshape(-1), y.reshape(-1))
    if y.dtype != x.dtype:
        y = y.astype(x.dtype)
    ctx.save_for_backward(y)
    return y


def _elementwise_backward(ctx, g: np.ndarray, kernel) -> tuple:
    """The input's gradient from the saved output y, by a backward kernel."""
    (y,) = ctx.saved_tensors
    if y.dtype.itemsize < 4:                   # float16 output: the kernel runs in float32
        y = y.astype(np.float32)
    g = np.ascontiguousarray(g, dtype=y.dtype)
    gx = np.empty_like(y)
    kernel(g.reshape(-1), y.reshape(-1), gx.reshape(-1))
    return (gx,)


class Relu(ArrayFunction):
    node_name = "ReluBackward0"

    @staticmethod
    def forward(ctx, x):
        return _elementwise_forward(ctx, x, "relu", K.relu_forward)

    @staticmethod
    def backward(ctx, g):
        return _elementwise_backward(ctx, g, K.relu_backward)


class Sigmoid(ArrayFunction):
    node_name = "SigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        x = x if x.dtype.kind == "f" else x.astype(np.float32)
        return _elementwise_forward(ctx, x, "sigmoid", K.sigmoid_forward)

    @staticmethod
    def backward(ctx, g):
        return _elementwise_backward(ctx, g, K.sigmoid_backward)


class Tanh(ArrayFunction):
    node_name = "TanhBackward0"

    @staticmethod
    def forward(ctx, x):
        x = x if x.dtype.kind == "f" else x.astype(np.float32)
        return _elementwise_forward(ctx, x, "tanh", K.tanh_forward)

    @staticmethod
    def backward(ctx, g):
        return _elementwise_backward(ctx, g, K.tanh_backward)


def relu(input: Tensor) -> Tensor:
    """max(input, 0) elementwise; NaN stays NaN."""
    x = input._data
    if x.dtype == np.bool_:
        raise RuntimeError("Boolean inputs not supported for relu")
    if x.dtype.kind != "f":
        return Tensor._wrap(np.maximum(x, 0).astype(x.dtype))
    return Relu.apply(input)


def sigmoid(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """1 / (1 + exp(-input)), computed without overflow at either end."""
    if out is not None:
        return write_out(out, "sigmoid", lambda: sigmoid(input), input)
    return Sigmoid.apply(input)


def tanh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    if out is not None:
        return write_out(out, "tanh", lambda: tanh(input), input)
    return Tanh.apply(input)


class LeakyRelu(ArrayFunction):
    node_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.slope = negative_slope
        ctx.save_for_backward(x)
        return np.where(x > 0, x, x * np.asarray(negative_slope, dtype=x.dtype))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (np.where(x > 0, g, g * ctx.slope).astype(g.dtype, copy=False),)


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """input where positive, negative_slope * input elsewhere."""
    kernel_array(input._data, "leaky_relu_cpu")
    return LeakyRelu.apply(input, negative_slope=negative_slope)


def _rows(x: np.ndarray, dim: int) -> tuple[np.ndarray, tuple]:
    """x with `dim` moved last, as a C-contiguous (rows, classes) array, plus the moved shape."""
    if x.ndim == 0:
        x = x.reshape(1)
        dim = 0
    moved = x if dim == x.ndim - 1 else np.moveaxis(x, dim, -1)
    moved = np.ascontiguousarray(moved)
    return moved.reshape(-1, moved.shape[-1]) if moved.size else moved.reshape(0, moved.shape[-1]), \
        moved.shape


def _unrows(y: np.ndarray, moved_shape: tuple, dim: int, ndim: int) -> np.ndarray:
    y = y.reshape(moved_shape)
    if ndim == 0:
        return y.reshape(())
    return y if dim == ndim - 1 else np.moveaxis(y, -1, dim)


def _softmax_forward(ctx, x, dim, op: str, kernel) -> np.ndarray:
    """kernel along `dim`, the result saved for backward."""
    xk = kernel_array(x, op)
    d = wrap_dim(dim, max(xk.ndim, 1))
    rows, moved = _rows(xk, d)
    y = np.empty_like(rows)
    kernel(rows, y)
    result = _unrows(y, moved, d, xk.ndim)
    if result.dtype != x.dtype:
        result = result.astype(x.dtype)
    ctx.dim, ctx.moved, ctx.ndim = d, moved, xk.ndim
    ctx.save_for_backward(result)
    return result


def _softmax_backward(ctx, g, kernel) -> tuple:
    (y,) = ctx.saved_tensors
    y2, _ = _rows(y, ctx.dim)                  # no copy: y was built from this layout
    if y2.dtype.itemsize < 4:
        y2 = y2.astype(np.float32)
    g2, _ = _rows(np.asarray(g, dtype=y2.dtype), ctx.dim)
    gx = np.empty_like(y2)
    kernel(g2, y2, gx)
    return (_unrows(gx, ctx.moved, ctx.dim, ctx.ndim),)


class Softmax(ArrayFunction):
    node_name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim=None):
        return _softmax_forward(ctx, x, dim, "softmax", K.softmax_forward)

    @staticmethod
    def backward(ctx, g):
        return _softmax_backward(ctx, g, K.softmax_backward)


class LogSoftmax(ArrayFunction):
    node_name = "LogSoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim=None):
        return _softmax_forward(ctx, x, dim, "log_softmax", K.log_softmax_forward)

    @staticmethod
    def backward(ctx, g):
        return _softmax_backward(ctx, g, K.log_softmax_backward)


def _require_dim(dim, op: str) -> None:
    if dim is None:
        raise TypeError(f"{op}() missing required argument 'dim' (microtorch follows PyTorch "
                        "2.x, where the implicit dim choice is deprecated)")


def _non_float(input: Tensor, dim, op: str) -> Tensor:
    """softmax/log_softmax of an integer or bool tensor, as PyTorch: checks the dim, returns
    an empty tensor unchanged in its dtype, and has no kernel for a non-empty one."""
    x = input._data
    d = wrap_dim(dim, x.ndim)
    if x.size == 0:
        return Tensor._wrap(x.copy())
    kernel = f"{op}_lastdim_kernel_impl" if d == max(x.ndim, 1) - 1 else f"{op}_kernel_impl"
    raise NotImplementedError(f'"{kernel}" not implemented for \'{_dtype.scalar_name(x.dtype)}\'')


def softmax(input: Tensor, dim: int | None = None, dtype=None, *,
            out: Tensor | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (max-shifted, so large inputs do not overflow)."""
    if out is not None:
        return write_out(out, "softmax", lambda: softmax(input, dim, dtype), input)
    _require_dim(dim, "softmax")
    if dtype is not None:            # PyTorch's graph: a ToCopyBackward0 first
        input = to_dtype(input, dtype)
    if input._data.dtype.kind != "f":
        return _non_float(input, dim, "softmax")
    return Softmax.apply(input, dim=dim)


def log_softmax(input: Tensor, dim: int | None = None, dtype=None, *,
                out: Tensor | None = None) -> Tensor:
    """log(softmax(x)) along `dim`, computed directly (stable for large |x|)."""
    if out is not None:
        return write_out(out, "log_softmax", lambda: log_softmax(input, dim, dtype), input)
    _require_dim(dim, "log_softmax")
    if dtype is not None:
        input = to_dtype(input, dtype)
    if input._data.dtype.kind != "f":
        return _non_float(input, dim, "log_softmax")
    return LogSoftmax.apply(input, dim=dim)


class Logsumexp(ArrayFunction):
    node_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx, x, dims=(), keepdim=False):
        if x.dtype.kind != "f":
            x = x.astype(np.float32)
        m = np.amax(x, axis=dims, keepdims=True) if x.size else np.zeros([1] * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            s = np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True)) + m
        out = np.asarray(s if keepdim else np.squeeze(s, axis=dims), dtype=x.dtype)
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if not ctx.keepdim:
            g = np.expand_dims(g, ctx.dims)
            out = np.expand_dims(out, ctx.dims)
        with np.errstate(invalid="ignore"):
            return (g * np.exp(x - out),)          # NaN at inf results, as PyTorch


def logsumexp(input: Tensor, dim, keepdim: bool = False, *,
              keepdims: bool | None = None, out: Tensor | None = None) -> Tensor:
    """log(sum(exp(x))) over `dim`, max-shifted for stability (`keepdims=`: keepdim's alias)."""
    if out is not None:
        return write_out(out, "logsumexp",
                         lambda: logsumexp(input, dim, keepdim, keepdims=keepdims), input)
    from .reduction import normalize_dims, pick_keepdim

    keepdim = pick_keepdim(keepdim, keepdims)
    dims = normalize_dims(dim, input._data.ndim)
    return Logsumexp.apply(input, dims=dims, keepdim=keepdim)
