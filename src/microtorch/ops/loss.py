"""Loss functions, each recorded as ONE graph node around a fused Cython kernel.

Pointwise losses (mse, l1, bce, bce_with_logits) flatten input and target (broadcast to
one shape and one float dtype) and hand flat buffers to the kernels. Cross-entropy and
NLL move the class dimension last, flatten to (rows, C) and call the row kernels; the
gradient is moved back to the input's layout in backward.

These functions take already-validated arguments and a reduction code (0 none, 1 mean,
2 sum); PyTorch's argument checks and messages live in `microtorch.nn.functional`.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .. import _kernels as K
from .._tensor import Tensor
from ..autograd.graph import needs_grad, record
from ..autograd.node import Node

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
        raise NotImplementedError(f'"{name}" not implemented for \'{torch_type_name(dt)}\'')
    return dt


def torch_type_name(dt: np.dtype) -> str:
    """PyTorch's scalar type name of a dtype, as its error messages print it ('Long')."""
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
            "uint8": "Byte", "bool": "Bool", "float16": "Half", "float32": "Float",
            "float64": "Double"}[dt.name]


def flat(a: np.ndarray, shape: tuple, dt: np.dtype) -> np.ndarray:
    """`a` broadcast to `shape`, as a flat C-contiguous array of dtype `dt` (no copy if
    it already is one)."""
    if a.shape != shape:
        a = np.broadcast_to(a, shape)
    return np.ascontiguousarray(a, dtype=dt).reshape(-1)


def _out(n: int, reduction: int, dt: np.dtype) -> np.ndarray:
    return np.empty(n if reduction == NONE else 1, dtype=dt)


def _shaped(out: np.ndarray, shape: tuple, reduction: int, dt: np.dtype) -> Tensor:
    """The kernel's output as a tensor: `shape` for none, 0-d otherwise, in dtype `dt`."""
    res = out.reshape(shape) if reduction == NONE else out.reshape(())
    return Tensor._wrap(res if res.dtype == dt else res.astype(dt))


def versions(*tensors) -> tuple:
    """The (version counter, current version) pairs a node checks before using saved arrays."""
    return tuple((t._version, t._version[0]) for t in tensors if t is not None)


def _grad_flat(g: np.ndarray, dt: np.dtype) -> np.ndarray:
    return np.ascontiguousarray(g, dtype=dt).reshape(-1)


def _per_element(g: np.ndarray, reduction: int, n: int, shape: tuple) -> np.ndarray:
    """The incoming gradient as a factor per element (broadcastable to `shape`)."""
    if reduction == NONE:
        return g.reshape(shape)
    return g.reshape(()) / n if reduction == MEAN else g.reshape(())


# ------------------------------------------------------------- pointwise losses
class _PointwiseBackward(Node):
    """Shared backward of the flat pointwise losses: the kernel gives d/dinput."""

    __slots__ = ("out_shape", "reduction")

    def _input_grad(self, g, x, t, extra) -> np.ndarray:
        raise NotImplementedError

    def _target_grad(self, g, x, t, extra, gx) -> np.ndarray:
        raise NotImplementedError

    def backward(self, g):
        x, t, *extra = self.saved_tensors
        g = _grad_flat(g, x.dtype)
        edges = self.next_functions
        gx = self._input_grad(g, x, t, extra)
        gt = self._target_grad(g, x, t, extra, gx) if edges[1][0] is not None else None
        return (None if edges[0][0] is None else gx.reshape(self.out_shape),
                None if gt is None else gt.reshape(self.out_shape))


class MseLossBackward0(_PointwiseBackward):
    __slots__ = ()

    def _input_grad(self, g, x, t, extra):
        gx = np.empty_like(x)
        K.mse_backward(g, x, t, gx, self.reduction)
        return gx

    def _target_grad(self, g, x, t, extra, gx):
        return -gx


class L1LossBackward0(_PointwiseBackward):
    __slots__ = ()

    def _input_grad(self, g, x, t, extra):
        gx = np.empty_like(x)
        K.l1_backward(g, x, t, gx, self.reduction)
        return gx

    def _target_grad(self, g, x, t, extra, gx):
        return -gx


def _clamped_log(v: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(v), -100)


class BinaryCrossEntropyBackward0(_PointwiseBackward):
    __slots__ = ()

    def _input_grad(self, g, x, t, extra):
        (w,) = extra
        gx = np.empty_like(x)
        K.bce_backward(g, x, t, w, gx, self.reduction)
        return gx

    def _target_grad(self, g, x, t, extra, gx):
        # d/dt [(t - 1) log(1 - x) - t log(x)] = log(1 - x) - log(x), logs clamped at -100
        (w,) = extra
        d = _clamped_log(1 - x) - _clamped_log(x)
        if w is not None:
            d = d * w
        return d * _per_element(g, self.reduction, x.size, x.shape)


class BinaryCrossEntropyWithLogitsBackward0(_PointwiseBackward):
    __slots__ = ()

    def _input_grad(self, g, x, t, extra):
        w, pw = extra
        gx = np.empty_like(x)
        K.bce_with_logits_backward(g, x, t, w, pw, gx, self.reduction)
        return gx

    def _target_grad(self, g, x, t, extra, gx):
        # d/dt [(1 - t) x + (1 + (pw - 1) t) softplus(-x)] = -x + (pw - 1) softplus(-x)
        w, pw = extra
        softplus = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
        d = -x if pw is None else -x + (pw - 1) * softplus
        if w is not None:
            d = d * w
        return d * _per_element(g, self.reduction, x.size, x.shape)


def _pointwise(node_cls, kernel, name: str, input: Tensor, target: Tensor, reduction: int,
               weights: tuple = ()) -> Tensor:
    """Run one flat pointwise loss kernel and record its node.

    `weights` are the optional per-element tensors the kernel takes after the target
    (weight, pos_weight), each None or broadcastable to the input's shape.
    """
    x0, t0 = input._data, target._data
    dt = result_float_dtype(name, x0, t0)
    wd = work_dtype(dt)
    shape = x0.shape if x0.shape == t0.shape else np.broadcast_shapes(x0.shape, t0.shape)
    x, t = flat(x0, shape, wd), flat(t0, shape, wd)
    extra = tuple(None if w is None else flat(w._data, shape, wd) for w in weights)
    out = _out(x.size, reduction, wd)
    kernel(x, t, *extra, out, reduction)
    result = _shaped(out, shape, reduction, dt)
    if needs_grad(input, target):
        node = node_cls()
        node.reduction = reduction
        node.out_shape = shape
        node.saved = (x, t) + extra
        node.versions = versions(input, target, *weights)
        record(node, result, input, target)
    return result


def mse_loss(input: Tensor, target: Tensor, reduction: int = MEAN) -> Tensor:
    """(input - target)^2, reduced; input and target broadcast together."""
    return _pointwise(MseLossBackward0, K.mse_forward, "mse_cpu", input, target, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: int = MEAN) -> Tensor:
    """|input - target|, reduced."""
    return _pointwise(L1LossBackward0, K.l1_forward, "l1_cpu", input, target, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: int = MEAN) -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)) on probabilities x, each log clamped at -100."""
    _require_float(input, target)
    try:
        return _pointwise(BinaryCrossEntropyBackward0, K.bce_forward, "binary_cross_entropy",
                          input, target, reduction, (weight,))
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
                f"Found dtype {torch_type_name(t._data.dtype)} but expected "
                f"{torch_type_name(other._data.dtype) if other._data.dtype.kind == 'f' else 'Float'}"
            )


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None,
                                     reduction: int = MEAN) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed stably from the logits."""
    _require_float(input, target)
    return _pointwise(BinaryCrossEntropyWithLogitsBackward0, K.bce_with_logits_forward,
                      "binary_cross_entropy_with_logits", input, target, reduction,
                      (weight, pos_weight))


class WeightedPointwiseBackward0(Node):
    """mse/l1 with an elementwise `weight` (PyTorch 2.6+), in plain numpy.

    The mean is weighted: sum(w l) / sum(w), so d/dw_i = (l_i - mean) / sum(w).
    """

    __slots__ = ("mean", "reduction", "squared")

    def backward(self, g):
        x, t, w = self.saved_tensors
        d = x - t
        if self.reduction == MEAN:
            g = g.reshape(()) / w.sum(dtype=np.float64)
        elif self.reduction == SUM:
            g = g.reshape(())
        gx = (2 * d if self.squared else np.sign(d)) * w * g
        gw = None
        if self.next_functions[2][0] is not None:
            loss = d * d if self.squared else np.abs(d)
            gw = (loss - self.mean if self.reduction == MEAN else loss) * g
        return gx, -gx, gw


def weighted_pointwise_loss(input: Tensor, target: Tensor, weight: Tensor, reduction: int,
                            squared: bool) -> Tensor:
    """w (input - target)^2 (squared) or w |input - target|; the mean divides by sum(w)."""
    x0, t0, w0 = input._data, target._data, weight._data
    dt = result_float_dtype("mse_cpu" if squared else "l1_cpu", x0, t0, w0)
    shape = np.broadcast_shapes(x0.shape, t0.shape)
    x, t, w = (np.broadcast_to(a, shape).astype(dt, copy=False) for a in (x0, t0, w0))
    d = x - t
    loss = w * (d * d if squared else np.abs(d))
    mean = None
    if reduction == MEAN:
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = loss.sum(dtype=np.float64) / w.sum(dtype=np.float64)
        loss = np.asarray(mean, dtype=dt)
    elif reduction == SUM:
        loss = np.asarray(loss.sum(dtype=np.float64), dtype=dt)
    out = Tensor._wrap(loss)
    if needs_grad(input, target, weight):
        node = WeightedPointwiseBackward0()
        node.reduction, node.squared, node.mean = reduction, squared, mean
        node.saved = (x, t, w)
        node.versions = versions(input, target, weight)
        record(node, out, input, target, weight)
    return out


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


def index_target(target: Tensor) -> np.ndarray:
    """Class indices as the flat int64 array the kernels take."""
    return np.ascontiguousarray(target._data, dtype=np.int64).reshape(-1)


class CrossEntropyLossBackward0(Node):
    """Backward of log_softmax + NLL in one node (class-index targets)."""

    __slots__ = (
        "denom",
        "eps",
        "ignore_index",
        "in_ndim",
        "moved_shape",
        "reduction",
        "torch_name",
    )

    def name(self) -> str:
        return self.torch_name           # what PyTorch's grad_fn is called for this case

    def backward(self, g):
        log_probs, target, weight = self.saved_tensors
        out = np.empty_like(log_probs)
        K.cross_entropy_backward(_grad_flat(g, log_probs.dtype), log_probs, target, weight,
                                 self.ignore_index, self.eps, out, self.reduction, self.denom)
        return class_unrows(out, self.moved_shape, self.in_ndim), None


class CrossEntropyProbBackward0(Node):
    """Backward of cross-entropy with class-probability targets."""

    __slots__ = ("denom", "eps", "in_ndim", "moved_shape", "reduction", "torch_name")

    def name(self) -> str:
        return self.torch_name

    def backward(self, g):
        log_probs, target, weight = self.saved_tensors
        dt = log_probs.dtype
        gflat = _grad_flat(g, dt)
        edges = self.next_functions
        gx = gt = None
        if edges[0][0] is not None:
            out = np.empty_like(log_probs)
            K.cross_entropy_prob_backward(gflat, log_probs, target, weight, self.eps, out,
                                          self.reduction, self.denom)
            gx = class_unrows(out, self.moved_shape, self.in_ndim)
        if edges[1][0] is not None:
            # d loss_i / d t_ij = -(1 - eps) w_j log_probs_ij
            d = -(1 - self.eps) * log_probs * (1 if weight is None else weight)
            per_row = gflat[:, None] if self.reduction == NONE else gflat.reshape(())
            if self.reduction == MEAN:
                per_row = per_row / self.denom
            gt = class_unrows(d * per_row, self.moved_shape, self.in_ndim)
        return gx, gt


def _weight_array(weight: Tensor | None, dt: np.dtype) -> np.ndarray | None:
    return None if weight is None else np.ascontiguousarray(weight._data, dtype=dt).reshape(-1)


def _without_class_dim(shape: tuple) -> tuple:
    """Shape of an unreduced class loss: the input's without its class dim."""
    return () if len(shape) == 1 else shape[:1] + shape[2:]


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  ignore_index: int = -100, label_smoothing: float = 0.0,
                  reduction: int = MEAN) -> Tensor:
    """Cross-entropy of logits `input` (class dim 1, or 0 for 1-D) against class indices."""
    x0 = input._data
    dt = x0.dtype
    wd = work_dtype(dt)
    rows, moved = class_rows(x0, wd)
    tgt = index_target(target)
    w = _weight_array(weight, wd)
    log_probs = np.empty_like(rows)
    out = _out(rows.shape[0], reduction, wd)
    denom = K.cross_entropy_forward(rows, tgt, w, ignore_index, label_smoothing, log_probs,
                                    out, reduction)
    result = _shaped(out, _without_class_dim(x0.shape), reduction, dt)
    if needs_grad(input):
        node = CrossEntropyLossBackward0()
        node.reduction, node.ignore_index, node.eps = reduction, ignore_index, label_smoothing
        node.denom, node.moved_shape, node.in_ndim = denom, moved, x0.ndim
        node.torch_name = "AddBackward0" if label_smoothing > 0 else (
            "NllLoss2DBackward0" if x0.ndim == 4 else "NllLossBackward0")
        node.saved = (log_probs, tgt, w)
        node.versions = versions(target, weight)
        record(node, result, input, None)
    return result


def cross_entropy_probs(input: Tensor, target: Tensor, weight: Tensor | None = None,
                        label_smoothing: float = 0.0, reduction: int = MEAN) -> Tensor:
    """Cross-entropy of logits against class probabilities of the input's shape."""
    x0, t0 = input._data, target._data
    dt = result_float_dtype("cross_entropy", x0, t0)
    wd = work_dtype(dt)
    rows, moved = class_rows(x0, wd)
    trows, _ = class_rows(t0, wd)
    w = _weight_array(weight, wd)
    log_probs = np.empty_like(rows)
    out = _out(rows.shape[0], reduction, wd)
    denom = K.cross_entropy_prob_forward(rows, trows, w, label_smoothing, log_probs, out,
                                         reduction)
    result = _shaped(out, _without_class_dim(x0.shape), reduction, dt)
    if needs_grad(input, target):
        node = CrossEntropyProbBackward0()
        node.reduction, node.eps, node.denom = reduction, label_smoothing, denom
        node.moved_shape, node.in_ndim = moved, x0.ndim
        node.torch_name = "DivBackward1" if reduction == MEAN else "NegBackward0"
        node.saved = (log_probs, trows, w)
        node.versions = versions(target, weight)
        record(node, result, input, target)
    return result


class NllLossBackward0(Node):
    __slots__ = ("denom", "ignore_index", "in_ndim", "moved_shape", "reduction", "rows_dtype")

    def backward(self, g):
        target, weight = self.saved_tensors
        out = np.empty((target.shape[0], self.moved_shape[-1]), dtype=self.rows_dtype)
        K.nll_backward(_grad_flat(g, out.dtype), target, weight, self.ignore_index, out,
                       self.reduction, self.denom)
        return class_unrows(out, self.moved_shape, self.in_ndim), None


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: int = MEAN) -> Tensor:
    """-weight[t] input[t] over rows (input holds log-probabilities, class dim 1)."""
    x0 = input._data
    dt = x0.dtype
    wd = work_dtype(dt)
    rows, moved = class_rows(x0, wd)
    tgt = index_target(target)
    w = _weight_array(weight, wd)
    out = _out(rows.shape[0], reduction, wd)
    denom = K.nll_forward(rows, tgt, w, ignore_index, out, reduction)
    result = _shaped(out, _without_class_dim(x0.shape), reduction, dt)
    if needs_grad(input):
        node = NllLossBackward0()
        node.reduction, node.ignore_index, node.denom = reduction, ignore_index, denom
        node.moved_shape, node.in_ndim = moved, x0.ndim
        node.rows_dtype = wd
        node.saved = (tgt, w)
        node.versions = versions(target, weight)
        record(node, result, input, None)
    return result
