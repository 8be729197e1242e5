"""`repr` of tensors in PyTorch's format: `tensor([[1.0000, 2.5000], ...], grad_fn=<...>)`.

The rules are PyTorch's (`set_printoptions` changes them the same way):

- One format for the whole tensor, chosen from its non-zero finite values (only the shown
  ones when summarised). If all are integers: `1.` style, or scientific when max/min >
  1000 or max > 1e8. Otherwise `precision` decimals, or scientific when max/min > 1000,
  max > 1e8 or min < 1e-4 (`sci_mode` forces either). The width is the widest of those
  values formatted; NaN, inf and zeros do not count towards it.
- More than `threshold` elements: only `edgeitems` at each end of every dim are shown,
  with `...` between.
- A row holds as many elements as fit in `linewidth`; suffixes (dtype, grad_fn) go on a
  new line when they would pass it.
"""
from __future__ import annotations

import math

import numpy as np

from . import _dtype


class _Options:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


OPTIONS = _Options()

_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, math.inf, 3, 80)}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Change how tensors print (PyTorch's options and profiles 'default', 'short', 'full')."""
    if profile is not None:
        (OPTIONS.precision, OPTIONS.threshold, OPTIONS.edgeitems,
         OPTIONS.linewidth) = _PROFILES[profile]
    if precision is not None:
        OPTIONS.precision = precision
    if threshold is not None:
        OPTIONS.threshold = threshold
    if edgeitems is not None:
        OPTIONS.edgeitems = edgeitems
    if linewidth is not None:
        OPTIONS.linewidth = linewidth
    OPTIONS.sci_mode = sci_mode


def _summarized(x: np.ndarray) -> np.ndarray:
    """The elements shown when summarising: `edgeitems` at each end of every dim."""
    if x.ndim == 0:
        return x
    n = OPTIONS.edgeitems
    if n == 0:
        return x.reshape((0,) * x.ndim)
    if x.shape[0] > 2 * n:
        index = list(range(n)) + list(range(x.shape[0] - n, x.shape[0]))
    else:
        index = range(x.shape[0])
    if x.ndim == 1:
        return x[list(index)]
    return np.stack([_summarized(x[i]) for i in index])


class _Formatter:
    """The one number format of a tensor, and its width."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size:
            magnitudes = np.abs(finite)
            lo, hi = float(magnitudes.min()), float(magnitudes.max())
            self.int_mode = bool(np.all(finite == np.ceil(finite)))
            wide = hi / lo > 1000.0 or hi > 1.0e8
            self.sci_mode = wide if self.int_mode else (wide or lo < 1.0e-4)
        if OPTIONS.sci_mode is not None:
            self.sci_mode = OPTIONS.sci_mode
        if finite.size:
            texts = [self._text(v) for v in finite.tolist()]
            extra = 1 if self.int_mode and not self.sci_mode else 0
            self.width = max(len(t) for t in texts) + extra

    def _text(self, v: float) -> str:
        if self.sci_mode:
            return f"{v:.{OPTIONS.precision}e}"
        if self.int_mode:
            return f"{v:.0f}"
        return f"{v:.{OPTIONS.precision}f}"

    def format(self, v) -> str:
        if not self.floating:
            text = str(v)
        elif self.sci_mode:
            text = f"{v:{self.width}.{OPTIONS.precision}e}"
        elif self.int_mode:
            text = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            text = f"{v:.{OPTIONS.precision}f}"
        return " " * (self.width - len(text)) + text


def _vector(x: np.ndarray, fmt: _Formatter, indent: int, summarize: bool) -> str:
    per_line = max(1, int(math.floor((OPTIONS.linewidth - indent) / (fmt.width + 2))))
    n = OPTIONS.edgeitems
    if summarize and not n:
        items = ["..."]
    elif summarize and x.shape[0] > 2 * n:
        items = ([fmt.format(v) for v in x[:n].tolist()] + [" ..."]
                 + [fmt.format(v) for v in x[-n:].tolist()])
    else:
        items = [fmt.format(v) for v in x.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _body(x: np.ndarray, fmt: _Formatter, indent: int, summarize: bool) -> str:
    if x.ndim == 0:
        return fmt.format(x.item())
    if x.ndim == 1:
        return _vector(x, fmt, indent, summarize)
    n = OPTIONS.edgeitems
    if summarize and x.shape[0] > 2 * n:
        rows = ([_body(x[i], fmt, indent + 1, summarize) for i in range(n)] + ["..."]
                + [_body(x[i], fmt, indent + 1, summarize)
                   for i in range(x.shape[0] - n, x.shape[0])])
    else:
        rows = [_body(x[i], fmt, indent + 1, summarize) for i in range(x.shape[0])]
    return "[" + ("," + "\n" * (x.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _with_suffixes(text: str, suffixes: list, indent: int) -> str:
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > OPTIONS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t) -> str:
    """PyTorch's repr of a tensor, with dtype, requires_grad and grad_fn suffixes."""
    x = t._data
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    dt = _dtype.from_numpy_dtype(x.dtype)
    default = _dtype.get_default_dtype()
    if x.size == 0:
        if x.ndim != 1:
            suffixes.append(f"size={tuple(x.shape)}")
        if dt is not default:
            suffixes.append(f"dtype={dt!r}")
        body = "[]"
    else:
        if dt not in (default, _dtype.int64, _dtype.bool):
            suffixes.append(f"dtype={dt!r}")
        values = x.astype(np.float32) if x.dtype == np.float16 else x
        summarize = x.size > OPTIONS.threshold
        fmt = _Formatter(_summarized(values) if summarize else values)
        body = _body(values, fmt, indent, summarize)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name().rsplit('::', 1)[-1]}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
