"""gradcheck and the hypothesis strategies of microtorch.testing, then gradcheck over every
differentiable op of the registry.

Registry cases draw random shapes (0-d, size-0 and size-1 dims, broadcastable pairs,
non-contiguous layouts) and float64 values away from each op's kinks.
"""
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry import draw_inputs, params, run_examples

import microtorch as mt
from microtorch.autograd import Function
from microtorch.testing import GradcheckError, gradcheck
from microtorch.testing import strategies as S


def leaf(values, dtype=mt.float64):
    return mt.tensor(values, dtype=dtype, requires_grad=True)


# ---- gradcheck on hand-made ops --------------------------------------------------------

class _MulWithBadGrad(Function):
    """x * y whose backward multiplies the true gradient for y by `wrong` at `where`."""

    @staticmethod
    def forward(ctx, x, y, where, wrong):
        ctx.save_for_backward(x, y)
        ctx.where, ctx.wrong = where, wrong
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gy = (g * x).clone()
        gy[ctx.where] *= ctx.wrong
        return g * y, gy, None, None


def mul_with_bad_grad(x, y, where=(1, 2), wrong=3.0):
    return _MulWithBadGrad.apply(x, y, where, wrong)


def test_passes_for_correct_gradients():
    x, y = leaf(np.random.default_rng(0).normal(size=(2, 3))), leaf([[1.0, 2.0, 3.0]])
    assert gradcheck(lambda a, b: (a * b).exp().sum(dim=0), (x, y)) is True
    assert gradcheck(lambda a, b: (a * b).exp().sum(dim=0), (x, y), fast_mode=True) is True


def test_reports_the_worst_element():
    x = leaf(np.arange(1.0, 7.0).reshape(2, 3))
    y = leaf(np.full((2, 3), 0.5))
    with pytest.raises(GradcheckError) as info:
        gradcheck(mul_with_bad_grad, (x, y))
    msg = str(info.value)
    assert "input 1 at position (1, 2)" in msg
    assert "output 0 at position (1, 2)" in msg
    # d(x*y)/dy = x = 6 there; the bad backward says 18.
    analytic = float(re.search(r"analytic: +(\S+)", msg).group(1))
    numerical = float(re.search(r"numerical: +(\S+)", msg).group(1))
    assert analytic == 18.0 and numerical == pytest.approx(6.0, rel=1e-6)
    assert isinstance(info.value, RuntimeError)


def test_fast_mode_detects_a_wrong_gradient():
    x, y = leaf(np.ones((2, 3))), leaf(np.ones((2, 3)))
    with pytest.raises(GradcheckError, match="fast mode"):
        gradcheck(mul_with_bad_grad, (x, y), fast_mode=True)


def test_raise_exception_false_returns_false():
    x, y = leaf(np.ones((2, 3))), leaf(np.ones((2, 3)))
    assert gradcheck(mul_with_bad_grad, (x, y), raise_exception=False) is False


def test_detects_a_missing_gradient():
    """An op that records no graph although its output depends on the input."""
    x = leaf([0.5, 1.5])
    with pytest.raises(GradcheckError, match="analytic:  0.0"):
        gradcheck(lambda a: mt.Tensor._wrap(a._data * 2), (x,))


def test_inputs_are_restored_exactly():
    values = np.random.default_rng(1).normal(size=(3, 2))
    x = leaf(values.copy())
    y = leaf(np.ones((3, 2)))
    gradcheck(lambda a, b: a * b.exp(), (x, y))
    assert np.array_equal(x._data, values)
    with pytest.raises(GradcheckError):
        gradcheck(lambda a, b: mul_with_bad_grad(a, b, where=(2, 1)), (y, x))
    assert np.array_equal(x._data, values)


def test_inputs_are_restored_when_fn_raises():
    values = np.array([1.0, 2.0])
    x = leaf(values.copy())
    calls = []

    def fn(a):
        calls.append(1)
        if len(calls) > 1:
            raise ValueError("boom")
        return a * 2

    with pytest.raises(ValueError, match="boom"):
        gradcheck(fn, x)
    assert np.array_equal(x._data, values)


@pytest.mark.parametrize("dtype", [mt.float32, mt.float16])
def test_rejects_low_precision_inputs(dtype):
    with pytest.raises(ValueError, match="float64"):
        gradcheck(mt.exp, leaf([1.0, 2.0], dtype=dtype))


def test_rejects_inputs_without_requires_grad():
    with pytest.raises(ValueError, match="requires_grad=True"):
        gradcheck(mt.exp, mt.tensor([1.0], dtype=mt.float64))


def test_rejects_expanded_inputs():
    base = np.broadcast_to(np.array([1.0, 2.0]), (3, 2))
    x = mt.from_numpy(base).requires_grad_()
    with pytest.raises(ValueError, match="stride 0"):
        gradcheck(mt.exp, x)


def test_tuple_outputs_integer_outputs_and_constant_outputs():
    x = leaf([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    assert gradcheck(lambda a: a.max(dim=1), x)                  # (values, int64 indices)
    assert gradcheck(lambda a: (a * 2, a.argmax(), mt.ones(2, dtype=mt.float64)), x)


def test_non_tensor_arguments_are_passed_through():
    x = leaf([1.0, 2.0])
    assert gradcheck(lambda a, k, name: a ** k, (x, 3, "unused"))


def test_only_inputs_that_require_grad_are_checked():
    x = leaf([1.0, 2.0])
    c = mt.tensor([3.0, 4.0], dtype=mt.float64)
    assert gradcheck(mt.mul, (x, c))
    assert gradcheck(mt.mul, [x, c])


def test_non_contiguous_inputs():
    base = np.arange(1.0, 13.0).reshape(3, 4)
    x = mt.from_numpy(base.T).requires_grad_()            # Fortran order
    y = mt.from_numpy(np.ones((8, 6))[::2, ::2]).requires_grad_()   # strided
    assert not x.is_contiguous() and not y.is_contiguous()
    assert gradcheck(lambda a, b: a.log() * b, (x, y))
    assert np.array_equal(x._data, base.T)


def test_zero_size_inputs_and_outputs():
    assert gradcheck(mt.exp, leaf(np.zeros((0, 3))))
    assert gradcheck(lambda a: a.sum(dim=0), leaf(np.zeros((0, 2))))
    assert gradcheck(lambda a: a[:0], leaf([1.0, 2.0]), fast_mode=True)


def test_a_non_leaf_input():
    x = leaf([1.0, 2.0]) * 3
    assert gradcheck(mt.tanh, x)


def test_data_dependent_shape_change_is_reported():
    x = leaf([0.0, 1.0])                     # x > 0 flips for x[0] when perturbed
    with pytest.raises(GradcheckError, match="changed its number of elements"):
        gradcheck(lambda a: a[a > 0], x)


def test_importing_testing_does_not_need_hypothesis():
    code = ("import sys; import microtorch.testing as t; "
            "assert 'hypothesis' not in sys.modules, 'hypothesis was imported'; "
            "print(t.gradcheck.__name__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "gradcheck"


# ---- every differentiable op of the registry ------------------------------------------------

@pytest.mark.parametrize("case", params("gradcheck", only_differentiable=True))
def test_registry_gradcheck(case):
    """Full Jacobians, then fast mode on the same inputs."""
    def fn(*tensors):
        return case.run(mt, *tensors)

    def body(data):
        inputs = tuple(t.requires_grad_() for t in draw_inputs(data, case))
        assert gradcheck(fn, inputs, **case.op.gradcheck_kw)
        assert gradcheck(fn, inputs, fast_mode=True, **case.op.gradcheck_kw)

    run_examples(case, "gradcheck", body)


# ---- microtorch.testing.strategies ---------------------------------------------------------

@given(S.shapes(min_dims=1, max_dims=2, min_side=2, max_side=3))
def test_shapes_respect_their_bounds(shape):
    assert 1 <= len(shape) <= 2 and all(2 <= n <= 3 for n in shape)


@given(S.broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)


@settings(max_examples=30)
@given(S.shapes())
def test_default_shapes_include_scalars_and_empty_dims(shape):
    assert len(shape) <= 3 and all(0 <= n <= 4 for n in shape)


def test_default_shapes_cover_the_edge_cases():
    seen = set()

    @settings(max_examples=200, database=None)
    @given(S.shapes())
    def collect(shape):
        seen.add("0-d" if shape == () else None)
        seen.add("size 0" if 0 in shape else None)
        seen.add("size 1" if 1 in shape else None)

    collect()
    assert {"0-d", "size 0", "size 1"} <= seen


@given(S.tensors(dtype=mt.float32, shape=(2, 3), requires_grad=True))
def test_tensors_dtype_shape_and_requires_grad(t):
    assert t.dtype == mt.float32 and t.shape == (2, 3) and t.requires_grad and t.is_leaf
    assert np.isfinite(t.detach().numpy()).all()


@given(S.tensors(dtype=mt.int64, shape=st.just((4,)), elements=st.integers(0, 2)))
def test_tensors_with_elements(t):
    assert t.dtype == mt.int64 and set(t.tolist()) <= {0, 1, 2}


@given(S.tensors(shape=(3, 3), elements=st.integers(-20, 20).map(float), unique=True))
def test_tensors_unique(t):
    assert len(set(t.tolist()[0] + t.tolist()[1] + t.tolist()[2])) == 9


def test_tensors_refuse_requires_grad_for_integers():
    with pytest.raises(ValueError):
        S.tensors(dtype=mt.int64, requires_grad=True)


@given(st.data())
def test_non_contiguous_keeps_values_dtype_and_requires_grad(data):
    dtype = data.draw(st.sampled_from([mt.float64, mt.float32, mt.int64, mt.bool]))
    base = data.draw(S.tensors(dtype=dtype, shape=S.shapes(min_dims=2, min_side=2)))
    if dtype.is_floating_point:
        base.requires_grad_(data.draw(st.booleans()))
    t = data.draw(S.non_contiguous(st.just(base)))
    assert not t.is_contiguous()
    assert t.dtype == dtype and t.requires_grad == base.requires_grad and t.is_leaf
    assert np.array_equal(t.detach().numpy(), base.detach().numpy())


def test_away_from():
    keep = S.away_from([0.0, 1.0], margin=0.1)
    assert keep(0.5) and keep(-0.2) and keep(1.2)
    assert not keep(0.05) and not keep(0.95) and not keep(float("nan"))

    @given(st.floats(-2, 2).filter(S.away_from([0.0], 0.5)))
    def check(x):
        assert abs(x) > 0.5

    check()
