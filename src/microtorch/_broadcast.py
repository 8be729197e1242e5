"""PyTorch's error for shapes that do not broadcast (used by ops and by `Function.apply`)."""
from __future__ import annotations


def broadcast_error(*shapes) -> RuntimeError:
    """PyTorch's error for shapes that do not broadcast, naming the first clash."""
    ndim = max(len(s) for s in shapes)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    for d in range(ndim - 1, -1, -1):
        sizes = [p[d] for p in padded]
        big = [n for n in sizes if n != 1]
        if len(set(big)) > 1:
            a, b = big[0], next(n for n in big if n != big[0])
            return RuntimeError(
                f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                f"non-singleton dimension {d}"
            )
    return RuntimeError(f"shapes {[list(s) for s in shapes]} cannot be broadcast together")
