"""Loss functions, each ONE graph node (an `ArrayFunction`) around a fused Cython kernel,
except l1_loss, which PyTorch composes from sub, abs and mean/sum (so does microtorch).

Pointwise losses (mse, bce, bce_with_logits) flatten input and target (broadcast to
one shape and one float dtype) and hand flat buffers to the kernels. Cross-entropy and
NLL move the class dimension last, flatten to (rows, C) and call the row kernels; the
gradient is moved back to the input's layout in backward. Each node saves the inputs' own
arrays, so their version counters catch in-place changes before backward, and rebuilds the
kernels' layout from them (free when they already have it). Class targets, class weights,
BCE weights and `pos_weight` are constants, as in PyTorch: keyword options of the node
(no edge, no gradient), copied in forward so that later in-place changes cannot reach
backward.

These functions take a reduction code (0 none, 1 mean, 2 sum) and arguments whose shapes
`microtorch.nn.functional` has checked; the BCE losses check dtypes, values and weights
here, in the order PyTorch's kernels do.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from .. import _kernels as K
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ..autograd.node import pass_through, pass_through_type
from . import arithmetic as _ar
from . import reduction as _red
from . import shape as _shape
from . import unary as _unary

NONE, MEAN, SUM = K.REDUCTION_NONE, K.REDUCTION_MEAN, K.REDUCTION_SUM


# ---------------------------------------------------------------- array helpers
def work_dtype(dt: np.dtype) -> np.dtype:
    """The dtype a kernel computes in: float32/float64 as is, float16 in float32."""
    return dt if dt.itemsize >= 4 else np.dtype(np.float32)


def result_float_dtype(name: str, *arrays: np.ndarray) -> np.dtype:
    """PyTorch's promoted dtype of the operands, which must end up floating. The losses
    broadcast their operands to one shape first, so a 0-d one promotes like the others."""
    dt = arrays[0].dtype
    for a in arrays[1:]:
        if a is not None and a.dtype != dt:
            dt = _dtype.promote(np.empty((1,), dt), np.empty((1,), a.dtype))
    if dt.kind != "f":
        raise NotImplementedError(f'"{name}" not implemented for \'{_dtype.scalar_name(dt)}\'')
    return dt


def flat(a: np.ndarray, shape: tuple, dt: np.dtype) -> np.ndarray:
    """`a` broadcast to `shape`, as a flat C-contiguous array of dtype `dt` (no copy if
    it already is one)."""
    if a.shape != shape:
        a = np.broadcast_to(a, shape)
    return np.ascontiguousarray(a, dtype=dt).reshape(-1)


def _out(n: int, reduction: int, dt: np.dtype) -> np.ndarray:
    return np.empty(n if reduction == NONE else 1, dtype=dt)


def _result(out: np.ndarray, shape: tuple, reduction: int, dt: np.dtype) -> np.ndarray:
    """The kernel's output: `shape` for none, 0-d otherwise, in dtype `dt`."""
    res = out.reshape(shape) if reduction == NONE else out.reshape(())
    return res if res.dtype == dt else res.astype(dt)


def _grad_flat(g: np.ndarray, dt: np.dtype) -> np.ndarray:
    return np.ascontiguousarray(g, dtype=dt).reshape(-1)


def _target_grad(d: np.ndarray, g: np.ndarray, w: np.ndarray | None, reduction: int
                 ) -> np.ndarray:
    """A target's gradient from its per-element derivative `d`, in PyTorch's order:
    times the incoming gradient, times the weight, then divided by n for the mean."""
    with np.errstate(over="ignore", invalid="ignore"):
        gt = d * (g if reduction == NONE else g.reshape(()))
        if w is not None:
            gt = gt * w
        return gt / d.size if reduction == MEAN else gt


# ------------------------------------------------------------- pointwise losses
def _pointwise_forward(ctx, kernel, name: str, x0: np.ndarray, t0: np.ndarray,
                       weights: tuple, reduction: int, out_dtype: np.dtype | None = None
                       ) -> np.ndarray:
    """Run one flat pointwise loss kernel.

    `weights` are the optional per-element arrays the kernel takes after the target
    (weight, pos_weight), each None or broadcastable to the input's shape. The inputs' own
    arrays are saved (their version counters guard them); backward flattens them again,
    which costs nothing when they already are C-contiguous, of the work dtype and shape.
    The result has `out_dtype`, by default the promoted dtype the kernel computes in.
    """
    dt = result_float_dtype(name, x0, t0)
    wd = work_dtype(dt)
    shape = x0.shape if x0.shape == t0.shape else np.broadcast_shapes(x0.shape, t0.shape)
    x, t, *extra = (None if a is None else flat(a, shape, wd) for a in (x0, t0, *weights))
    out = _out(x.size, reduction, wd)
    kernel(x, t, *extra, out, reduction)
    ctx.reduction, ctx.out_shape, ctx.work_dtype = reduction, shape, wd
    ctx.save_for_backward(x0, t0, *weights)
    return _result(out, shape, reduction, dt if out_dtype is None else out_dtype)


def _flat_saved(ctx, g: np.ndarray) -> tuple:
    """(g, input, target, *weights) as the flat work-dtype arrays the kernels take."""
    shape, wd = ctx.out_shape, ctx.work_dtype
    return (_grad_flat(g, wd),
            *(None if a is None else flat(a, shape, wd) for a in ctx.saved_tensors))


def _pointwise_grads(ctx, gx: np.ndarray, gt: np.ndarray | None) -> tuple:
    """The input's and target's gradients in the broadcast shape (the engine sums them back
    to each one's shape)."""
    shape = ctx.out_shape
    return (gx.reshape(shape) if ctx.needs_input_grad[0] else None,
            None if gt is None else gt.reshape(shape))


def constant(t: Tensor | None) -> np.ndarray | None:
    """A copy of a constant tensor argument's array (a keyword option of a node)."""
    return None if t is None else np.array(t._data)


class MseLoss(ArrayFunction):
    node_name = "MseLossBackward0"

    @staticmethod
    def forward(ctx, input, target, reduction):
        return _pointwise_forward(ctx, K.mse_forward, "mse_cpu", input, target, (), reduction)

    @staticmethod
    def backward(ctx, g):
        g, x, t = _flat_saved(ctx, g)
        gx = np.empty_like(x)
        K.mse_backward(g, x, t, gx, ctx.reduction)
        return _pointwise_grads(ctx, gx, -gx if ctx.needs_input_grad[1] else None)


class BinaryCrossEntropy(ArrayFunction):
    """-w (t log x + (1 - t) log(1 - x)); `weight` is a constant (no gradient)."""

    node_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, reduction):
        return _pointwise_forward(ctx, K.bce_forward, "binary_cross_entropy", input, target,
                                  (weight,), reduction)

    @staticmethod
    def backward(ctx, g):
        g, x, t, w = _flat_saved(ctx, g)
        gx = np.empty_like(x)
        K.bce_backward(g, x, t, w, gx, ctx.reduction)
        gt = None
        if ctx.needs_input_grad[1]:
            # PyTorch's d/dt: -logit(x) = log(1 - x) - log(x) unclamped (inf at 0 and 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                d = -np.log(x / (1 - x))
            gt = _target_grad(d, g, w, ctx.reduction)
        return _pointwise_grads(ctx, gx, gt)


class BinaryCrossEntropyWithLogits(ArrayFunction):
    """BCE of sigmoid(input) from the logits; `weight` and `pos_weight` are constants."""

    node_name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, pos_weight, reduction):
        # PyTorch computes the loss in place in (1 - target): the result has target's dtype
        out = _pointwise_forward(ctx, K.bce_with_logits_forward,
                                 "binary_cross_entropy_with_logits", input, target,
                                 (weight, pos_weight), reduction, out_dtype=target.dtype)
        if input.dtype != target.dtype:
            out = _bce_with_logits_mixed(input, target, weight, pos_weight, reduction)
        return out

    @staticmethod
    def backward(ctx, g):
        g, x, t, w, pw = _flat_saved(ctx, g)
        gx = np.empty_like(x)
        K.bce_with_logits_backward(g, x, t, w, pw, gx, ctx.reduction)
        gt = None
        if ctx.needs_input_grad[1]:
            # d/dt = -x, or log_sigmoid(-x) - pw log_sigmoid(x) with pos_weight
            if pw is None:
                d = -x
            else:
                soft = np.log1p(np.exp(-np.abs(x)))
                d = (np.minimum(-x, 0) - soft) - (np.minimum(x, 0) - soft) * pw
            gt = _target_grad(d, g, w, ctx.reduction)
        return _pointwise_grads(ctx, gx, gt)


def _bce_with_logits_mixed(x: np.ndarray, t: np.ndarray, w: np.ndarray | None,
                           pw: np.ndarray | None, reduction: int) -> np.ndarray:
    """BCE with logits of operands of different float dtypes, step by step as PyTorch's
    composition: each in-place step rounds to its destination's dtype (input's for the log
    sigmoid, target's for the loss), which the fused kernel (one dtype) cannot."""
    with np.errstate(over="ignore", invalid="ignore"):
        log_sig = np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))
        if pw is not None:
            log_sig = (log_sig * ((pw - 1) * t + 1)).astype(x.dtype, copy=False)
        loss = ((1 - t) * x).astype(t.dtype)
        loss = (loss - log_sig).astype(t.dtype, copy=False)
        if w is not None:
            loss = (loss * w).astype(t.dtype, copy=False)
        if reduction == NONE:
            return loss
        total = loss.sum(dtype=t.dtype)
        return np.asarray(total / t.dtype.type(loss.size) if reduction == MEAN else total)


def broadcast_pair(input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """torch.broadcast_tensors(input, target), which F's pointwise losses call first (each
    operand already of the common shape is returned as is)."""
    xs, ts = input._data.shape, target._data.shape
    if xs == ts:
        return input, target
    shape = np.broadcast_shapes(xs, ts)
    return (input if xs == shape else _shape.expand(input, shape),
            target if ts == shape else _shape.expand(target, shape))


def mse_loss(input: Tensor, target: Tensor, reduction: int = MEAN) -> Tensor:
    """(input - target)^2, reduced; input and target broadcast together."""
    return MseLoss.apply(input, target, reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: int = MEAN) -> Tensor:
    """|input - target|, reduced. PyTorch composes it from sub, abs and mean or sum, so its
    graph ends in AbsBackward0, MeanBackward0 or SumBackward0 and integer operands follow
    those ops' rules (an int64 sum is fine, an int64 mean is refused)."""
    x, t = broadcast_pair(input, target)
    loss = _unary.abs(_ar.sub(x, t))
    if reduction == NONE:
        return loss
    return _red.sum(loss) if reduction == SUM else _red.mean(loss)


def _first_outside_unit(a: np.ndarray) -> int:
    """Flat index of the first element outside [0, 1] (NaN included), or a.size."""
    bad = ~((a >= 0) & (a <= 1))
    return int(bad.argmax()) if bad.any() else a.size


def _check_bce(input: np.ndarray, target: np.ndarray, weight: np.ndarray | None) -> None:
    """binary_cross_entropy's checks in PyTorch's order: equal dtypes, a floating one,
    values in [0, 1] (the first offending element decides), a weight that broadcasts to
    the input's shape without enlarging it."""
    xd, td = input.dtype, target.dtype
    if xd != td:
        raise RuntimeError(f"Found dtype {_dtype.scalar_name(td)} but expected "
                           f"{_dtype.scalar_name(xd)}")
    if xd.kind != "f":
        raise NotImplementedError(
            f'"binary_cross_entropy" not implemented for \'{_dtype.scalar_name(xd)}\'')
    if input.size:
        bx, bt = _first_outside_unit(input), _first_outside_unit(target)
        if min(bx, bt) < input.size:
            which = "input" if bx <= bt else "target"
            raise RuntimeError(f"all elements of {which} should be between 0 and 1")
    if weight is not None:
        _check_inplace_broadcast(input.shape, weight.shape)


def _broadcast_shapes(a: tuple, b: tuple) -> tuple:
    """The broadcast shape of `a` and `b`, or PyTorch's error for the first mismatch."""
    for i in range(1, min(len(a), len(b)) + 1):
        if a[-i] != b[-i] and a[-i] != 1 and b[-i] != 1:
            raise RuntimeError(f"The size of tensor a ({a[-i]}) must match the size of tensor "
                               f"b ({b[-i]}) at non-singleton dimension {max(len(a), len(b)) - i}")
    return np.broadcast_shapes(a, b)


def _check_inplace_broadcast(shape: tuple, other: tuple) -> None:
    """PyTorch's error for an in-place op whose operand would enlarge the result."""
    full = np.broadcast_shapes(shape, other)
    if full != shape:
        raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast "
                           f"shape {list(full)}")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: int = MEAN) -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)) on probabilities x, each log clamped at -100."""
    _check_bce(input._data, target._data, None if weight is None else weight._data)
    return BinaryCrossEntropy.apply(input, target, weight=constant(weight),
                                    reduction=reduction)


_SUB_BOOL = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
             "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
_SUB_TWO_BOOLS = ("Subtraction, the `-` operator, with two bool tensors is not supported. "
                  "Use the `^` or `logical_xor()` operator instead.")


def _check_bce_with_logits(input: np.ndarray, target: np.ndarray, weight: np.ndarray | None,
                           pos_weight: np.ndarray | None) -> None:
    """The errors of PyTorch's composition, in its order: log_sigmoid(input),
    (pos_weight - 1) * target + 1 multiplied into it in place, (1 - target) * input in
    place (the loss keeps target's dtype), then the weight multiplied in place."""
    if input.dtype.kind != "f":
        raise NotImplementedError(f'"log_sigmoid_cpu" not implemented for '
                                  f"'{_dtype.scalar_name(input.dtype)}'")
    if pos_weight is not None:
        if pos_weight.dtype.kind == "b":
            raise RuntimeError(_SUB_BOOL)
        _check_inplace_broadcast(input.shape, _broadcast_shapes(pos_weight.shape, target.shape))
    if target.dtype.kind == "b":
        raise RuntimeError(_SUB_TWO_BOOLS)
    if target.dtype.kind != "f":
        raise RuntimeError(f"result type {_dtype.scalar_name(input.dtype)} can't be cast to "
                           f"the desired output type {_dtype.scalar_name(target.dtype)}")
    if weight is not None:
        _check_inplace_broadcast(input.shape, _broadcast_shapes(input.shape, weight.shape))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None,
                                     reduction: int = MEAN) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed stably from the logits."""
    x, t = input._data, target._data
    if (x.dtype.kind != "f" or t.dtype.kind != "f" or weight is not None
            or pos_weight is not None):
        _check_bce_with_logits(x, t, None if weight is None else weight._data,
                               None if pos_weight is None else pos_weight._data)
    return BinaryCrossEntropyWithLogits.apply(input, target, weight=constant(weight),
                                              pos_weight=constant(pos_weight),
                                              reduction=reduction)


class WeightedLoss(ArrayFunction):
    """mse/l1 with an elementwise `weight` (PyTorch 2.6+), in plain numpy.

    The mean is weighted: sum(w l) / sum(w), so d/dw_i = (l_i - mean) / sum(w). PyTorch
    composes this loss from several ops; the node carries the name of its last one, which
    depends on the reduction (the subclasses below).
    """

    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, reduction, squared):
        dt = result_float_dtype("mse_cpu" if squared else "l1_cpu", input, target, weight)
        x, t, w = _broadcast_weighted(input, target, weight, dt)
        d = x - t
        loss = w * (d * d if squared else np.abs(d))
        mean = None
        if reduction == MEAN:
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = loss.sum(dtype=np.float64) / w.sum(dtype=np.float64)
            loss = np.asarray(mean, dtype=dt)
        elif reduction == SUM:
            loss = np.asarray(loss.sum(dtype=np.float64), dtype=dt)
        ctx.reduction, ctx.squared, ctx.mean, ctx.work_dtype = reduction, squared, mean, dt
        ctx.save_for_backward(input, target, weight)
        return loss

    @staticmethod
    def backward(ctx, g):
        x, t, w = _broadcast_weighted(*ctx.saved_tensors, ctx.work_dtype)
        d = x - t
        if ctx.reduction == MEAN:
            g = g.reshape(()) / w.sum(dtype=np.float64)
        elif ctx.reduction == SUM:
            g = g.reshape(())
        gx = (2 * d if ctx.squared else np.sign(d)) * w * g
        gw = None
        if ctx.needs_input_grad[2]:
            loss = d * d if ctx.squared else np.abs(d)
            gw = (loss - ctx.mean if ctx.reduction == MEAN else loss) * g
        return gx, -gx, gw


class WeightedLossMean(WeightedLoss):
    node_name = "DivBackward0"


class WeightedLossSum(WeightedLoss):
    node_name = "SumBackward0"


_WEIGHTED = {NONE: WeightedLoss, MEAN: WeightedLossMean, SUM: WeightedLossSum}


def _broadcast_weighted(x: np.ndarray, t: np.ndarray, w: np.ndarray, dt: np.dtype) -> tuple:
    """input, target and weight broadcast to one shape, in dtype `dt`."""
    shape = np.broadcast_shapes(x.shape, t.shape)
    return tuple(np.broadcast_to(a, shape).astype(dt, copy=False) for a in (x, t, w))


def weighted_pointwise_loss(input: Tensor, target: Tensor, weight: Tensor, reduction: int,
                            squared: bool) -> Tensor:
    """w (input - target)^2 (squared) or w |input - target|; the mean divides by sum(w)."""
    return _WEIGHTED[reduction].apply(input, target, weight, reduction=reduction,
                                      squared=squared)


# ------------------------------------------------------- cross-entropy and NLL
def class_rows(x: np.ndarray, dt: np.dtype) -> tuple[np.ndarray, tuple]:
    """(rows, C) C-contiguous array with the class dim (1, or 0 for 1-D input) moved last,
    plus the moved shape to undo it."""
    if x.ndim == 1:
        rows = x.reshape(1, -1)
    elif x.ndim == 2:
        rows = x
    else:
        rows = np.moveaxis(x, 1, -1)
    moved_shape = rows.shape
    rows = np.ascontiguousarray(rows, dtype=dt)
    return rows.reshape(math.prod(moved_shape[:-1]), moved_shape[-1]), moved_shape


def class_unrows(g: np.ndarray, moved_shape: tuple, ndim: int) -> np.ndarray:
    """Undo `class_rows`: back to the input's layout."""
    if ndim == 1:
        return g.reshape(-1)
    g = g.reshape(moved_shape)
    return g if ndim == 2 else np.moveaxis(g, -1, 1)


def index_target(target: np.ndarray) -> np.ndarray:
    """Class indices as the flat int64 array the kernels take."""
    return np.ascontiguousarray(target, dtype=np.int64).reshape(-1)


def _weight_array(weight: np.ndarray | None, dt: np.dtype) -> np.ndarray | None:
    return None if weight is None else np.ascontiguousarray(weight, dtype=dt).reshape(-1)


def _without_class_dim(shape: tuple) -> tuple:
    """Shape of an unreduced class loss: the input's without its class dim."""
    return () if len(shape) == 1 else shape[:1] + shape[2:]


class NllLoss(ArrayFunction):
    """-weight[t] input[t] over rows (input holds log-probabilities, class dim 1).

    The int64 target and the class weight are constants (keyword options).
    """

    node_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, reduction):
        dt = input.dtype
        wd = work_dtype(dt)
        rows, moved = class_rows(input, wd)
        out = _out(rows.shape[0], reduction, wd)
        denom = K.nll_forward(rows, index_target(target), _weight_array(weight, wd),
                              ignore_index, out, reduction)
        ctx.reduction, ctx.ignore_index, ctx.denom = reduction, ignore_index, denom
        ctx.moved_shape, ctx.in_ndim, ctx.work_dtype = moved, input.ndim, wd
        ctx.save_for_backward(target, weight)
        return _result(out, _without_class_dim(input.shape), reduction, dt)

    @staticmethod
    def backward(ctx, g):
        target, weight = ctx.saved_tensors
        tgt = index_target(target)
        out = np.empty((tgt.shape[0], ctx.moved_shape[-1]), dtype=ctx.work_dtype)
        K.nll_backward(_grad_flat(g, out.dtype), tgt, _weight_array(weight, out.dtype),
                       ctx.ignore_index, out, ctx.reduction, ctx.denom)
        return (class_unrows(out, ctx.moved_shape, ctx.in_ndim),)


class NllLoss2d(NllLoss):
    node_name = "NllLoss2DBackward0"


class NllLossView(NllLoss):
    """Unreduced loss of a 3-D or 5-D+ input: PyTorch views the 2-D loss back last."""

    node_name = "ViewBackward0"


def _nll_function(ndim: int, reduction: int) -> type:
    """PyTorch's last node of an NLL loss: NLL for up to 2 dims, the 2-D (image) NLL for 4,
    and for other dims the 2-D NLL on a view (the view comes last when unreduced)."""
    if ndim <= 2:
        return NllLoss
    if ndim == 4 or reduction != NONE:
        return NllLoss2d
    return NllLossView


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: int = MEAN) -> Tensor:
    """-weight[t] input[t] over rows (input holds log-probabilities, class dim 1)."""
    return _nll_function(input.ndim, reduction).apply(
        input, target=constant(target), weight=constant(weight), ignore_index=ignore_index,
        reduction=reduction)


class CrossEntropy(ArrayFunction):
    """log_softmax + NLL in one node (class-index targets); weight is a constant.

    PyTorch's graph ends in NLL's node, or in an addition with label smoothing (the
    subclasses below carry those names).
    """

    node_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, label_smoothing, reduction):
        dt = input.dtype
        wd = work_dtype(dt)
        rows, moved = class_rows(input, wd)
        log_probs = np.empty_like(rows)
        out = _out(rows.shape[0], reduction, wd)
        denom = K.cross_entropy_forward(rows, index_target(target), _weight_array(weight, wd),
                                        ignore_index, label_smoothing, log_probs, out,
                                        reduction)
        ctx.reduction, ctx.ignore_index, ctx.eps = reduction, ignore_index, label_smoothing
        ctx.denom, ctx.moved_shape, ctx.in_ndim = denom, moved, input.ndim
        ctx.save_for_backward(log_probs, target, weight)
        return _result(out, _without_class_dim(input.shape), reduction, dt)

    @staticmethod
    def backward(ctx, g):
        log_probs, target, weight = ctx.saved_tensors
        dt = log_probs.dtype
        out = np.empty_like(log_probs)
        K.cross_entropy_backward(_grad_flat(g, dt), log_probs, index_target(target),
                                 _weight_array(weight, dt), ctx.ignore_index, ctx.eps, out,
                                 ctx.reduction, ctx.denom)
        return (class_unrows(out, ctx.moved_shape, ctx.in_ndim),)


class CrossEntropy2d(CrossEntropy):
    node_name = "NllLoss2DBackward0"


class CrossEntropyView(CrossEntropy):
    node_name = "ViewBackward0"


class CrossEntropySmoothed(CrossEntropy):
    node_name = "AddBackward0"


LogSoftmaxBackward0 = pass_through_type("LogSoftmaxBackward0")
_CROSS_ENTROPY = {NllLoss: CrossEntropy, NllLoss2d: CrossEntropy2d,
                  NllLossView: CrossEntropyView}


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  ignore_index: int = -100, label_smoothing: float = 0.0,
                  reduction: int = MEAN) -> Tensor:
    """Cross-entropy of logits `input` (class dim 1, or 0 for 1-D) against class indices."""
    smoothed = label_smoothing > 0
    fn = CrossEntropySmoothed if smoothed else _CROSS_ENTROPY[_nll_function(input.ndim,
                                                                            reduction)]
    out = fn.apply(input, target=constant(target), weight=constant(weight),
                   ignore_index=ignore_index, label_smoothing=label_smoothing,
                   reduction=reduction)
    # PyTorch's graph: log_softmax, then NLL; the fused backward returns d/dinput
    return out if smoothed else pass_through(out, 0, LogSoftmaxBackward0)


class CrossEntropyProbs(ArrayFunction):
    """Cross-entropy of logits against class probabilities (both differentiable); weight
    is a constant. PyTorch's graph ends in a division for the mean, else in a negation."""

    node_name = "NegBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, label_smoothing, reduction):
        dt = result_float_dtype("cross_entropy", input, target)
        wd = work_dtype(dt)
        rows, moved = class_rows(input, wd)
        trows, _ = class_rows(target, wd)
        log_probs = np.empty_like(rows)
        out = _out(rows.shape[0], reduction, wd)
        denom = K.cross_entropy_prob_forward(rows, trows, _weight_array(weight, wd),
                                             label_smoothing, log_probs, out, reduction)
        if reduction == MEAN and rows.size == 0:    # PyTorch: the mean of nothing is NaN
            out[0] = np.nan
        ctx.reduction, ctx.eps, ctx.denom = reduction, label_smoothing, denom
        ctx.moved_shape, ctx.in_ndim = moved, input.ndim
        ctx.save_for_backward(log_probs, target, weight)
        return _result(out, _without_class_dim(input.shape), reduction, dt)

    @staticmethod
    def backward(ctx, g):
        log_probs, target, weight = ctx.saved_tensors
        dt = log_probs.dtype
        w = _weight_array(weight, dt)
        gflat = _grad_flat(g, dt)
        gx = gt = None
        if ctx.needs_input_grad[0]:
            trows, _ = class_rows(target, dt)
            out = np.empty_like(log_probs)
            K.cross_entropy_prob_backward(gflat, log_probs, trows, w, ctx.eps, out,
                                          ctx.reduction, ctx.denom)
            gx = class_unrows(out, ctx.moved_shape, ctx.in_ndim)
        if ctx.needs_input_grad[1]:
            # d loss_i / d t_ij = -(1 - eps) w_j log_probs_ij
            d = -(1 - ctx.eps) * log_probs * (1 if w is None else w)
            per_row = gflat[:, None] if ctx.reduction == NONE else gflat.reshape(())
            if ctx.reduction == MEAN:
                per_row = per_row / ctx.denom
            gt = class_unrows(d * per_row, ctx.moved_shape, ctx.in_ndim)
        return gx, gt


class CrossEntropyProbsMean(CrossEntropyProbs):
    node_name = "DivBackward1"


def cross_entropy_probs(input: Tensor, target: Tensor, weight: Tensor | None = None,
                        label_smoothing: float = 0.0, reduction: int = MEAN) -> Tensor:
    """Cross-entropy of logits against class probabilities of the input's shape."""
    # PyTorch's mean of an empty input is a NaN fill, whose graph ends in the negation
    fn = CrossEntropyProbsMean if reduction == MEAN and input.numel() else CrossEntropyProbs
    return fn.apply(input, target, weight=constant(weight), label_smoothing=label_smoothing,
                    reduction=reduction)
