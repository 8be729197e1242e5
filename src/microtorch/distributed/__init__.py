"""`microtorch.distributed`: there is no multi-process backend, so `is_available()` is False.

Scripts that check `dist.is_available() and dist.is_initialized()` run single-process;
starting a process group raises.
"""
from __future__ import annotations


def is_available() -> bool:
    """Always False: microtorch has no distributed backend."""
    return False


def is_initialized() -> bool:
    """Always False: no process group can exist."""
    return False


def init_process_group(*args, **kwargs) -> None:
    """Raises: microtorch cannot run distributed training."""
    raise RuntimeError("microtorch has no distributed backend (torch.distributed.is_available() "
                       "is False); run the script as a single process.")
