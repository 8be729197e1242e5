"""Regressions found by the differential tester in shape ops, joins, indexing and matmul:
each program runs on microtorch and PyTorch and must give the same value and dtype (or
raise the same builtin class), the same grad_fn name and, for views, the same strides."""
from __future__ import annotations

import numpy as np
import pytest

import microtorch as mt

from .test_regressions import _outcome

torch = pytest.importorskip("torch")

INF, NAN = float("inf"), float("nan")

PROGRAMS = {
    # nonzero / where(cond): a 0-d input counts as one element
    "nonzero 0-d": lambda t: t.nonzero(t.tensor(2.5)),
    "nonzero 0-d zero": lambda t: t.nonzero(t.tensor(0.0)),
    "nonzero(as_tuple) 0-d": lambda t: t.nonzero(t.tensor(4), as_tuple=True)[0],
    "where(cond) 0-d": lambda t: t.where(t.tensor(True))[0],
    "where(cond) 0-d false": lambda t: t.where(t.tensor(-0.0))[0],
    # unflatten / view shape inference
    "unflatten 0-d": lambda t: t.tensor(1.0).unflatten(0, (1, 1)),
    "unflatten empty -1": lambda t: t.zeros(0, 0).unflatten(1, (-1,)),
    "unflatten empty ambiguous": lambda t: t.zeros(0, 0).unflatten(1, (0, -1)),
    "unflatten sizes don't multiply": lambda t: t.zeros(4, 0, 0).unflatten(0, (5, 1)),
    "unflatten empty sizes": lambda t: t.zeros(4, 1).unflatten(1, ()),
    "view two -1": lambda t: t.zeros(4).view(-1, -1),
    "view of 0 elements ambiguous": lambda t: t.zeros(0).reshape(0, -1),
    "flatten 0-d end_dim out of range": lambda t: t.flatten(t.tensor(2.0), end_dim=-2),
    "flatten 0-d": lambda t: t.flatten(t.tensor(2.0), 0, -1),
    # squeeze, unbind, cat, stack
    "squeeze repeated dim": lambda t: t.zeros(4, 1).squeeze((-1, 1)),
    "unbind of an empty dim": lambda t: len(t.zeros(0, 2, requires_grad=True).unbind(0)),
    "cat 0-d not first": lambda t: t.cat([t.ones(2), t.tensor(1.0)], dim=-2),
    "stack 0-d promotes as tensors": lambda t: t.stack([t.tensor(1.0), t.tensor(2.0, dtype=t.float64)]),
    # indexing reads
    "x[[]]": lambda t: t.ones(3, 2)[[]],
    "x[[], []]": lambda t: t.ones(3, 2)[[], []],
    "x[idx] with an empty result reads no index": lambda t: t.zeros(2, 0)[t.tensor([3])],
    "x[idx] into a size-0 dim": lambda t: t.zeros(0, 2)[t.tensor([3])],
    "x[mask] of another shape": lambda t: t.ones(3, 2)[t.tensor([True, False])],
    # indexing writes
    "x[[]] = v": lambda t: _put(t.ones(3, 2), [], 5.0),
    "x[idx] = v does not broadcast": lambda t: _put(t.zeros(4, 0), t.tensor([0]), t.zeros(2, 1, 0)),
    "x[idx] = v of another dtype": lambda t: _put(t.zeros(2, 3), t.tensor([0, 1]),
                                                  t.ones(2, 3, dtype=t.float64)),
    "x[mask] = v drops leading ones": lambda t: _put(
        t.tensor([[1, 2, 3], [4, 5, 6]]), t.tensor([[False, False, True], [True, True, True]]),
        t.zeros(1, 4, dtype=t.int64)),
    "x[mask] = one element of another dtype": lambda t: _put(
        t.zeros(2, 3, dtype=t.int64), t.tensor([True, False]), t.tensor(2.5)),
    "x[False] = v writes nothing": lambda t: _put(t.ones(2), False, t.ones(3, 3)),
    "x[i] = inf into int64": lambda t: _put(t.zeros(3, dtype=t.int64), 0, INF),
    "x[:] = v expand error": lambda t: _put(t.zeros(2, 3), slice(None), t.ones(3, 2)),
    "x[True] = 0-d of another dtype": lambda t: _put(t.zeros(2, dtype=t.int64), True, t.tensor(-3.0)),
    "x[i] = v into an empty expanded region": lambda t: _put(t.zeros(4, 0).expand(4, 0), 2, -1),
    "x[..., i, :] = v into overlapping memory": lambda t: _put(
        t.tensor([[-3], [0]]).expand(2, 4), (Ellipsis, -1, slice(None)), -1),
    "x[idx] backward with an empty result": lambda t: _index_grad(t, t.zeros(2, 0), [-2, -3, 2]),
    "x[idx] backward of repeated indices": lambda t: _index_grad(t, t.ones(3, 2), [0, 0, 2]),
    # matmul family: dtypes, empty operands, kernels' errors
    "bmm empty mixed dtypes": lambda t: t.ones(3, 4, 1, dtype=t.int64).bmm(t.zeros(3, 1, 0)),
    "bmm no terms mixed dtypes": lambda t: t.ones(3, 4, 0, dtype=t.bool).bmm(t.ones(3, 0, 2)),
    "bmm int and float": lambda t: t.ones(3, 4, 1, dtype=t.int64).bmm(t.ones(3, 1, 2)),
    "bmm bool": lambda t: t.ones(2, 3, 4, dtype=t.bool).bmm(t.ones(2, 4, 2)),
    "matmul batched empty mixed": lambda t: t.ones(1, 2, 3) @ t.zeros(1, 3, 0, dtype=t.float64),
    "mm mixed dtypes": lambda t: t.ones(2, 3) @ t.zeros(3, 0, dtype=t.float64),
    "mv mixed dtypes": lambda t: t.ones(2, 3) @ t.zeros(3, dtype=t.float64),
    "dot mixed dtypes": lambda t: t.ones(3) @ t.zeros(3, dtype=t.float64),
    "matmul batch mismatch": lambda t: t.ones(3, 2, 2, dtype=t.bool) @ t.ones(2, 2, 1, dtype=t.bool),
    "matmul vector bool @ batch": lambda t: t.tensor([True, True]) @ t.ones(2, 2, 2, dtype=t.int64),
    "bmm int result needing grad": lambda t: t.bmm(t.zeros(0, 2, 2, requires_grad=True),
                                                   t.zeros(0, 2, 2, dtype=t.int64)),
    # float32 overflow: PyTorch rounds each term of a small product
    "linear overflow": lambda t: t.nn.functional.linear(t.tensor([[1.0, -4.0]]),
                                                        t.tensor([[1e38, 1e38]])),
    "bmm overflow": lambda t: t.tensor([[[-2.5, 1.5, 3.5]]]).bmm(t.tensor([[[-1e38], [-1.0], [-1e38]]])),
    "matmul overflow gives nan": lambda t: t.tensor([[1e38, 1e38]]) @ t.tensor([[4.0], [-3.5]]),
    "mm overflow beside NaN": lambda t: t.mm(t.tensor([[NAN, 0.0], [-3.0, 1e38]]),
                                             t.tensor([[2.0], [3.5]])),
    "dot overflow": lambda t: t.tensor([-3.0, -0.5, 4.0, -1.5]).dot(t.tensor([1e38, 1e38, 1e38, 0])),
    "linear input gradient overflow": lambda t: _linear_input_grad(t),
    "x[i] = v through an expanded view": lambda t: _put(t.zeros(2, 1, 3).expand(2, 1, 3), -1, 1.0),
    # linear: 1-d weight, broadcast and other-dtype biases
    "linear 1-d weight": lambda t: t.nn.functional.linear(t.tensor([[2.0, 0.0], [1, 1]]),
                                                          t.tensor([1.0, 3.0])),
    "linear 1-d input and weight, 0-d bias": lambda t: t.nn.functional.linear(
        t.ones(2), t.tensor([1.0, 3.0]), t.tensor(1.0)),
    "linear 0-d bias": lambda t: t.nn.functional.linear(t.ones(1, 2), t.ones(3, 2), t.tensor(1.0)),
    "linear empty weight 0-d bias": lambda t: t.nn.functional.linear(t.ones(1, 2), t.zeros(0, 2),
                                                                     t.tensor(-1.0)),
    "linear row bias": lambda t: t.nn.functional.linear(t.ones(4, 2), t.ones(3, 2), t.ones(4, 1)),
    "linear int64": lambda t: t.nn.functional.linear(t.ones(2, 2, dtype=t.int64),
                                                     t.ones(3, 2, dtype=t.int64)),
    "linear int bias": lambda t: t.nn.functional.linear(t.ones(1, 2), t.ones(3, 2),
                                                        t.tensor([1, 2, 3])),
    "linear bias of another dtype, 3-d strided input": lambda t: t.nn.functional.linear(
        t.ones(2, 2, 4)[..., ::2], t.ones(3, 2), t.ones(3, dtype=t.float64)),
}


def _put(x, index, value):
    x[index] = value
    return x


def _linear_input_grad(t):
    x = t.tensor([[[0.5, 0.5]], [[0.5, 1.5]]], requires_grad=True)
    out = t.nn.functional.linear(x, t.tensor([[-3e38, -1.0]]).expand(3, 2), t.zeros(3))
    return t.autograd.grad(out, [x], t.tensor([[[-1.5, -0.5, 0.5]], [[1.5, 2.5, -1.5]]]))[0]


def _index_grad(t, x, index):
    x.requires_grad_()
    return t.autograd.grad(x[t.tensor(index)].sum(), [x])[0]


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_program_matches_pytorch(name):
    got, want = _outcome(PROGRAMS[name], mt), _outcome(PROGRAMS[name], torch)
    if isinstance(want, tuple) and want[1].startswith("float"):
        np.testing.assert_allclose(np.asarray(got[0], dtype=float), np.asarray(want[0], dtype=float))
        assert got[1] == want[1]
    else:
        assert got == want


def _node(t) -> str | None:
    fn = t.grad_fn
    return None if fn is None else fn.name() if hasattr(fn, "name") else type(fn).__name__


GRAPHS = {
    "2-d requiring grad @ batch (row)": (lambda t: t.ones(1, 3, requires_grad=True), (2, 3, 3)),
    "2-d requiring grad @ batch": (lambda t: t.ones(2, 3, requires_grad=True), (2, 3, 3)),
    "3-d batch of one @ batch": (lambda t: t.ones(1, 2, 3, requires_grad=True), (5, 3, 4)),
    "vector requiring grad @ batch": (lambda t: t.ones(3, requires_grad=True), (4, 3, 2)),
    "batch requiring grad @ vector": (lambda t: t.ones(4, 2, 3, requires_grad=True), (3,)),
    "batch @ batch": (lambda t: t.ones(4, 2, 3, requires_grad=True), (4, 3, 2)),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_matmul_node_and_gradients_match_pytorch(name):
    make, other_shape = GRAPHS[name]
    rng = np.random.default_rng(0)
    b = rng.standard_normal(other_shape)
    results = []
    for lib in (mt, torch):
        a = make(lib).double()
        a.retain_grad()
        y = lib.tensor(b, requires_grad=True)
        out = a @ y
        out.backward(lib.ones(*out.shape, dtype=lib.float64))
        results.append((_node(out), a.grad.numpy(), y.grad.numpy()))
    (n1, ga1, gb1), (n2, ga2, gb2) = results
    assert n1 == n2
    np.testing.assert_allclose(ga1, ga2)
    np.testing.assert_allclose(gb1, gb2)


LINEAR_NODES = {
    "3-d contiguous, vector bias": lambda t: (t.ones(2, 2, 2), t.ones(3)),
    "3-d strided, vector bias": lambda t: (t.ones(2, 2, 4)[..., ::2], t.ones(3)),
    "1-d strided, vector bias": lambda t: (t.ones(4)[::2], t.ones(3)),
    "4-d contiguous, row bias": lambda t: (t.ones(2, 2, 2, 2), t.ones(1, 3)),
    "3-d contiguous, batch bias": lambda t: (t.ones(2, 2, 2), t.ones(2, 1, 3)),
}


@pytest.mark.parametrize("name", list(LINEAR_NODES))
def test_linear_node_matches_pytorch(name):
    nodes = []
    for lib in (mt, torch):
        x, b = LINEAR_NODES[name](lib)
        out = lib.nn.functional.linear(x, lib.ones(3, 2), b.requires_grad_())
        nodes.append(_node(out))
    assert nodes[0] == nodes[1]


STRIDES = {
    "nonzero is column-major": lambda t: t.tensor([[1.0, 0, 2], [0, 3, 4]]).nonzero().t(),
    "where(cond) parts are contiguous": lambda t: t.where(t.tensor([[1.0, 0, 2], [3, 0, 0]]))[1][:],
    "nonzero then split": lambda t: t.tensor([[1.5], [1.5]]).nonzero().split([1, 1], dim=-1)[0],
    "cat of one expanded tensor": lambda t: t.cat([t.tensor([[1.0, 2, 3]]).expand(2, 3)]).unbind()[1],
    "overflowing bmm is contiguous": lambda t: t.tensor([[[1.0], [-3e38], [1e38]]]).bmm(
        t.tensor([[[-0.5, 2.0]]])).view(3, 2),
}


@pytest.mark.parametrize("name", list(STRIDES))
def test_view_strides_match_pytorch(name):
    a, b = STRIDES[name](mt), STRIDES[name](torch)
    assert tuple(a.shape) == tuple(b.shape)
    assert a.stride() == b.stride()
    assert a.tolist() == b.tolist()
