"""Regression tests: in-place changes of views and saved-value version checks, as PyTorch.

Each program builds its leaves from given values, mixes views, in-place ops and backward,
and returns the tensors to compare (values, grad_fn name, requires_grad, is_leaf), a loss and
its leaves. Gradients are compared with PyTorch's and with finite differences.
"""
from __future__ import annotations

import numpy as np
import pytest

import microtorch as mt

from .test_regressions import _outcome

torch = pytest.importorskip("torch")

A = [[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]]
W = [2.0, -3.0, 0.5]


def _slice_mul(lib, a, w):
    b = a * 1
    row, col, t = b[0], b[:, 1], b.t()
    row.mul_(w)                                     # base rebased; siblings regenerated
    return [b, row, col, t], (col * lib.tensor([1.0, 10.0])).sum() + (b * b).sum()


def _view_chain(lib, a, w):
    b = a * 3
    v = b[:, 1:]
    u = v.t()[0]                                    # a view of a view of a view
    u.add_(w[:2], alpha=2)
    u.mul_(w[1])                                    # a second in-place op on the same view
    return [b, v, u], (b * lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum()


def _base_after_views(lib, a, w):
    b = a + 0
    v, e = b[1], b[:1].expand(3, 3)                 # e: elements shared by several positions
    b.mul_(w)                                       # in-place on the base: views regenerated
    return [b, v, e], (v * v).sum() + (e * lib.tensor([1.0, 2.0, 3.0])).sum()


def _setitem(lib, a, w):
    b = a * 2
    v = b[:, ::2]
    b[0, 1:] = w[:2]                                # basic index: CopySlices on b
    v[[1], [0]] = w[2]                              # advanced index into a view
    return [b, v], (b * b).sum()


def _setitem_base_without_grad(lib, a, w):
    b = lib.zeros(2, 3, dtype=lib.float64)
    v = b[1]
    b[0] = w                                        # b starts without grad
    v[1:] = a[0, :2]
    return [b, v], (b * lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum()


def _non_contiguous_base(lib, a, w):
    b = a.t() * 2                                   # a fresh result laid out like a.t()
    b[1].mul_(w[:2])
    return [b], (b * lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])).sum()


def _sibling_requires_grad(lib, a, w):
    b = lib.tensor(A, dtype=lib.float64).exp()
    s = b.swapaxes(0, -1)
    b[0].sub_(w)                                    # s now requires grad through b
    return [b, s], (s * s).sum()


def _copy_into_view(lib, a, w):
    b = a.sin()
    b[:, 2].copy_(w[:2])
    b[1].fill_(w[0])
    b[0, :2].zero_()
    return [b], (b * lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum()


GRADIENT_PROGRAMS = {f.__name__[1:]: f for f in (
    _slice_mul, _view_chain, _base_after_views, _setitem, _setitem_base_without_grad,
    _non_contiguous_base, _sibling_requires_grad, _copy_into_view)}


def _run(lib, program, a=A, w=W):
    a = lib.tensor(a, dtype=lib.float64, requires_grad=True)
    w = lib.tensor(w, dtype=lib.float64, requires_grad=True)
    tensors, loss = program(lib, a, w)
    meta = [(t.grad_fn.name().rpartition("::")[2] if t.grad_fn else None, t.requires_grad,
             t.is_leaf, t.detach().numpy().tolist()) for t in tensors]
    grads = lib.autograd.grad(loss, [a, w], allow_unused=True)
    return meta, [None if g is None else g.numpy() for g in grads], loss.item()


@pytest.mark.parametrize("name", list(GRADIENT_PROGRAMS))
def test_views_and_in_place_match_pytorch(name):
    program = GRADIENT_PROGRAMS[name]
    ours, theirs = _run(mt, program), _run(torch, program)
    assert ours[0] == theirs[0]
    for g, h in zip(ours[1], theirs[1]):
        assert (g is None) == (h is None)
        if g is not None:
            np.testing.assert_allclose(g, h, rtol=1e-12)
    assert ours[2] == pytest.approx(theirs[2], rel=1e-12)


@pytest.mark.parametrize("name", list(GRADIENT_PROGRAMS))
def test_views_and_in_place_gradients_are_finite_differences(name):
    program = GRADIENT_PROGRAMS[name]
    _, grads, _ = _run(mt, program)
    base = [np.array(A), np.array(W)]
    eps = 1e-6
    for k, g in enumerate(grads):
        numeric = np.zeros_like(base[k])
        for i in np.ndindex(base[k].shape):
            vals = [b.copy() for b in base]
            vals[k][i] += eps
            up = _run(mt, program, *vals)[2]
            vals[k][i] -= 2 * eps
            down = _run(mt, program, *vals)[2]
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(0 if g is None else g, numeric, rtol=1e-6, atol=1e-6)


# ---- refusals and version checks: the same error (class and message) as PyTorch ---------

def _leaf_view(lib):
    lib.tensor([1.0, 2.0], requires_grad=True)[:1].mul_(2)


def _leaf_setitem(lib):
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    a[0] = 3.0


def _multi_view(lib):
    lib.tensor([[1.0, 2.0]], requires_grad=True).clone().unbind(0)[0].mul_(2)


def _multi_view_no_grad_origin(lib):
    pieces = lib.tensor([1.0, 2.0]).split(1)
    pieces[0].sub_(lib.tensor(1.0, requires_grad=True))


def _view_of_multi_view(lib):
    lib.tensor([[1.0, 2.0]], requires_grad=True).clone().chunk(1)[0][0].add_(1)


def _no_grad_view(lib):
    b = lib.tensor([1.0, 2.0], requires_grad=True).clone()
    with lib.no_grad():
        v = b[:1]
    v.mul_(2)


def _regenerated_multi_view(lib):
    b = lib.tensor([1.0, 2.0])
    pieces = b.split(1)
    b.mul_(lib.tensor(2.0, requires_grad=True))
    return pieces[0].grad_fn


def _detach_view_in_place(lib):
    lib.tensor([1.0, 2.0])[:1].detach_()


def _mul_by_itself(lib):
    b = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True).clone()
    b.mul_(b).sum().backward()


def _mul_by_sibling_view(lib):
    b = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True).clone()
    b[0].mul_(b[1]).sum().backward()


def _saved_output_then_in_place(lib):
    y = lib.tensor([1.0, 2.0], requires_grad=True).exp2().exp2_()
    y.sum().backward()


def _saved_in_place_result_kept(lib):
    y = lib.tensor([1.0, 2.0], requires_grad=True).clone().reciprocal_()
    z = y * 2
    z.sum().backward()
    return y.grad_fn.name()


def _saved_input_of_custom_result(lib):
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    a = w * 1
    e = a * w
    a.add_(1)
    e.sum().backward()


def _where_condition_filled(lib):
    c = lib.tensor([True, False])
    r = lib.where(c, lib.tensor([1.0, 2.0], requires_grad=True), 0.0)
    c.fill_(False)
    r.sum().backward()


def _kl_div_input_changed(lib):
    x = lib.tensor([0.5], dtype=lib.float32)
    r = lib.nn.functional.kl_div(x, lib.tensor([-3.0], dtype=lib.float64, requires_grad=True),
                                 reduction="none")
    x //= 2.0                                       # Mul saved x (guarded although promoted)
    r.sum().backward()


def _hypot_result_changed(lib):
    r = lib.tensor([3.0, 1.0]).hypot_(lib.tensor([4.0, 2.0], requires_grad=True))
    r.mul_(2)                                       # hypot_ saved its result
    r.sum().backward()


def _unneeded_operands_not_saved(lib):
    w = lib.tensor([0.5, 1.5], requires_grad=True)
    y, t = lib.tensor([2.5, 3.0]), lib.tensor([0.25, 0.75])
    r = w.clone().remainder_(y) + w.clone().lerp_(y, t)
    y.fill_(1.0)                                    # only needed for y's (absent) gradients
    t.fill_(0.0)
    r.sum().backward()
    return str(w.grad.tolist())


def _unbind_of_1d_gives_views(lib):
    b = lib.tensor([1.0, 2.0])
    pieces = b.unbind()
    pieces[1].copy_(lib.tensor(5.0, requires_grad=True))


ERROR_PROGRAMS = [_leaf_view, _leaf_setitem, _multi_view, _multi_view_no_grad_origin,
                  _view_of_multi_view, _no_grad_view, _regenerated_multi_view,
                  _detach_view_in_place, _mul_by_itself, _mul_by_sibling_view,
                  _saved_output_then_in_place, _saved_in_place_result_kept,
                  _saved_input_of_custom_result, _where_condition_filled,
                  _kl_div_input_changed, _hypot_result_changed, _unneeded_operands_not_saved,
                  _unbind_of_1d_gives_views]


def _error(program, lib):
    try:
        r = program(lib)
    except RuntimeError as err:
        return str(err).replace("torch::autograd::", "")
    return r if isinstance(r, str) else type(r).__name__


@pytest.mark.parametrize("program", ERROR_PROGRAMS, ids=lambda f: f.__name__[1:])
def test_refusals_and_version_errors_match_pytorch(program):
    assert _error(program, mt) == _error(program, torch)


def test_no_grad_view_requires_grad_through_its_base():
    def program(lib):
        b = lib.tensor([1.0, 2.0], requires_grad=True).clone()
        with lib.no_grad():
            v = b[:1]
        return [v.requires_grad, v.is_leaf, (v * 2).requires_grad]
    assert _outcome(program, mt) == _outcome(program, torch)
