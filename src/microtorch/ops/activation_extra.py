"""More activations: softplus, GELU (exact and tanh), SiLU, ELU, Mish and hardtanh.

Each is an `ArrayFunction` named like PyTorch's node, computed with numpy in the input's
float dtype (integer inputs are refused as PyTorch does, except by hardtanh). The variants
with `inplace=True` write into the input's array and mark it dirty; their backward uses a
copy of the old values, or the output when the gradient is a function of it (ELU).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from .inplace import check_inplace
from .pointwise import erf_array

SQRT1_2 = math.sqrt(0.5)
GELU_PDF = 0.5 * SQRT1_2 * 2 / math.sqrt(math.pi)       # 1 / sqrt(2 pi)
TANH_BETA = math.sqrt(2 / math.pi)
TANH_KAPPA = 0.044715


def _float_input(input: Tensor, kernel: str) -> None:
    """PyTorch's NotImplementedError for these float-only kernels on integer tensors."""
    dt = input._data.dtype
    if dt.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_dtype.scalar_name(dt)}\'')


def _into(ctx, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    x[...] = out
    ctx.mark_dirty(x)
    return x


def _saved_input(ctx, x: np.ndarray, inplace: bool) -> np.ndarray:
    """x as backward needs it: copied first when forward is about to overwrite it."""
    return x.copy() if inplace and ctx.needs_input_grad[0] else x


def sigmoid_array(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow at either end."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


class Softplus(ArrayFunction):
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold."""

    node_name = "SoftplusBackward0"

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        bx = x * beta
        with np.errstate(over="ignore"):
            return np.where(bx > threshold, x, np.log1p(np.exp(bx)) / beta)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        with np.errstate(over="ignore", invalid="ignore"):
            z = np.exp(bx)
            return (np.where(bx > ctx.threshold, g, g * z / (z + 1)),)


class Gelu(ArrayFunction):
    """x * Phi(x) with Phi the standard normal CDF, or its tanh approximation."""

    node_name = "GeluBackward0"

    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.approximate = approximate
        ctx.save_for_backward(x)
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(TANH_BETA * (x + TANH_KAPPA * x * x * x)))
        with np.errstate(invalid="ignore"):
            out = x * 0.5 * (1 + erf_array(x * SQRT1_2))
        if x.dtype == np.float32 and x.size > 1 and x.flags.c_contiguous:
            np.putmask(out, x == np.inf, np.nan)      # PyTorch's vectorized kernel: NaN
        return out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = np.tanh(TANH_BETA * (x + TANH_KAPPA * x * x * x))
            slope = TANH_BETA * (1 + 3 * TANH_KAPPA * x * x)
            return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * slope),)
        cdf = 0.5 * (1 + erf_array(x * SQRT1_2))
        return (g * (cdf + x * GELU_PDF * np.exp(-0.5 * x * x)),)


class Silu(ArrayFunction):
    """x * sigmoid(x) (also called swish)."""

    node_name = "SiluBackward0"

    @staticmethod
    def forward(ctx, x, inplace=False):
        ctx.save_for_backward(_saved_input(ctx, x, inplace))
        out = x * sigmoid_array(x)
        return _into(ctx, x, out) if inplace else out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = sigmoid_array(x)
        return (g * s * (1 + x * (1 - s)),)


class Mish(ArrayFunction):
    """x * tanh(softplus(x))."""

    node_name = "MishBackward0"

    @staticmethod
    def forward(ctx, x, inplace=False):
        ctx.save_for_backward(_saved_input(ctx, x, inplace))
        with np.errstate(over="ignore"):
            out = x * np.tanh(np.log1p(np.exp(x)))
        return _into(ctx, x, out) if inplace else out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        with np.errstate(over="ignore"):
            t = np.tanh(np.log1p(np.exp(x)))
        return (g * (t + x * sigmoid_array(x) * (1 - t * t)),)


class Elu(ArrayFunction):
    """x where x > 0, alpha * (exp(x) - 1) elsewhere."""

    node_name = "EluBackward0"

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        ctx.alpha = alpha
        ctx.save_for_backward(x)
        return np.where(x > 0, x, alpha * np.expm1(np.where(x > 0, 0, x)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (np.where(x <= 0, g * ctx.alpha * np.exp(np.minimum(x, 0)), g),)


class EluInplace(ArrayFunction):
    """In-place ELU; backward from the output: alpha * exp(x) = out + alpha where x <= 0."""

    node_name = "EluBackward1"

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        ctx.alpha = alpha
        out = _into(ctx, x, np.where(x > 0, x, alpha * np.expm1(np.where(x > 0, 0, x))))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        if ctx.alpha < 0:
            raise RuntimeError(
                "In-place elu backward calculation is triggered with a negative slope which is "
                "not supported. This is caused by calling in-place forward function with a "
                "negative slope, please call out-of-place version instead.")
        (out,) = ctx.saved_tensors
        return (np.where(out <= 0, g * (out + ctx.alpha), g),)


class Hardtanh(ArrayFunction):
    """x clipped to [min_val, max_val]; the gradient passes strictly inside (and at NaN)."""

    node_name = "HardtanhBackward0"

    @staticmethod
    def forward(ctx, x, min_val=-1.0, max_val=1.0, inplace=False):
        ctx.min_val, ctx.max_val = min_val, max_val
        lo, hi = (np.asarray(v, dtype=x.dtype) for v in (min_val, max_val))
        out = np.where(x < lo, lo, np.where(x > hi, hi, x))
        if inplace:
            out = _into(ctx, x, out)
        ctx.save_for_backward(out)        # the bounds test gives the same answer on the output
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        outside = (y <= ctx.min_val) | (y >= ctx.max_val)
        return (np.where(outside, np.zeros((), g.dtype), g),)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta: a smooth relu (linear where beta * x > threshold)."""
    _float_input(input, "softplus_cpu")
    return Softplus.apply(input, beta=beta, threshold=threshold)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (the Gaussian CDF); approximate='tanh' uses the tanh formula of GPT-2."""
    if not isinstance(approximate, str):
        raise TypeError(f"gelu(): argument 'approximate' must be str, not "
                        f"{type(approximate).__name__}")
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _float_input(input, "GeluKernelImpl")
    return Gelu.apply(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x)."""
    _float_input(input, "silu_cpu")
    if inplace:
        check_inplace(input)
    return Silu.apply(input, inplace=inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    _float_input(input, "mish_cpu")
    if inplace:
        check_inplace(input)
    return Mish.apply(input, inplace=inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, alpha * (exp(x) - 1) elsewhere."""
    _float_input(input, "elu_cpu")
    if inplace:
        check_inplace(input)
        return EluInplace.apply(input, alpha=alpha)
    return Elu.apply(input, alpha=alpha)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val] (integer tensors too)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if input._data.dtype == np.bool_:
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if inplace:
        check_inplace(input)
    return Hardtanh.apply(input, min_val=min_val, max_val=max_val, inplace=inplace)
