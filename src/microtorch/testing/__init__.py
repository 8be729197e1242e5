"""Tools for testing code built on microtorch: gradient checks and hypothesis strategies.

`gradcheck` compares the gradients autograd computes with finite differences. The
hypothesis strategies live in `microtorch.testing.strategies`, which imports hypothesis
when first used, so `import microtorch.testing` works without hypothesis installed.
"""
from __future__ import annotations

from ._gradcheck import GradcheckError, gradcheck

__all__ = ["GradcheckError", "gradcheck", "strategies"]


def __getattr__(name):
    """`microtorch.testing.strategies` is imported on first access (it needs hypothesis)."""
    if name == "strategies":
        import importlib

        return importlib.import_module(f"{__name__}.strategies")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
