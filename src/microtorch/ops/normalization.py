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

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction


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


def _norm_backward(ctx, g):
    """Grads of (input, weight, bias) from the saved xhat, invstd and weight."""
    xhat, invstd, w = ctx.saved_tensors
    needs = ctx.needs_input_grad
    gx = gw = gb = None
    if needs[0]:
        gxhat = g if w is None else g * w.reshape(ctx.param_view)
        if ctx.use_batch_stats:
            axes = ctx.axes
            gx = xhat * _mean(gxhat * xhat, axes)
            gx += _mean(gxhat, axes)
            np.subtract(gxhat, gx, out=gx)
            gx *= invstd
        else:
            gx = gxhat * invstd
    if needs[1]:
        gw = np.sum(g * xhat, axis=ctx.param_axes).reshape(ctx.param_shape)
    if needs[2]:
        gb = np.sum(g, axis=ctx.param_axes).reshape(ctx.param_shape)
    return gx, gw, gb


def _check_dtypes(name: str, x: np.ndarray, *tensors) -> None:
    """Floating input, and statistics/affine parameters of a floating dtype, as PyTorch."""
    if x.dtype.kind != "f":
        if name == "batch_norm":
            raise NotImplementedError(
                f'"{name}" not implemented for \'{_dtype.scalar_name(x.dtype)}\'')
        raise RuntimeError(f"mixed dtype (CPU): all inputs must share same datatype "
                           f"({name} got an input of dtype {x.dtype})")
    for t in tensors:
        if t is not None and t._data.dtype.kind != "f":
            raise RuntimeError(
                f"mixed dtype (CPU): expect parameter to have scalar type of Float "
                f"({name} got a {t._data.dtype} parameter or statistic)"
            )


class BatchNorm(ArrayFunction):
    """Batch norm over every axis but the channel axis 1; updates the running buffers."""

    node_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, training=False,
                momentum=0.1, eps=1e-5):
        c = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        bshape = (1, c) + (1,) * (x.ndim - 2)
        w = None if weight is None else weight.reshape(bshape)
        b = None if bias is None else bias.reshape(bshape)
        if training:
            xhat, mean, var, invstd = _normalize(x, axes, eps)
            if running_mean is not None or running_var is not None:
                n = x.size // c
                _update_running(running_mean, mean, momentum)
                _update_running(running_var, var * (n / (n - 1)), momentum)
        else:
            rm = running_mean.reshape(bshape)
            rv = running_var.reshape(bshape)
            invstd = 1 / np.sqrt(rv + rv.dtype.type(eps))
            xhat = (x - rm) * invstd
        ctx.axes, ctx.param_axes, ctx.use_batch_stats = axes, axes, training
        ctx.param_shape, ctx.param_view = (c,), bshape
        ctx.save_for_backward(xhat, invstd, weight)
        return _affine(xhat, w, b)

    backward = staticmethod(_norm_backward)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None, bias: Tensor | None, training: bool, momentum: float,
               eps: float) -> Tensor:
    """Normalize over every axis but the channel axis 1.

    training: use the batch's statistics and, when running buffers are given, update them
    in place (running_var with the unbiased batch variance). Otherwise use the running
    statistics.
    """
    _check_dtypes("batch_norm", input._data, running_mean, running_var, weight, bias)
    out = BatchNorm.apply(input, weight, bias,
                          running_mean=None if running_mean is None else running_mean._data,
                          running_var=None if running_var is None else running_var._data,
                          training=training, momentum=momentum, eps=eps)
    if training:
        for buf in (running_mean, running_var):
            if buf is not None:
                buf._version[0] += 1
    return out


def _update_running(buf: np.ndarray | None, stat: np.ndarray, momentum: float) -> None:
    """buf = (1 - momentum) buf + momentum stat, in the buffer's own storage (the caller
    bumps the buffer tensor's version)."""
    if buf is None:
        return
    buf *= 1.0 - momentum
    buf += momentum * stat.reshape(buf.shape)


class LayerNorm(ArrayFunction):
    """Layer norm over the trailing axes of `normalized_shape`."""

    node_name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_shape=(), eps=1e-5):
        k = len(normalized_shape)
        axes = tuple(range(x.ndim - k, x.ndim))
        xhat, _, _, invstd = _normalize(x, axes, eps)
        ctx.axes, ctx.param_axes, ctx.use_batch_stats = axes, tuple(range(x.ndim - k)), True
        ctx.param_shape = ctx.param_view = tuple(normalized_shape)
        ctx.save_for_backward(xhat, invstd, weight)
        return _affine(xhat, weight, bias)

    backward = staticmethod(_norm_backward)


def layer_norm(input: Tensor, normalized_shape: tuple, weight: Tensor | None,
               bias: Tensor | None, eps: float) -> Tensor:
    """Normalize over the trailing `len(normalized_shape)` axes of each sample."""
    _check_dtypes("layer_norm", input._data, None, None, weight, bias)
    return LayerNorm.apply(input, weight, bias, normalized_shape=tuple(normalized_shape), eps=eps)
