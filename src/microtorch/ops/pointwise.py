"""Pointwise math: trigonometric and hyperbolic functions, logs and powers of 2 and 10,
rounding, erf, and the binary/ternary ops atan2, fmod, hypot, logaddexp, lerp, addcmul,
addcdiv, clamp_min and clamp_max.

Each op is an `ArrayFunction` named like PyTorch's node. Integer inputs are computed in the
default float dtype, as PyTorch does (the rounding family returns integers unchanged).
In-place variants (`Tensor.sin_()`, ...) run the same Function with `inplace=True`: forward
writes the result into the input's array and marks it dirty, copying the old values first
when backward needs them. Python-number operands (fmod's divisor, lerp's weight, clamp
bounds, addcmul's value) are options, not graph inputs: PyTorch's nodes have no edge for
them either.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd.function import ArrayFunction
from ._operands import (
    check_scalar_fits,
    float_array,
    operand,
    promote_arrays,
    refuse_bool,
    require_tensor,
)
from ._out import write_out
from .inplace import check_broadcast_into, check_cast_back, check_inplace, check_no_overlap

LN2 = math.log(2.0)
LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def erf_array(x: np.ndarray) -> np.ndarray:
    """The error function elementwise (SciPy's, imported on first use: it is slow to load)."""
    from scipy.special import erf

    return erf(x)


def _erfc_array(x: np.ndarray) -> np.ndarray:
    from scipy.special import erfc

    return erfc(x)


def _into(ctx, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write `out` into the input array `x` (an in-place op) and mark x dirty."""
    x[...] = out
    ctx.mark_dirty(x)
    return x


def _apart(x: np.ndarray, y):
    """`y`, copied if it shares memory with x (so writing into x cannot change it)."""
    return y.copy() if isinstance(y, np.ndarray) and np.may_share_memory(x, y) else y


# ---- unary ---------------------------------------------------------------------------------

def _unary(name: str, fn: Callable, saves: str, grad: Callable, *, rounding: bool = False,
           node: str | None = None) -> type:
    """An ArrayFunction for out = fn(x) elementwise, with backward grad(g, saved).

    `saves` is what backward needs: "input" (x), "output" (out) or "" (nothing).
    `rounding` ops (floor, ...) return integer inputs unchanged instead of computing in float.
    """

    def forward(ctx, x, inplace=False):
        if rounding and x.dtype.kind != "f":
            if inplace:
                ctx.mark_dirty(x)
                return x
            return x.copy()
        x = float_array(x)
        with np.errstate(all="ignore"):
            out = np.asarray(fn(x))
        if saves == "input":
            ctx.save_for_backward(x.copy() if inplace and ctx.needs_input_grad[0] else x)
        if inplace:
            out = _into(ctx, x, out)
        if saves == "output":
            ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        saved = ctx.saved_tensors[0] if saves else None
        with np.errstate(all="ignore"):
            return (grad(g, saved),)

    body = {"node_name": node or f"{name}Backward0", "__module__": __name__,
            "__doc__": f"{name}: forward and backward of torch.{name.lower()}.",
            "forward": staticmethod(forward), "backward": staticmethod(backward)}
    return type(name, (ArrayFunction,), body)


def _zero_grad(g, _):
    return np.zeros_like(g)


def _asinh_grad(g, x):
    return g / np.sqrt(x * x + 1)


def _acosh_grad(g, x):
    return g / np.sqrt(x * x - 1)


def _atanh_grad(g, x):
    return g / (1 - x * x)


Sin = _unary("Sin", np.sin, "input", lambda g, x: g * np.cos(x))
Cos = _unary("Cos", np.cos, "input", lambda g, x: -g * np.sin(x))
Tan = _unary("Tan", np.tan, "output", lambda g, y: g * (1 + y * y))
Asin = _unary("Asin", np.arcsin, "input", lambda g, x: g / np.sqrt(1 - x * x))
Acos = _unary("Acos", np.arccos, "input", lambda g, x: -g / np.sqrt(1 - x * x))
Atan = _unary("Atan", np.arctan, "input", lambda g, x: g / (1 + x * x))
Sinh = _unary("Sinh", np.sinh, "input", lambda g, x: g * np.cosh(x))
Cosh = _unary("Cosh", np.cosh, "input", lambda g, x: g * np.sinh(x))
Asinh = _unary("Asinh", np.arcsinh, "input", _asinh_grad)
Acosh = _unary("Acosh", np.arccosh, "input", _acosh_grad)
Atanh = _unary("Atanh", np.arctanh, "input", _atanh_grad)
# PyTorch records the in-place inverse hyperbolics under a second node name
AsinhInplace = _unary("Asinh", np.arcsinh, "input", _asinh_grad, node="AsinhBackward1")
AcoshInplace = _unary("Acosh", np.arccosh, "input", _acosh_grad, node="AcoshBackward1")
AtanhInplace = _unary("Atanh", np.arctanh, "input", _atanh_grad, node="AtanhBackward1")
Log10 = _unary("Log10", np.log10, "input", lambda g, x: g / (x * LN10))
Log2 = _unary("Log2", np.log2, "input", lambda g, x: g / (x * LN2))
Exp2 = _unary("Exp2", np.exp2, "output", lambda g, y: g * y * LN2)
Expm1 = _unary("Expm1", np.expm1, "output", lambda g, y: g * (y + 1))
Reciprocal = _unary("Reciprocal", np.reciprocal, "output", lambda g, y: -g * (y * y))
Rsqrt = _unary("Rsqrt", lambda x: 1 / np.sqrt(x), "output", lambda g, y: -0.5 * g * y * y * y)
Erf = _unary("Erf", erf_array, "input",
             lambda g, x: g * TWO_OVER_SQRT_PI * np.exp(-x * x))
Erfc = _unary("Erfc", _erfc_array, "input",
              lambda g, x: -g * TWO_OVER_SQRT_PI * np.exp(-x * x))
Floor = _unary("Floor", np.floor, "", _zero_grad, rounding=True)
Ceil = _unary("Ceil", np.ceil, "", _zero_grad, rounding=True)
Round = _unary("Round", np.round, "", _zero_grad, rounding=True)
Trunc = _unary("Trunc", np.trunc, "", _zero_grad, rounding=True)
Frac = _unary("Frac", lambda x: x - np.trunc(x), "", lambda g, _: g)


class RoundDecimals(ArrayFunction):
    """round(x, decimals): half to even at the given decimal place (zero gradient)."""

    node_name = "RoundBackward1"

    @staticmethod
    def forward(ctx, x, decimals=0, inplace=False):
        out = np.round(x, decimals)
        return _into(ctx, x, out) if inplace else out

    @staticmethod
    def backward(ctx, g):
        return (np.zeros_like(g),)


def _float_only(dt: np.dtype, kernel: str) -> None:
    """PyTorch's NotImplementedError for float-only kernels called on integers."""
    if dt.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_dtype.scalar_name(dt)}\'')


def _float_dtype(dt: np.dtype) -> np.dtype:
    """The dtype a float op computes in: dt if floating, else the default float dtype."""
    return dt if dt.kind == "f" else _dtype.default_np()


def _check_result_fits(t: Tensor, result: np.dtype) -> None:
    """An in-place result must cast back to t's dtype (not sin_ of an integer tensor; a
    float64 result into float32 is fine, as in PyTorch). Expanded tensors are refused."""
    check_no_overlap(t)
    check_cast_back(result, t._data.dtype)


def _unary_entries(cls: type, name: str, doc: str, *, inplace_cls: type | None = None,
                   kernel: str | None = None):
    """The public function `name(input, *, out=None)` and the in-place `name_(input)` of a
    unary op. `kernel`: the name in PyTorch's error for integer inputs (float-only ops)."""
    rounding = cls in (Floor, Ceil, Round, Trunc)

    def op(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        require_tensor(input, name)
        if rounding:
            refuse_bool(input._data, f"{name}_vml_cpu")
        if kernel:
            _float_only(input._data.dtype, kernel)
        if out is not None:
            return write_out(out, name, lambda: cls.apply(input), input)
        return cls.apply(input)

    def op_(input: Tensor) -> Tensor:
        if rounding:
            refuse_bool(input._data, f"{name}_vml_cpu")
        if kernel:
            _float_only(input._data.dtype, kernel)
        if not rounding:
            _check_result_fits(input, _float_dtype(input._data.dtype))
        check_inplace(input)
        return (inplace_cls or cls).apply(input, inplace=True)

    op.__name__ = op.__qualname__ = name
    op_.__name__ = op_.__qualname__ = f"{name}_"
    op.__doc__ = doc
    op_.__doc__ = f"In-place {name}: {doc[0].lower()}{doc[1:]}"
    return op, op_


sin, sin_ = _unary_entries(Sin, "sin", "Sine, elementwise (radians).")
cos, cos_ = _unary_entries(Cos, "cos", "Cosine, elementwise (radians).")
tan, tan_ = _unary_entries(Tan, "tan", "Tangent, elementwise (radians).")
asin, asin_ = _unary_entries(Asin, "asin", "Arcsine, elementwise (NaN outside [-1, 1]).")
acos, acos_ = _unary_entries(Acos, "acos", "Arccosine, elementwise (NaN outside [-1, 1]).")
atan, atan_ = _unary_entries(Atan, "atan", "Arctangent, elementwise.")
sinh, sinh_ = _unary_entries(Sinh, "sinh", "Hyperbolic sine, elementwise.")
cosh, cosh_ = _unary_entries(Cosh, "cosh", "Hyperbolic cosine, elementwise.")
asinh, asinh_ = _unary_entries(Asinh, "asinh", "Inverse hyperbolic sine, elementwise.",
                               inplace_cls=AsinhInplace)
acosh, acosh_ = _unary_entries(Acosh, "acosh", "Inverse hyperbolic cosine (NaN below 1).",
                               inplace_cls=AcoshInplace)
atanh, atanh_ = _unary_entries(Atanh, "atanh", "Inverse hyperbolic tangent (NaN outside "
                               "[-1, 1]).", inplace_cls=AtanhInplace)
log10, log10_ = _unary_entries(Log10, "log10", "Base-10 logarithm, elementwise.")
log2, log2_ = _unary_entries(Log2, "log2", "Base-2 logarithm, elementwise.")
exp2, exp2_ = _unary_entries(Exp2, "exp2", "2 ** input, elementwise.")
expm1, expm1_ = _unary_entries(Expm1, "expm1", "exp(input) - 1, accurate for small input.")
reciprocal, reciprocal_ = _unary_entries(Reciprocal, "reciprocal", "1 / input, elementwise.")
rsqrt, rsqrt_ = _unary_entries(Rsqrt, "rsqrt", "1 / sqrt(input), elementwise.")
erf, erf_ = _unary_entries(Erf, "erf", "The Gauss error function, elementwise.")
erfc, erfc_ = _unary_entries(Erfc, "erfc", "1 - erf(input), accurate where erf is near 1.")
floor, floor_ = _unary_entries(Floor, "floor", "Largest integer <= input (zero gradient).")
ceil, ceil_ = _unary_entries(Ceil, "ceil", "Smallest integer >= input (zero gradient).")
trunc, trunc_ = _unary_entries(Trunc, "trunc", "input rounded toward zero (zero gradient).")
frac, frac_ = _unary_entries(Frac, "frac", "input - trunc(input) (gradient 1).",
                             kernel="frac_cpu")
fix, fix_ = trunc, trunc_
_round, _round_ = _unary_entries(Round, "round", "Round half to even (zero gradient).")


def round(input: Tensor, *, decimals: int = 0, out: Tensor | None = None) -> Tensor:
    """Round half to even, at `decimals` decimal places (zero gradient)."""
    if not decimals:
        return _round(input, out=out)
    require_tensor(input, "round")
    _float_only(input._data.dtype, "round_cpu")
    if out is not None:
        return write_out(out, "round", lambda: RoundDecimals.apply(input, decimals=decimals),
                         input)
    return RoundDecimals.apply(input, decimals=decimals)


def round_(input: Tensor, *, decimals: int = 0) -> Tensor:
    """In-place round: half to even, at `decimals` decimal places."""
    if not decimals:
        return _round_(input)
    _float_only(input._data.dtype, "round_cpu")
    check_inplace(input)
    return RoundDecimals.apply(input, decimals=decimals, inplace=True)


# ---- binary --------------------------------------------------------------------------------

def _float_pair(x: np.ndarray, y: np.ndarray):
    """x and y promoted together, integers computed in the default float dtype."""
    x, y = promote_arrays(x, y)
    if x.dtype.kind != "f":
        x, y = x.astype(_dtype.default_np()), y.astype(_dtype.default_np())
    return x, y


class Atan2(ArrayFunction):
    """atan2(x, y): the angle of the point (y, x), in (-pi, pi]."""

    node_name = "Atan2Backward0"

    @staticmethod
    def forward(ctx, x, y, inplace=False):
        # saved as given (guarded; in place, x's old values), and used in their own dtypes
        # in backward, as PyTorch does
        ctx.save_for_backward(x.copy() if inplace else x, y)
        target = x  # the array an in-place op writes into (x is promoted below)
        x, y = _float_pair(x, _apart(x, y))
        out = np.arctan2(x, y)
        return _into(ctx, target, out) if inplace else out

    @staticmethod
    def backward(ctx, g):
        x, y = (a if a.dtype.kind == "f" else a.astype(g.dtype) for a in ctx.saved_tensors)
        with np.errstate(all="ignore"):                # as PyTorch: 1 / 0 counts as 0
            d = x * x + y * y
            recip = np.where(d == 0, np.zeros((), d.dtype), 1 / d)
            return g * y * recip, g * -x * recip


class Hypot(ArrayFunction):
    """sqrt(x**2 + y**2) without overflow in the squares."""

    node_name = "HypotBackward0"

    @staticmethod
    def forward(ctx, x, y, inplace=False):
        target = x  # the array an in-place op writes into (x is promoted below)
        need = ctx.needs_input_grad       # x, y saved as given (in their own dtypes) and only
        saved_x = (x.copy() if inplace else x) if need[0] else None   # for their own gradient
        x, y2 = promote_arrays(x, _apart(x, y))
        out = np.asarray(np.hypot(x, y2))    # an array even when 0-d: saved, and guarded
        if inplace:         # the result as written into target: guarded as the output
            ctx.save_for_backward(saved_x, y if need[1] else None, target)
            return _into(ctx, target, out)
        ctx.save_for_backward(saved_x, y if need[1] else None, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved_tensors
        with np.errstate(all="ignore"):               # PyTorch's order: g * x / out
            return (None if x is None else _div(_mul(g, x), out),
                    None if y is None else _div(_mul(g, y), out))


class Logaddexp(ArrayFunction):
    """log(exp(x) + exp(y)) without overflow."""

    node_name = "LogaddexpBackward0"

    @staticmethod
    def forward(ctx, x, y):
        x, y = promote_arrays(x, y)
        ctx.save_for_backward(x, y)
        with np.errstate(all="ignore"):
            return np.logaddexp(x, y)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        with np.errstate(all="ignore"):
            return g / (1 + np.exp(y - x)), g / (1 + np.exp(x - y))


class FmodScalar(ArrayFunction):
    """fmod(x, number): remainder with the sign of x (C's fmod). d/dx = 1."""

    node_name = "FmodBackward0"

    @staticmethod
    def forward(ctx, x, other=1, inplace=False):
        target = x  # the array an in-place op writes into (x is promoted below)
        x, other = promote_arrays(x, other)
        with np.errstate(all="ignore"):
            out = np.fmod(x, other)
        return _into(ctx, target, out) if inplace else out

    @staticmethod
    def backward(ctx, g):
        return (g,)


class Fmod(ArrayFunction):
    """fmod(x, y) for a tensor y: d/dx = 1, d/dy = -trunc(x / y)."""

    node_name = "FmodBackward1"

    @staticmethod
    def forward(ctx, x, y, inplace=False):
        target = x  # the array an in-place op writes into (x is promoted below)
        x, y = promote_arrays(x, _apart(x, y))
        with np.errstate(all="ignore"):
            out = np.fmod(x, y)
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(x.copy() if inplace else x, y)
        return _into(ctx, target, out) if inplace else out

    @staticmethod
    def backward(ctx, g):
        if not ctx.needs_input_grad[1]:
            return g, None
        x, y = ctx.saved_tensors
        with np.errstate(all="ignore"):
            return g, -g * np.trunc(x / y)


def _mul(a, b):
    """a * b in PyTorch's result dtype (a 0-d float64 does not widen a float32 array)."""
    return np.multiply(*promote_arrays(np.asarray(a), np.asarray(b)))


def _div(a, b):
    """a / b in PyTorch's result dtype."""
    return np.true_divide(*promote_arrays(np.asarray(a), np.asarray(b)))


def _require_tensors(name: str, input, other) -> None:
    require_tensor(input, name)
    require_tensor(other, name, "other", 2)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def result_dtype(*arrays) -> np.dtype:
    """PyTorch's result dtype for several tensors' arrays: the highest category wins, and
    0-d tensors decide only when their category is above every dimensioned tensor's."""
    def combine(dtypes):
        out = None
        for d in dtypes:
            if out is None or _CATEGORY[d.kind] > _CATEGORY[out.kind]:
                out = d
            elif _CATEGORY[d.kind] == _CATEGORY[out.kind]:
                out = np.promote_types(out, d)
        return out

    dims = combine(a.dtype for a in arrays if a.ndim)
    zeros = combine(a.dtype for a in arrays if not a.ndim)
    if dims is None or (zeros is not None and _CATEGORY[zeros.kind] > _CATEGORY[dims.kind]):
        return zeros
    return dims


def _promoted(input: Tensor, other) -> np.dtype:
    """The dtype of input promoted with other (a Tensor or a Python number)."""
    if isinstance(other, Tensor):
        return _dtype.promote(input._data, other._data)
    return _dtype.promote_scalar(input._data, other)


def _binary_inplace(cls: type, t: Tensor, other, *, float_result: bool = False,
                    **options) -> Tensor:
    """Run the binary Function `cls` in place on t, after PyTorch's checks: the result keeps
    t's dtype (`float_result`: integers would become floating) and t's shape."""
    dt = _promoted(t, other)
    _check_result_fits(t, _float_dtype(dt) if float_result else dt)
    if isinstance(other, Tensor):
        check_broadcast_into(other._data.shape, t._data.shape)
    check_inplace(t)
    return cls.apply(t, other, inplace=True, **options) if isinstance(other, Tensor) else \
        cls.apply(t, inplace=True, **options)


def atan2(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise angle of the point (other, input) in radians, in (-pi, pi]."""
    _require_tensors("atan2", input, other)
    if out is not None:
        return write_out(out, "atan2", lambda: Atan2.apply(input, other), input, other)
    return Atan2.apply(input, other)


def atan2_(input: Tensor, other: Tensor) -> Tensor:
    """In-place atan2."""
    _require_tensors("atan2_", input, other)
    return _binary_inplace(Atan2, input, other, float_result=True)


def hypot(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """sqrt(input**2 + other**2), elementwise, without overflow in the squares."""
    _require_tensors("hypot", input, other)
    _float_only(_promoted(input, other), "hypot_cpu")
    if out is not None:
        return write_out(out, "hypot", lambda: Hypot.apply(input, other), input, other)
    return Hypot.apply(input, other)


def hypot_(input: Tensor, other: Tensor) -> Tensor:
    """In-place hypot."""
    _require_tensors("hypot_", input, other)
    return _binary_inplace(Hypot, input, other)


def logaddexp(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """log(exp(input) + exp(other)), elementwise, without overflow."""
    _require_tensors("logaddexp", input, other)
    _float_only(_promoted(input, other), "logaddexp_cpu")
    if out is not None:
        return write_out(out, "logaddexp", lambda: Logaddexp.apply(input, other), input, other)
    return Logaddexp.apply(input, other)


def _check_int_divisor(input: Tensor, other) -> None:
    """Integer fmod by zero raises, as in PyTorch (numpy would return 0 with a warning)."""
    y = other._data if isinstance(other, Tensor) else other
    if _promoted(input, other).kind in "iub" and np.any(np.asarray(y) == 0):
        raise RuntimeError("ZeroDivisionError")


def _fmod(input: Tensor, other):
    other = operand(other)
    _check_int_divisor(input, other)
    if isinstance(other, Tensor):
        return Fmod.apply(input, other)
    return FmodScalar.apply(input, other=other)


def fmod(input: Tensor, other, *, out: Tensor | None = None) -> Tensor:
    """Remainder of input / other with the sign of input (C's fmod; `%` follows the divisor)."""
    require_tensor(input, "fmod")
    if out is not None:
        return write_out(out, "fmod", lambda: _fmod(input, other), input, other)
    return _fmod(input, other)


def fmod_(input: Tensor, other) -> Tensor:
    """In-place fmod."""
    other = operand(other)
    _check_int_divisor(input, other)
    if isinstance(other, Tensor):
        return _binary_inplace(Fmod, input, other)
    return _binary_inplace(FmodScalar, input, other, other=other)


# ---- lerp, addcmul, addcdiv ----------------------------------------------------------------

def _lerp_array(x, y, w):
    """x + w * (y - x), from the nearer end (exact at w = 0 and w = 1)."""
    d = y - x
    return np.where(np.abs(w) < 0.5, x + w * d, y - d * (1 - w))


class LerpScalar(ArrayFunction):
    """lerp(x, y, number)."""

    node_name = "LerpBackward0"

    @staticmethod
    def forward(ctx, x, y, weight=0.5, inplace=False):
        y = _apart(x, y)
        ctx.weight = weight
        out = np.asarray(_lerp_array(x, y, weight), dtype=x.dtype)
        return _into(ctx, x, out) if inplace else out

    @staticmethod
    def backward(ctx, g):
        w = ctx.weight
        return g * (1 - w), g * w


class Lerp(ArrayFunction):
    """lerp(x, y, w) for a tensor weight w."""

    node_name = "LerpBackward1"

    @staticmethod
    def forward(ctx, x, y, w, inplace=False):
        y, w = _apart(x, y), _apart(x, w)
        out = np.asarray(_lerp_array(x, y, w), dtype=result_dtype(x, y, w))
        if ctx.needs_input_grad[2]:         # x and y only for w's gradient, as in PyTorch
            ctx.save_for_backward(x.copy() if inplace else x, y, w)
        else:
            ctx.save_for_backward(None, None, w)
        return _into(ctx, x, out) if inplace else out

    @staticmethod
    def backward(ctx, g):
        x, y, w = ctx.saved_tensors
        return (g * (1 - w), g * w,
                g * (y - x) if ctx.needs_input_grad[2] else None)


def _lerp_operands(input: Tensor, end: Tensor, weight):
    """PyTorch's dtype rules for lerp: `end` (and a weight with dims) must have input's dtype;
    the result is floating."""
    require_tensor(input, "lerp")
    require_tensor(end, "lerp", "end", 2)
    x = input._data
    for arg, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t._data.dtype != x.dtype and (arg == "end" or t._data.ndim):
            raise RuntimeError(f"expected dtype {_dtype.c_name(x.dtype)} for `{arg}` but got dtype "
                               f"{_dtype.c_name(t._data.dtype)}")
    if isinstance(weight, Tensor):
        _float_only(_promoted(input, weight), "lerp_kernel_tensor")
    else:
        _float_only(x.dtype, "lerp_kernel_scalar")


def _lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    if isinstance(weight, Tensor):
        return Lerp.apply(input, end, weight)
    return LerpScalar.apply(input, end, weight=float(weight))


def lerp(input: Tensor, end: Tensor, weight, *, out: Tensor | None = None) -> Tensor:
    """input + weight * (end - input): linear interpolation (weight a number or a tensor)."""
    _lerp_operands(input, end, weight)
    if out is not None:
        return write_out(out, "lerp", lambda: _lerp(input, end, weight), input, end, weight)
    return _lerp(input, end, weight)


def lerp_(input: Tensor, end: Tensor, weight) -> Tensor:
    """In-place lerp."""
    _lerp_operands(input, end, weight)
    shapes = [end._data.shape] + ([weight._data.shape] if isinstance(weight, Tensor) else [])
    for shape in shapes:
        check_broadcast_into(shape, input._data.shape)
    if isinstance(weight, Tensor):
        _check_result_fits(input, _promoted(input, weight))
        check_inplace(input)
        return Lerp.apply(input, end, weight, inplace=True)
    check_inplace(input)
    return LerpScalar.apply(input, end, weight=float(weight), inplace=True)


def _promote_three(x, t1, t2, value):
    """x, t1, t2 in their common dtype, and `value` as a number of that kind."""
    dt = result_dtype(x, t1, t2)
    x, t1, t2 = (a.astype(dt, copy=False) for a in (x, t1, t2))
    return x, t1, t2, (value if dt.kind == "f" else int(value))


class Addcmul(ArrayFunction):
    """x + value * t1 * t2."""

    node_name = "AddcmulBackward0"

    @staticmethod
    def forward(ctx, x, t1, t2, value=1, inplace=False):
        target = x  # the array an in-place op writes into (x is promoted below)
        need = ctx.needs_input_grad        # saved as given (guarded), as PyTorch saves them
        ctx.save_for_backward(t1 if need[2] else None, t2 if need[1] else None)
        t1, t2 = _apart(x, t1), _apart(x, t2)
        x, t1, t2, value = _promote_three(x, t1, t2, value)
        ctx.value = value
        out = x + value * t1 * t2
        return _into(ctx, target, out) if inplace else out

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        v = ctx.value                         # PyTorch's order, in the saved dtypes
        with np.errstate(all="ignore"):
            return (g, _mul(g, t2) * v if ctx.needs_input_grad[1] else None,
                    _mul(g, t1) * v if ctx.needs_input_grad[2] else None)


class Addcdiv(ArrayFunction):
    """x + value * t1 / t2."""

    node_name = "AddcdivBackward0"

    @staticmethod
    def forward(ctx, x, t1, t2, value=1, inplace=False):
        target = x  # the array an in-place op writes into (x is promoted below)
        need = ctx.needs_input_grad        # saved as given (guarded), as PyTorch saves them
        ctx.save_for_backward(t1 if need[2] else None, t2 if need[1] or need[2] else None)
        t1, t2 = _apart(x, t1), _apart(x, t2)
        x, t1, t2, value = _promote_three(x, t1, t2, value)
        ctx.value = value
        with np.errstate(all="ignore"):
            out = x + value * t1 / t2
        return _into(ctx, target, out) if inplace else out

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        v = ctx.value
        with np.errstate(all="ignore"):       # PyTorch's order, in the saved dtypes
            return (g, _div(g * v, t2) if ctx.needs_input_grad[1] else None,
                    _div(_mul(-g * v, t1), t2 * t2) if ctx.needs_input_grad[2] else None)


_ADDCDIV_INT = (
    "Integer division with addcdiv is no longer supported, and in a future  release addcdiv "
    "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
    "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
    "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
    "addcdiv behavior is just the latter implementation: (input + value * tensor1 / tensor2), "
    "for all dtypes.")


def _addc_operands(name: str, input, tensor1, tensor2) -> None:
    require_tensor(input, name)
    require_tensor(tensor1, name, "tensor1", 2)
    require_tensor(tensor2, name, "tensor2", 3)
    if name.startswith("addcdiv") and tensor1._data.dtype.kind in "iub" \
            and tensor2._data.dtype.kind in "iub":
        raise RuntimeError(_ADDCDIV_INT)


def _addc(cls: type, name: str, input, tensor1, tensor2, value, out) -> Tensor:
    """addcmul / addcdiv: one checked entry, with PyTorch's `out=`."""
    _addc_operands(name, input, tensor1, tensor2)
    if out is not None:
        return write_out(out, name, lambda: cls.apply(input, tensor1, tensor2, value=value),
                         input, tensor1, tensor2)
    return cls.apply(input, tensor1, tensor2, value=value)


def _addc_inplace(cls: type, name: str, input, tensor1, tensor2, value) -> Tensor:
    _addc_operands(name, input, tensor1, tensor2)
    _check_result_fits(input, result_dtype(input._data, tensor1._data, tensor2._data))
    check_broadcast_into(np.broadcast_shapes(tensor1._data.shape, tensor2._data.shape),
                         input._data.shape)
    check_inplace(input)
    return cls.apply(input, tensor1, tensor2, value=value, inplace=True)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1,
            out: Tensor | None = None) -> Tensor:
    """input + value * tensor1 * tensor2 (all three broadcast together)."""
    return _addc(Addcmul, "addcmul", input, tensor1, tensor2, value, out)


def addcmul_(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """In-place addcmul."""
    return _addc_inplace(Addcmul, "addcmul_", input, tensor1, tensor2, value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1,
            out: Tensor | None = None) -> Tensor:
    """input + value * tensor1 / tensor2 (all three broadcast together)."""
    return _addc(Addcdiv, "addcdiv", input, tensor1, tensor2, value, out)


def addcdiv_(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """In-place addcdiv."""
    return _addc_inplace(Addcdiv, "addcdiv_", input, tensor1, tensor2, value)


# ---- clamp_min / clamp_max -----------------------------------------------------------------

def _bound_number(ctx, x, bound, inplace, pick, keeps):
    """pick(x, bound) for a number bound; backward lets the gradient through where
    keeps(x, bound) (x on the kept side, ties included). Out of place, x is saved as given
    (guarded against later in-place changes, as PyTorch saves self); in place, a copy."""
    a, bound = promote_arrays(x, bound)
    ctx.bound, ctx.keeps = a.dtype.type(bound), keeps
    if ctx.needs_input_grad[0]:
        ctx.save_for_backward(a.copy() if inplace else x)
    out = np.asarray(pick(a, ctx.bound))
    return _into(ctx, x, out) if inplace else out


def _bound_number_backward(ctx, g):
    (x,) = ctx.saved_tensors
    return (np.where(ctx.keeps(x, ctx.bound), g, np.zeros((), g.dtype)),)


def _bound_tensor(ctx, x, b, inplace, pick, keeps, beyond):
    """pick(x, b) for a tensor bound b: x gets the gradient where keeps(x, b), b where
    beyond(x, b) (NaN in either sends it to neither, as in PyTorch). x and b are saved as
    given (guarded), x copied when written in place."""
    target = x  # the array an in-place op writes into (x is promoted below)
    ctx.rules = (keeps, beyond)
    ctx.save_for_backward(x.copy() if inplace and any(ctx.needs_input_grad) else x, b)
    x, b = promote_arrays(x, _apart(x, b))
    out = pick(x, b)
    return _into(ctx, target, out) if inplace else out


def _bound_tensor_backward(ctx, g):
    x, b = promote_arrays(*ctx.saved_tensors)
    keeps, beyond = ctx.rules
    zero = np.zeros((), g.dtype)
    return np.where(keeps(x, b), g, zero), np.where(beyond(x, b), g, zero)


class ClampMinScalar(ArrayFunction):
    node_name = "ClampMinBackward0"

    @staticmethod
    def forward(ctx, x, min=0, inplace=False):
        return _bound_number(ctx, x, min, inplace, np.maximum, np.greater_equal)

    backward = staticmethod(_bound_number_backward)


class ClampMaxScalar(ArrayFunction):
    node_name = "ClampMaxBackward0"

    @staticmethod
    def forward(ctx, x, max=0, inplace=False):
        return _bound_number(ctx, x, max, inplace, np.minimum, np.less_equal)

    backward = staticmethod(_bound_number_backward)


class ClampMin(ArrayFunction):
    node_name = "ClampMinBackward1"

    @staticmethod
    def forward(ctx, x, b, inplace=False):
        return _bound_tensor(ctx, x, b, inplace, np.maximum, np.greater_equal, np.less)

    backward = staticmethod(_bound_tensor_backward)


class ClampMax(ArrayFunction):
    node_name = "ClampMaxBackward1"

    @staticmethod
    def forward(ctx, x, b, inplace=False):
        return _bound_tensor(ctx, x, b, inplace, np.minimum, np.less_equal, np.greater)

    backward = staticmethod(_bound_tensor_backward)


def _clamp_bound(input: Tensor, bound, tensor_cls: type, number_cls: type, key: str,
                 inplace: bool = False) -> Tensor:
    bound = operand(bound)
    if isinstance(bound, Tensor):
        return tensor_cls.apply(input, bound, inplace=inplace)
    dt = _promoted(input, bound)
    refuse_bool(np.empty(0, dt), f"clamp_{key}_scalar_cpu")
    check_scalar_fits(bound, dt)
    return number_cls.apply(input, inplace=inplace, **{key: bound})


def _clamp_bound_inplace(input: Tensor, bound, tensor_cls, number_cls, key) -> Tensor:
    bound = operand(bound)
    result = _promoted(input, bound)
    if not isinstance(bound, Tensor) and result != input._data.dtype:
        raise RuntimeError(f"result type {_dtype.scalar_name(result)} can't be cast to the desired "
                           f"output type {_dtype.c_name(input._data.dtype)}")
    _check_result_fits(input, result)
    if isinstance(bound, Tensor):
        check_broadcast_into(bound._data.shape, input._data.shape)
    check_inplace(input)
    return _clamp_bound(input, bound, tensor_cls, number_cls, key, inplace=True)


def clamp_min(input: Tensor, min, *, out: Tensor | None = None) -> Tensor:
    """max(input, min) elementwise (min a number or a tensor); NaN in input stays NaN."""
    require_tensor(input, "clamp_min")
    if out is not None:
        return write_out(out, "clamp_min",
                         lambda: _clamp_bound(input, min, ClampMin, ClampMinScalar, "min"),
                         input, min)
    return _clamp_bound(input, min, ClampMin, ClampMinScalar, "min")


def clamp_max(input: Tensor, max, *, out: Tensor | None = None) -> Tensor:
    """min(input, max) elementwise (max a number or a tensor); NaN in input stays NaN."""
    require_tensor(input, "clamp_max")
    if out is not None:
        return write_out(out, "clamp_max",
                         lambda: _clamp_bound(input, max, ClampMax, ClampMaxScalar, "max"),
                         input, max)
    return _clamp_bound(input, max, ClampMax, ClampMaxScalar, "max")


def clamp_min_(input: Tensor, min) -> Tensor:
    """In-place clamp_min."""
    return _clamp_bound_inplace(input, min, ClampMin, ClampMinScalar, "min")


def clamp_max_(input: Tensor, max) -> Tensor:
    """In-place clamp_max."""
    return _clamp_bound_inplace(input, max, ClampMax, ClampMaxScalar, "max")
