"""Regression tests for the nn functionals' differences the differential tester found:
dtypes, argument checks, empty inputs and extreme values, compared with PyTorch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import microtorch as mt

from .test_regressions import _outcome

torch = pytest.importorskip("torch")

nan, inf = math.nan, math.inf


def _t(lib, values, dtype="float32", requires_grad=False):
    return lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=requires_grad)


def _z(lib, *shape, dtype="float32", requires_grad=False):
    return lib.zeros(shape, dtype=getattr(lib, dtype), requires_grad=requires_grad)


def _o(lib, *shape, dtype="float32", requires_grad=False):
    return lib.ones(shape, dtype=getattr(lib, dtype), requires_grad=requires_grad)


def _ints(lib, *shape):
    n = int(np.prod(shape))
    return (lib.arange(n) % 7 - 3).reshape(shape)


PROGRAMS = {
    # softmax family: integer/bool tensors (empty ones pass through), dim checked first
    "softmax empty int": lambda L: L.softmax(_z(L, 2, 0, dtype="int64"), 1),
    "softmax empty bool": lambda L: L.softmax(_z(L, 3, 0, 2, dtype="bool"), -3),
    "log_softmax empty int": lambda L: L.nn.functional.log_softmax(_z(L, 0, dtype="int64"), -1),
    "softmin empty int": lambda L: L.nn.functional.softmin(_z(L, 4, 0, dtype="int64"), dim=1),
    "softmax int": lambda L: L.softmax(_o(L, 2, 2, dtype="int64"), 0),
    "softmax int last dim": lambda L: _o(L, 2, 2, dtype="int64").softmax(1),
    "softmax bool bad dim": lambda L: L.softmax(_o(L, 1, dtype="bool"), 1),
    "log_softmax int bad dim": lambda L: L.log_softmax(_o(L, 1, dtype="int64"), -2),
    "softmax int to float": lambda L: L.softmax(_o(L, 2, 2, dtype="int64"), 0,
                                                dtype=L.float64),
    # batch_norm: PyTorch's argument checks and their order
    "bn momentum None": lambda L: L.nn.functional.batch_norm(
        _z(L, 2, 3), _o(L, 3), _o(L, 3), momentum=None),
    "bn eps 0 training": lambda L: L.nn.functional.batch_norm(
        _z(L, 2, 3), None, None, training=True, eps=0.0),
    "bn eps negative": lambda L: L.nn.functional.batch_norm(
        _z(L, 2, 3), _o(L, 3), _o(L, 3), eps=-1.0),
    "bn eps 0 eval": lambda L: L.nn.functional.batch_norm(
        _t(L, [[1.0, 2.0], [3.0, 5.0]]), _o(L, 2), _o(L, 2), eps=0.0),
    "bn empty batch training": lambda L: L.nn.functional.batch_norm(
        _z(L, 0, 2, 2), _o(L, 2), _o(L, 2), bias=_t(L, [0.0, 2.0]), training=True),
    "bn empty batch eval without stats": lambda L: L.nn.functional.batch_norm(
        _z(L, 0, 3), None, None),
    "bn empty channels with weight": lambda L: L.nn.functional.batch_norm(
        _z(L, 0, 0), _z(L, 0), _z(L, 0), weight=_z(L, 0)),
    "bn one stat training": lambda L: L.nn.functional.batch_norm(
        _z(L, 2, 3), None, _o(L, 3), training=True),
    "bn missing running_var eval": lambda L: L.nn.functional.batch_norm(
        _z(L, 2, 3), _o(L, 3), None),
    "bn 2-d running stats": lambda L: L.nn.functional.batch_norm(
        _z(L, 2, 3), _o(L, 3), _o(L, 3, 1)),
    "bn float64 input float32 stats": lambda L: L.nn.functional.batch_norm(
        _z(L, 2, 2, dtype="float64"), _o(L, 2), _o(L, 2)),
    "bn float32 input float64 weight": lambda L: L.nn.functional.batch_norm(
        _z(L, 2, 2), _o(L, 2), _o(L, 2), weight=_o(L, 2, dtype="float64")),
    "bn int input": lambda L: L.nn.functional.batch_norm(
        _z(L, 2, 2, dtype="int64"), None, None, training=True),
    # layer_norm: PyTorch's row moments at the extremes
    "layer_norm mean squared overflows": lambda L: L.nn.functional.layer_norm(
        _t(L, [[-0.5], [-1e38]]), (1,), weight=_t(L, [-2.0]), bias=_t(L, [-1e38])),
    "layer_norm huge row": lambda L: L.nn.functional.layer_norm(
        _t(L, [0.0, 3.0, 1e38, -2.0]), (4,)),
    "layer_norm constant rows": lambda L: L.nn.functional.layer_norm(
        _t(L, [[3e18, 3e18, 3e18], [1.1, 1.1, 1.1]]), (3,)),
    "layer_norm spread overflows": lambda L: L.nn.functional.layer_norm(
        _t(L, [2e19] + [0.0] * 6), (7,)),
    # activations
    "elu of -0.0": lambda L: L.nn.functional.elu(_t(L, [-0.0, 0.0, -1.5])),
    "gelu of inf": lambda L: L.nn.functional.gelu(_t(L, [inf, 0.5, -inf, nan])),
    "gelu of inf, strided": lambda L: L.nn.functional.gelu(_t(L, [inf, 0.5, inf, 1.0])[::2]),
    "gelu of one inf": lambda L: L.nn.functional.gelu(_t(L, [inf])),
    "attention math path scales both sides": lambda L: L.nn.functional.scaled_dot_product_attention(
        _t(L, [[[1.5, 3.5]], [[-1.5, -1e38]]]), _t(L, [[[-0.5, 0.5], [1.0, 2.5]]] * 2),
        _t(L, [[[-1.0, -1.0], [1.5, -3.5]]] * 2)),
    # dropout keeps integer and bool dtypes; refuses to scale them
    "dropout bool p=1": lambda L: L.nn.functional.dropout(_o(L, 2, 2, dtype="bool"), 1.0),
    "dropout int p=1": lambda L: L.nn.functional.dropout(_ints(L, 4, 2), p=1.0),
    "dropout int p=0.5": lambda L: L.nn.functional.dropout(_ints(L, 4, 2), p=0.5),
    "dropout empty int p=0.5": lambda L: L.nn.functional.dropout(_z(L, 0, 2, dtype="int64")),
    # conv: bias dtype first, weight dtype after the shape checks, integer convolution
    "conv1d int64": lambda L: L.nn.functional.conv1d(
        _ints(L, 1, 2, 6), _ints(L, 2, 2, 3), _ints(L, 2), stride=2, padding=1),
    "conv2d int64 dilated groups": lambda L: L.nn.functional.conv2d(
        _ints(L, 1, 2, 5, 5), _ints(L, 4, 1, 2, 2), None, dilation=2, groups=2),
    "conv1d int input float weight": lambda L: L.nn.functional.conv1d(
        _ints(L, 1, 1, 5), _o(L, 2, 1, 3, dtype="float64")),
    "conv1d float32 input float64 weight": lambda L: L.nn.functional.conv1d(
        _o(L, 1, 1, 5), _o(L, 2, 1, 3, dtype="float64")),
    "conv1d bias dtype before shapes": lambda L: L.nn.functional.conv1d(
        _o(L, 1, 2, 5), _o(L, 2, 1, 3), _o(L, 2, dtype="float64")),
    "conv1d shapes before weight dtype": lambda L: L.nn.functional.conv1d(
        _o(L, 1, 2, 5), _o(L, 2, 1, 3, dtype="float64")),
    "conv1d bool": lambda L: L.nn.functional.conv1d(
        _o(L, 1, 1, 5, dtype="bool"), _o(L, 2, 1, 3), None),
    "conv2d bool dilated": lambda L: L.nn.functional.conv2d(
        _o(L, 1, 1, 5, 5, dtype="bool"), _o(L, 2, 1, 3, 3, dtype="bool"), dilation=2),
    "conv1d same padding casts the bias": lambda L: L.nn.functional.conv1d(
        _t(L, [[[0.0, 4e5, -3e3, 1.0]]]), _o(L, 2, 1, 3), _o(L, 2, dtype="bool"),
        dilation=2, padding="same"),
    "conv2d same padding float32 batch refuses the bias": lambda L: L.nn.functional.conv2d(
        _o(L, 2, 1, 4, 4), _o(L, 1, 1, 3, 3), _o(L, 1, dtype="bool"), dilation=2,
        padding="same"),
    "conv1d same padding float64 batch casts the bias": lambda L: L.nn.functional.conv1d(
        _o(L, 2, 1, 5, dtype="float64"), _o(L, 1, 1, 3, dtype="float64"),
        _o(L, 1, dtype="int64"), padding="same"),
    "conv1d empty batch mixed dtypes": lambda L: L.nn.functional.conv1d(
        _z(L, 0, 1, 5, dtype="int64"), _o(L, 2, 1, 3, dtype="float64")),
    # pooling of integer tensors
    "max_pool2d int64": lambda L: L.nn.functional.max_pool2d(
        _ints(L, 1, 4, 4), 3, 2, 1, ceil_mode=True, return_indices=True)[1],
    "max_pool1d int64 indices": lambda L: L.nn.functional.max_pool1d(
        _ints(L, 2, 5), 3, 2, 1, return_indices=True)[0],
    "max_pool1d int64 no indices": lambda L: L.nn.functional.max_pool1d(_ints(L, 1, 2, 5), 2),
    "max_pool2d bool": lambda L: L.nn.functional.max_pool2d(_o(L, 1, 4, 4, dtype="bool"), 2),
    "avg_pool2d int64": lambda L: L.nn.functional.avg_pool2d(
        _ints(L, 1, 4, 4), 3, 2, 1, ceil_mode=True, count_include_pad=False),
    "avg_pool1d int64 truncates": lambda L: L.nn.functional.avg_pool1d(
        _t(L, [[[-3, -2, 5, 6, -7]]], "int64"), 3, 2, 1),
    "avg_pool2d int32": lambda L: L.nn.functional.avg_pool2d(
        _ints(L, 1, 4, 4).int(), 2),
    "adaptive_avg_pool2d int64": lambda L: L.nn.functional.adaptive_avg_pool2d(
        _ints(L, 1, 4, 4), 2),
    "adaptive_avg_pool2d empty int64": lambda L: L.nn.functional.adaptive_avg_pool2d(
        _z(L, 0, 4, 4, dtype="int64"), 2),
    "max_pool2d empty channels": lambda L: L.nn.functional.max_pool2d(_z(L, 2, 0, 4, 4), 2),
    # embedding: PyTorch's messages for weights without rows or columns
    "embedding no rows": lambda L: L.nn.functional.embedding(
        _t(L, [[0, 1]], "int64"), _z(L, 0, 3)),
    "embedding no columns out of range": lambda L: L.nn.functional.embedding(
        _t(L, [[2, 2, 1]], "int64"), _z(L, 2, 0), padding_idx=0),
    "embedding padding_idx 0 no rows": lambda L: L.nn.functional.embedding(
        _z(L, 0, 4, 3, dtype="int64"), _z(L, 0, 1), padding_idx=0),
    "embedding padding_idx too large": lambda L: L.nn.functional.embedding(
        _z(L, 2, dtype="int64"), _z(L, 2, 1), padding_idx=2),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_matches_pytorch(name):
    # repr: NaN equals NaN, -0.0 differs from 0.0
    assert repr(_outcome(PROGRAMS[name], mt)) == repr(_outcome(PROGRAMS[name], torch))


def _node(fn, lib) -> tuple:
    """(grad_fn name or None, requires_grad, is the input returned itself)."""
    x = _z(lib, 0, 2, requires_grad=True)
    r = fn(lib, x)
    return (None if r.grad_fn is None else r.grad_fn.name(), r.requires_grad, r is x)


GRAPHS = {
    "bn empty eval": lambda L, x: L.nn.functional.batch_norm(x, _o(L, 2), _o(L, 2)),
    "bn empty eval weight": lambda L, x: L.nn.functional.batch_norm(
        x, _o(L, 2), _o(L, 2), weight=_o(L, 2, requires_grad=True)),
    "bn empty train bias": lambda L, x: L.nn.functional.batch_norm(
        x, None, None, bias=_o(L, 2), training=True),
    "dropout empty": lambda L, x: L.nn.functional.dropout(x, 0.5),
    "attention no keys": lambda L, x: L.nn.functional.scaled_dot_product_attention(
        _o(L, 1, 3, 2), x.reshape(1, 0, 2), x.reshape(1, 0, 2)),
    "attention no queries": lambda L, x: L.nn.functional.scaled_dot_product_attention(
        x.reshape(1, 1, 0, 2), _o(L, 1, 1, 3, 2), _o(L, 1, 1, 3, 2)),
    "conv1d empty batch": lambda L, x: L.nn.functional.conv1d(
        x.reshape(0, 2, 1).expand(0, 2, 3), _o(L, 3, 2, 2, dtype="float64")),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_graph_matches_pytorch(name):
    assert _node(GRAPHS[name], mt) == _node(GRAPHS[name], torch)


def _grads(lib, fn, values, dtype="float32"):
    x = _t(lib, values, dtype, requires_grad=True)
    y = fn(lib, x)
    (g,) = lib.autograd.grad(y.sum(), [x], allow_unused=True)
    return np.asarray(g.detach().numpy()).tolist(), str(g.dtype).replace("torch.", "")


GRADIENTS = {
    "bn empty eval weight": (lambda L, w: L.nn.functional.batch_norm(
        _z(L, 0, 2), _o(L, 2), _o(L, 2), weight=w), [1.5, 2.0]),
    "conv1d same padding float64 bias": (lambda L, b: L.nn.functional.conv1d(
        _t(L, [[[1.0, 2.0, -1.0, 0.5]]]), _o(L, 2, 1, 3), b, padding="same"), [1.0, 2.0]),
    "layer_norm constant row": (lambda L, x: L.nn.functional.layer_norm(
        x, (3,)) * _t(L, [1.0, 2.0, 3.0]), [3e18, 3e18, 3e18]),
}


@pytest.mark.parametrize("name", list(GRADIENTS))
def test_gradients_match_pytorch(name):
    fn, values = GRADIENTS[name]
    dtype = "float64" if "float64" in name else "float32"
    assert repr(_grads(mt, fn, values, dtype)) == repr(_grads(torch, fn, values, dtype))


def _bn(L, x, rm, rv, w=None, b=None, dtype="float32", **kw):
    """F.batch_norm on lists; a weight given as a tuple is made non-contiguous (every other
    element of a twice-as-long tensor)."""
    t = {k: None if v is None else _t(L, v, dtype) for k, v in (("rm", rm), ("rv", rv), ("b", b))}
    if isinstance(w, tuple):
        w = _t(L, [v for e in w for v in (e, nan)], dtype)[::2]
    elif w is not None:
        w = _t(L, w, dtype)
    return L.nn.functional.batch_norm(_t(L, x, dtype), t["rm"], t["rv"], weight=w,
                                      bias=t["b"], **kw)


def _bn_rerun(L, op):
    """A training batch_norm whose saved running stat is then changed in place (or not)."""
    x = _o(L, 4, 3, requires_grad=True)
    rm, rv = _z(L, 3), _o(L, 3)
    y = L.nn.functional.batch_norm(x * _t(L, [1.0, 2.0, 3.0, 4.0]).reshape(4, 1), rm, rv,
                                   training=True)
    op(rm, rv)
    (g,) = L.autograd.grad(y.sum(), [x])
    return g


BATCH_NORM = {
    # (N, C, L) float32 statistics sum in float64, squares stay float32 (overflow -> 0)
    "bn train f32 huge 3d": lambda L: _bn(
        L, [[[1e38, 3e38]], [[-3e38, 1e38]]], None, None, training=True),
    "bn train f32 huge 3d square overflow": lambda L: _bn(
        L, [[[3e38, -3e38]], [[3e38, -3e38]]], None, None, b=[-3.5], training=True),
    # (N, C) inputs: per-thread float32 partial sums (inf + -inf is NaN)
    "bn train f32 2d partial sums": lambda L: _bn(
        L, [[3e38], [3e38], [-3e38], [-3e38]], None, None, training=True),
    # the fast path's fused multiply-add: a constant channel keeps beta's rounding error
    "bn train f64 constant channel": lambda L: _bn(
        L, [[-3e38, 1.0], [-3e38, 2.0], [-3e38, 1.0], [-3e38, 5.0]], None, None,
        dtype="float64", training=True),
    "bn eval f32 product overflow": lambda L: _bn(
        L, [[2.0, -4.0]], [4.0, -2.5], [2.5, 3.5], w=[-0.125, -3e38], eps=0.0),
    # a non-contiguous weight: PyTorch's elementwise ((x - mean) * invstd) * w + b
    "bn eval f64 strided inf weight": lambda L: _bn(
        L, [[-2.0, 4.0], [0.0, 0.0]], [1e38, 0.0], [2.0, 2.5], w=(inf, 1.0), dtype="float64",
        eps=0.0),
    "bn eval f32 strided weight inf bias": lambda L: _bn(
        L, [[2.5, 0.0]], [-1.0, 1.0], [1.0, 1.5], w=(-1e38, inf), b=[inf, 4.0]),
    "bn train f32 strided weight -0": lambda L: _bn(
        L, [[[3e38, -3e38]], [[3e38, -3e38]]], None, None, w=(-2.0,), training=True),
    # running stats are saved for backward; the forward's own update is no modification
    "bn running stats untouched": lambda L: _bn_rerun(L, lambda rm, rv: None),
    "bn running_mean modified": lambda L: _bn_rerun(L, lambda rm, rv: rm.mul_(2)),
    "bn running_var modified": lambda L: _bn_rerun(L, lambda rm, rv: rv.add_(1)),
}


@pytest.mark.parametrize("name", list(BATCH_NORM))
def test_batch_norm_matches_pytorch(name):
    assert repr(_outcome(BATCH_NORM[name], mt)) == repr(_outcome(BATCH_NORM[name], torch))
