"""Regression tests for pointwise ops (arithmetic, clamp, comparisons, fills) against PyTorch:
the differences the differential tester found, each a small program run on both libraries."""
from __future__ import annotations

import math

import numpy as np
import pytest

import microtorch as mt

from .test_regressions import _outcome

torch = pytest.importorskip("torch")

nan, inf = math.nan, math.inf
B = [True, False, True]
I = [1, -3, 0]
F = [1.5, -3.0, 0.0]

# ---- forward: values and dtype, or the exception class ---------------------------------------

FORWARD = {
    # clamp: result dtype, NaN bounds, bool kernels, tensor/number mixes, conversions
    "clamp bool int bound": lambda t: t.tensor(B).clamp(min=2),
    "clamp bool bool bounds": lambda t: t.tensor(B).clamp(False, True),
    "clamp_min bool bool": lambda t: t.clamp_min(t.tensor(B), True),
    "clamp int float bound": lambda t: t.tensor(I).clamp(max=0.5),
    "clamp nan min": lambda t: t.tensor(F).clamp(min=nan),
    "clamp nan max": lambda t: t.tensor(F).clamp(0, nan),
    "clamp min > max": lambda t: t.tensor(F).clamp(2, 1),
    "clamp_max nan": lambda t: t.clamp_max(t.tensor(F), nan),
    "clamp tensor and number": lambda t: t.clamp(t.tensor(F), t.tensor(F), 2),
    "clip tensor kw and number": lambda t: t.tensor(F).clip(min=t.tensor(F), max=1.0),
    "clamp 0-d tensor as number": lambda t: t.clip(t.tensor(0.5), 2, t.tensor(3)),
    "clamp bool tensor bounds": lambda t: t.tensor(B).clamp(t.tensor(B), t.tensor(B)),
    "clamp int64 overflow": lambda t: t.tensor(I).clamp(min=2 ** 63),
    "clamp float32 overflow": lambda t: t.tensor(F).clamp(min=1e39),
    "clamp_ nan": lambda t: t.tensor(F).clamp_(min=nan),
    "clamp_ int float bound": lambda t: t.tensor(I).clamp_(1, 1e38),
    "clamp_ bool int bound": lambda t: t.tensor(B).clamp_(max=3),
    "clip_ tensor and number": lambda t: t.tensor(F).clip_(2, t.tensor(F)),
    "clamp_ f32 with f64 bound": lambda t: t.tensor(F).clamp_(min=t.tensor([1.0], dtype=t.float64)),
    # alpha
    "add bool alpha float": lambda t: t.tensor(F).add(1, alpha=True),
    "add float alpha int": lambda t: t.tensor(I).add(1, alpha=0.5),
    "add bool result alpha": lambda t: t.add(t.tensor(B), t.tensor(B), alpha=-1),
    "add bool scalar alpha": lambda t: t.add(t.tensor(False), False, alpha=2),
    "add bool int alpha": lambda t: t.add(t.tensor(B), 1, alpha=2),
    "add float scalar alpha": lambda t: t.tensor(B).add(1.5, alpha=0.5),
    "add_ bool alpha": lambda t: t.tensor(B).add_(t.tensor(B), alpha=-1),
    "add_ float alpha int": lambda t: t.tensor(I).add_(True, alpha=0.5),
    "sub bool alpha": lambda t: t.tensor(F).sub(nan, alpha=True),
    "add alpha overflow": lambda t: t.tensor(I).add(t.tensor(I), alpha=2 ** 63),
    "subtract adds -alpha": lambda t: t.subtract(t.tensor(I), 1, alpha=2 ** 63),
    # sign, pow, div rounding, isclose, bitwise broadcasting
    "sign bool": lambda t: t.sign(t.tensor(B)),
    "bool ** int": lambda t: True ** t.tensor([-1, 2, 0]),
    "int ** negative int": lambda t: 2 ** t.tensor([-1, 2, 0]),
    "-inf ** 0-d 0.5": lambda t: t.tensor([-inf, -0.0]).pow(t.tensor(0.5)),
    "floor of inf": lambda t: t.div(t.tensor([inf, -inf, 7.5]), t.tensor([1.0, 1.0, 2.0]),
                                    rounding_mode="floor"),
    "trunc of big int": lambda t: t.div(t.tensor([2 ** 62 + 1, -7]), t.tensor([3, 2]),
                                        rounding_mode="trunc"),
    "rounding bool broadcast": lambda t: t.tensor(B).divide(t.ones(2, 2, dtype=t.bool),
                                                            rounding_mode="trunc"),
    "isclose dtypes": lambda t: t.isclose(t.tensor(F), t.tensor(F, dtype=t.float64)),
    "isclose shapes": lambda t: t.isclose(t.tensor(F), t.zeros(2)),
    "isclose int atol": lambda t: t.isclose(t.tensor(I), t.tensor([1, -2, 1]), atol=0.5),
    "allclose bool float": lambda t: t.allclose(t.tensor(B), t.tensor(F)),
    "xor broadcast": lambda t: t.tensor([1]).expand(2, 1) ^ t.zeros(0, 4),
    # fills and program inputs
    "fill_ int inf": lambda t: t.tensor(I).fill_(-inf),
    "fill_ int32 overflow": lambda t: t.tensor(I, dtype=t.int32).fill_(2 ** 40),
    "fill_ uint8 -1": lambda t: t.zeros(2, dtype=t.uint8).fill_(-1),
    "fill_ expanded": lambda t: t.tensor([3.5]).expand(2).fill_(2),
    "fill_ expanded tensor value": lambda t: t.tensor([3.5]).expand(2).fill_(t.tensor(2.0)),
    "remainder zero keeps sign": lambda t: t.tensor([-1e38, -2.0, 0.0]) % t.tensor([1.0, 1.0, -inf]),
    "masked_fill int32 overflow": lambda t: t.zeros(2, dtype=t.int32).masked_fill(
        t.tensor([True, False]), 2 ** 31),
    "masked_fill int grad value": lambda t: t.zeros(2, dtype=t.int64).masked_fill(
        t.tensor(True), t.tensor(0.5, requires_grad=True)),
    "tensor int32 overflow": lambda t: t.tensor(2147483648.0, dtype=t.int32),
    "tensor uint8 wraps": lambda t: t.tensor([-1, 2.5], dtype=t.uint8),
    "lerp 0-d weight dtype": lambda t: t.lerp(t.tensor(1.0), t.tensor(1.5),
                                              t.tensor(0.25, dtype=t.float64)),
    "lerp nd end keeps dtype": lambda t: t.lerp(t.tensor(0.0), t.tensor([1.0, 2.0]),
                                                t.tensor(0.5, dtype=t.float64)),
}


@pytest.mark.parametrize("name", list(FORWARD))
def test_forward_matches_pytorch(name):
    # repr: NaN equals NaN, and -0.0 differs from 0.0
    assert repr(_outcome(FORWARD[name], mt)) == repr(_outcome(FORWARD[name], torch))


def test_div_with_explicit_none_rounding_records_div_backward2():
    for lib in (mt, torch):
        y = lib.tensor([1.5, 2.0], requires_grad=True)
        assert lib.div(y, y * y, rounding_mode=None).grad_fn.name() == "DivBackward2"
        assert y.clone().div_(2.0, rounding_mode=None).grad_fn.name() == "DivBackward2"
        assert lib.div(y, 2.0).grad_fn.name() == "DivBackward0"


# ---- gradients -------------------------------------------------------------------------------

X = [0.0, 0.0, -0.0, 1.0, nan, 1.0, nan, inf, -inf, inf, 2.0, 0.0, -3.0, 1e38, 3.0]
Y = [0.0, -0.0, 0.0, nan, 1.0, 1.0, nan, inf, -inf, 1.0, inf, 3.0, 0.0, -3e38, -inf]
W = [-1.5, 1.0, 2.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.5]

BINARY_GRAD = {
    "maximum": lambda t, x, y: t.maximum(x, y),          # ties split, NaN sends it to both
    "minimum": lambda t, x, y: t.minimum(x, y),
    "atan2": lambda t, x, y: t.atan2(x, y),              # 1 / 0 counts as 0
    "remainder": lambda t, x, y: t.remainder(x, y),      # Python's floor division
    "true_divide": lambda t, x, y: t.true_divide(x, y),
    "pow": lambda t, x, y: t.pow(x, y),
    "clamp tensor bounds": lambda t, x, y: x.clamp(y, y + 1),
    "clamp_min tensor": lambda t, x, y: t.clamp_min(x, y),
    "clamp_max_ tensor": lambda t, x, y: (x * 1).clamp_max_(y),
    "scalar ** x": lambda t, x, y: 0.0 ** x + 2 ** y,
    "x.clamp(nan, 1)": lambda t, x, y: x.clamp(nan, 1) + y.clamp(min=1),
}


def _grads(lib, fn, dtype):
    x = lib.tensor(X, dtype=dtype, requires_grad=True)
    y = lib.tensor(Y, dtype=dtype, requires_grad=True)
    out = fn(lib, x, y)
    return [g.tolist() for g in lib.autograd.grad((out * lib.tensor(W, dtype=dtype)).sum(),
                                                  [x, y])]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(BINARY_GRAD))
def test_gradients_match_pytorch(name, dtype):
    got = _grads(mt, BINARY_GRAD[name], getattr(mt, dtype))
    want = _grads(torch, BINARY_GRAD[name], getattr(torch, dtype))
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-6, equal_nan=True)


OVERFLOWING_GRAD = {   # the saved operands keep their own dtype: float32 products overflow
    "atan2_": lambda lib, y: lib.tensor([[-3e38]]).atan2_(y),
    "hypot_": lambda lib, y: lib.tensor(-3e38).hypot_(y),
    "addcmul_": lambda lib, y: lib.tensor([[-1.0]]).addcmul_(y.reshape(1, 1), lib.tensor(-3e38)),
    "addcdiv_": lambda lib, y: lib.tensor([1.0, 2.0]).addcdiv_(lib.tensor([-inf, 1.0]), y * 2e38),
    "hypot 0-d float64": lambda lib, y: lib.hypot(y * -6e38, lib.tensor([-inf])),
}


@pytest.mark.parametrize("name", list(OVERFLOWING_GRAD))
def test_gradient_overflow_matches_pytorch(name):
    def program(lib):
        y = lib.tensor(0.5, dtype=lib.float64, requires_grad=True)
        out = OVERFLOWING_GRAD[name](lib, y)
        return lib.autograd.grad((out * -1.5).sum(), [y])[0]
    assert repr(_outcome(program, mt)) == repr(_outcome(program, torch))


# ---- saved operands are guarded against later in-place changes --------------------------------

def _saves_input(op):
    """A case whose op saves its (non-leaf) input: (output, the tensor to change)."""
    def case(lib, x):
        a = x * 1
        return op(lib, a), a
    return case


def _saves_operand(op, make):
    """A case whose op saves a second operand made by make(x): (output, that operand)."""
    def case(lib, x):
        b = make(x.detach())
        return op(lib, x * 1, b), b
    return case


GUARDED = {
    "clamp saves its input": _saves_input(lambda lib, a: a.clamp(0, 1)),
    "clamp_min saves its input": _saves_input(lambda lib, a: lib.clamp_min(a, 1.5)),
    "clamp_min saves its bound": _saves_operand(lambda lib, a, b: lib.clamp_min(a, b),
                                                lambda x: x * 0),
    "pow saves its exponent": _saves_operand(lambda lib, a, b: a.pow(b), lambda x: x + 1),
    "div rounding saves other": _saves_operand(
        lambda lib, a, b: a.div(b, rounding_mode="floor"), lambda x: x + 3),
    "masked_fill saves its mask": _saves_operand(lambda lib, a, b: a.masked_fill(b, 0.0),
                                                 lambda x: x > 1),
    "minimum saves other": _saves_operand(lambda lib, a, b: lib.minimum(a, b),
                                          lambda x: x.long()),
    "addcdiv saves tensor2": _saves_operand(lambda lib, a, b: lib.addcdiv(a, a, b),
                                            lambda x: x + 2),
}


@pytest.mark.parametrize("name", list(GUARDED))
def test_backward_refuses_changed_saved_operand(name):
    for lib in (mt, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        out, saved = GUARDED[name](lib, x)
        saved.add_(True if saved.dtype == lib.bool else 1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


def test_backward_ignores_change_of_operand_pytorch_does_not_save():
    for lib in (mt, torch):
        x = lib.tensor([3.0, 4.0], requires_grad=True)
        other = lib.tensor([1.0, 2.0])
        out = lib.hypot(x, other)              # other needs no gradient: not saved
        other.add_(1)
        weight_free = lib.lerp(x, other, lib.tensor([0.5, 0.25]))
        other.add_(1)
        (out.sum() + weight_free.sum()).backward()
        assert x.grad is not None
