"""split/chunk/unbind, sort/argsort/topk, flip/roll, cumsum/cumprod/prod and the counting
ops against PyTorch: what the op registry does not cover (errors, views, NaN order,
return types, graph nodes, counting). Values and gradients on random inputs are covered
by the registry (tests/registry.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import microtorch as mt


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def both(torch, make):
    """make(lib) for microtorch and PyTorch."""
    return make(mt), make(torch)


def assert_same(ours, theirs) -> None:
    if isinstance(theirs, (tuple, list)):
        assert type(ours).__name__ == type(theirs).__name__
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
        return
    assert str(ours.dtype) == str(theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6,
                               atol=1e-6, equal_nan=True)


CALLS = {
    "split empty 0": lambda l: l.split(l.zeros(0), 0),
    "split bigger": lambda l: l.split(l.arange(4.0), 5),
    "split tuple": lambda l: l.split(l.arange(4.0), (1, 3)),
    "chunk empty": lambda l: l.chunk(l.zeros(0), 2),
    "chunk uneven": lambda l: l.chunk(l.arange(5), 4),
    "chunk 6 by 4": lambda l: l.chunk(l.arange(6), 4),
    "unbind dim 1": lambda l: l.arange(6).reshape(2, 3).unbind(1),
    "sort nan descending": lambda l: l.sort(l.tensor([2.0, math.nan, 1.0, math.nan]),
                                            descending=True),
    "sort nan": lambda l: l.sort(l.tensor([2.0, math.nan, 1.0]), stable=True),
    "sort ties stable descending": lambda l: l.sort(l.tensor([1, 3, 1, 3, 2]),
                                                    descending=True, stable=True),
    "sort bool": lambda l: l.sort(l.tensor([True, False])),
    "sort 0-d": lambda l: l.sort(l.tensor(1.0)),
    "argsort int descending": lambda l: l.argsort(l.tensor([3, 1, 2]), descending=True),
    "topk nan": lambda l: l.topk(l.tensor([2.0, math.nan, 1.0]), 2),
    "topk smallest": lambda l: l.topk(l.tensor([2.0, math.nan, 1.0]), 2, largest=False),
    "topk int": lambda l: l.topk(l.tensor([1, 3, 2]), 2),
    "topk 0-d": lambda l: l.topk(l.tensor(1.0), 1),
    "flip 0-d": lambda l: l.flip(l.tensor(1.0), [0]),
    "flip varargs": lambda l: l.arange(6).reshape(2, 3).flip(0, 1),
    "roll flat": lambda l: l.roll(l.arange(6).reshape(2, 3), 1),
    "roll dims": lambda l: l.roll(l.arange(6).reshape(2, 3), (1, 1), (0, 1)),
    "roll 0-d": lambda l: l.roll(l.tensor(1.0), 1),
    "cumsum int32": lambda l: l.cumsum(l.tensor([1, 2], dtype=l.int32), 0),
    "cumsum bool": lambda l: l.tensor([True, True]).cumsum(0),
    "cumsum dtype": lambda l: l.cumsum(l.tensor([1.0, 2.0]), 0, dtype=l.float64),
    "cumprod uint8": lambda l: l.cumprod(l.tensor([1, 2], dtype=l.uint8), 0),
    "prod int32": lambda l: l.prod(l.tensor([1, 2], dtype=l.int32)),
    "prod bool": lambda l: l.prod(l.tensor([True, False])),
    "prod keepdim": lambda l: l.tensor([[1.0, 2.0]]).prod(1, keepdim=True),
    "histc": lambda l: l.histc(l.tensor([1.0, 2, 1]), bins=4, min=0, max=3),
    "histc data range": lambda l: l.histc(l.tensor([1.0, 2, 1]), bins=4),
    "histc equal": lambda l: l.histc(l.tensor([1.0, 1]), bins=4),
    "histc empty": lambda l: l.histc(l.tensor([]), bins=4),
    "histc outside": lambda l: l.histc(l.tensor([-1.0, 0.5, 9.0]), bins=2, min=0, max=1),
    "histc float64": lambda l: l.tensor([0.1, 0.7, 0.7], dtype=l.float64).histc(3),
    "histogram": lambda l: l.histogram(l.tensor([1.0, 2, 1]), bins=4),
    "histogram density": lambda l: l.histogram(l.tensor([1.0, 2, 1]), bins=4, range=(0.0, 3.0),
                                               density=True),
    "histogram edges weights": lambda l: l.histogram(l.tensor([1.0, 2, 1]),
                                                     l.tensor([0.0, 1.5, 3.0]),
                                                     weight=l.tensor([1.0, 2.0, 3.0])),
    "histogram float64": lambda l: l.tensor([1.0, 2, 1], dtype=l.float64).histogram(4),
    "histogram empty": lambda l: l.histogram(l.tensor([]), 4),
    "bincount": lambda l: l.bincount(l.tensor([1, 1, 3])),
    "bincount minlength": lambda l: l.tensor([1, 1, 3]).bincount(minlength=6),
    "bincount weights": lambda l: l.bincount(l.tensor([1, 1, 3]),
                                             weights=l.tensor([0.5, 1.0, 2.0])),
    "bincount float64 weights": lambda l: l.bincount(
        l.tensor([1, 1, 3]), weights=l.tensor([0.5, 1.0, 2.0], dtype=l.float64)),
    "bincount int weights": lambda l: l.bincount(l.tensor([1, 1, 3]),
                                                 weights=l.tensor([1, 2, 3])),
    "bincount empty": lambda l: l.bincount(l.tensor([], dtype=l.long)),
}


@pytest.mark.parametrize("name", CALLS)
def test_results_match_torch(torch, name):
    ours, theirs = both(torch, CALLS[name])
    assert_same(ours, theirs)


ERRORS = {
    "split 0": lambda l: l.split(l.arange(4.0), 0),
    "split negative": lambda l: l.split(l.arange(4.0), -1),
    "split sizes sum": lambda l: l.split(l.arange(4.0), [1, 2]),
    "split sizes negative": lambda l: l.split(l.arange(4.0), [1, -1, 4]),
    "split 0-d": lambda l: l.split(l.tensor(1.0), 1),
    "split dim": lambda l: l.split(l.arange(4.0), 2, dim=1),
    "split tensor sizes": lambda l: l.split(l.arange(4.0), l.tensor([1, 3])),
    "chunk 0": lambda l: l.chunk(l.arange(4.0), 0),
    "chunk 0-d": lambda l: l.chunk(l.tensor(1.0), 1),
    "unbind 0-d": lambda l: l.unbind(l.tensor(1.0)),
    "topk too many": lambda l: l.topk(l.arange(4.0), 5),
    "topk negative": lambda l: l.topk(l.arange(4.0), -1),
    "topk 0-d": lambda l: l.topk(l.tensor(1.0), 2),
    "flip repeated": lambda l: l.flip(l.arange(4.0), [0, 0]),
    "flip int dims": lambda l: l.flip(l.arange(4.0), 0),
    "roll misaligned": lambda l: l.roll(l.arange(6).reshape(2, 3), (1, 1), 0),
    "roll 0-d dim": lambda l: l.roll(l.tensor(1.0), 1, 0),
    "cumsum no dim": lambda l: l.cumsum(l.arange(4.0)),
    "histc long": lambda l: l.histc(l.tensor([1, 2, 1]), bins=4),
    "histc bins": lambda l: l.histc(l.tensor([1.0, 2, 1]), bins=0),
    "histc min > max": lambda l: l.histc(l.tensor([1.0, 2, 1]), bins=4, min=3, max=0),
    "histogram long": lambda l: l.histogram(l.tensor([1, 2, 1]), 4),
    "bincount negative": lambda l: l.bincount(l.tensor([1, -1, 3])),
    "bincount float": lambda l: l.bincount(l.tensor([1.0, 1.0])),
    "bincount 2-d": lambda l: l.bincount(l.tensor([[1]])),
    "bincount minlength": lambda l: l.bincount(l.tensor([1, 2]), minlength=-1),
    "bincount weights": lambda l: l.bincount(l.tensor([1, 2]), weights=l.tensor([1.0])),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(torch, name):
    with pytest.raises(Exception) as theirs:
        ERRORS[name](torch)
    with pytest.raises(type(theirs.value)) as ours:
        ERRORS[name](mt)
    assert str(ours.value) == str(theirs.value)


def test_return_types_repr_like_torch(torch):
    for make in (lambda l: l.sort(l.tensor([2.0, 1.0])), lambda l: l.topk(l.tensor([2, 1]), 1),
                 lambda l: l.histogram(l.tensor([1.0, 2.0]), 2)):
        ours, theirs = both(torch, make)
        assert repr(ours) == repr(theirs)
    values, indices = mt.sort(mt.tensor([2.0, 1.0]))
    assert mt.sort(mt.tensor([2.0, 1.0])).indices.tolist() == indices.tolist() == [1, 0]


def test_pieces_are_views_sharing_the_version_counter():
    x = mt.arange(6.0).reshape(2, 3).clone()
    a, b = mt.split(x, 1)
    assert a._base is x and a._version is x._version
    x.add_(1)
    assert a.tolist() == [[1.0, 2.0, 3.0]]
    rows = x.unbind(1)
    assert rows[2]._base is x and rows[2].tolist() == [3.0, 6.0]
    assert mt.flip(x, [0])._base is None                 # flip copies, as in PyTorch


def test_gradient_reaches_only_the_pieces_used(torch):
    grads = []
    for lib in (mt, torch):
        x = lib.arange(12.0).reshape(3, 4).requires_grad_()
        a, b, c = lib.chunk(x, 3, dim=0)
        (b * 2 + lib.topk(x, 2, dim=1).values.sum() * 0 + c.cumprod(1)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(*grads)


def test_products_with_zeros_have_exact_gradients(torch):
    data = [[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.5, -2.0, 0.5]]
    for op in (lambda l, x: l.prod(x), lambda l, x: l.prod(x, 1), lambda l, x: l.cumprod(x, 1),
               lambda l, x: l.cumprod(x, 0)):
        grads = []
        for lib in (mt, torch):
            x = lib.tensor(data, dtype=lib.float64, requires_grad=True)
            out = op(lib, x)
            out.backward(lib.ones_like(out) * 1.5)
            grads.append(x.grad.numpy())
        np.testing.assert_allclose(*grads, rtol=1e-12)
