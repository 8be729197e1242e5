"""Gradient clipping, applied in place to `.grad` between backward and the optimizer step."""
from __future__ import annotations

import math

import numpy as np

from ..._tensor import Tensor


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale the gradients so that their joint norm is at most `max_norm`.

    The joint norm is the norm of all gradients concatenated into one vector; every
    gradient is multiplied by min(1, max_norm / (norm + 1e-6)). Returns the norm before
    clipping.
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor._wrap(np.array(0.0, dtype=np.float32))
    dtype = grads[0]._data.dtype
    if math.isinf(norm_type):
        per_grad = [np.abs(g._data).max(initial=0.0) for g in grads]
        total = max(per_grad)
    else:
        per_grad = [np.sum(np.abs(g._data.astype(np.float64)) ** norm_type) for g in grads]
        total = sum(per_grad) ** (1.0 / norm_type)
    total = np.asarray(total, dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    for g in grads:
        g._data *= g._data.dtype.type(coef)
        g._version[0] += 1
    return Tensor._wrap(total)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._version[0] += 1
