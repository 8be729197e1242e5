"""`microtorch.Size`: the tuple subclass that `Tensor.shape` returns."""
from __future__ import annotations


class Size(tuple):
    """A tensor's shape; a tuple of ints that prints as `torch.Size([2, 3])`."""

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r
