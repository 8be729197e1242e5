"""Loss functions, each ONE graph node (an `ArrayFunction`) around a fused Cython kernel.

Pointwise losses (mse, l1, bce, bce_with_logits) flatten input and target (broadcast to
one shape and one float dtype) and hand flat buffers to the kernels. Cross-entropy and
NLL move the class dimension last, flatten to (rows, C) and call the row kernels; the
gradient is moved back to the input's layout in backward. Each node saves the inputs' own
arrays, so their version counters catch in-place changes before backward, and rebuilds the
kernels' layout from them (free when they already have it). Class targets, class weights,
BCE weights and `pos_weight` are constants, as in PyTorch: keyword options of the node
(no edge, no gradient), copied in forward so that later in-place changes cannot reach
backward.

These functions take already-validated arguments and a reduction code (0 none, 1 mean,
2 sum); PyTorch's argument checks and messages live in `microtorch.nn.functional`.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .. import _kernels as K
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ..autograd.node import pass_through, pass_through_type

NONE, MEAN, SUM = K.REDUCTION_NONE, K.REDUCTION_MEAN, K.REDUCTION_SUM


# ---------------------------------------------------------------- array helpers
def work_dtype(dt: np.dtype) -> np.dtype:
    """The dtype a kernel computes in: float32/float64 as is, float16 in float32."""
    return dt if dt.itemsize >= 4 else np.dtype(np.float32)


def result_float_dtype(name: str, *arrays: np.ndarray) -> np.dtype:
    """PyTorch's promoted dtype of the operands, which must end up floating."""
    dt = arrays[0].dtype
    for a in arrays[1:]:
        if a is not None and a.dtype != dt:
            dt = _dtype.promote(np.empty((1,), dt), a)
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


def _per_element(g: np.ndarray, reduction: int, n: int, shape: tuple) -> np.ndarray:
    """The incoming gradient as a factor per element (broadcastable to `shape`)."""
    if reduction == NONE:
        return g.reshape(shape)
    return g.reshape(()) / n if reduction == MEAN else g.reshape(())


# ------------------------------------------------------------- pointwise losses
def _pointwise_forward(ctx, kernel, name: str, x0: np.ndarray, t0: np.ndarray,
                       weights: tuple, reduction: int) -> np.ndarray:
    """Run one flat pointwise loss kernel.

    `weights` are the optional per-element arrays the kernel takes after the target
    (weight, pos_weight), each None or broadcastable to the input's shape. The inputs' own
    arrays are saved (their version counters guard them); backward flattens them again,
    which costs nothing when they already are C-contiguous, of the work dtype and shape.
    """
    dt = result_float_dtype(name, x0, t0)
    wd = work_dtype(dt)
    shape = x0.shape if x0.shape == t0.shape else np.broadcast_shapes(x0.shape, t0.shape)
    x, t, *extra = (None if a is None else flat(a, shape, wd) for a in (x0, t0, *weights))
    out = _out(x.size, reduction, wd)
    kernel(x, t, *extra, out, reduction)
    ctx.reduction, ctx.out_shape, ctx.work_dtype = reduction, shape, wd
    ctx.save_for_backward(x0, t0, *weights)
    return _result(out, shape, reduction, dt)


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


class L1Loss(ArrayFunction):
    node_name = "L1LossBackward0"

    @staticmethod
    def forward(ctx, input, target, reduction):
        return _pointwise_forward(ctx, K.l1_forward, "l1_cpu", input, target, (), reduction)

    @staticmethod
    def backward(ctx, g):
        g, x, t = _flat_saved(ctx, g)
        gx = np.empty_like(x)
        K.l1_backward(g, x, t, gx, ctx.reduction)
        return _pointwise_grads(ctx, gx, -gx if ctx.needs_input_grad[1] else None)


def _clamped_log(v: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(v), -100)


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
            # d/dt [(t - 1) log(1 - x) - t log(x)] = log(1 - x) - log(x), logs clamped at -100
            d = _clamped_log(1 - x) - _clamped_log(x)
            if w is not None:
                d = d * w
            gt = d * _per_element(g, ctx.reduction, x.size, x.shape)
        return _pointwise_grads(ctx, gx, gt)


class BinaryCrossEntropyWithLogits(ArrayFunction):
    """BCE of sigmoid(input) from the logits; `weight` and `pos_weight` are constants."""

    node_name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, pos_weight, reduction):
        return _pointwise_forward(ctx, K.bce_with_logits_forward,
                                  "binary_cross_entropy_with_logits", input, target,
                                  (weight, pos_weight), reduction)

    @staticmethod
    def backward(ctx, g):
        g, x, t, w, pw = _flat_saved(ctx, g)
        gx = np.empty_like(x)
        K.bce_with_logits_backward(g, x, t, w, pw, gx, ctx.reduction)
        gt = None
        if ctx.needs_input_grad[1]:
            # d/dt [(1 - t) x + (1 + (pw - 1) t) softplus(-x)] = -x + (pw - 1) softplus(-x)
            softplus = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
            d = -x if pw is None else -x + (pw - 1) * softplus
            if w is not None:
                d = d * w
            gt = d * _per_element(g, ctx.reduction, x.size, x.shape)
        return _pointwise_grads(ctx, gx, gt)


def mse_loss(input: Tensor, target: Tensor, reduction: int = MEAN) -> Tensor:
    """(input - target)^2, reduced; input and target broadcast together."""
    return MseLoss.apply(input, target, reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: int = MEAN) -> Tensor:
    """|input - target|, reduced."""
    return L1Loss.apply(input, target, reduction=reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: int = MEAN) -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)) on probabilities x, each log clamped at -100."""
    _require_float(input, target)
    try:
        return BinaryCrossEntropy.apply(input, target, weight=constant(weight),
                                        reduction=reduction)
    except ValueError as err:
        if "between 0 and 1" in str(err):
            raise RuntimeError(str(err)) from None
        raise


def _require_float(input: Tensor, target: Tensor) -> None:
    """BCE losses take floating input and target (PyTorch refuses integer ones)."""
    for t in (target, input):
        if t._data.dtype.kind != "f":
            other = input if t is target else target
            raise RuntimeError(
                f"Found dtype {_dtype.scalar_name(t._data.dtype)} but expected "
                f"{_dtype.scalar_name(other._data.dtype) if other._data.dtype.kind == 'f' else 'Float'}"
            )


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None,
                                     reduction: int = MEAN) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed stably from the logits."""
    _require_float(input, target)
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
    return rows.reshape(-1, x.shape[0 if x.ndim == 1 else 1]), moved_shape


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
    fn = CrossEntropyProbsMean if reduction == MEAN else CrossEntropyProbs
    return fn.apply(input, target, weight=constant(weight), label_smoothing=label_smoothing,
                    reduction=reduction)
