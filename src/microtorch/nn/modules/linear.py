"""`Linear` (y = x W^T + b, one fused graph node) and `Identity`."""
from __future__ import annotations

import math

from ... import _dtype
from ..._device import check_device
from ..._factories import empty
from ...ops.matmul import linear as _linear
from .. import init
from ..parameter import Parameter
from .module import Module


class Identity(Module):
    """Returns its input unchanged (any constructor arguments are ignored)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features).

    PyTorch's default init: W and b ~ U(-1/sqrt(in_features), 1/sqrt(in_features)).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        check_device(device)
        dtype = dtype or _dtype.get_default_dtype()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_ with a=sqrt(5): bound = sqrt(3) * sqrt(2 / (1 + 5)) / sqrt(fan_in)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        params = self._parameters                 # direct dict access: the hot path
        return _linear(input, params["weight"], params["bias"])

    def _error_context(self, input) -> str:
        name = f"Linear({self.in_features}→{self.out_features})"
        shape = tuple(getattr(input, "shape", ()))
        if shape and shape[-1] != self.in_features:
            return f"{name}: expected input with last dimension {self.in_features}, got {shape}"
        return name

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
