"""Smooth L1 and Huber losses: quadratic near zero, linear beyond a threshold.

smooth_l1(d) = 0.5 d^2 / beta for |d| < beta, else |d| - 0.5 beta;
huber(d) = 0.5 d^2 for |d| < delta, else delta (|d| - 0.5 delta) (= delta * smooth_l1).
Input and target broadcast (so a 0-d operand promotes like a dimensioned one); the
target gets the negated gradient. Smooth L1's result has the promoted dtype, Huber's the
input's (PyTorch writes it into a tensor like the input).
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._kernels import REDUCTION_MEAN, REDUCTION_NONE, REDUCTION_SUM
from .._tensor import Tensor
from ..autograd.function import ArrayFunction

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


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
        cls = ctx._forward_cls
        dt = x.dtype if x.dtype == t.dtype else _dtype.promote(np.empty(1, x.dtype),
                                                                np.empty(1, t.dtype))
        out_dt = cls.result_dtype(x.dtype, dt)
        if dt.kind != "f":
            raise NotImplementedError(f"\"{cls.kernel}\" not implemented for "
                                      f"'{_dtype.scalar_name(dt)}'")
        d = np.subtract(x, t, dtype=dt)
        ctx.reduction, ctx.threshold, ctx.dtype = reduction, threshold, dt
        ctx.save_for_backward(x, t)        # as PyTorch saves them (guarded), not d
        return _reduce(cls.pointwise(d, threshold).astype(out_dt, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        d = np.subtract(x, t, dtype=ctx.dtype)
        slope = ctx._forward_cls.slope(d, ctx.threshold)
        if ctx.reduction == REDUCTION_MEAN:
            g = g / d.size
        gd = slope * g
        return gd, (-gd if ctx.needs_input_grad[1] else None)


class SmoothL1Loss(_Piecewise):
    node_name = "SmoothL1LossBackward0"
    kernel = "smooth_l1_cpu"

    @staticmethod
    def result_dtype(input_dtype, promoted):
        return promoted

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
    def result_dtype(input_dtype, promoted):
        """The input's dtype, which must be able to hold the promoted one."""
        if _CATEGORY[promoted.kind] > _CATEGORY[input_dtype.kind]:
            raise RuntimeError(f"result type {_dtype.scalar_name(promoted)} can't be cast to "
                               f"the desired output type {_dtype.scalar_name(input_dtype)}")
        return input_dtype

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
