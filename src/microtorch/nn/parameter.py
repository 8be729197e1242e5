"""`Parameter`: a tensor that a Module registers as one of its learnable weights."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad by default; assigning it to a Module attribute
    registers it in the module's `parameters()`.

    `Parameter(t)` shares `t`'s storage, as in PyTorch.
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            array = np.empty((0,), dtype=_dtype.default_np())
        elif isinstance(data, Tensor):
            array = data._data
        else:
            raise TypeError(
                f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}"
            )
        param = cls._wrap(array)
        param.requires_grad = requires_grad
        return param

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass                                   # everything is done in __new__

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self._requires_grad))


def _rebuild_parameter(data: np.ndarray, requires_grad: bool) -> Parameter:
    return Parameter(Tensor._wrap(data), requires_grad)
