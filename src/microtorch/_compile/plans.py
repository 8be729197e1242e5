"""Replay plans: for each supported op, the kernel calls that redo it over fixed buffers.

A plan is `plan(op, b) -> (forward_steps, backward)`: `forward_steps` is a list of
`(callable, args)` pairs over buffers from the builder `b`; `backward()` (called later, ops
in reverse order) returns the steps of the op's backward. Every step is the very kernel or
numpy ufunc that the op's eager `forward`/`backward` calls, with the same operands in the
same order, so replay is bit-identical to eager mode; variants a plan does not cover raise
`GraphBreak` (the call then runs eagerly).
"""
from __future__ import annotations

import numpy as np

from .. import _kernels as K
from .. import random as _random
from ..ops import activation as A
from ..ops import dropout as D
from ..ops import loss as L
from ..ops import matmul as M
from ..ops import normalization as N
from ..ops.shape import wrap_dim
from .recorder import GraphBreak, Slot


def _float_array(x: np.ndarray, what: str) -> None:
    if x.dtype not in (np.float32, np.float64):
        raise GraphBreak(f"{what} on {x.dtype} has no replay plan")


def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1)


# ------------------------------------------------------------------------------- linear
def _linear(op, b, has_bias: bool):
    if has_bias:
        bias, x, w = (b.val(a) for a in op.args)
        nb, nx, nw = op.needs
        slots = op.args[1], op.args[2], op.args[0]
    else:
        bias = None
        x, w = (b.val(a) for a in op.args)
        nb, (nx, nw) = False, op.needs
        slots = op.args[0], op.args[1], None
    if x.ndim != 2 or not w.flags.c_contiguous or (bias is not None
                                                     and not bias.flags.c_contiguous):
        raise GraphBreak("linear on a non-2-D input or non-contiguous weight has no replay plan")
    y = b.out(op.outs[0])
    steps = [(K.linear_forward, (x, w, bias, y))]

    def backward():
        g = b.grad(op.outs[0])
        gx = b.dest(slots[0]) if nx else None
        gw = b.dest(slots[1]) if nw else None
        gb = b.dest(slots[2]) if nb else None
        return [(K.linear_backward, (g, x, w, gx, gw, gb, 0.0, 0.0))]

    return steps, backward


# -------------------------------------------------------------------------- activations
def _elementwise(forward_kernel, backward_kernel):
    def plan(op, b):
        x = b.val(op.args[0])
        _float_array(x, op.cls.__name__)
        y = b.out(op.outs[0])
        steps = [(forward_kernel, (_flat(x), _flat(y)))]

        def backward():
            g = b.grad(op.outs[0])
            return [(backward_kernel, (_flat(g), _flat(y), _flat(b.dest(op.args[0]))))]

        return steps, backward

    return plan


def _softmax(forward_kernel, backward_kernel):
    def plan(op, b):
        x = b.val(op.args[0])
        _float_array(x, op.cls.__name__)
        if x.ndim != 2 or wrap_dim(op.kwargs["dim"], 2) != 1:
            raise GraphBreak(f"{op.cls.__name__} other than over dim 1 of a 2-D input has no "
                             "replay plan")
        y = b.out(op.outs[0])
        steps = [(forward_kernel, (x, y))]

        def backward():
            return [(backward_kernel, (b.grad(op.outs[0]), y, b.dest(op.args[0])))]

        return steps, backward

    return plan


# -------------------------------------------------------------------------------- losses
def _pointwise(forward_kernel, backward_kernel, n_weights: int, target_grad: bool):
    """mse (target_grad: its target's gradient is -gx), bce, bce_with_logits."""

    def plan(op, b):
        x, t = b.val(op.args[0]), b.val(op.args[1])
        weights = [op.kwargs.get(k) for k in ("weight", "pos_weight")[:n_weights]]
        _float_array(x, op.cls.__name__)
        if x.shape != t.shape or x.dtype != t.dtype or any(w is not None for w in weights):
            raise GraphBreak(f"{op.cls.__name__} with broadcasting, mixed dtypes or weights "
                             "has no replay plan")
        if op.needs[1] and not target_grad:
            raise GraphBreak(f"{op.cls.__name__} with a target that requires grad has no "
                             "replay plan")
        red = op.kwargs["reduction"]
        out = b.out(op.outs[0])
        xf, tf = _flat(x), _flat(t)
        steps = [(forward_kernel, (xf, tf, *weights, _flat(out), red))]

        def backward():
            g = _flat(b.grad(op.outs[0]))
            gx = _flat(b.dest(op.args[0]) if op.needs[0] else b.scratch(x.shape, x.dtype))
            steps = [(backward_kernel, (g, xf, tf, *weights, gx, red))]
            if op.needs[1]:
                steps.append((np.negative, (gx, _flat(b.dest(op.args[1])))))
            return steps

        return steps, backward

    return plan


def _ce_forward(x, t, ignore_index, eps, log_probs, out, reduction, denom):
    denom[0] = K.cross_entropy_forward(x, t, None, ignore_index, eps, log_probs, out, reduction)


def _ce_backward(g, log_probs, t, ignore_index, eps, gx, reduction, denom):
    K.cross_entropy_backward(g, log_probs, t, None, ignore_index, eps, gx, reduction, denom[0])


def _cross_entropy(op, b):
    x = b.val(op.args[0])
    target = op.kwargs["target"]
    t = b.val(target)
    _float_array(x, "cross_entropy")
    if x.ndim != 2 or op.kwargs["weight"] is not None or not isinstance(target, Slot) \
            or t.dtype != np.int64 or t.ndim != 1:
        raise GraphBreak("cross_entropy other than 2-D logits and int64 class targets "
                         "without weights has no replay plan")
    kw = op.kwargs
    ignore, eps, red = kw["ignore_index"], kw["label_smoothing"], kw["reduction"]
    out = b.out(op.outs[0])
    log_probs = b.scratch(x.shape, x.dtype)
    denom = [0.0]
    steps = [(_ce_forward, (x, t, ignore, eps, log_probs, _flat(out), red, denom))]

    def backward():
        g = _flat(b.grad(op.outs[0]))
        return [(_ce_backward, (g, log_probs, t, ignore, eps, b.dest(op.args[0]), red, denom))]

    return steps, backward


# ------------------------------------------------------------------------------- dropout
def _draw(generator, out: np.ndarray) -> None:
    """Uniform float32 numbers from the generator's current stream (looked up at each
    replay: `manual_seed` replaces the stream)."""
    _random.rng(generator).random(out=out, dtype=np.float32)


def _dropout(op, b):
    x = b.val(op.args[0])
    p = op.kwargs.get("p", 0.5)
    _float_array(x, "dropout")
    if not 0 <= p < 1:
        raise GraphBreak("dropout with p >= 1 has no replay plan")
    dt = x.dtype
    draws = np.empty(x.shape, np.float32)
    keep = np.empty(x.shape, np.bool_)
    mask = b.scratch(x.shape, dt)
    y = b.out(op.outs[0])
    steps = [(_draw, (op.kwargs.get("generator"), draws)),
             (np.greater_equal, (draws, p, keep)),
             (np.copyto, (mask, keep)),
             (np.multiply, (mask, dt.type(1.0 / (1.0 - p)), mask)),
             (np.multiply, (x, mask, y))]

    def backward():
        return [(np.multiply, (b.grad(op.outs[0]), mask, b.dest(op.args[0])))]

    return steps, backward


# ---------------------------------------------------------------------------- batch norm
def _bump(box: list) -> None:
    box[0] += 1


def _mean_steps(b, a: np.ndarray, inv_n: float, out: np.ndarray) -> list:
    """out = mean of `a` over rows, keepdims, exactly as normalization._mean computes it."""
    total = b.scratch(out.shape, out.dtype)
    return [(np.add.reduce, (a, (0,), None, total, True)), (np.multiply, (total, inv_n, out))]


def _batch_norm(op, b):
    x, w, bias = (b.val(a) for a in op.args)
    kw = op.kwargs
    rm, rv = kw.get("running_mean"), kw.get("running_var")
    training, momentum, eps = kw["training"], kw["momentum"], kw["eps"]
    _float_array(x, "batch_norm")
    if x.ndim != 2 or (rm is None) != (rv is None) or (not training and rm is None):
        raise GraphBreak("batch_norm other than BatchNorm1d on 2-D input has no replay plan")
    n, c = x.shape
    dt = x.dtype
    stat = (1, c)
    xhat, invstd = b.scratch(x.shape, dt), b.scratch(stat, dt)
    tmp = b.scratch(stat, dt)
    steps = []
    if training:
        mean, var, sq = b.scratch(stat, dt), b.scratch(stat, dt), b.scratch(x.shape, dt)
        steps += _mean_steps(b, x, 1.0 / n, mean)
        steps += [(np.subtract, (x, mean, xhat)), (np.square, (xhat, sq))]
        steps += _mean_steps(b, sq, 1.0 / n, var)
        steps += [(np.add, (var, eps, tmp)), (np.sqrt, (tmp, tmp)), (np.divide, (1, tmp, invstd)),
                  (np.multiply, (xhat, invstd, xhat))]
        if rm is not None:
            run_m, run_v = b.val(rm), b.val(rv)
            upd = b.scratch(stat, dt)
            steps += [(np.multiply, (run_m, 1.0 - momentum, run_m)),
                      (np.multiply, (mean, momentum, upd)),
                      (np.add, (run_m, upd.reshape(run_m.shape), run_m)),
                      (np.multiply, (run_v, 1.0 - momentum, run_v)),
                      (np.multiply, (var, n / (n - 1), upd)),
                      (np.multiply, (upd, momentum, upd)),
                      (np.add, (run_v, upd.reshape(run_v.shape), run_v)),
                      (_bump, (rm.member._version,)), (_bump, (rv.member._version,))]
    else:
        run_m, run_v = b.val(rm).reshape(stat), b.val(rv).reshape(stat)
        steps += [(np.add, (run_v, run_v.dtype.type(eps), tmp)), (np.sqrt, (tmp, tmp)),
                  (np.divide, (1, tmp, invstd)),
                  (np.subtract, (x, run_m, xhat)), (np.multiply, (xhat, invstd, xhat))]
    y = b.out(op.outs[0])
    w2 = None if w is None else w.reshape(stat)
    steps.append((np.multiply, (xhat, w2, y)) if w2 is not None else (np.copyto, (y, xhat)))
    if bias is not None:
        steps.append((np.add, (y, bias.reshape(stat), y)))

    def backward():
        g = b.grad(op.outs[0])
        nx, nw, nb = op.needs
        steps = []
        if nx:
            gxhat = g
            if w2 is not None:
                gxhat = b.scratch(x.shape, dt)
                steps.append((np.multiply, (g, w2, gxhat)))
            gx = b.dest(op.args[0])
            if training:
                prod, m1, m2 = b.scratch(x.shape, dt), b.scratch(stat, dt), b.scratch(stat, dt)
                steps.append((np.multiply, (gxhat, xhat, prod)))
                steps += _mean_steps(b, prod, 1.0 / n, m1)
                steps.append((np.multiply, (xhat, m1, gx)))
                steps += _mean_steps(b, gxhat, 1.0 / n, m2)
                steps += [(np.add, (gx, m2, gx)), (np.subtract, (gxhat, gx, gx)),
                          (np.multiply, (gx, invstd, gx))]
            else:
                steps.append((np.multiply, (gxhat, invstd, gx)))
        if nw:
            prod = b.scratch(x.shape, dt)
            steps += [(np.multiply, (g, xhat, prod)),
                      (np.add.reduce, (prod, (0,), None, b.dest(op.args[1]), False))]
        if nb:
            steps.append((np.add.reduce, (g, (0,), None, b.dest(op.args[2]), False)))
        return steps

    return steps, backward


PLANS = {
    M.Linear: lambda op, b: _linear(op, b, True),
    M.LinearNoBias: lambda op, b: _linear(op, b, False),
    A.Relu: _elementwise(K.relu_forward, K.relu_backward),
    A.Sigmoid: _elementwise(K.sigmoid_forward, K.sigmoid_backward),
    A.Tanh: _elementwise(K.tanh_forward, K.tanh_backward),
    A.Softmax: _softmax(K.softmax_forward, K.softmax_backward),
    A.LogSoftmax: _softmax(K.log_softmax_forward, K.log_softmax_backward),
    L.MseLoss: _pointwise(K.mse_forward, K.mse_backward, 0, True),
    L.BinaryCrossEntropy: _pointwise(K.bce_forward, K.bce_backward, 1, False),
    L.BinaryCrossEntropyWithLogits: _pointwise(K.bce_with_logits_forward,
                                               K.bce_with_logits_backward, 2, False),
    L.CrossEntropy: _cross_entropy,
    D.Dropout: _dropout,
    N.BatchNorm: _batch_norm,
}
"""The ops `microtorch.compile` replays (exact classes: a subclass is another node)."""
