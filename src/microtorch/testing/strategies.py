"""Hypothesis strategies that generate microtorch tensors (this module needs hypothesis).

    from hypothesis import given, strategies as st
    from microtorch.testing import gradcheck
    from microtorch.testing.strategies import away_from, non_contiguous, tensors

    @given(non_contiguous(tensors(elements=st.floats(-3, 3).filter(away_from([0.0])),
                                  requires_grad=True)))
    def test_abs_gradient(x):
        assert gradcheck(microtorch.abs, x)

Shapes include 0-d tensors and dims of size 0 and 1 unless told otherwise.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .. import _dtype
from .._factories import from_numpy
from .._tensor import Tensor

__all__ = ["away_from", "broadcastable_shapes", "non_contiguous", "shapes", "tensors"]


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 0,
           max_side: int = 4) -> st.SearchStrategy[tuple]:
    """Shape tuples with `min_dims`..`max_dims` dims of `min_side`..`max_side` elements.

    The defaults include 0-d shapes `()` and dims of size 0 and 1.
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(n: int = 2, min_dims: int = 0, max_dims: int = 3, min_side: int = 0,
                         max_side: int = 4) -> st.SearchStrategy[tuple]:
    """Tuples of `n` shapes that broadcast against each other (e.g. `((3, 1), (4, 1, 2))`).

    Dims of size 1 and missing leading dims are frequent, so broadcasting is exercised.
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side,
    ).map(lambda result: result.input_shapes)


def _numpy_dtype(dtype) -> np.dtype:
    return _dtype.to_numpy_dtype(dtype)


def _default_elements(dt: np.dtype) -> st.SearchStrategy:
    if dt.kind == "f":
        return st.floats(-10, 10, width=8 * dt.itemsize, allow_subnormal=False)
    if dt.kind == "b":
        return st.booleans()
    if dt.kind == "u":
        return st.integers(0, 10)
    return st.integers(-10, 10)


def tensors(dtype=_dtype.float64, shape=None, elements: st.SearchStrategy | None = None,
            requires_grad: bool = False, *, unique: bool = False) -> st.SearchStrategy[Tensor]:
    """Leaf tensors of `dtype` with values drawn from `elements`.

    Args:
        dtype: a microtorch dtype (or a numpy dtype).
        shape: None (any shape from `shapes()`), a tuple, or a strategy of tuples.
        elements: a strategy of Python numbers; by default finite values in [-10, 10]
            (floats), [-10, 10] (integers) or booleans.
        requires_grad: set `requires_grad=True` on the generated tensors (floating only).
        unique: all elements distinct (e.g. for max/argmax, whose gradient is not defined
            at ties).
    """
    dt = _numpy_dtype(dtype)
    if requires_grad and dt.kind != "f":
        raise ValueError(f"tensors(): only floating dtypes can require grad, not {dt}")
    if shape is None:
        shape = shapes()
    elif isinstance(shape, (tuple, list)):
        shape = st.just(tuple(shape))
    elements = _default_elements(dt) if elements is None else elements
    arrays = hnp.arrays(dt, shape, elements=elements, unique=unique)
    return arrays.map(lambda arr: _leaf(arr, requires_grad))


def _leaf(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = from_numpy(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def non_contiguous(tensors_strategy: st.SearchStrategy[Tensor]) -> st.SearchStrategy[Tensor]:
    """The same tensors (values, dtype, requires_grad) in non-contiguous storage.

    Each tensor becomes a transposed view (Fortran order), a strided view (every other
    element of a larger buffer), or both. The skipped buffer elements hold NaN (or a
    sentinel integer), so an op that ignores strides produces visibly wrong values.
    Tensors with fewer than two elements cannot be non-contiguous and are only copied.
    """
    layouts = st.sampled_from(["transposed", "strided", "transposed+strided"])
    return st.tuples(tensors_strategy, layouts).map(lambda pair: _relayout(*pair))


def _relayout(t: Tensor, layout: str) -> Tensor:
    values = t._data
    dt = values.dtype
    fill = np.nan if dt.kind == "f" else (True if dt.kind == "b" else 77)
    transposed = "transposed" in layout and values.ndim >= 2
    strided = "strided" in layout or not transposed
    shape = values.shape[::-1] if transposed else values.shape
    if strided:
        buffer = np.full(tuple(2 * n for n in shape), fill, dtype=dt)
        view = buffer[tuple(slice(None, None, 2) for _ in shape) + (Ellipsis,)]
    else:
        view = np.full(shape, fill, dtype=dt)
    if transposed:
        view = view.T
    view[...] = values
    return _leaf(view, t.requires_grad)


def away_from(points, margin: float = 1e-3):
    """A predicate for `.filter()`: True for values further than `margin` from every point.

    Keeps random inputs off an op's kinks and poles (e.g. `away_from([0.0])` for abs or
    relu, `away_from([-1.0, 1.0])` for clamp(-1, 1)), where finite differences disagree
    with any one-sided derivative. NaN is never kept.

        st.floats(-5, 5).filter(away_from([0.0], margin=1e-2))
    """
    pts = tuple(float(p) for p in points)
    margin = float(margin)

    def keep(value) -> bool:
        v = float(value)
        return not math.isnan(v) and all(abs(v - p) > margin for p in pts)

    keep.__name__ = f"away_from({list(pts)}, margin={margin})"
    return keep
