"""`microtorch.cuda`: there is no GPU backend, so `is_available()` is False."""
from __future__ import annotations


def is_available() -> bool:
    """Always False: microtorch computes on the CPU."""
    return False


def device_count() -> int:
    """Always 0."""
    return 0


def manual_seed(seed: int) -> None:
    """Accepted for compatibility; there is no CUDA generator to seed."""


def manual_seed_all(seed: int) -> None:
    """Accepted for compatibility; there is no CUDA generator to seed."""
