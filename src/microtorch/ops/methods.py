"""Attach the ops as Tensor methods (`x.sum()`, `x.relu()`, `x.add_(y)`, ...).

An op whose first argument is the tensor becomes a method as is, so the method and the
`microtorch.*` function are the same code.
"""
from __future__ import annotations

from . import (
    activation,
    arithmetic,
    comparison,
    inplace,
    join,
    matmul,
    reduction,
    shape,
    unary,
)

_METHODS = {
    arithmetic: ["add", "sub", "mul", "div", "neg", "pow", "maximum", "minimum",
                 "floor_divide", "remainder"],
    unary: ["exp", "log", "log1p", "sqrt", "abs", "square", "sign", "clamp", "clip"],
    activation: ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "logsumexp"],
    reduction: ["sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin",
                "any", "all"],
    shape: ["reshape", "view", "view_as", "reshape_as", "flatten", "unflatten", "permute",
            "transpose", "swapaxes", "t", "unsqueeze", "squeeze", "expand", "expand_as", "repeat"],
    matmul: ["matmul", "mm", "bmm", "dot"],
    inplace: ["add_", "sub_", "mul_", "div_", "zero_", "fill_", "copy_", "clamp_", "clip_",
              "uniform_", "normal_"],
    comparison: ["isnan", "isinf", "isfinite", "equal", "allclose", "isclose", "logical_not",
                 "bitwise_not"],
    join: ["nonzero"],
}
_ALIASES = {"multiply": "mul", "divide": "div", "true_divide": "div", "subtract": "sub",
            "negative": "neg", "absolute": "abs"}


def install(cls) -> None:
    """Set every op above as a method of `cls` (the Tensor class)."""
    for module, names in _METHODS.items():
        for name in names:
            setattr(cls, name, getattr(module, name))
    for alias, target in _ALIASES.items():
        setattr(cls, alias, getattr(cls, target))
    cls.masked_fill = _masked_fill
    cls.where = _where


def _where(self, condition, other):
    """self where condition is True, other elsewhere."""
    return join.where(condition, self, other)


def _masked_fill(self, mask, value):
    """Elements where `mask` is True replaced by `value` (differentiable w.r.t. self)."""
    return join.where(mask, value, self)
