"""`RemovableHandle`: what every `register_*hook` returns (as `torch.utils.hooks`)."""
from __future__ import annotations

import itertools


class RemovableHandle:
    """Keeps the key of one hook in its dict; `.remove()` (or leaving a `with`) unregisters it."""

    _next_id = itertools.count()

    def __init__(self, hooks_dict: dict) -> None:
        self.hooks_dict = hooks_dict
        self.id = next(RemovableHandle._next_id)

    def remove(self) -> None:
        self.hooks_dict.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
