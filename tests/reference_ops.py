"""Plain-numpy twins of every compiled kernel in microtorch._kernels.

These are the test oracle: slow, obvious and easy to check against the maths
(and against PyTorch).  Each function has the same name and takes the same
arguments as its kernel, but **returns** its results instead of writing them:

* buffers the kernel writes (``out``, ``log_probs``) are only read for their
  shape, and for their current values where the kernel reads them too
  (``gemm`` with ``beta != 0``, ``sum_rows`` with ``accumulate``);
* a kernel that returns a denominator has a twin returning a tuple, e.g.
  ``cross_entropy_forward`` -> ``(loss, log_probs, denom)``.

Results keep the inputs' dtype.  Argument checking is limited to the errors a
caller can provoke with valid-looking data (bad class index, BCE input outside
[0, 1]); dtype/shape/contiguity checks live in the kernels only.
"""
from __future__ import annotations

import functools

import numpy as np

REDUCTION_NONE = 0
REDUCTION_MEAN = 1
REDUCTION_SUM = 2


def _quiet(fn):
    """Silence numpy's floating-point warnings: inf - inf, log(0), ... are expected here."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return wrapper


@_quiet
def _reduce(losses: np.ndarray, reduction: int, denom: float | None = None) -> np.ndarray:
    """Per-sample losses -> the kernel's ``out``: (N,) for none, (1,) for mean/sum."""
    if reduction == REDUCTION_NONE:
        return losses
    total = losses.sum(dtype=np.float64)
    if reduction == REDUCTION_MEAN:
        total = total / (losses.size if denom is None else denom)
    return np.array([total], dtype=losses.dtype)


def _incoming(grad: np.ndarray, reduction: int, n: int, divisor: float) -> np.ndarray:
    """The upstream gradient seen by each sample: grad itself, or grad[0] (/ divisor for mean)."""
    if reduction == REDUCTION_NONE:
        return grad
    g = grad[0] / divisor if reduction == REDUCTION_MEAN else grad[0]
    return np.full(n, g, dtype=grad.dtype)


# ------------------------------------------------------------------ matmul

@_quiet
def gemm(a, b, out, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """alpha * op(a) @ op(b) + beta * out (out is not read when beta == 0)."""
    product = (a.T if trans_a else a) @ (b.T if trans_b else b)
    result = alpha * product
    if beta != 0:
        result = result + beta * out
    return result.astype(out.dtype)


@_quiet
def linear_forward(x, weight, bias, out):
    """x @ weight.T + bias."""
    result = x @ weight.T
    return result if bias is None else result + bias


@_quiet
def sum_rows(g, out, accumulate):
    """g.sum(axis=0), added to out when accumulate."""
    total = g.sum(axis=0, dtype=np.float64).astype(g.dtype)
    return out + total if accumulate else total


# -------------------------------------------------------------- activations

@_quiet
def relu_forward(x, out):
    """x where x >= 0 else 0; NaN and -0.0 pass through (torch.relu)."""
    return np.where(x < 0, x.dtype.type(0), x)


@_quiet
def relu_backward(grad, y, out):
    """0 where y <= 0 else grad (torch's threshold_backward)."""
    return np.where(y <= 0, grad.dtype.type(0), grad)


@_quiet
def sigmoid_forward(x, out):
    """1 / (1 + e^-x), exponentiating only -|x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


@_quiet
def sigmoid_backward(grad, y, out):
    return grad * (1 - y) * y


@_quiet
def tanh_forward(x, out):
    return np.tanh(x)


@_quiet
def tanh_backward(grad, y, out):
    return grad * (1 - y * y)


# ------------------------------------------------------------------ softmax

def _row_max(x):
    """Max of each row (NaN if the row has one, -inf for an empty row)."""
    return np.max(x, axis=1, keepdims=True, initial=-np.inf).astype(x.dtype)


@_quiet
def softmax_forward(x, out):
    e = np.exp(x - _row_max(x))
    return e / e.sum(axis=1, keepdims=True)


@_quiet
def softmax_backward(grad, y, out):
    return y * (grad - (grad * y).sum(axis=1, keepdims=True))


@_quiet
def log_softmax_forward(x, out):
    shifted = x - _row_max(x)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@_quiet
def log_softmax_backward(grad, y, out):
    return grad - np.exp(y) * grad.sum(axis=1, keepdims=True)


# -------------------------------------------------------- pointwise losses

@_quiet
def mse_forward(input, target, out, reduction):
    return _reduce((input - target) ** 2, reduction)


@_quiet
def mse_backward(grad, input, target, out, reduction):
    g = _incoming(grad, reduction, input.size, input.size)
    return 2 * (input - target) * g


@_quiet
def l1_forward(input, target, out, reduction):
    return _reduce(np.abs(input - target), reduction)


@_quiet
def l1_backward(grad, input, target, out, reduction):
    g = _incoming(grad, reduction, input.size, input.size)
    diff = input - target
    sign = (diff > 0).astype(input.dtype) - (diff < 0)     # torch.sign: 0 at 0 and at NaN
    return sign * g


def _check_probabilities(input):
    if not np.all((input >= 0) & (input <= 1)):
        raise ValueError("bce_forward: all elements of input should be between 0 and 1")


@_quiet
def bce_forward(input, target, weight, out, reduction):
    """-w (t log x + (1 - t) log(1 - x)) with each log clamped at -100."""
    _check_probabilities(input)
    log_x = np.maximum(np.log(input), -100)
    log_1mx = np.maximum(np.log1p(-input), -100)
    losses = (target - 1) * log_1mx - target * log_x
    if weight is not None:
        losses = losses * weight
    return _reduce(losses.astype(input.dtype), reduction)


@_quiet
def bce_backward(grad, input, target, weight, out, reduction):
    """grad (x - t) / max((1 - x) x, 1e-12) w."""
    g = _incoming(grad, reduction, input.size, input.size)
    eps = input.dtype.type(np.float32(1e-12))      # PyTorch keeps this floor as a float32
    result = g * (input - target) / np.maximum((1 - input) * input, eps)
    return result if weight is None else result * weight


@_quiet
def bce_with_logits_forward(input, target, weight, pos_weight, out, reduction):
    """(1 - t) x + (1 + (pw - 1) t) softplus(-x), times w."""
    softplus_neg = np.maximum(-input, 0) + np.log1p(np.exp(-np.abs(input)))
    log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    losses = (1 - target) * input + log_weight * softplus_neg
    if weight is not None:
        losses = losses * weight
    return _reduce(losses.astype(input.dtype), reduction)


@_quiet
def bce_with_logits_backward(grad, input, target, weight, pos_weight, out, reduction):
    """((pw t + 1 - t) sigmoid(x) - pw t) grad w."""
    g = _incoming(grad, reduction, input.size, input.size)
    pw = 1 if pos_weight is None else pos_weight
    result = ((pw * target + 1 - target) * sigmoid_forward(input, None) - pw * target) * g
    return result if weight is None else result * weight


# ------------------------------------------------- cross-entropy and NLL

def _check_targets(target, num_classes, ignore_index):
    bad = (target != ignore_index) & ((target < 0) | (target >= num_classes))
    if bad.any():
        raise IndexError(f"Target {target[np.argmax(bad)]} is out of bounds.")


def _class_weights(weight, num_classes, dtype):
    return np.ones(num_classes, dtype=dtype) if weight is None else weight


def _target_terms(target, weight, ignore_index, num_classes, dtype):
    """(kept rows mask, safe class index per row, weight of each row's class; 0 if ignored)."""
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    w = _class_weights(weight, num_classes, dtype)
    w_t = np.where(keep, w[safe] if num_classes else 0, 0).astype(dtype)
    return keep, safe, w_t


@_quiet
def nll_forward(log_probs, target, weight, ignore_index, out, reduction):
    """-w[t] log_probs[i, t] per row (0 for ignored rows) -> (loss, denom)."""
    n, c = log_probs.shape
    _check_targets(target, c, ignore_index)
    keep, safe, w_t = _target_terms(target, weight, ignore_index, c, log_probs.dtype)
    picked = log_probs[np.arange(n), safe] if c else np.zeros(n, log_probs.dtype)
    losses = np.where(keep, -w_t * picked, 0).astype(log_probs.dtype)
    denom = float(w_t.sum(dtype=np.float64))
    return _reduce(losses, reduction, denom), denom


@_quiet
def nll_backward(grad, target, weight, ignore_index, out, reduction, denom):
    """Gradient w.r.t. log_probs: -w[t] g at each row's target class, 0 elsewhere."""
    n, c = out.shape
    _check_targets(target, c, ignore_index)
    keep, safe, w_t = _target_terms(target, weight, ignore_index, c, out.dtype)
    g = _incoming(grad, reduction, n, denom)
    result = np.zeros((n, c), dtype=out.dtype)
    rows = np.flatnonzero(keep)
    result[rows, safe[rows]] = -w_t[rows] * g[rows]
    return result


@_quiet
def cross_entropy_forward(logits, target, weight, ignore_index, label_smoothing, log_probs, out,
                          reduction):
    """log_softmax + NLL, with PyTorch's label smoothing -> (loss, log_probs, denom).

    loss_i = (1 - eps) nll_i + (eps / C) smooth_i, smooth_i = -sum_j w_j lp_ij;
    ignored rows contribute 0 and the mean divides both parts by sum_i w[t_i].
    """
    c = logits.shape[1]
    _check_targets(target, c, ignore_index)
    lp = log_softmax_forward(logits, None)
    keep = target != ignore_index
    nll, denom = nll_forward(lp, target, weight, ignore_index, None, REDUCTION_NONE)
    eps = label_smoothing
    if eps == 0:
        return _reduce(nll, reduction, denom), lp, denom
    w = _class_weights(weight, c, logits.dtype)
    smooth = np.where(keep, -(lp * w).sum(axis=1), 0).astype(logits.dtype)
    if reduction == REDUCTION_NONE:
        return ((1 - eps) * nll + smooth * (eps / c)).astype(logits.dtype), lp, denom
    nll_part = _reduce(nll, reduction, denom)
    smooth_part = _reduce(smooth, reduction, denom)
    return ((1 - eps) * nll_part + smooth_part * (eps / c)).astype(logits.dtype), lp, denom


@_quiet
def cross_entropy_backward(grad, log_probs, target, weight, ignore_index, label_smoothing, out,
                           reduction, denom):
    """Gradient w.r.t. the logits: build d loss / d log_probs, then go through log_softmax."""
    n, c = log_probs.shape
    eps = label_smoothing
    keep = target != ignore_index
    g = np.where(keep, _incoming(grad, reduction, n, denom), 0)    # ignored rows: exactly 0
    d_lp = nll_backward(grad, target, weight, ignore_index, out, reduction, denom) * (1 - eps)
    if eps > 0:
        w = _class_weights(weight, c, log_probs.dtype)
        d_lp = d_lp - (eps / c) * g[:, None] * w[None, :]
    return log_softmax_backward(d_lp.astype(log_probs.dtype), log_probs, None)


def _smoothed(target, label_smoothing):
    c = target.shape[1]
    if label_smoothing == 0:
        return target
    return target * (1 - label_smoothing) + label_smoothing / c


@_quiet
def cross_entropy_prob_forward(logits, target, weight, label_smoothing, log_probs, out,
                               reduction):
    """-sum_j w_j t'_ij lp_ij per row, t' the smoothed target -> (loss, log_probs, N)."""
    n, c = logits.shape
    lp = log_softmax_forward(logits, None)
    w = _class_weights(weight, c, logits.dtype)
    losses = -(lp * _smoothed(target, label_smoothing) * w).sum(axis=1)
    return _reduce(losses.astype(logits.dtype), reduction, n), lp, float(n)


@_quiet
def cross_entropy_prob_backward(grad, log_probs, target, weight, label_smoothing, out, reduction,
                                denom):
    n, c = log_probs.shape
    w = _class_weights(weight, c, log_probs.dtype)
    g = _incoming(grad, reduction, n, denom)
    d_lp = -g[:, None] * _smoothed(target, label_smoothing) * w[None, :]
    return log_softmax_backward(d_lp.astype(log_probs.dtype), log_probs, None)
