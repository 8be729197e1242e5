"""Regression tests for the reductions (sum, mean, var/std, max/min, amax/amin, argmax/argmin,
prod, cumsum/cumprod, logsumexp, norms, topk): differences the differential tester found."""
from __future__ import annotations

import numpy as np
import pytest

import microtorch as mt

from .test_regressions import _outcome

torch = pytest.importorskip("torch")

nan, inf = float("nan"), float("inf")


def _x(lib, data, dtype="float32", grad=False):
    return lib.tensor(data, dtype=getattr(lib, dtype), requires_grad=grad)


def _same(a, b):
    """Outcomes equal, NaN equal to NaN."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        np.testing.assert_allclose(np.array(a[0], dtype=float), np.array(b[0], dtype=float),
                                   rtol=1e-6, equal_nan=True)
        assert a[1] == b[1]
    else:
        assert a == b


# ---- forward: values, dtypes and PyTorch's error classes -----------------------------------

M = [[1.0, 2.0], [3.0, 4.0]]
FORWARD = {
    # keepdim= (or dtype= with keepdim=) without dim= matches no PyTorch overload
    "sum(keepdim)": lambda l: _x(l, M).sum(keepdim=True),
    "sum(keepdim, dtype)": lambda l: l.sum(_x(l, M), keepdim=True, dtype=l.float64),
    "sum(None, keepdim)": lambda l: _x(l, M).sum(None, keepdim=True),
    "mean(keepdim)": lambda l: l.mean(_x(l, M), keepdim=False),
    "mean(int, keepdim)": lambda l: _x(l, [1, 2], "int64").mean(keepdim=True),
    "mean(int)": lambda l: _x(l, [1, 2], "int64").mean(),
    "mean(bool, dim)": lambda l: _x(l, [True], "bool").mean(0),
    "prod(keepdim)": lambda l: _x(l, M).prod(keepdim=True),
    "prod(None)": lambda l: _x(l, M).prod(None),
    "max(keepdim)": lambda l: l.max(_x(l, M), keepdim=True),
    "min(dim=None)": lambda l: _x(l, M).min(dim=None),
    "max(tensor, keepdim)": lambda l: l.max(_x(l, M), _x(l, M), keepdim=True),
    "var(unbiased, keepdim)": lambda l: _x(l, M).var(unbiased=True, keepdim=True),
    "std(int, unbiased, keepdim)": lambda l: _x(l, [1, 2], "int64").std(unbiased=True,
                                                                        keepdim=True),
    "var(keepdim)": lambda l: _x(l, M).var(keepdim=True),
    "var(int)": lambda l: _x(l, [1, 2], "int64").var(),
    "amax(keepdim)": lambda l: _x(l, M).amax(keepdim=True),
    # a non-floating dtype= on an input that records a gradient
    "sum(dtype=int64) of grad input": lambda l: _x(l, M, grad=True).sum(dtype=l.int64),
    "prod(0, dtype=bool) of grad input": lambda l: _x(l, M, grad=True).prod(0, dtype=l.bool),
    "cumsum(dtype=int32) of grad input": lambda l: _x(l, M, grad=True).cumsum(0, dtype=l.int32),
    "cumprod(dtype=int64) of grad input": lambda l: l.cumprod(_x(l, M, grad=True), 1,
                                                              dtype=l.int64),
    "sum(dtype=int64) no grad": lambda l: _x(l, M).sum(dtype=l.int64),
    # empty inputs: full reductions refuse (by class), dims of size > 0 reduce
    "amax(empty)": lambda l: l.zeros(2, 0).amax(),
    "amin(empty, keepdim)": lambda l: l.zeros(0, dtype=l.int64).amin(keepdim=True),
    "max(empty)": lambda l: l.zeros(0, 3).max(),
    "argmax(empty)": lambda l: l.zeros(0, 2).argmax(),
    "argmin(empty, keepdim)": lambda l: l.zeros(4, 0).argmin(keepdim=True),
    "argmax(empty, empty dim)": lambda l: l.zeros(4, 0).argmax(1),
    "amax(empty, nonempty dim)": lambda l: l.zeros(3, 0, 2).amax(0),
    "amin(empty, (0, 2))": lambda l: l.zeros(3, 0, 2).amin((0, 2), keepdim=True),
    "amax(empty, empty dim)": lambda l: l.zeros(3, 0, 2).amax((0, 1)),
    "amax(empty, repeated empty dim)": lambda l: l.zeros(0, 2).amax((0, 0)),
    "argmin(empty, nonempty dim)": lambda l: l.zeros(3, 0, 2, dtype=l.int64).argmin(2),
    "max(empty, nonempty dim)": lambda l: l.zeros(3, 0, 2).max(2).values,
    "min(empty, empty dim)": lambda l: l.zeros(3, 0, 2).min(1),
    # repeated dims of a 0-d tensor
    "sum(0-d, (0, -1))": lambda l: l.tensor(1.0).sum((0, -1)),
    "logsumexp(0-d, (0, 0))": lambda l: l.tensor(1.0).logsumexp((0, 0)),
    # var/std: no degrees of freedom gives inf; squares accumulate in float64
    "var(correction > N)": lambda l: _x(l, [1.0, 2.0], "float64").var(0, correction=5),
    "std(correction = N) of a constant": lambda l: _x(l, [1.0, 1.0]).std(correction=2),
    "std near float32's limit": lambda l: _x(l, [[4.0, 1e38], [-1e38, 1e38], [0.0, -1e38]]).std(0),
    "std, one result: float32 mean overflows": lambda l: _x(l, [3e38, 3e38]).std(),
    "std, several results": lambda l: _x(l, [[3e38, 3e38], [1.0, 1.0]]).std(1),
    "var(empty)": lambda l: l.zeros(3, 0).var(1),
    # cumsum/cumprod of float32 accumulate in float64
    "cumprod through overflow": lambda l: _x(l, [1e38, 1e38, 0.0]).cumprod(0),
    "cumsum through overflow": lambda l: _x(l, [3e38, 3e38, -3e38]).cumsum(0),
    # a norm over a single element is |x|, without squaring
    "linalg.norm(0-d 1e38)": lambda l: l.linalg.norm(_x(l, -1e38)),
    "vector_norm([[1e38], [3e38]], dim=-1)": lambda l: l.linalg.vector_norm(
        _x(l, [[1e38], [3e38]]), dim=-1),
    "vector_norm([1e38, 1e38])": lambda l: l.linalg.vector_norm(_x(l, [1e38, 1e38])),
    # topk: PyTorch's order among ties and with sorted=False
    "topk ties": lambda l: _x(l, [[3.0, 3.0, -3.0, 3.0]], "float64").topk(1).indices,
    "topk -inf ties": lambda l: l.topk(_x(l, [-inf, -inf, -inf, -inf]), 1).indices,
    "topk smallest ties": lambda l: _x(l, [-0.5, 1.0, -0.0, -0.5]).topk(1, largest=False).indices,
    "topk unsorted": lambda l: _x(l, [[-3.0, -0.0, nan, 0.0]]).topk(2, sorted=False).indices,
    "topk unsorted, equal": lambda l: l.topk(_x(l, [[-3.0] * 4]), 2, sorted=False).indices,
    "topk int64 ties": lambda l: _x(l, [[4, 2 ** 62, -2 ** 31, 4]], "int64").topk(2).indices,
    "topk sorted ties, dim 0": lambda l: l.topk(
        _x(l, [[0.0, -0.5], [-2.0, 2.5], [0.0, 0.0], [-3.5, -0.0]], "float64"), 3, dim=-2).indices,
    "topk, 70 ties (partial sort)": lambda l: l.topk(
        _x(l, [float(i % 3) for i in range(70)]), 1).indices,
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", list(FORWARD))
def test_forward_matches_pytorch(name):
    _same(_outcome(FORWARD[name], mt), _outcome(FORWARD[name], torch))


def test_topk_replays_pytorchs_order_on_random_ties():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(1, 24))
        vals = rng.choice([-1.0, 0.0, 2.0, nan, inf], size=(2, n))
        k = int(rng.integers(0, n + 1))
        largest, srt = bool(rng.integers(2)), bool(rng.integers(2))
        got = [lib.topk(lib.tensor(vals), k, largest=largest, sorted=srt).indices.tolist()
               for lib in (mt, torch)]
        assert got[0] == got[1], (vals.tolist(), k, largest, srt)


# ---- gradients (and the node names PyTorch records) ----------------------------------------

GRADS = {
    "amax NaN": ([nan, 0.0], lambda l, x: l.amax(x)),
    "amin(dim) NaN": ([[2.5], [nan], [-0.5]], lambda l, x: l.amin(x, dim=-1)),
    "amax ties": ([1.0, 3.0, 3.0], lambda l, x: x.amax()),
    "max() NaN": ([nan, 1.0, nan], lambda l, x: x.max()),
    "min() ties": ([1.0, 1.0, 2.0], lambda l, x: x.min()),
    "max(dim) ties": ([[1.0, 1.0], [2.0, nan]], lambda l, x: x.max(1).values),
    "sum(dim)": ([[1.0, 2.0]], lambda l, x: x.sum(1)),
    "mean(dim)": ([[1.0, 2.0]], lambda l, x: x.mean(1)),
    "var, no dof, full": ([1.0, 2.0, 1.5], lambda l, x: x.var(correction=5)),
    "var, dof 0, full": ([1.0, 1.0], lambda l, x: x.var(correction=2)),
    "var(dim), negative dof": ([[[0.5]]], lambda l, x: l.var(x, (-3, 2), correction=5)),
    "var(dim), dof 0": ([1.0, 2.0], lambda l, x: x.var(0, correction=2)),
    "std(dim), dof 0": ([1.0, 2.0], lambda l, x: x.std(0, correction=2)),
    "std of a constant": ([2.0, 2.0], lambda l, x: x.std()),
    "prod, no zeros, overflow": ([-3e38, 2.2e-16, 1e38], lambda l, x: x.prod(-1, keepdim=True)),
    "prod, one zero": ([2.0, 0.0, -3.0], lambda l, x: x.prod()),
    "prod, one zero, overflow": ([1e38, 1e38, 0.0, -3.0], lambda l, x: x.prod()),
    "prod, two zeros": ([inf, 0.0, 1.0, -0.0], lambda l, x: x.prod()),
    "prod(dim), a zero somewhere": ([[1e38, 1e38, 0.0, -3.0], [1e38, 1e38, 2.0, -3.0]],
                                    lambda l, x: x.prod(1)),
    "cumprod, no zeros, overflow": ([3.5, 1e38], lambda l, x: x.cumprod(-1)),
    "cumprod, zeros": ([2.0, 0.0, 3.0, 0.0, 4.0], lambda l, x: x.cumprod(0)),
    "cumprod, zero first": ([0.0, 3.0, -2.0], lambda l, x: x.cumprod(0)),
    "logsumexp -inf": (-inf, lambda l, x: l.logsumexp(x, dim=0)),
    "logsumexp inf": ([inf, 2.5], lambda l, x: x.logsumexp(0)),
    "vector_norm inf NaN": (nan, lambda l, x: l.linalg.vector_norm(x, ord=inf)),
    "vector_norm -inf NaN": ([[1.0], [nan]], lambda l, x: l.linalg.vector_norm(x, -inf, dim=-1)),
    "vector_norm 1 NaN": ([nan, -2.0], lambda l, x: l.linalg.vector_norm(x, 1)),
    "vector_norm 0.5 at 0": ([1.0, 0.0, -2.0], lambda l, x: l.linalg.vector_norm(x, 0.5)),
    "vector_norm 3 at 0": ([0.0, 0.0], lambda l, x: l.linalg.vector_norm(x, 3)),
    "matrix_norm 1 NaN": ([[nan, 0.0, -4.0]], lambda l, x: l.linalg.matrix_norm(x, ord=1)),
}


def _grad_outcome(lib, data, fn, dtype):
    x = _x(lib, data, dtype, grad=True)
    y = fn(lib, x)
    name = y.grad_fn.name() if callable(y.grad_fn.name) else y.grad_fn.name
    (g,) = lib.autograd.grad((y * -1.5).sum(), [x])
    return name, g.tolist()


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(GRADS))
def test_gradients_match_pytorch(name, dtype):
    data, fn = GRADS[name]
    ours, theirs = (_grad_outcome(lib, data, fn, dtype) for lib in (mt, torch))
    assert ours[0] == theirs[0]
    a, b = np.array(ours[1], dtype=float), np.array(theirs[1], dtype=float)
    np.testing.assert_allclose(a, b, rtol=1e-6, equal_nan=True)
    assert (np.signbit(a) == np.signbit(b))[a == 0].all()


@pytest.mark.filterwarnings("ignore")
def test_cumprod_with_dtype_differentiates_in_the_input_dtype():
    out = []
    for lib in (mt, torch):
        x = _x(lib, [-3e38, -3e38, -0.0, -343741.84375], "float64", grad=True)
        y = lib.cumprod(x, 0, dtype=lib.float32)
        out.append(lib.autograd.grad((y * _x(lib, [-1.5, -0.5, 0.5, 1.5])).sum(), [x])[0].tolist())
    assert out[0] == out[1]


@pytest.mark.parametrize("lib", [mt, torch], ids=["microtorch", "torch"])
def test_vector_norm_of_order_0_gives_no_gradient(lib):
    x = _x(lib, [3.0, 0.0], grad=True)
    (lib.linalg.vector_norm(x, ord=0) * 2).backward()
    assert x.grad is None
