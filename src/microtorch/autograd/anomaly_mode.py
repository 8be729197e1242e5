"""Anomaly detection: find the first op whose output or gradient is NaN or infinite.

With `set_detect_anomaly(True)` (or inside `detect_anomaly()`), every recorded op keeps
the user's source line that created it, forward outputs are checked as they are made,
and backward checks each gradient a node returns. The error names the op, its input
shapes and where it was created.
"""
from __future__ import annotations

import os
import sys

import numpy as np

_enabled = False
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def is_enabled() -> bool:
    """True while anomaly detection is on."""
    return _enabled


def set_detect_anomaly(mode: bool) -> None:
    """Turn anomaly detection on or off."""
    global _enabled
    _enabled = bool(mode)


class detect_anomaly:
    """Context manager turning anomaly detection on for its block."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self.prev = _enabled
        set_detect_anomaly(self.check_nan)

    def __exit__(self, *exc) -> None:
        set_detect_anomaly(self.prev)


def user_frame() -> str:
    """'file:line in function' of the innermost caller outside microtorch itself."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def _bad(a: np.ndarray) -> bool:
    return a.dtype.kind == "f" and not np.isfinite(a).all()


def check_forward(node, outputs: list, inputs) -> None:
    """Remember where `node` was created; raise if a forward output is NaN/Inf."""
    node._created_at = user_frame()
    if any(hasattr(o, "_data") and _bad(o._data) for o in outputs):
        shapes = ", ".join(str(tuple(t.shape)) for t in inputs if hasattr(t, "shape"))
        raise RuntimeError(
            f"Function '{node.name()}' returned nan or inf values in its forward output "
            f"(input shapes: {shapes}). It was created at {node._created_at}"
        )


def check_backward(node, grads) -> None:
    """Raise if `node`'s backward returned a NaN/Inf gradient."""
    for i, g in enumerate(grads):
        if g is not None and _bad(np.asarray(g)):
            where = getattr(node, "_created_at", "<unknown>")
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {i}th output "
                f"(gradient of shape {tuple(np.shape(g))}). It was created at {where}"
            )
