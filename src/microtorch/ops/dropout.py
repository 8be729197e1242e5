"""Dropout: zero each element with probability p and scale the survivors by 1 / (1 - p).

The scaling ("inverted dropout") keeps every element's expected value unchanged, so
evaluation needs no correction. The mask comes from microtorch's default generator.
"""
from __future__ import annotations

import numpy as np

from .. import random as _random
from .._tensor import Tensor
from ..autograd.graph import needs_grad, record
from ..autograd.node import Node


class MulBackward0(Node):
    """Dropout is a product with a saved scaled mask (PyTorch records it as MulBackward0)."""

    __slots__ = ()

    def backward(self, g):
        (scaled_mask,) = self.saved
        return (g * scaled_mask,)


def dropout(input: Tensor, p: float = 0.5, generator=None) -> Tensor:
    """Training-mode dropout (callers handle eval mode and p == 0 by returning the input)."""
    x = input._data
    dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    if p >= 1:
        scaled_mask = np.zeros(x.shape, dtype=dt)
    else:
        keep = _random.rng(generator).random(x.shape, dtype=np.float32) >= p
        scaled_mask = keep.astype(dt)
        scaled_mask *= dt.type(1.0 / (1.0 - p))
    out = Tensor._wrap(np.multiply(x, scaled_mask, dtype=dt))
    if needs_grad(input):
        node = MulBackward0()
        node.saved = (scaled_mask,)
        record(node, out, input)
    return out
