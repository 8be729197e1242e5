"""Constant padding (F.pad's default mode) as one graph node, PyTorch's ConstantPadNdBackward0.

`pad` lists (before, after) amounts from the last axis backwards, as in PyTorch:
(left, right, top, bottom, ...). Negative amounts crop. Backward cuts the input's region
out of the output gradient.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import ArrayFunction


def _regions(shape: tuple, pad: tuple) -> tuple:
    """(output shape, input slices, output slices) of the part the input keeps."""
    out_shape, src, dst = list(shape), [slice(None)] * len(shape), [slice(None)] * len(shape)
    for k in range(len(pad) // 2):
        axis = len(shape) - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        size = shape[axis]
        new = size + before + after
        if new < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        out_shape[axis] = new
        start, stop = max(-before, 0), size - max(-after, 0)
        src[axis] = slice(start, max(stop, start))
        dst[axis] = slice(max(before, 0), max(before, 0) + max(stop - start, 0))
    return tuple(out_shape), tuple(src), tuple(dst)


class ConstantPadNd(ArrayFunction):
    node_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pad=(), value=0.0):
        shape, src, dst = _regions(x.shape, pad)
        out = np.full(shape, value, dtype=x.dtype)
        out[dst] = x[src]
        ctx.regions = (x.shape, src, dst)
        return out

    @staticmethod
    def backward(ctx, g):
        shape, src, dst = ctx.regions
        gx = np.zeros(shape, dtype=g.dtype)
        gx[src] = g[dst]
        return (gx,)


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """F.pad: only mode='constant' (zeros unless `value` is given)."""
    pad = tuple(int(p) for p in pad)
    ndim = input._data.ndim
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{ndim}")
    if mode != "constant":
        if mode in ("reflect", "replicate", "circular"):
            raise NotImplementedError(f"F.pad: mode='{mode}' is not supported by microtorch; "
                                      "only mode='constant' is")
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    return ConstantPadNd.apply(input, pad=pad, value=0.0 if value is None else value)
