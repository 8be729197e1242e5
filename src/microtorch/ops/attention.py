"""Scaled dot-product attention: softmax(q k^T * scale + mask) v, as one graph node.

A boolean mask says which keys a query may attend to; a float mask is added to the scores;
`is_causal` lets query i see keys 0..i (combined with any mask). A query that may attend
to no key gets a zero output, as PyTorch's CPU kernel gives. Leading (batch, head) dims
broadcast; with `enable_gqa` several query heads share one key/value head. As in PyTorch,
the composite ("math") path scales query and key by sqrt(scale) each and adds masks, the
fused path scales the scores; without queries or keys the result is zeros.
"""
from __future__ import annotations

import math

import numpy as np

from .. import random as _random
from .._tensor import Tensor
from ..autograd.function import ArrayFunction


def _heads(a: np.ndarray, repeat: int) -> np.ndarray:
    """Each key/value head repeated for the `repeat` query heads that share it."""
    return a if repeat == 1 else np.repeat(a, repeat, axis=-3)


def _unheads(g: np.ndarray, repeat: int) -> np.ndarray:
    """The gradient of `_heads`: the shared heads' gradients summed."""
    if repeat == 1:
        return g
    shape = g.shape[:-3] + (g.shape[-3] // repeat, repeat) + g.shape[-2:]
    return g.reshape(shape).sum(axis=-3)


def allowed_keys(mask, causal: bool, L: int, S: int):
    """(boolean keep-mask or None, additive bias or None) from attn_mask and is_causal."""
    keep, bias = None, None
    if mask is not None:
        if mask.dtype == np.bool_:
            keep = mask
        else:
            bias = mask
    if causal:
        tri = np.tril(np.ones((L, S), dtype=np.bool_))
        keep = tri if keep is None else keep & tri
    return keep, bias


class ScaledDotProductAttention(ArrayFunction):
    """The fused kernel's node: scores = (q k^T) * scale, masked keys set to -inf."""

    node_name = "ScaledDotProductFlashAttentionForCpuBackward0"
    _math = False

    @staticmethod
    def forward(ctx, q, k, v, mask, scale, causal, repeat, dropout_p=0.0):
        kh, vh = _heads(k, repeat), _heads(v, repeat)
        keep, bias = allowed_keys(mask, causal, q.shape[-2], k.shape[-2])
        math_path = ctx._forward_cls._math
        with np.errstate(over="ignore", invalid="ignore"):
            if math_path:           # PyTorch's composite: both sides scaled by sqrt(scale)
                root = q.dtype.type(math.sqrt(scale))
                scores = np.matmul(q * root, np.swapaxes(kh, -1, -2) * root)
                if keep is not None:
                    bias = np.where(keep, q.dtype.type(0), q.dtype.type(-np.inf)) \
                        if bias is None else np.where(keep, bias, -np.inf)
                    keep = None
            else:
                scores = np.matmul(q, np.swapaxes(kh, -1, -2)) * q.dtype.type(scale)
            if bias is not None:
                scores = scores + bias
        if keep is not None:
            scores = np.where(keep, scores, -np.inf)
        top = np.max(scores, axis=-1, keepdims=True, initial=-np.inf)
        with np.errstate(invalid="ignore"):
            e = np.exp(scores - np.where(np.isfinite(top), top, 0))
        total = e.sum(axis=-1, keepdims=True)
        p = np.divide(e, total, out=np.zeros_like(e), where=total > 0).astype(q.dtype)
        dropout = None
        if dropout_p > 0:
            dropout = (_random.rng().random(p.shape) >= dropout_p).astype(q.dtype)
            dropout *= q.dtype.type(1.0 / (1.0 - dropout_p) if dropout_p < 1 else 0.0)
        ctx.scale, ctx.repeat, ctx.dropout = scale, repeat, dropout
        dropped = p if dropout is None else p * dropout
        ctx.save_for_backward(q, kh, vh, p, dropped)
        return np.matmul(dropped, vh)

    @staticmethod
    def backward(ctx, g):
        q, kh, vh, p, dropped = ctx.saved_tensors
        need = ctx.needs_input_grad
        gp = np.matmul(g, np.swapaxes(vh, -1, -2))
        if ctx.dropout is not None:
            gp = gp * ctx.dropout
        gs = p * (gp - np.sum(gp * p, axis=-1, keepdims=True))
        scale = q.dtype.type(ctx.scale)
        gq = np.matmul(gs, kh) * scale if need[0] else None
        gk = _unheads(np.matmul(np.swapaxes(gs, -1, -2), q) * scale, ctx.repeat) \
            if need[1] else None
        gv = _unheads(np.matmul(np.swapaxes(dropped, -1, -2), g), ctx.repeat) \
            if need[2] else None
        if len(need) == 3:                       # the fused node: the mask is an option
            return gq, gk, gv
        return gq, gk, gv, (gs if need[3] else None)


class MathAttention(ScaledDotProductAttention):
    """The same computation, named as PyTorch's composite ("math") path names its last node
    (taken for other than 4-D inputs, unequal head sizes, dropout, a mask needing grad,
    empty inputs or inputs whose last dim is not contiguous)."""

    node_name = "UnsafeViewBackward0"
    _math = True


class MatrixAttention(ScaledDotProductAttention):
    """The math path on 2-D inputs, whose last node is a plain matrix product."""

    node_name = "MmBackward0"
    _math = True


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value (dropout on the weights when
    dropout_p > 0); scale defaults to 1 / sqrt(query.size(-1))."""
    q, k, v = query._data, key._data, value._data
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise RuntimeError("Expected query, key, and value to all be  at least 2 dimensional, "
                           f"but got query.dim: {q.ndim} key.dim: {k.ndim} and value.dim: "
                           f"{v.ndim} instead.")
    if not q.dtype == k.dtype == v.dtype:
        names = {"float32": "float", "float64": "double", "float16": "c10::Half"}
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {names.get(q.dtype.name, q.dtype.name)} key.dtype: "
                           f"{names.get(k.dtype.name, k.dtype.name)} and value.dtype: "
                           f"{names.get(v.dtype.name, v.dtype.name)} instead.")
    if q.dtype.kind != "f":
        raise RuntimeError("expected scalar type Float but found "
                           f"{ {'int64': 'Long', 'int32': 'Int'}.get(q.dtype.name, q.dtype.name)}")
    if q.shape[-1] != k.shape[-1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{q.shape[-1]}, {k.shape[-2]}] but got: [{k.shape[-1]}, "
                           f"{k.shape[-2]}].")
    repeat = 1
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        if k.shape[-3] == 0 or q.shape[-3] % k.shape[-3]:
            raise RuntimeError("number of heads in key and value must divide the number of "
                               "heads in query")
        repeat = q.shape[-3] // k.shape[-3]
    if q.shape[-2] == 0 or k.shape[-2] == 0 or 0 in q.shape[:-2] + k.shape[:-2] + v.shape[:-2]:
        # PyTorch's shortcut when there are no scores: zeros, tied to the inputs' graph
        lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        zeros = Tensor._wrap(np.zeros(lead + (q.shape[-2], v.shape[-1]), q.dtype))
        return zeros + (query.sum() + key.sum() + value.sum()) * 0.0
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    mask = attn_mask
    if isinstance(mask, Tensor) and mask.dtype.is_floating_point and mask.dtype != query.dtype:
        mask = mask.to(query.dtype)
    if mask is not None and mask.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-max(mask.ndim, 1)}, {max(mask.ndim, 1) - 1}], but got -2)")
    fused = (q.ndim == k.ndim == v.ndim == 4 and q.shape[-1] == v.shape[-1] and dropout_p == 0
             and (mask is None or (mask.ndim in (2, 4) and not mask.requires_grad)))
    if not fused and mask is not None and is_causal:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                           "set when is_causal=True")
    # PyTorch's fused kernel also needs non-empty inputs with a contiguous last dim
    fused = fused and all(a.size and (a.shape[-1] == 1 or a.strides[-1] == a.itemsize)
                          for a in (q, k, v))
    if fused:
        fn = ScaledDotProductAttention
    else:
        fn = MatrixAttention if q.ndim == k.ndim == v.ndim == 2 else MathAttention
    options = {"scale": scale, "causal": bool(is_causal), "repeat": repeat,
               "dropout_p": float(dropout_p)}
    if fused:      # PyTorch's fused node has edges to query, key and value only
        return fn.apply(query, key, value, mask=None if mask is None else mask._data, **options)
    return fn.apply(query, key, value, mask, **options)
