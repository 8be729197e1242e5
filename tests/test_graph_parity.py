"""Graph-shape parity with PyTorch 2.13: grad_fn names and next_functions, op by op.

Code walks autograd graphs (the blitz tutorial prints `loss.grad_fn.next_functions[0][0]`,
graph printers follow `next_functions` down to the leaves), so every differentiable
registry case builds its graph on microtorch and on PyTorch from the same float64 leaves,
and the two graphs must have the same shape: the same node names, the same number of edges
per node, `(None, 0)` in the same slots, the same output numbers, a node shared where
PyTorch shares it, and AccumulateGrad nodes whose `.variable` is the same input.

Each case runs on a few shapes and layouts (drawn once, with seeded hypothesis runs, from
the registry's own shape strategies and input domains), with every input requiring grad
and then with one input at a time requiring grad. `EXTRA` adds graphs that no registry
case builds (basic-indexing chains, linear on 1-D and 3-D inputs, dropout in training).
`ALLOWED` lists the cases whose graph deliberately differs, with the reason and the inputs
concerned; those examples must still differ, so an entry that is no longer needed fails.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from registry import CASES, params  # noqa: E402

import microtorch as mt  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")   # PyTorch's x.T on 1-D


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """PyTorch on one thread: its thread pool makes these tiny ops many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _folds(x, w) -> bool:
    """Whether PyTorch's matmul folds a >= 3-D input x into one matrix product with the 2-D
    w (its `should_fold`): when w requires grad, x is empty, or x's leading dims can be
    merged without a copy."""
    if w.requires_grad or not x.numel():
        return True
    shape, strides = x.shape, x.stride()
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(x.ndim - 2))


ALLOWED = {
    "matmul": (
        "PyTorch's matmul with a >= 3-D operand is a composite that records its internal "
        "expand/reshape/view/bmm steps (which depend on strides and on which operand requires "
        "grad); microtorch records one node, named like PyTorch's last one",
        lambda a, b: a.ndim >= 3 or b.ndim >= 3),
    "nn.functional.linear[no bias]": (
        "a >= 3-D input that PyTorch's matmul does not fold (see `_folds`) goes through its "
        "batched composite (expand, bmm, views); microtorch folds it always",
        lambda x, w: not _folds(x, w)),
    "nn.functional.scaled_dot_product_attention": (
        "on empty inputs or inputs whose last dim is not contiguous PyTorch takes its "
        "composite (math) attention, a graph of bmm, softmax and views; microtorch records "
        "one node named like its last one",
        lambda *qkv: not all(t.numel() and t.stride()[-1] == 1 for t in qkv)),
    "nn.functional.scaled_dot_product_attention[3-d]": (
        "PyTorch's attention on 3-D inputs is its composite (math) path, a graph of bmm, "
        "softmax and views; microtorch records one node named like its last one", None),
}
"""Registry op ids (`Op.id`, `Tensor.__matmul__` counts as matmul) whose graph differs from
PyTorch's on purpose: (reason, when), `when(*inputs)` telling on which microtorch inputs
(None: all). Those examples are not compared, but at least one of them must still differ
from PyTorch's graph, so an entry that is no longer needed fails."""


def _fn(lib):
    return lib.nn.functional


EXTRA = {
    "slice": ([(3, 4)], lambda lib, x: x[:, 1:]),
    "slice chain": ([(3, 4)], lambda lib, x: x[1:, ::2]),
    "select then slice": ([(3, 4)], lambda lib, x: x[0, 1:]),
    "none, slice, int": ([(3, 4)], lambda lib, x: x[None, :, 1]),
    "reshape copy": ([(3, 4)], lambda lib, x: x.t().reshape(-1)),
    "reshape view": ([(3, 4)], lambda lib, x: x.reshape(2, 6)),
    "squeeze all": ([(3, 1)], lambda lib, x: x.squeeze()),
    "mv": ([(3, 4), (4,)], lambda lib, a, b: a @ b),
    "linear 2-d": ([(5, 3), (4, 3), (4,)], lambda lib, x, w, b: _fn(lib).linear(x, w, b)),
    "linear 2-d no bias": ([(5, 3), (4, 3)], lambda lib, x, w: _fn(lib).linear(x, w)),
    "linear 3-d": ([(2, 5, 3), (4, 3), (4,)], lambda lib, x, w, b: _fn(lib).linear(x, w, b)),
    "linear 1-d": ([(3,), (4, 3), (4,)], lambda lib, x, w, b: _fn(lib).linear(x, w, b)),
    "linear 1-d no bias": ([(3,), (4, 3)], lambda lib, x, w: _fn(lib).linear(x, w)),
    "dropout (training)": ([(3, 4)], lambda lib, x: _fn(lib).dropout(x, 0.5)),
    "setitem basic on a non-leaf": ([(3, 4), (4,)], lambda lib, x, y: _set_row(x * 1, y)),
    "blitz tutorial": ([(1, 6), (5, 6), (5,), (2, 5), (2,)], lambda lib, x, w1, b1, w2, b2:
                       _fn(lib).mse_loss(_fn(lib).linear(_fn(lib).relu(
                           _fn(lib).linear(x, w1, b1)), w2, b2), x[:, :2] * 0)),
}
"""Graphs no registry case builds: name -> (input shapes, call(lib, *inputs))."""


def _set_row(h, row):
    h[1, 1:] = row[1:]
    return h


# ---- inputs: drawn once per case, from seeded hypothesis runs -----------------------------

EXAMPLES = 4
CHUNK = 20
"""Shape examples per hypothesis run, and cases whose shapes are drawn in one run (a run per
case would spend most of this file's time in hypothesis' own setup)."""

GRAPH_CASES = [c for c in CASES if c.op.differentiable and c.op.available()]
_CHUNK_OF = {id(c): k // CHUNK for k, c in enumerate(GRAPH_CASES)}
_shapes: dict = {}
_pools: dict = {}


def _domain(op, i: int):
    return op.domain[i] if isinstance(op.domain, tuple) else op.domain


def _pool(op, i: int) -> np.ndarray:
    """Values from the domain of input `i` (kinks excluded); one pool per distinct domain."""
    if not _pools:
        keys = {(id(_domain(c.op, k)), c.op.kinks): (c.op, k)
                for c in GRAPH_CASES for k in range(c.op.nargs)}

        @seed(0)
        @settings(max_examples=2, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(st.data())
        def draw(data):
            for key, (o, k) in keys.items():
                values = data.draw(st.lists(o.elements(k), min_size=8, max_size=8))
                _pools[key] = np.array(values, dtype=np.float64)

        draw()
    return _pools[(id(_domain(op, i)), op.kinks)]


def _examples(case) -> list:
    """The inputs of `case`: per example, (values, layout) per input."""
    k = _CHUNK_OF[id(case)]
    if k not in _shapes:
        part = GRAPH_CASES[k * CHUNK:(k + 1) * CHUNK]
        found = _shapes[k] = {id(c): [] for c in part}

        @seed(zlib.crc32(part[0].id.encode()))
        @settings(max_examples=EXAMPLES, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(st.data())
        def draw(data):
            for c in part:
                found[id(c)].append(data.draw(c.op.shape_strategy(c.variant)))

        draw()
    op = case.op
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    layouts = ["contiguous", "transposed", "strided"] if op.noncontiguous else ["contiguous"]
    return [[(rng.choice(_pool(op, i), size=shape), rng.choice(layouts))
             for i, shape in enumerate(shapes)]
            for shapes in _shapes[k][id(case)]]


def _relayout(values: np.ndarray, layout: str) -> np.ndarray:
    """A fresh array holding `values` contiguously, transposed (Fortran order) or strided."""
    if layout == "transposed" and values.ndim >= 2:
        out = np.empty(values.shape[::-1]).T
    elif layout == "strided" and values.ndim:
        out = np.full(tuple(2 * n for n in values.shape), np.nan)[..., ::2]
        out = out[tuple(slice(None, None, 2) for _ in values.shape[:-1])]
    else:
        out = np.empty(values.shape)
    out[...] = values
    return out


def _leaves(lib, inputs, grad_mask) -> list:
    out = []
    for (values, layout), requires in zip(inputs, grad_mask):
        t = lib.from_numpy(_relayout(values, layout))
        out.append(t.requires_grad_() if requires else t)
    return out


def _grad_masks(n: int) -> list:
    """Every input requiring grad, then each input alone."""
    masks = [(True,) * n]
    if n > 1:
        masks += [tuple(i == k for i in range(n)) for k in range(n)]
    return masks


# ---- comparing two graphs -------------------------------------------------------------------

def _name(node) -> str:
    return type(node).__name__


def _edge(edge) -> str:
    return "(None, 0)" if edge[0] is None else f"({_name(edge[0])}, {edge[1]})"


def graph_difference(ours, theirs, our_inputs, their_inputs) -> str | None:
    """How the graphs behind two op results differ (None when they have the same shape)."""
    ours = tuple(ours) if isinstance(ours, (tuple, list)) else (ours,)
    theirs = tuple(theirs) if isinstance(theirs, (tuple, list)) else (theirs,)
    if len(ours) != len(theirs):
        return f"{len(ours)} outputs, PyTorch {len(theirs)}"
    pairs: dict = {}          # id(our node) -> (our node, their node)
    matched: dict = {}        # id(their node) -> their node's partner

    def walk(a, b, where: str) -> str | None:
        if id(a) in pairs or id(b) in matched:
            if pairs.get(id(a), (None, None))[1] is not b:
                return f"{where}: {_name(a)} is shared differently than in PyTorch"
            return None
        pairs[id(a)] = (a, b)
        matched[id(b)] = a
        if _name(a) != _name(b):
            return f"{where}: {_name(a)}, PyTorch {_name(b)}"
        if _name(b) == "AccumulateGrad":
            i = [k for k, x in enumerate(our_inputs) if x is a.variable]
            j = [k for k, x in enumerate(their_inputs) if x is b.variable]
            return None if i == j else f"{where}: AccumulateGrad of input {i}, PyTorch {j}"
        ea, eb = a.next_functions, b.next_functions
        if [_edge(e) for e in ea] != [_edge(e) for e in eb]:
            return (f"{where}: {_name(a)}.next_functions [{', '.join(map(_edge, ea))}], "
                    f"PyTorch [{', '.join(map(_edge, eb))}]")
        for k, (x, y) in enumerate(zip(ea, eb)):
            if y[0] is not None:
                found = walk(x[0], y[0], f"{where}.{_name(a)}[{k}]")
                if found:
                    return found
        return None

    for k, (a, b) in enumerate(zip(ours, theirs)):
        fa = a.grad_fn if isinstance(a, mt.Tensor) else None
        fb = b.grad_fn if isinstance(b, torch.Tensor) else None
        if (fa is None) != (fb is None):
            return (f"output {k}: grad_fn {fa and _name(fa)}, PyTorch {fb and _name(fb)}")
        if fa is not None:
            found = walk(fa, fb, f"output {k}")
            if found:
                return found
    return None


def _run(lib, call, leaves):
    try:
        return call(lib, *leaves), None
    except Exception as err:          # noqa: BLE001 - error parity is test_ops_parity's job
        return None, err


def _check(call, examples, nargs: int, allowed: tuple | None = None) -> None:
    """Compare the graphs of `call` on every example and grad mask; fail with the first few
    differences. `allowed`: an ALLOWED entry."""
    compared, excused, problems = 0, [], []
    for inputs in examples:
        for mask in _grad_masks(nargs):
            ours_in, theirs_in = _leaves(mt, inputs, mask), _leaves(torch, inputs, mask)
            ours, our_err = _run(mt, call, ours_in)
            theirs, their_err = _run(torch, call, theirs_in)
            what = f"shapes {[v.shape for v, _ in inputs]}, requires_grad {list(mask)}"
            if their_err is not None:
                continue
            if our_err is not None:
                problems.append(f"{what}: microtorch raised {our_err!r}")
                continue
            compared += 1
            found = graph_difference(ours, theirs, ours_in, theirs_in)
            if allowed is not None and (allowed[1] is None or allowed[1](*ours_in)):
                excused.append(found)
            elif found:
                problems.append(f"{what}: {found}")
    assert compared, "no example ran on PyTorch"
    assert not problems, "\n".join(dict.fromkeys(problems[:6]))
    assert not excused or any(excused), (
        f"the ALLOWED entry is no longer needed: {len(excused)} examples it covers match "
        "PyTorch's graph")


def _allowed(case) -> tuple | None:
    return ALLOWED.get("matmul" if case.op.api == "Tensor.__matmul__" else case.op.id)


@pytest.mark.parametrize("case", params("graph", only_differentiable=True))
def test_graph_matches_pytorch(case):
    _check(case.run, _examples(case), case.op.nargs, _allowed(case))


@pytest.mark.parametrize("name", list(EXTRA))
def test_extra_graph_matches_pytorch(name):
    shapes, call = EXTRA[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    _check(call, [[(rng.uniform(0.5, 2.0, s), "contiguous") for s in shapes]], len(shapes))


def test_graph_difference_notices_each_kind_of_difference():
    def diff(ours, theirs, n=1):
        xs = [mt.ones(2, 2, dtype=mt.float64, requires_grad=True) for _ in range(n)]
        ts = [torch.ones(2, 2, dtype=torch.float64, requires_grad=True) for _ in range(n)]
        return graph_difference(ours(*xs), theirs(*ts), xs, ts)

    assert diff(lambda x: x.sum(0), lambda x: x.sum(0)) is None
    assert "SumBackward0, PyTorch SumBackward1" in diff(lambda x: x.sum(), lambda x: x.sum(0))
    assert "next_functions" in diff(lambda x: x * 2, lambda x: x * x)
    assert "AccumulateGrad of input [1], PyTorch [0]" in diff(lambda x, y: y * 2,
                                                             lambda x, y: x * 2, n=2)
    assert "shared differently" in diff(lambda x: x.exp() * x.exp(),
                                        lambda x: (lambda e: e * e)(x.exp()))
    assert "grad_fn None" in diff(lambda x: x.detach(), lambda x: x * 1)
