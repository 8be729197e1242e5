"""Utilities mirroring `torch.utils`: `data` (datasets, samplers, DataLoader), `hooks`.

`data` is imported on first use, so that the autograd core can use `utils.hooks` without
pulling in the data pipeline (which needs Tensor) while Tensor itself is being imported.
"""
from __future__ import annotations

import importlib

__all__ = ["data", "hooks"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
