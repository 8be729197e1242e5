"""Whether operations record a graph: `no_grad`, `enable_grad`, `set_grad_enabled`.

The flag is per thread, as in PyTorch, so a `no_grad` block in one thread does not
change what another thread records.
"""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True


state = _State()


def is_grad_enabled() -> bool:
    """True when new operations record a graph for backward."""
    return state.enabled


class set_grad_enabled:
    """Turn graph recording on or off: as a function, a context manager or a decorator."""

    def __init__(self, mode: bool) -> None:
        self.prev = state.enabled
        self.mode = bool(mode)
        state.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        state.enabled = self.prev

    def __call__(self, fn):
        mode = self.mode
        state.enabled = self.prev

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class _GradModeContext:
    """Base of `no_grad`/`enable_grad`: a context manager that is also a decorator."""

    mode = True

    def __enter__(self) -> None:
        self.prev = state.enabled
        state.enabled = self.mode

    def __exit__(self, *exc) -> None:
        state.enabled = self.prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Operations inside do not record a graph (evaluation, parameter updates)."""

    mode = False


class enable_grad(_GradModeContext):
    """Operations inside record a graph, even within `no_grad`."""

    mode = True


class inference_mode(no_grad):
    """PyTorch's faster `no_grad`; in microtorch it is the same as `no_grad`."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode
