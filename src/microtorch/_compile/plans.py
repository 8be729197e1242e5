"""Replay plans: for each supported op, the kernel calls that redo it over fixed buffers.

A plan is `plan(op, b) -> (forward_steps, backward)`: `forward_steps` is a list of
`(callable, args)` pairs over buffers from the builder `b`; `backward()` (called later, ops
in reverse order) returns the steps of the op's backward. Every step is the very kernel or
numpy ufunc that the op's eager `forward`/`backward` calls, with the same operands in the
same order, so replay is bit-identical to eager mode; an op whose eager numerics take many
data-dependent steps is replayed by calling its own forward and backward (`_eager`).
Variants a plan does not cover raise `GraphBreak` (the call then runs eagerly).
"""
from __future__ import annotations

import numpy as np

from .. import _kernels as K
from .. import random as _random
from .._tensor import Tensor
from ..autograd.engine import sum_to_shape
from ..ops import activation as A
from ..ops import dropout as D
from ..ops import loss as L
from ..ops import matmul as M
from ..ops import normalization as N
from ..ops.shape import wrap_dim
from .recorder import GraphBreak, Slot, TensorOption


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
    steps += _overflow_redo(x, w.T, 0 if bias is None else bias, y)

    def backward():
        g = b.grad(op.outs[0])
        gx = b.dest(slots[0]) if nx else None
        gw = b.dest(slots[1]) if nw else None
        gb = b.dest(slots[2]) if nb else None
        steps = [(K.linear_backward, (g, x, w, gx, gw, gb, 0.0, 0.0))]
        if gx is not None:
            steps += _overflow_redo(g, w, None, gx)
        if gw is not None:
            steps += _overflow_redo(g.T, x, None, gw)
        return steps

    return steps, backward


def _redo_product(a: np.ndarray, b: np.ndarray, add, out: np.ndarray) -> None:
    if M._small_f32_overflow(a, b, out.size):
        out[...] = M._sequential(a, b) if add is None else M._sequential(a, b) + add


def _overflow_redo(a: np.ndarray, b: np.ndarray, add, out: np.ndarray) -> list:
    """The step with which eager linear redoes a small float32 product `a @ b` (+ `add`)
    whose terms may overflow, term by term as PyTorch (matmul's check decides at each
    replay, as it does in eager mode); none for float64."""
    if a.dtype != np.float32:
        return []
    return [(_redo_product, (a, b, add, out))]


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


# ------------------------------------------------------------------------ eager calls
def _bump(box: list) -> None:
    box[0] += 1


def _call_forward(forward, ctx, args: list, kwargs: dict, out: np.ndarray) -> None:
    np.copyto(out, forward(ctx, *args, **kwargs))


def _call_backward(backward, ctx, g: np.ndarray, *dests) -> None:
    """The op's backward; each gradient summed back to its input's shape into its `dests`
    array (positional, so that `BufferSet` can rebind fresh gradient arrays there)."""
    for grad, dest in zip(backward(ctx, g), dests):
        if dest is not None:
            np.copyto(dest, sum_to_shape(grad, dest.shape, dest.dtype))


def _eager(op, b):
    """Replay an op by calling its own `forward` and `backward` on the buffers, with a
    node of its class as ctx (one per buffer set): exact by construction, for ops whose
    numerics a kernel plan would have to repeat step by step (batch norm: its statistics'
    summation order, fused multiply-adds at the extremes, float64 accumulation)."""
    if len(op.outs) != 1:
        raise GraphBreak(f"{op.cls.__name__} with several outputs has no replay plan")
    cls = op.cls
    ctx = cls._backward_cls.__new__(cls._backward_cls)
    ctx.needs_input_grad = op.needs
    args = [b.val(a) for a in op.args]
    kwargs = {}
    for key, value in op.kwargs.items():
        if isinstance(value, TensorOption):
            slot = value.slot
            value = slot.member if slot.kind == "member" else Tensor._wrap(b.val(slot))
        kwargs[key] = b.val(value)
    steps = [(_call_forward, (cls.forward, ctx, args, kwargs, b.out(op.outs[0])))]

    def backward():
        dests = [b.dest(a) if need else None for a, need in zip(op.args, op.needs)]
        return [(_call_backward, (cls.backward, ctx, b.grad(op.outs[0]), *dests))]

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
    N.BatchNorm: _eager,
}
"""The ops `microtorch.compile` replays (exact classes: a subclass is another node)."""
