"""`torch.return_types`: the named tuples that ops with several results return
(`values, indices = x.sort()`, `x.topk(2).indices`), printed as PyTorch prints them."""
from __future__ import annotations

from collections import namedtuple


def _structseq(name: str, fields: list[str]) -> type:
    """A namedtuple class whose repr is PyTorch's `torch.return_types.<name>(...)`."""
    base = namedtuple(name, fields)

    def __repr__(self) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})
    return cls


sort = _structseq("sort", ["values", "indices"])
topk = _structseq("topk", ["values", "indices"])
histogram = _structseq("histogram", ["hist", "bin_edges"])
