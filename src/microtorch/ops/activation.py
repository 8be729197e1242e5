"""Activations and normalisers: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax, logsumexp.

float32/float64 run through the Cython kernels; other dtypes are computed in float32 (for
float16) or rejected as PyTorch does for integer inputs of float-only functions.
"""
from __future__ import annotations

import numpy as np

from .. import _kernels as K
from .._tensor import Tensor
from ..autograd.graph import needs_grad, record
from ..autograd.node import Node
from .shape import wrap_dim


def kernel_array(x: np.ndarray, op: str) -> np.ndarray:
    """A C-contiguous float32/float64 array for a kernel (float16 is computed in float32)."""
    if x.dtype.kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for \'{_name(x.dtype)}\'')
    if x.dtype.itemsize < 4:
        x = x.astype(np.float32)
    return x if x.flags.c_contiguous else np.ascontiguousarray(x)


def _name(dt: np.dtype) -> str:
    return {"int64": "Long", "int32": "Int", "bool": "Bool", "uint8": "Byte",
            "int16": "Short", "int8": "Char"}.get(dt.name, dt.name)


def _elementwise(x: np.ndarray, kernel) -> np.ndarray:
    out = np.empty_like(x)
    kernel(x.reshape(-1), out.reshape(-1))
    return out


class _ElementwiseBackward(Node):
    """Backward of an activation from its saved output y, by the kernel `backward_kernel`."""

    __slots__ = ()
    backward_kernel = None

    def backward(self, g):
        (y,) = self.saved_tensors
        g = np.ascontiguousarray(g, dtype=y.dtype)
        gx = np.empty_like(y)
        self.backward_kernel(g.reshape(-1), y.reshape(-1), gx.reshape(-1))
        return (gx,)


class ReluBackward0(_ElementwiseBackward):
    __slots__ = ()
    backward_kernel = staticmethod(K.relu_backward)


class SigmoidBackward0(_ElementwiseBackward):
    __slots__ = ()
    backward_kernel = staticmethod(K.sigmoid_backward)


class TanhBackward0(_ElementwiseBackward):
    __slots__ = ()
    backward_kernel = staticmethod(K.tanh_backward)


def _activation(input: Tensor, x: np.ndarray, name: str, forward, node_cls) -> Tensor:
    """Run a float kernel on x (input's array, or its float32 version for integers) and record
    `node_cls`, which keeps the output for backward."""
    y = _elementwise(kernel_array(x, name), forward)
    out = Tensor._wrap(y if y.dtype == x.dtype else y.astype(x.dtype))
    if needs_grad(input):
        node = node_cls()
        node.saved = (y,)
        node.versions = ((out._version, 0),)
        record(node, out, input)
    return out


def relu(input: Tensor) -> Tensor:
    """max(input, 0) elementwise; NaN stays NaN."""
    x = input._data
    if x.dtype.kind != "f":
        return Tensor._wrap(np.maximum(x, 0).astype(x.dtype))
    return _activation(input, x, "relu", K.relu_forward, ReluBackward0)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-input)), computed without overflow at either end."""
    x = input._data
    return _activation(input, x if x.dtype.kind == "f" else x.astype(np.float32), "sigmoid",
                       K.sigmoid_forward, SigmoidBackward0)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    x = input._data
    return _activation(input, x if x.dtype.kind == "f" else x.astype(np.float32), "tanh",
                       K.tanh_forward, TanhBackward0)


class LeakyReluBackward0(Node):
    __slots__ = ("slope",)

    def backward(self, g):
        (x,) = self.saved_tensors
        return (np.where(x > 0, g, g * self.slope).astype(g.dtype, copy=False),)


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """input where positive, negative_slope * input elsewhere."""
    x = input._data
    out = Tensor._wrap(np.where(x > 0, x, x * np.asarray(negative_slope, dtype=x.dtype)))
    if needs_grad(input):
        node = LeakyReluBackward0()
        node.slope = negative_slope
        node.save_for_backward(input)
        record(node, out, input)
    return out


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


class _SoftmaxBase(Node):
    __slots__ = ("dim", "kernel", "moved")

    def backward(self, g):
        (y,) = self.saved_tensors
        g2, _ = _rows(np.asarray(g, dtype=y.dtype), self.dim)
        gx = np.empty_like(y)
        self.kernel(g2, y, gx)
        return (_unrows(gx, self.moved, self.dim, len(self.shape)),)


class SoftmaxBackward0(_SoftmaxBase):
    __slots__ = ()


class LogSoftmaxBackward0(_SoftmaxBase):
    __slots__ = ()


def _softmax_like(input: Tensor, dim, dtype, name, forward, backward, node_cls) -> Tensor:
    if dim is None:
        raise TypeError(f"{name}() missing required argument 'dim' (microtorch follows PyTorch "
                        "2.x, where the implicit dim choice is deprecated)")
    x = input._data
    if dtype is not None:
        from .._dtype import to_numpy_dtype

        x = x.astype(to_numpy_dtype(dtype))
    x = kernel_array(x, name)
    d = wrap_dim(dim, max(x.ndim, 1))
    rows, moved = _rows(x, d)
    y = np.empty_like(rows)
    forward(rows, y)
    result = _unrows(y, moved, d, x.ndim)
    out_dtype = x.dtype if dtype is not None or input._data.dtype == x.dtype else input._data.dtype
    out = Tensor._wrap(result if result.dtype == out_dtype else result.astype(out_dtype))
    if needs_grad(input):
        node = node_cls()
        node.dim = d
        node.moved = moved
        node.kernel = backward
        node.saved = (y,)
        node.versions = ((out._version, 0),)
        record(node, out, input)
    return out


def softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (max-shifted, so large inputs do not overflow)."""
    return _softmax_like(input, dim, dtype, "softmax", K.softmax_forward, K.softmax_backward,
                         SoftmaxBackward0)


def log_softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """log(softmax(x)) along `dim`, computed directly (stable for large |x|)."""
    return _softmax_like(input, dim, dtype, "log_softmax", K.log_softmax_forward,
                         K.log_softmax_backward, LogSoftmaxBackward0)


class LogsumexpBackward0(Node):
    __slots__ = ("dims", "keepdim")

    def backward(self, g):
        x, out = self.saved_tensors
        if not self.keepdim:
            g = np.expand_dims(g, self.dims)
            out = np.expand_dims(out, self.dims)
        with np.errstate(invalid="ignore"):
            w = np.exp(x - out)
        return (g * np.where(np.isnan(w) & np.isinf(out), 0, w),)


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over `dim`, max-shifted for stability."""
    from .reduction import normalize_dims

    x = input._data if input._data.dtype.kind == "f" else input._data.astype(np.float32)
    dims = normalize_dims(dim, x.ndim)
    m = np.amax(x, axis=dims, keepdims=True) if x.size else np.zeros([1] * x.ndim, x.dtype)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        s = np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True)) + m
    result = s if keepdim else np.squeeze(s, axis=dims)
    out = Tensor._wrap(np.asarray(result, dtype=x.dtype))
    if needs_grad(input):
        node = LogsumexpBackward0()
        node.dims, node.keepdim = dims, keepdim
        node.saved = (x, out._data)
        node.versions = ((input._version, input._version[0]),)
        record(node, out, input)
    return out
