"""KL divergence, built as PyTorch builds it from pointwise ops (so its graph has the same
nodes): target * (log target - input) as xlogy(target, target) - target * input, or
exp(target) * (target - input) for a log-space target."""
from __future__ import annotations

import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from . import arithmetic as _ar
from ._operands import promote_arrays


class Xlogy(ArrayFunction):
    """x * log(y), defined as 0 where x == 0 (unless y is NaN)."""

    node_name = "XlogyBackward0"

    @staticmethod
    def forward(ctx, x, y):
        x, y = promote_arrays(x, y)
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((x == 0) & ~np.isnan(y), 0, x * np.log(y)).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            # PyTorch's d/dx: xlogy(g, y) (0 where g == 0 unless y is NaN), then 0 where
            # x == 0 and y <= 0
            gx = np.where(((g == 0) & ~np.isnan(y)) | ((x == 0) & (y <= 0)), 0,
                          g * np.log(y)).astype(g.dtype, copy=False) \
                if ctx.needs_input_grad[0] else None
            gy = g * x / y if ctx.needs_input_grad[1] else None
        return gx, gy


def kl_div(input: Tensor, target: Tensor, reduction: str, log_target: bool) -> Tensor:
    """KL(target || exp(input)) per element, then reduced ('batchmean': sum / batch size)."""
    from .reduction import mean, sum
    from .unary import exp

    if input._data.dtype.kind != "f" or target._data.dtype.kind != "f":
        raise RuntimeError("kl_div: Integral inputs not supported.")

    if log_target:
        loss = _ar.mul(exp(target), _ar.sub(target, input))
    else:
        loss = _ar.sub(Xlogy.apply(target, target), _ar.mul(target, input))
    if reduction == "none":
        return loss
    if reduction == "sum":
        return sum(loss)
    if reduction == "batchmean":
        total = sum(loss)
        return _ar.div(total, input.shape[0]) if input.dim() != 0 else total
    warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                  "support size.'batchmean' divides only by the batch size, and aligns with "
                  "the KL div math definition.'mean' will be changed to behave the same as "
                  "'batchmean' in the next major release.", stacklevel=3)
    return mean(loss)
