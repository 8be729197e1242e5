"""Batch and layer normalization, each forward and backward as ONE graph node.

Both compute xhat = (x - mean) / sqrt(var + eps) and y = xhat * weight + bias; they
differ in which axes the statistics run over: every axis but the channel axis (1) for
batch norm, the trailing `normalized_shape` axes for layer norm. The variance used to
normalize is the biased one (mean of squared deviations).

With S the set of axes a statistic runs over and n its size, the gradient through
the normalization is

    dx = invstd * (dxhat - mean_S(dxhat) - xhat * mean_S(dxhat * xhat)),  dxhat = dy * weight

and, when batch norm uses its running statistics (eval), simply dx = dy * weight * invstd.
Each is evaluated in PyTorch's order (batch norm applies the weight last, layer norm works
on x and its mean), so overflow and NaN at the extremes come out as PyTorch's.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction


def _mean(a: np.ndarray, axes: tuple) -> np.ndarray:
    """Mean over `axes`, keepdims, in a's dtype (ufunc reduce: no Python-level overhead)."""
    n = 1
    for ax in axes:
        n *= a.shape[ax]
    return np.add.reduce(a, axis=axes, keepdims=True) * (1.0 / n if n else np.nan)


def _normalize(x: np.ndarray, axes: tuple, eps: float):
    """(xhat, mean, biased var, invstd) with statistics over `axes` (keepdims).

    Two passes (the variance of the centered values) keep float32 accurate without the
    cost of float64 accumulation.
    """
    mean = _mean(x, axes)
    xhat = x - mean
    var = _mean(np.square(xhat), axes)
    invstd = 1 / np.sqrt(var + eps)
    xhat *= invstd
    return xhat, mean, var, invstd


def _affine(xhat: np.ndarray, w: np.ndarray | None, b: np.ndarray | None) -> np.ndarray:
    """xhat * w + b, always a new array (xhat itself is kept for backward)."""
    y = xhat * w if w is not None else xhat.copy()
    if b is not None:
        y += b
    return y


def _param_grads(ctx, g, xhat) -> tuple:
    needs = ctx.needs_input_grad
    gw = np.sum(g * xhat, axis=ctx.param_axes).reshape(ctx.param_shape) if needs[1] else None
    gb = np.sum(g, axis=ctx.param_axes).reshape(ctx.param_shape) if needs[2] else None
    return gw, gb


def _batch_norm_backward(ctx, g):
    """Grads of (input, weight, bias) in PyTorch's order: from the centered input c,
    dotp = sum(g * c) and the weight's grad dotp * invstd; the weight is applied last, with
    invstd (so a huge weight or input overflows where PyTorch's does)."""
    centered, invstd, w = ctx.saved_tensors[:3]
    needs = ctx.needs_input_grad
    axes = ctx.axes
    g_sum = np.add.reduce(g, axis=axes, keepdims=True)
    dotp = np.add.reduce(g * centered, axis=axes, keepdims=True)
    gx = gw = gb = None
    if needs[0]:
        scale = invstd if w is None else invstd * w.reshape(ctx.param_view)
        if ctx.use_batch_stats:
            n = g.dtype.type(g.size // g.shape[1])
            gx = centered * (dotp * invstd * invstd / n)
            gx += g_sum / n
            np.subtract(g, gx, out=gx)
            gx *= scale
        else:
            gx = g * scale
    if needs[1]:
        gw = (dotp * invstd).reshape(ctx.param_shape)
    if needs[2]:
        gb = g_sum.reshape(ctx.param_shape)
    return gx, gw, gb


def _layer_norm_backward(ctx, g):
    """Grads of (input, weight, bias) in PyTorch's form: with gw = g * weight,
    dx = rstd * gw + b * x + c, b = (sum(gw) * mean - sum(gw * x)) * rstd^3 / n and
    c = -b * mean - sum(gw) * rstd / n."""
    xhat, invstd, w, x, mean = ctx.saved_tensors
    gx = None
    if ctx.needs_input_grad[0]:
        axes = ctx.axes
        gw = g if w is None else g * w
        n = x.dtype.type(1.0 / ctx.n) if ctx.n else x.dtype.type(np.nan)
        with np.errstate(all="ignore"):
            ds = np.add.reduce(gw * x, axis=axes, keepdims=True)
            db = np.add.reduce(gw, axis=axes, keepdims=True)
            b = (db * mean - ds) * invstd * invstd * invstd * n
            c = -b * mean - db * invstd * n
            gx = invstd * gw + b * x + c
    return (gx, *_param_grads(ctx, g, xhat))


def _check_layer_norm_dtypes(x: np.ndarray, weight: Tensor | None,
                             bias: Tensor | None) -> None:
    """Floating input and affine parameters of a floating dtype, as PyTorch."""
    if x.dtype.kind != "f":
        raise RuntimeError(f"mixed dtype (CPU): all inputs must share same datatype "
                           f"(layer_norm got an input of dtype {x.dtype})")
    for t in (weight, bias):
        if t is not None and t._data.dtype.kind != "f":
            raise RuntimeError(
                f"mixed dtype (CPU): expect parameter to have scalar type of Float "
                f"(layer_norm got a {t._data.dtype} parameter)")


def _check_batch_norm(x: np.ndarray, running_mean, running_var, weight, bias,
                      training: bool) -> None:
    """PyTorch's checks of a non-empty batch_norm call, in its order: sizes of the
    statistics and parameters, the running statistics required, dtypes, 1-d statistics."""
    channels = x.shape[1] if x.ndim >= 2 else 0
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is None and not training:
            raise RuntimeError(f"{name} must be defined in evaluation mode")
        if t is not None and t._data.size != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {t._data.size}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t._data.size != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {t._data.size}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither "
                         "be None")
    if x.dtype.kind != "f":
        raise NotImplementedError(
            f'"batch_norm" not implemented for \'{_dtype.scalar_name(x.dtype)}\'')
    params = [t._data for t in (weight, bias, running_mean, running_var) if t is not None]
    if any(p.dtype != x.dtype for p in params):
        if any(p.dtype != np.float32 for p in params):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of "
                               "Float")
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    for t in (running_mean, running_var):
        if t is not None and t._data.ndim != 1:
            raise RuntimeError(f"TensorAccessor expected 1 dims but tensor has {t._data.ndim}")
    if x.ndim < 2:
        n = max(x.ndim, 1)
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         "but got 1)")


_STAT_CHUNKS = 2
"""Partial sums PyTorch's CPU kernel combines for an (N, C) input: one per thread, over
contiguous blocks of rows (2 on the reference machine)."""


def _chunked_sum(a: np.ndarray) -> np.ndarray:
    """Sum over axis 0 of a 2-d array in its dtype, as PyTorch's per-thread row sums: each
    block of rows summed in order, then the blocks added (which differs from one running
    sum beyond rounding only when a partial sum overflows)."""
    total = np.add.reduce(a, axis=0)
    n = a.shape[0]
    if n > 1 and not np.isfinite(total).all():
        step = -(-n // min(_STAT_CHUNKS, n))
        total = np.add.reduce(a[:step], axis=0)
        for start in range(step, n, step):
            total = total + np.add.reduce(a[start:start + step], axis=0)
    return total


def _batch_stats(x: np.ndarray, axes: tuple, bshape: tuple, eps: float):
    """(mean, centered input, biased var, invstd) per channel (shaped `bshape`) as PyTorch's
    CPU kernel: an (N, C) input sums rows in its dtype; otherwise sums accumulate in float64
    (PyTorch's acc type on CPU) while the squared deviations stay in the input's dtype."""
    n = x.size // x.shape[1]
    dt = x.dtype.type
    if x.ndim == 2 or n == x.shape[0]:
        rows = x.reshape(x.shape[0], x.shape[1])
        mean = _chunked_sum(rows) / dt(n)
        centered = rows - mean
        var = _chunked_sum(np.square(centered)) / dt(n)
        invstd = 1 / np.sqrt(var + dt(eps))
        return (mean.reshape(bshape), centered.reshape(x.shape), var.reshape(bshape),
                invstd.reshape(bshape))
    mean = (np.add.reduce(x, axis=axes, keepdims=True, dtype=np.float64) / n).astype(dt)
    centered = x - mean
    var = np.add.reduce(np.square(centered), axis=axes, keepdims=True, dtype=np.float64) / n
    invstd = (1 / np.sqrt(var + eps)).astype(dt)
    return mean, centered, var.astype(dt), invstd


_WIDE = {np.dtype(np.float16): np.float64, np.dtype(np.float32): np.float64,
         np.dtype(np.float64): np.longdouble}
"""A wider type in which a * b + c rounds (about) once at the end, like a fused multiply-add."""


def _fma(a: np.ndarray, b: np.ndarray, c) -> np.ndarray:
    """a * b + c rounded once, as PyTorch's vectorized fused multiply-add. Computed plainly,
    and redone in a wider type (float64 for float32, long double for float64) where the one
    rounding shows: a result that is not finite (a product that overflows can meet a sum
    that does not) or exactly 0 (a product cancelling c, whose rounding error fma keeps)."""
    y = a * b + c
    if not (np.isfinite(y).all() and y.all()):
        wide = _WIDE[y.dtype]
        y = (a.astype(wide) * np.asarray(b, wide) + np.asarray(c, wide)).astype(y.dtype)
        if wide is np.longdouble:            # cancellation needs the exact product
            p, e = _two_product(a, b)
            exact = (p + c) + e
            y = np.where(np.isfinite(exact), exact, y)
    return y


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple:
    """(p, e) with p = fl(a * b) and p + e = a * b exactly (Dekker's splitting)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _split(a: np.ndarray) -> tuple:
    """a as hi + lo, each with at most 26 significant bits (Veltkamp's splitting)."""
    t = a * 134217729.0
    hi = t - (t - a)
    return hi, a - hi


def _contiguous(*arrays) -> bool:
    return all(a is None or a.flags.c_contiguous for a in arrays)


class BatchNorm(ArrayFunction):
    """Batch norm over every axis but the channel axis 1; updates the running buffers.

    The running statistics arrive as Tensor options, so that they are saved (and guarded)
    for backward as PyTorch saves them; updating them here does not change their version.
    """

    node_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, training=False,
                momentum=0.1, eps=1e-5):
        c = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        bshape = (1, c) + (1,) * (x.ndim - 2)
        rm = None if running_mean is None else running_mean._data
        rv = None if running_var is None else running_var._data
        with np.errstate(all="ignore"):
            if training:
                mean, centered, var, invstd = _batch_stats(x, axes, bshape, eps)
                if rm is not None:
                    n = x.size // c
                    _update_running(rm, mean, momentum)
                    _update_running(rv, var * (n / (n - 1)), momentum)
            else:
                mean = rm.reshape(bshape)
                invstd = 1 / np.sqrt(rv.reshape(bshape) + rv.dtype.type(eps))
                centered = x - mean
            ctx.axes, ctx.use_batch_stats = axes, training
            ctx.param_shape, ctx.param_view = (c,), bshape
            ctx.save_for_backward(centered, invstd, weight, x, rm, rv)
            w = None if weight is None else weight.reshape(bshape)
            b = None if bias is None else bias.reshape(bshape)
            if not _contiguous(x, weight, bias, None if training else rm,
                               None if training else rv):
                y = centered * invstd             # PyTorch's elementwise form off the fast path
                if w is not None:
                    y = y * w
                return y + (x.dtype.type(0) if b is None else b)    # -0.0 + 0 is 0.0
            alpha = invstd if w is None else invstd * w       # the fast path: x * alpha + beta
            beta = (x.dtype.type(0) if b is None else b) - mean * alpha
            return _fma(x, alpha, beta)

    backward = staticmethod(_batch_norm_backward)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None, bias: Tensor | None, training: bool, momentum: float,
               eps: float) -> Tensor:
    """Normalize over every axis but the channel axis 1.

    training: use the batch's statistics and, when running buffers are given, update them
    in place (running_var with the unbiased batch variance). Otherwise use the running
    statistics.
    """
    for pos, name, value in ((7, "momentum", momentum), (8, "eps", eps)):
        if not isinstance(value, numbers.Real):
            raise TypeError(f"batch_norm(): argument '{name}' (position {pos}) must be float, "
                            f"not {type(value).__name__}")
    if input._data.size == 0:           # PyTorch's shortcut: no statistics, still a graph
        out = input.clone()
        if weight is not None:
            out = out * weight[0]
        if bias is not None:
            out = out + bias[0]
        return out
    _check_batch_norm(input._data, running_mean, running_var, weight, bias, training)
    return BatchNorm.apply(input, weight, bias, running_mean=running_mean,
                           running_var=running_var, training=training, momentum=momentum,
                           eps=eps)


def _update_running(buf: np.ndarray | None, stat: np.ndarray, momentum: float) -> None:
    """buf = (1 - momentum) buf + momentum stat, in the buffer's own storage."""
    if buf is None:
        return
    buf *= 1.0 - momentum
    buf += momentum * stat.reshape(buf.shape)


_CHUNK = 16
"""Vectors per chunk of PyTorch's row-wise moments (its kChunkSize)."""


def _row_moments(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, biased var) of each row of a 2-d array, in its dtype, computed as PyTorch's CPU
    kernel does: Welford per vector lane (32-byte vectors) over the whole vectors, Welford
    over the remaining tail, then the lanes merged into the tail's moments one by one.

    The order matters only at the extremes, which is why it is emulated there: a constant
    row gets its exact mean (so it normalizes to 0), and a mean whose square overflows gives
    NaN (the merge multiplies that square by a zero count).
    """
    dt = rows.dtype.type
    r, n_cols = rows.shape
    lanes = 32 // rows.dtype.itemsize
    n_vec = n_cols // lanes
    with np.errstate(all="ignore"):
        lm0, lm1, lm2 = 0, np.zeros((r, lanes), dt), np.zeros((r, lanes), dt)
        for start in range(0, n_vec, _CHUNK):
            c1, c2 = np.zeros((r, lanes), dt), np.zeros((r, lanes), dt)
            count = min(_CHUNK, n_vec - start)
            for j in range(count):
                xv = rows[:, (start + j) * lanes:(start + j + 1) * lanes]
                d = xv - c1
                c1 = c1 + d * dt(1.0 / (j + 1))
                c2 = c2 + d * (xv - c1)
            if lm0:
                total = lm0 + count
                c = dt(count / total)
                d = c1 - lm1
                lm1 = lm1 + c * d
                lm2 = lm2 + (c2 + d * d * c * dt(lm0))
            else:
                lm1, lm2 = c1, c2
            lm0 += count
        m0, m1, m2 = 0, np.zeros(r, dt), np.zeros(r, dt)
        for i in range(n_vec * lanes, n_cols):
            x = rows[:, i]
            d = x - m1
            m0 += 1
            m1 = m1 + d / dt(m0)
            m2 = m2 + d * (x - m1)
        for k in range(lanes):
            total = m0 + n_vec
            c = dt(n_vec / total) if total else dt(0)
            d = lm1[:, k] - m1
            m1 = m1 + c * d
            m2 = m2 + (lm2[:, k] + d * d * c * dt(m0))
            m0 = total
        return m1, m2 / dt(n_cols)


_LIMITS = {np.dtype(t): (np.finfo(t).max / 16, (np.finfo(t).eps * 1e4) ** 2)
           for t in (np.float16, np.float32, np.float64)}


def _needs_exact_moments(mean: np.ndarray, var: np.ndarray, n: int) -> bool:
    """True when the fast two-pass statistics may differ from PyTorch's beyond rounding:
    values near the overflow of squares (or NaN/inf), or a spread tiny against the mean
    (rounding of the mean then dominates, as in a constant row)."""
    big, tiny = _LIMITS[mean.dtype]
    m2 = mean * mean
    return not ((np.maximum(m2, var * n) < big) & (var >= m2 * tiny)).all()


class LayerNorm(ArrayFunction):
    """Layer norm over the trailing axes of `normalized_shape`."""

    node_name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_shape=(), eps=1e-5):
        k = len(normalized_shape)
        axes = tuple(range(x.ndim - k, x.ndim))
        xhat, mean, var, invstd = _normalize(x, axes, eps)
        n = int(np.prod(normalized_shape))
        if x.size and _needs_exact_moments(mean, var, n):
            mean, var = _row_moments(np.ascontiguousarray(x).reshape(-1, n))
            with np.errstate(all="ignore"):
                invstd = (1 / np.sqrt(np.maximum(var, 0) + var.dtype.type(eps))).reshape(
                    x.shape[:x.ndim - k] + (1,) * k)
                mean = mean.reshape(invstd.shape)
                xhat = np.where(invstd == 0, x * invstd + -(mean * invstd), (x - mean) * invstd)
        ctx.axes, ctx.param_axes, ctx.use_batch_stats = axes, tuple(range(x.ndim - k)), True
        ctx.param_shape = ctx.param_view = tuple(normalized_shape)
        ctx.n = n
        ctx.save_for_backward(xhat, invstd, weight, x, mean.reshape(invstd.shape))
        return _affine(xhat, weight, bias)

    backward = staticmethod(_layer_norm_backward)


def layer_norm(input: Tensor, normalized_shape: tuple, weight: Tensor | None,
               bias: Tensor | None, eps: float) -> Tensor:
    """Normalize over the trailing `len(normalized_shape)` axes of each sample."""
    _check_layer_norm_dtypes(input._data, weight, bias)
    return LayerNorm.apply(input, weight, bias, normalized_shape=tuple(normalized_shape), eps=eps)
