"""Regression tests: result layouts (strides), saved-value version guards and index
assignment, each compared with PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import microtorch as mt

from .test_regressions import _outcome

torch = pytest.importorskip("torch")


# ---- layouts: clone/flip keep the input's, where follows its operands, matmul's view ------

def _transposed(lib):
    return lib.arange(12.0).reshape(3, 4).t()


LAYOUTS = {
    "clone of a transposed tensor": lambda l: _transposed(l).clone(),
    "clone of a strided transposed tensor": lambda l: _transposed(l)[::2].clone(),
    "clone of an expanded tensor": lambda l: _transposed(l).expand(2, 4, 3).clone(),
    "clone of a column expanded": lambda l: l.arange(3.0).reshape(3, 1).expand(3, 4).clone(),
    "contiguous of a transposed tensor": lambda l: _transposed(l).contiguous(),
    "flip of a transposed tensor": lambda l: l.flip(_transposed(l), (0,)),
    "roll of a transposed tensor": lambda l: l.roll(_transposed(l), (1,), (0,)),
    "where of a transposed condition": lambda l: l.where(_transposed(l) > 3, _transposed(l), 0.0),
    "where of an expanded bool": lambda l: l.where(
        l.tensor([[[False, False]], [[True, True]]]).expand(2, 3, 2),
        l.tensor([[[False, False]], [[True, True]]]).expand(2, 3, 2), 1),
    "expand adding a size-1 dim": lambda l: l.arange(3.0).expand(1, 3),
    "2-d @ batch requiring grad": lambda l: l.ones(1, 3, requires_grad=True) @ l.ones(2, 3, 3),
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_result_layout_matches_pytorch(name):
    a, b = LAYOUTS[name](mt), LAYOUTS[name](torch)
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert a.stride() == b.stride()


def test_expand_without_repeats_is_writable_and_shares_the_version():
    for lib in (mt, torch):
        x = lib.tensor([1.0, 2.0, 3.0])
        v = lib.broadcast_to(x, (3,))
        v.mul_(2)
        x.expand(1, 3).add_(1)
        versions = [t._version if lib is torch else t._version[0] for t in (v, x)]
        assert x.tolist() == [3.0, 5.0, 7.0] and versions == [2, 2]


def test_2d_times_batch_is_a_view_rebased_by_in_place_ops():
    names = []
    for lib in (mt, torch):
        a = lib.tensor([[1.5, -3.0, 0.5]], dtype=lib.float64, requires_grad=True)
        b = lib.tensor(np.arange(18.0).reshape(2, 3, 3) / 7, dtype=lib.float64)
        r = a.matmul(b)
        r /= 2
        (r * lib.tensor(np.arange(6.0).reshape(2, 1, 3))).sum().backward()
        names.append((type(r.grad_fn).__name__, a.grad.tolist()))
    assert names[0] == names[1] and names[0][0] == "AsStridedBackward0"


# ---- saved values: in-place changes after the op make backward raise, as in PyTorch -------

GUARDED = {
    "sort's indices": lambda l, x: (lambda r: (r[0], r[1]))(x.sort()),
    "topk's indices": lambda l, x: (lambda r: (r[0], r[1]))(x.topk(1)),
    "max(dim)'s indices": lambda l, x: (lambda r: (r[0], r[1]))(x.max(1)),
    "vector_norm's output": lambda l, x: (lambda n: (n * 1, n))(l.linalg.vector_norm(x, dim=1)),
    "div's divisor": lambda l, x: (lambda y: (x / y, y))(l.tensor([2.0], dtype=l.float64)),
    "smooth_l1_loss's target": lambda l, x: (lambda t: (
        l.nn.functional.smooth_l1_loss(x, t), t))(l.zeros(1, 2, dtype=l.float64)),
}


@pytest.mark.parametrize("name", list(GUARDED))
def test_changing_a_saved_value_makes_backward_raise(name):
    def program(lib):
        x = lib.tensor([[0.5, 2.0]], dtype=lib.float64, requires_grad=True)
        out, saved = GUARDED[name](lib, x)
        saved.mul_(-1)
        out.sum().backward()
        return x.grad
    assert _outcome(program, mt) is _outcome(program, torch) is RuntimeError


def test_unneeded_matmul_operand_is_not_guarded():
    def program(lib):
        a = lib.tensor([[1.0, 2.0]], requires_grad=True)
        b = lib.tensor([[3.0], [4.0]])
        out = a @ b
        b.mul_(2)                              # b is needed for a's gradient: raises
        out.sum().backward()
        return a.grad

    def unneeded(lib):
        a = lib.tensor([[1.0, 2.0]], requires_grad=True)
        b = lib.tensor([[3.0], [4.0]])
        out = a @ b
        a2 = a.detach()
        a2.mul_(2)                             # a is only needed for b's gradient: fine
        out.sum().backward()
        return a.grad
    assert _outcome(program, mt) is _outcome(program, torch) is RuntimeError
    assert _outcome(unneeded, mt) == _outcome(unneeded, torch)


# ---- index assignment and small semantics ---------------------------------------------------

def test_whole_assignment_of_a_0d_tensor_is_a_copy():
    for shape, value in [((), 2.0), ((), "0d"), ((3,), 2.0), ((3,), "0d"), ((3,), "1d")]:
        names = []
        for lib in (mt, torch):
            x = lib.zeros(shape, requires_grad=True) * 1
            v = {"0d": lib.tensor(2.0), "1d": lib.ones(1)}.get(value, value)
            x[...] = v
            names.append(type(x.grad_fn).__name__)
        assert names[0] == names[1], (shape, value, names)


def test_value_with_leading_size_1_dims_gets_its_gradient():
    grads = []
    for lib in (mt, torch):
        x = lib.tensor([[-2.0, -4.0], [2.5, 0.5]])
        v = lib.tensor([[[3.0, 2.0], [4.0, 2.5], [1.5, -3.5]]], requires_grad=True)
        x[[1, -1, 1]] = v
        (g,) = lib.autograd.grad((x * lib.tensor([[-1.5, -0.5], [0.5, 1.5]])).sum(), [v])
        grads.append(g.tolist())
    assert grads[0] == grads[1]


SMALL = {
    "cat of 1-d empty tensors ignores dim": lambda l: l.cat([l.zeros(0), l.zeros(0)], dim=5),
    "roll without shifts": lambda l: l.roll(l.zeros(3), (), ()),
    "roll with empty dims": lambda l: l.roll(l.arange(3.0), (1,), ()),
    "copy_ of an expanded tensor into itself": lambda l: (lambda x: x.copy_(x))(
        l.tensor([3]).expand(4)),
}


@pytest.mark.parametrize("name", list(SMALL))
def test_small_cases_match_pytorch(name):
    assert _outcome(SMALL[name], mt) == _outcome(SMALL[name], torch)


GRADS = {
    "square of -3e38 (float32 overflow of 2x)": (
        lambda l: l.tensor([-3e38, 1.0], requires_grad=True), lambda x: x.square()),
    "number / x through reciprocal": (
        lambda l: l.tensor([1e38, 2.0], requires_grad=True), lambda x: -np.inf / (0.5 / x)),
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", list(GRADS))
def test_gradients_in_pytorchs_order(name):
    make, fn = GRADS[name]
    out = []
    for lib in (mt, torch):
        x = make(lib)
        (g,) = lib.autograd.grad((fn(x) * lib.tensor([-1.5, 2.0])).sum(), [x])
        out.append(np.asarray(g.numpy()))
    np.testing.assert_array_equal(out[0], out[1])
