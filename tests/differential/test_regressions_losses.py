"""Regression tests for loss differences the differential tester found (issue 14): each
program runs on microtorch and PyTorch and must give the same values and dtype, or the same
exception class; gradient programs compare the gradients too."""
from __future__ import annotations

import numpy as np
import pytest

import microtorch as mt

from .test_regressions import _outcome

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore:Using a target size")

nan, inf = float("nan"), float("inf")


def _F(lib):
    return lib.nn.functional


def _t(lib, data, dtype="float32", rg=False):
    return lib.tensor(data, dtype=getattr(lib, dtype), requires_grad=rg)


# ---- forward: values, dtypes, error classes -------------------------------------------------

FORWARD = {
    # dtype of mixed float operands: F broadcasts first, so a 0-d one promotes fully
    "mse f32 nd, f64 0-d": lambda L: _F(L).mse_loss(_t(L, [1.0, 2.0]), _t(L, 0.5, "float64")),
    "l1 f32 nd, f64 0-d": lambda L: _F(L).l1_loss(_t(L, [1.0, 2.0]), _t(L, 0.5, "float64")),
    "smooth_l1 f32, f64 0-d": lambda L: _F(L).smooth_l1_loss(_t(L, [1.0, 3.0]),
                                                             _t(L, 0.5, "float64")),
    "huber keeps input dtype": lambda L: _F(L).huber_loss(_t(L, [1.0, 3.0]),
                                                          _t(L, [0.5, 0.5], "float64")),
    "bce logits: target dtype": lambda L: _F(L).binary_cross_entropy_with_logits(
        _t(L, [1.0, -2.0], "float64"), _t(L, [0.0, 1.0])),
    # integer and bool operands: refused with PyTorch's class, accepted where it accepts
    "l1 int64 mean": lambda L: _F(L).l1_loss(_t(L, [4], "int64"), _t(L, [-1], "int64")),
    "l1 int64 sum": lambda L: _F(L).l1_loss(_t(L, [4, 2], "int64"), _t(L, [-1, 5], "int64"),
                                            reduction="sum"),
    "l1 int64 none": lambda L: _F(L).l1_loss(_t(L, [4, 2], "int64"), _t(L, [-1, 5], "int64"),
                                             reduction="none"),
    "l1 bool": lambda L: _F(L).l1_loss(_t(L, False, "bool"), _t(L, True, "bool")),
    "l1 f32, bool": lambda L: _F(L).l1_loss(_t(L, [1.0]), _t(L, [True], "bool")),
    "mse int64": lambda L: _F(L).mse_loss(_t(L, [1], "int64"), _t(L, [2], "int64")),
    "smooth_l1 bool": lambda L: _F(L).smooth_l1_loss(_t(L, [True], "bool"),
                                                     _t(L, [False], "bool")),
    "huber int64 input, f32": lambda L: _F(L).huber_loss(_t(L, [1], "int64"), _t(L, [0.5])),
    "huber bool input, f32": lambda L: _F(L).huber_loss(_t(L, [True], "bool"), _t(L, [0.5])),
    "kl_div int64 target": lambda L: _F(L).kl_div(_t(L, [0.5]), _t(L, [1], "int64"),
                                                  reduction="sum"),
    "kl_div bool input": lambda L: _F(L).kl_div(_t(L, [True], "bool"), _t(L, [0.5]),
                                                reduction="sum", log_target=True),
    "bce f64, f32": lambda L: _F(L).binary_cross_entropy(_t(L, [0.5], "float64"), _t(L, [0.5])),
    "bce int64": lambda L: _F(L).binary_cross_entropy(_t(L, [1], "int64"), _t(L, [1], "int64")),
    "bce weight enlarges": lambda L: _F(L).binary_cross_entropy(
        _t(L, [0.5]), _t(L, [0.5]), weight=_t(L, [[1.0]]), reduction="sum"),
    "bce logits int64 input": lambda L: _F(L).binary_cross_entropy_with_logits(
        _t(L, [4, -2], "int64"), _t(L, [1.0, 0.5])),
    "bce logits bool": lambda L: _F(L).binary_cross_entropy_with_logits(
        L.zeros((0, 2), dtype=L.bool), L.zeros((0, 2), dtype=L.bool)),
    "bce logits int64 target": lambda L: _F(L).binary_cross_entropy_with_logits(
        _t(L, [1.0]), _t(L, [1], "int64")),
    "bce logits 0-d, pos_weight [2]": lambda L: _F(L).binary_cross_entropy_with_logits(
        _t(L, 1.0), _t(L, 0.5), pos_weight=_t(L, [1.0, 2.0])),
    # float32 sums overflow where PyTorch's do
    "l1 f32 sum overflows": lambda L: _F(L).l1_loss(_t(L, [1e38, 3e38, 1e38, -3e38]),
                                                    _t(L, [0.0, 0.0, 0.0, 1.0])),
    "mse f32 mean overflows": lambda L: _F(L).mse_loss(_t(L, [2e19, 2e19]), _t(L, [0.0, 0.0])),
    "ce label smoothing f32 overflows": lambda L: _F(L).cross_entropy(
        _t(L, [[-4e5, 1e38, 1e38], [-7e5, 0.0, -7e5], [1e38, 4e5, -9e5], [6e5, 1e38, -9e5]]),
        _t(L, [1, 2, 1, 0], "int64"), label_smoothing=0.1),
    # mixed float dtypes: PyTorch's in-place steps round to the target's dtype
    "bce logits f64 input, f32 target": lambda L: _F(L).binary_cross_entropy_with_logits(
        _t(L, -3e38, "float64"), _t(L, 0.0)),
    # NLL sums in the input's dtype by PyTorch's cascade
    "nll f32 cascade": lambda L: _F(L).nll_loss(
        _t(L, [[-1.5, 0.0], [1e38, 0.0], [0.0, -1e38], [-1.0, 0.0]]), _t(L, [0, 0, 1, 0], "int64")),
    # empty batches and classes
    "ce (0, 3) mean": lambda L: _F(L).cross_entropy(L.zeros(0, 3), _t(L, [], "int64")),
    "ce (0, 3) sum": lambda L: _F(L).cross_entropy(L.zeros(0, 3), _t(L, [], "int64"),
                                                   reduction="sum"),
    "ce (0, 3) none": lambda L: _F(L).cross_entropy(L.zeros(0, 3), _t(L, [], "int64"),
                                                    reduction="none"),
    "ce (3, 0) targets out of range": lambda L: _F(L).cross_entropy(
        L.zeros(3, 0, dtype=L.float64), _t(L, [-4, -3, 4], "int64")),
    "ce (3, 0) all ignored": lambda L: _F(L).cross_entropy(L.zeros(3, 0),
                                                           _t(L, [-100] * 3, "int64")),
    "ce (0,) 0-d target": lambda L: _F(L).cross_entropy(L.zeros(0), _t(L, 0, "int64"),
                                                        ignore_index=0),
    "nll (3, 0, 2) size mismatch": lambda L: _F(L).nll_loss(
        L.zeros(3, 0, 2), _t(L, [[0, 1]] * 3, "int64"), reduction="sum"),
    "nll (1, 0, 0) empty": lambda L: _F(L).nll_loss(L.zeros(1, 0, 0), L.zeros((1, 0),
                                                                          dtype=L.int64)),
    "ce probs (0,) mean": lambda L: _F(L).cross_entropy(L.zeros(0), L.zeros(0)),
    "ce probs ignore_index": lambda L: _F(L).cross_entropy(_t(L, [-2.0, -3.0]),
                                                           _t(L, [0.25, 0.75]), ignore_index=0),
}


@pytest.mark.parametrize("name", list(FORWARD))
def test_loss_forward_matches_pytorch(name):
    ours, theirs = _outcome(FORWARD[name], mt), _outcome(FORWARD[name], torch)
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and ours[1] == theirs[1]
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    else:
        assert ours is theirs


# ---- graph: grad_fn names ------------------------------------------------------------------

GRAPHS = {
    "l1 mean": lambda L, x: _F(L).l1_loss(x.expand(3, 2), _t(L, 0.5, "float64")),
    "l1 sum": lambda L, x: _F(L).l1_loss(x.expand(3, 2), _t(L, [0.5]), reduction="sum"),
    "l1 none": lambda L, x: _F(L).l1_loss(x, _t(L, [[0.5, 1.0]]), reduction="none"),
    "ce probs empty mean": lambda L, x: _F(L).cross_entropy(x[:0], L.zeros(0, 2)),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_loss_grad_fn_matches_pytorch(name):
    names = [GRAPHS[name](lib, _t(lib, [[1.0, -2.0]], rg=True)).grad_fn.name()
             for lib in (mt, torch)]
    assert names[0] == names[1]


# ---- gradients at the extremes --------------------------------------------------------------

GRADS = {
    # d/dtarget of BCE is -logit(input): infinite at input 0 and 1
    "bce target at 0 and 1": (lambda L, t: _F(L).binary_cross_entropy(_t(L, [1.0, 0.5, 0.0]), t),
                              [0.75, 0.5, 0.25], "float32"),
    "bce target weighted f64": (lambda L, t: _F(L).binary_cross_entropy(
        _t(L, [0.25, 0.0], "float64"), t, weight=_t(L, [0.5, 4.0], "float64"),
        reduction="sum"), [0.0, 0.5], "float64"),
    # -x * g overflows before the division by n, as in PyTorch
    "bce logits target -x g": (lambda L, t: _F(L).binary_cross_entropy_with_logits(
        _t(L, [-3e38, 1e38]), t), [0.5, 0.5], "float32"),
    "bce logits target pos_weight": (lambda L, t: _F(L).binary_cross_entropy_with_logits(
        _t(L, [-1e38, 4.0]), t, pos_weight=_t(L, [2.5, 0.5])), [0.0, 0.25], "float32"),
    # mse scales (input - target) by 2 / n first, as PyTorch, so it does not overflow
    "mse mean at 3e38": (lambda L, t: _F(L).mse_loss(_t(L, [-3e38, -3e38, -3e38, 1.0]), t),
                         [1.7e5, -8.3e5, -0.0, 1e38], "float32"),
    # xlogy's gradient is 0 where the incoming one is 0, even at a log of a negative
    "kl_div target, zero grads": (lambda L, t: _F(L).kl_div(
        _t(L, [-inf, 4.0, 3.0, 0.5], "float64"), t, reduction="none")
        * _t(L, [0.0, 1.0, 0.0, 2.0], "float64"), [-3.0, 0.0, -4.0, 3.5], "float32"),
}


@pytest.mark.parametrize("name", list(GRADS))
def test_loss_gradients_match_pytorch(name):
    fn, target, dtype = GRADS[name]
    grads = []
    for lib in (mt, torch):
        t = _t(lib, target, dtype, rg=True)
        loss = fn(lib, t)
        (g,) = lib.autograd.grad((loss * _t(lib, -1.5, dtype)).sum(), [t])
        grads.append(g.detach().numpy())
    assert grads[0].dtype == grads[1].dtype
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)
