"""`autocast`: a region where PyTorch would run some ops in lower precision.

microtorch keeps every op in its input dtype (see `microtorch.amp`); the region is tracked
so `is_autocast_enabled()` answers as PyTorch does.
"""
from __future__ import annotations

import functools
import threading
import warnings

from .. import _dtype
from .._device import device as _device


class _State(threading.local):
    def __init__(self) -> None:
        self.enabled = {}


_state = _State()


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """True inside an enabled autocast region for `device_type`."""
    return _state.enabled.get(device_type, False)


class autocast:
    """`with autocast(device_type, dtype=None, enabled=True):` (also a decorator).

    On the CPU the region is recorded but no op changes dtype; other device types are
    not available, so (as PyTorch does without them) a warning is given and it is disabled.
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = _device(device_type).type
        self.fast_dtype = dtype if dtype is not None else (
            _dtype.float16 if self.device != "cpu" else None)
        self._enabled = bool(enabled)
        if self.device != "cpu" and self._enabled:
            warnings.warn(f"{self.device.upper()} is not available. Disabling autocast.",
                          stacklevel=2)
            self._enabled = False
        self._prev = None

    def __enter__(self) -> autocast:
        self._prev = _state.enabled.get(self.device, False)
        _state.enabled[self.device] = self._enabled
        return self

    def __exit__(self, *exc) -> None:
        _state.enabled[self.device] = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled):
                return fn(*args, **kwargs)

        return wrapper
