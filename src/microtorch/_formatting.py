"""`repr` of tensors in PyTorch's format: `tensor([[1.0000, 2.5000], ...], grad_fn=<...>)`.

Floats print as integers with a trailing dot when all are whole (`1.`), with 4 decimals
otherwise, and in scientific notation when the range is too wide; more than 1000
elements are summarised with `...`; rows wrap at 80 columns.
"""
from __future__ import annotations

import math

import numpy as np

from . import _dtype

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80


def _summarized(x: np.ndarray) -> np.ndarray:
    """The values that are shown (edges only when summarising), to choose the format."""
    if x.size <= THRESHOLD or x.ndim == 0:
        return x.reshape(-1)
    parts = []
    for i in _shown(x.shape[0], True):
        parts.append(_summarized(x[i]))
    return np.concatenate(parts) if parts else x.reshape(-1)


def _shown(n: int, summarize: bool) -> list:
    if summarize and n > 2 * EDGEITEMS:
        return list(range(EDGEITEMS)) + list(range(n - EDGEITEMS, n))
    return list(range(n))


def _float_formatter(values: np.ndarray):
    finite = values[np.isfinite(values)].astype(np.float64)
    nonzero = np.abs(finite[finite != 0])
    int_mode = bool(np.all(finite == np.ceil(finite))) if finite.size else True
    sci = False
    if nonzero.size:
        hi, lo = float(nonzero.max()), float(nonzero.min())
        if int_mode:
            sci = hi > 1e8
        else:
            sci = hi / lo > 1000.0 or hi > 1e8 or lo < 1e-4
    if sci:
        def fmt(v):
            return f"{v:.{PRECISION}e}"
    elif int_mode:
        def fmt(v):
            return f"{v:.0f}." if math.isfinite(v) else _special(v)
    else:
        def fmt(v):
            return f"{v:.{PRECISION}f}"

    def safe(v):
        v = float(v)
        return fmt(v) if math.isfinite(v) else _special(v)

    return safe


def _special(v: float) -> str:
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def _formatter(x: np.ndarray):
    values = _summarized(x)
    if x.dtype.kind == "f":
        fmt = _float_formatter(values)
    elif x.dtype.kind == "b":
        def fmt(v):
            return str(bool(v))
    else:
        def fmt(v):
            return str(int(v))
    width = max((len(fmt(v)) for v in values), default=1)
    return lambda v: fmt(v).rjust(width), width


def _body(x: np.ndarray, fmt, width: int, indent: int, summarize: bool) -> str:
    if x.ndim == 0:
        return fmt(x.item())
    if x.ndim == 1:
        items = [fmt(x[i]) if i >= 0 else "..." for i in _with_ellipsis(x.shape[0], summarize)]
        per_line = max(1, (LINEWIDTH - indent) // (width + 2))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    sep = "," + "\n" * (x.ndim - 1) + " " * (indent + 1)
    rows = [_body(x[i], fmt, width, indent + 1, summarize) if i >= 0 else "..."
            for i in _with_ellipsis(x.shape[0], summarize)]
    return "[" + sep.join(rows) + "]"


def _with_ellipsis(n: int, summarize: bool) -> list:
    if summarize and n > 2 * EDGEITEMS:
        return list(range(EDGEITEMS)) + [-1] + list(range(n - EDGEITEMS, n))
    return list(range(n))


def tensor_repr(t) -> str:
    """PyTorch's repr of a tensor, with dtype, requires_grad and grad_fn suffixes."""
    x = t._data
    prefix = "tensor("
    suffixes = []
    if x.size == 0 and x.ndim != 1:
        body = "[]"
        suffixes.append(f"size={tuple(x.shape)}")
    elif x.size == 0:
        body = "[]"
    else:
        fmt, width = _formatter(x)
        body = _body(x, fmt, width, len(prefix), x.size > THRESHOLD)
    dt = _dtype.from_numpy_dtype(x.dtype)
    if dt not in (_dtype.get_default_dtype(), _dtype.int64, _dtype.bool) or (
            x.size == 0 and dt is not _dtype.get_default_dtype()):
        suffixes.append(f"dtype={dt!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return prefix + body + "".join(", " + s for s in suffixes) + ")"
