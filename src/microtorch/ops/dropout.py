"""Dropout: zero each element with probability p and scale the survivors by 1 / (1 - p).

The scaling ("inverted dropout") keeps every element's expected value unchanged, so
evaluation needs no correction. The mask comes from microtorch's default generator.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .. import random as _random
from .._tensor import Tensor
from ..autograd.function import ArrayFunction


class Dropout(ArrayFunction):
    """A product with a saved scaled mask. PyTorch records it as MulBackward0 of the input
    and the mask: the second positional slot stands for the mask (made in forward, so it
    is None here and its edge is `(None, 0)`, as PyTorch's)."""

    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, mask_slot=None, p=0.5, generator=None):
        dt = x.dtype
        if p >= 1:
            scaled_mask = np.zeros(x.shape, dtype=dt)
        else:
            keep = _random.rng(generator).random(x.shape, dtype=np.float32) >= p
            scaled_mask = keep.astype(dt)
            scaled_mask *= dt.type(1.0 / (1.0 - p))
        ctx.save_for_backward(scaled_mask)
        return np.multiply(x, scaled_mask, dtype=dt)

    @staticmethod
    def backward(ctx, g):
        (scaled_mask,) = ctx.saved_tensors
        return g * scaled_mask, None


def dropout(input: Tensor, p: float = 0.5, generator=None) -> Tensor:
    """Training-mode dropout (callers handle eval mode and p == 0 by returning the input).

    As PyTorch: an empty input comes back itself; an integer or bool input keeps its dtype
    when p == 1 (all zeros) and cannot hold the scaled survivors otherwise.
    """
    x = input._data
    if x.size == 0:
        return input
    if x.dtype.kind != "f":
        if p >= 1:
            return Tensor._wrap(np.zeros_like(x))
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{_dtype.scalar_name(x.dtype)}")
    return Dropout.apply(input, None, p=p, generator=generator)
