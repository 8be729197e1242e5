"""`backends.mps`: no Metal backend here."""
from __future__ import annotations


def is_available() -> bool:
    """Always False: microtorch computes on the CPU."""
    return False


def is_built() -> bool:
    """Always False: microtorch is not built with MPS."""
    return False
