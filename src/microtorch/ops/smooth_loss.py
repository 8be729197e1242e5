"""Smooth L1 and Huber losses: quadratic near zero, linear beyond a threshold.

smooth_l1(d) = 0.5 d^2 / beta for |d| < beta, else |d| - 0.5 beta;
huber(d) = 0.5 d^2 for |d| < delta, else delta (|d| - 0.5 delta) (= delta * smooth_l1).
Input and target broadcast; the target gets the negated gradient.
"""
from __future__ import annotations

import numpy as np

from .._kernels import REDUCTION_MEAN, REDUCTION_NONE, REDUCTION_SUM
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ._operands import promote_arrays


def _reduce(loss: np.ndarray, reduction: int) -> np.ndarray:
    if reduction == REDUCTION_NONE:
        return loss
    if reduction == REDUCTION_SUM:
        return np.asarray(loss.sum(dtype=loss.dtype))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(loss.mean(dtype=loss.dtype) if loss.size else
                          loss.dtype.type(np.nan))


class _Piecewise(ArrayFunction):
    """Loss with value `quad(d)` for |d| < threshold and `lin(d)` beyond."""

    @staticmethod
    def forward(ctx, x, t, reduction, threshold):
        x, t = promote_arrays(x, t)
        if x.dtype.kind != "f":
            raise RuntimeError(f"\"{ctx._forward_cls.kernel}\" not implemented for "
                               f"'{x.dtype.name}'")
        d = np.subtract(x, t)
        ctx.reduction, ctx.threshold = reduction, threshold
        ctx.save_for_backward(d)
        return _reduce(ctx._forward_cls.pointwise(d, threshold), reduction)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        slope = ctx._forward_cls.slope(d, ctx.threshold)
        if ctx.reduction == REDUCTION_MEAN:
            g = g / d.size
        gd = slope * g
        return gd, (-gd if ctx.needs_input_grad[1] else None)


class SmoothL1Loss(_Piecewise):
    node_name = "SmoothL1LossBackward0"
    kernel = "smooth_l1_cpu"

    @staticmethod
    def pointwise(d, beta):
        ad = np.abs(d)
        return np.where(ad < beta, 0.5 * d * d / beta if beta else 0 * d, ad - 0.5 * beta)

    @staticmethod
    def slope(d, beta):
        return np.where(np.abs(d) < beta, d / beta if beta else 0 * d, np.sign(d))


class HuberLoss(_Piecewise):
    node_name = "HuberLossBackward0"
    kernel = "huber_cpu"

    @staticmethod
    def pointwise(d, delta):
        ad = np.abs(d)
        return np.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))

    @staticmethod
    def slope(d, delta):
        return np.clip(d, -delta, delta)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: int, beta: float) -> Tensor:
    return SmoothL1Loss.apply(input, target, reduction=reduction, threshold=float(beta))


def huber_loss(input: Tensor, target: Tensor, reduction: int, delta: float) -> Tensor:
    return HuberLoss.apply(input, target, reduction=reduction, threshold=float(delta))
