"""Counting ops: histc, histogram and bincount (not differentiable, as in PyTorch)."""
from __future__ import annotations

import numpy as np

from .. import _dtype, return_types
from .._tensor import Tensor
from ._operands import require_tensor


def _float_only(input: Tensor, kernel: str) -> np.ndarray:
    x = input._data
    if x.dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_dtype.scalar_name(x.dtype)}\'')
    return x


def _check_bins(bins: int) -> None:
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                           "dimension 0")


def _range(x: np.ndarray, lo: float, hi: float, name: str) -> tuple[float, float]:
    """The histogram range: the data's min and max when lo == hi, widened by 1 on each side
    when those are equal too (an empty input gives [0, 1])."""
    if lo == hi and x.size:
        lo, hi = float(np.min(x)), float(np.max(x))
    if lo == hi:
        lo, hi = lo - (1 if x.size else 0), hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.{name}: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError(f"torch.{name}: max must be larger than min")
    return lo, hi


def _counts(x: np.ndarray, edges: np.ndarray, weight) -> np.ndarray:
    """Counts (or summed weights) per bin; the last bin includes its right edge and values
    outside the edges (or NaN) are ignored."""
    flat = x.reshape(-1)
    w = None if weight is None else weight.reshape(-1)
    inside = (flat >= edges[0]) & (flat <= edges[-1])
    flat = flat[inside]
    w = None if w is None else w[inside]
    idx = np.searchsorted(edges, flat, side="right") - 1
    idx = np.minimum(idx, len(edges) - 2)
    return np.bincount(idx, weights=w, minlength=len(edges) - 1)[:len(edges) - 1]


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts of `input`'s elements in `bins` equal-width bins over [min, max] (the data's
    range when min == max), in input's dtype."""
    require_tensor(input, "histc")
    x = _float_only(input, "histogram_cpu")
    _check_bins(bins)
    lo, hi = _range(x, float(min), float(max), "histc")
    edges = np.linspace(lo, hi, bins + 1, dtype=np.float64)
    return Tensor._wrap(_counts(x.astype(np.float64), edges, None).astype(x.dtype))


def histogram(input: Tensor, bins=100, *, range=None, weight: Tensor | None = None,
              density: bool = False):
    """(hist, bin_edges): counts in `bins` equal bins over `range` (default the data's),
    or in the bins between the edges of a 1-D tensor `bins`; optionally weighted, or
    normalised to a density."""
    require_tensor(input, "histogram")
    x = _float_only(input, "histogramdd")
    if isinstance(bins, Tensor):
        edges = bins._data.astype(np.float64)
        if edges.ndim != 1 or edges.size < 2:
            raise RuntimeError("torch.histogram(): bins tensor should have one dimension and "
                               "at least 2 elements")
    else:
        _check_bins(int(bins))
        lo, hi = (0.0, 0.0) if range is None else (float(range[0]), float(range[1]))
        lo, hi = _range(x, lo, hi, "histogram")
        edges = np.linspace(lo, hi, int(bins) + 1, dtype=np.float64)
    w = None
    if weight is not None:
        if weight.shape != input.shape:
            raise RuntimeError("torch.histogram(): if weight tensor is provided it should have "
                               "the same shape as the input tensor excluding its innermost "
                               "dimension")
        w = weight._data.astype(np.float64)
    hist = _counts(x.astype(np.float64), edges, w)
    if density:
        total = hist.sum()
        hist = hist / (total * np.diff(edges)) if total else hist * np.nan
    return return_types.histogram(Tensor._wrap(hist.astype(x.dtype)),
                                  Tensor._wrap(edges.astype(x.dtype)))


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, 2, ... occurs in a 1-D non-negative integer tensor
    (summed `weights` instead of counts when given); at least `minlength` bins."""
    require_tensor(input, "bincount")
    x = input._data
    if x.dtype.kind == "f":
        raise NotImplementedError(f'"bincount_cpu" not implemented for '
                                  f"'{_dtype.scalar_name(x.dtype)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if x.ndim != 1 or (x.size and x.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return Tensor._wrap(np.bincount(x, minlength=minlength).astype(np.int64))
    w = weights._data
    if w.ndim != 1 or w.shape[0] != x.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    out_dtype = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
    counts = np.bincount(x, weights=w.astype(np.float64), minlength=minlength)
    return Tensor._wrap(counts.astype(out_dtype))
