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


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (lazy modules): `materialize(shape)` gives
    it storage and turns it into a plain `Parameter`, keeping the object (so an optimizer
    that already holds it trains it)."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        param = cls._wrap(np.empty((0,), dtype=_dtype.to_numpy_dtype(
            dtype or _dtype.get_default_dtype())))
        param._requires_grad = requires_grad
        return param

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        pass

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Allocate (uninitialised) storage of `shape` and become a Parameter."""
        dt = self._data.dtype if dtype is None else _dtype.to_numpy_dtype(dtype)
        self._data = np.empty(tuple(shape), dtype=dt)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error "
            "usually happens in `load_state_dict` when trying to load an uninitialized "
            "parameter into an initialized one. Call `forward` to initialize the parameters "
            "before accessing their attributes.")

    def size(self, dim=None):
        return self.shape

    def __repr__(self) -> str:
        return "<UninitializedParameter>"

    __str__ = __repr__


def is_lazy(param) -> bool:
    """True for a parameter that has not been materialized yet."""
    return isinstance(param, UninitializedParameter)
