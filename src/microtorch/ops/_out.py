"""PyTorch's `out=` contract, shared by every public entry that accepts it.

`torch.add(a, b, out=c)` computes the result, then writes it into `c` and returns `c`:
- it is refused under grad mode when an input or `out` requires grad (out= ops are not
  differentiable);
- the result is cast to out's dtype when PyTorch's casting rules allow it (not floating
  into integer, not anything into bool);
- an `out` of another shape is resized: silently when it has no elements, with PyTorch's
  deprecation warning otherwise.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad, state

_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}


def _can_cast(src: np.dtype, dst: np.dtype) -> bool:
    """PyTorch's canCast: no floating into integer or bool, nothing non-bool into bool."""
    return _KIND_RANK[src.kind] <= _KIND_RANK[dst.kind] or dst.kind == "f"


def write_out(out, name: str, compute: Callable[[], Tensor], *inputs,
              exact_dtype: bool = False) -> Tensor:
    """Run `compute()` without recording and write its result into `out`; return `out`.

    `inputs` are the op's arguments (tensors, or lists of them) checked for requires_grad.
    `exact_dtype`: out must have the result's dtype (matmul's rule) instead of a castable one.
    """
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if state.enabled and any(t._requires_grad for t in _tensors((out, *inputs))):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    with no_grad():
        result = compute()._data
    dst = out._data
    if exact_dtype and result.dtype != dst.dtype:
        raise RuntimeError(f"Expected out tensor to have dtype {_dtype.c_name(result.dtype)}, but got "
                           f"{_dtype.c_name(dst.dtype)} instead")
    if not _can_cast(result.dtype, dst.dtype):
        raise RuntimeError(f"result type {_dtype.scalar_name(result.dtype)} can't be cast to the desired "
                           f"output type {_dtype.scalar_name(dst.dtype)}")
    if dst.shape != result.shape:
        if dst.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(dst.shape)}, which does not match the required output shape "
                f"{list(result.shape)}. This behavior is deprecated, and in a future PyTorch "
                "release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                "with t.resize_(0).", UserWarning, stacklevel=3)
        out._data = np.empty(result.shape, dst.dtype)
        dst = out._data
    np.copyto(dst, result, casting="unsafe")
    out._version[0] += 1
    return out


def _tensors(args):
    for a in args:
        if isinstance(a, Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from _tensors(a)
