"""`backends.cudnn`: no cuDNN here; the flags keep PyTorch's defaults and change nothing."""
from __future__ import annotations

enabled = True
benchmark = False
benchmark_limit = 10
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """Always False: microtorch has no cuDNN."""
    return False


def version() -> None:
    """None: no cuDNN library is loaded."""
    return None
