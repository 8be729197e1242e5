"""Batch and layer normalization, each forward and backward as ONE graph node.

Both compute xhat = (x - mean) / sqrt(var + eps) and y = xhat * weight + bias; they
differ in which axes the statistics run over: every axis but the channel axis (1) for
batch norm, the trailing `normalized_shape` axes for layer norm. The variance used to
normalize is the biased one (mean of squared deviations).

With S the set of axes a statistic runs over and n its size, the gradient through
the normalization is

    dx = invstd * (dxhat - mean_S(dxhat) - xhat * mean_S(dxhat * xhat)),  dxhat = dy * weight

and, when batch norm uses its running statistics (eval), simply dx = dy * weight * invstd.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.graph import needs_grad, record
from ..autograd.node import Node


def _mean(a: np.ndarray, axes: tuple) -> np.ndarray:
    """Mean over `axes`, keepdims, in a's dtype (ufunc reduce: no Python-level overhead)."""
    n = 1
    for ax in axes:
        n *= a.shape[ax]
    return np.add.reduce(a, axis=axes, keepdims=True) * (1.0 / n if n else np.nan)


def _normalize(x: np.ndarray, axes: tuple, eps: float):
    """(xhat, mean, biased var, invstd) with statistics over `axes` (keepdims).

    Two passes (the variance of the centered values) keep float32 accurate without the
    cost of float64 accumulation.
    """
    mean = _mean(x, axes)
    xhat = x - mean
    var = _mean(np.square(xhat), axes)
    invstd = 1 / np.sqrt(var + eps)
    xhat *= invstd
    return xhat, mean, var, invstd


def _affine(xhat: np.ndarray, w: np.ndarray | None, b: np.ndarray | None) -> np.ndarray:
    """xhat * w + b, always a new array (xhat itself is kept for backward)."""
    y = xhat * w if w is not None else xhat.copy()
    if b is not None:
        y += b
    return y


class _NormBackward(Node):
    """Shared backward: grads of (input, weight, bias) from xhat, invstd and weight."""

    __slots__ = ("axes", "param_shape", "use_batch_stats")

    def backward(self, g):
        xhat, invstd, w = self.saved_tensors
        edges = self.next_functions
        axes = self.axes
        param_axes = self.param_axes(g.ndim)
        gx = gw = gb = None
        if edges[0][0] is not None:
            gxhat = g if w is None else g * w
            if self.use_batch_stats:
                gx = xhat * _mean(gxhat * xhat, axes)
                gx += _mean(gxhat, axes)
                np.subtract(gxhat, gx, out=gx)
                gx *= invstd
            else:
                gx = gxhat * invstd
        if edges[1][0] is not None:
            gw = np.sum(g * xhat, axis=param_axes).reshape(self.param_shape)
        if edges[2][0] is not None:
            gb = np.sum(g, axis=param_axes).reshape(self.param_shape)
        return gx, gw, gb

    def param_axes(self, ndim: int) -> tuple:
        raise NotImplementedError


class NativeBatchNormBackward0(_NormBackward):
    __slots__ = ()

    def param_axes(self, ndim: int) -> tuple:
        return (0,) + tuple(range(2, ndim))


class NativeLayerNormBackward0(_NormBackward):
    __slots__ = ()

    def param_axes(self, ndim: int) -> tuple:
        return tuple(range(ndim - len(self.param_shape)))


def _record(node: _NormBackward, out: Tensor, input: Tensor, weight, bias, xhat, invstd,
            w) -> None:
    node.saved = (xhat, invstd, w)
    node.versions = ((weight._version, weight._version[0]),) if weight is not None else ()
    record(node, out, input, weight, bias)


def _check_dtypes(name: str, x: np.ndarray, *tensors) -> None:
    """Floating input, and statistics/affine parameters of a floating dtype, as PyTorch."""
    kind = {"int64": "Long", "int32": "Int", "bool": "Bool", "uint8": "Byte"}
    if x.dtype.kind != "f":
        if name == "batch_norm":
            raise NotImplementedError(
                f'"{name}" not implemented for \'{kind.get(x.dtype.name, x.dtype.name)}\'')
        raise RuntimeError(f"mixed dtype (CPU): all inputs must share same datatype "
                           f"({name} got an input of dtype {x.dtype})")
    for t in tensors:
        if t is not None and t._data.dtype.kind != "f":
            raise RuntimeError(
                f"mixed dtype (CPU): expect parameter to have scalar type of Float "
                f"({name} got a {t._data.dtype} parameter or statistic)"
            )


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None, bias: Tensor | None, training: bool, momentum: float,
               eps: float) -> Tensor:
    """Normalize over every axis but the channel axis 1.

    training: use the batch's statistics and, when running buffers are given, update them
    in place (running_var with the unbiased batch variance). Otherwise use the running
    statistics.
    """
    x = input._data
    _check_dtypes("batch_norm", x, running_mean, running_var, weight, bias)
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, c) + (1,) * (x.ndim - 2)
    w = None if weight is None else weight._data.reshape(bshape)
    b = None if bias is None else bias._data.reshape(bshape)
    if training:
        xhat, mean, var, invstd = _normalize(x, axes, eps)
        if running_mean is not None or running_var is not None:
            n = x.size // c
            _update_running(running_mean, mean, momentum)
            _update_running(running_var, var * (n / (n - 1)), momentum)
    else:
        rm = running_mean._data.reshape(bshape)
        rv = running_var._data.reshape(bshape)
        invstd = 1 / np.sqrt(rv + rv.dtype.type(eps))
        xhat = (x - rm) * invstd
    out = Tensor._wrap(_affine(xhat, w, b))
    if needs_grad(input, weight, bias):
        node = NativeBatchNormBackward0()
        node.axes, node.param_shape, node.use_batch_stats = axes, (c,), training
        _record(node, out, input, weight, bias, xhat, invstd, w)
    return out


def _update_running(buf: Tensor | None, stat: np.ndarray, momentum: float) -> None:
    """buf = (1 - momentum) buf + momentum stat, in the buffer's own storage."""
    if buf is None:
        return
    data = buf._data
    data *= 1.0 - momentum
    data += momentum * stat.reshape(data.shape)
    buf._version[0] += 1


def layer_norm(input: Tensor, normalized_shape: tuple, weight: Tensor | None,
               bias: Tensor | None, eps: float) -> Tensor:
    """Normalize over the trailing `len(normalized_shape)` axes of each sample."""
    x = input._data
    _check_dtypes("layer_norm", x, None, None, weight, bias)
    k = len(normalized_shape)
    axes = tuple(range(x.ndim - k, x.ndim))
    xhat, _, _, invstd = _normalize(x, axes, eps)
    w = None if weight is None else weight._data
    b = None if bias is None else bias._data
    out = Tensor._wrap(_affine(xhat, w, b))
    if needs_grad(input, weight, bias):
        node = NativeLayerNormBackward0()
        node.axes, node.param_shape, node.use_batch_stats = axes, tuple(normalized_shape), True
        _record(node, out, input, weight, bias, xhat, invstd, w)
    return out
