"""Extreme inputs: saturation at large |x|, float32 limits, NaN and ±inf, against PyTorch.

softmax, log_softmax, logsumexp, sigmoid and tanh must give finite values and finite
gradients at ±1e3, ±1e4 and near the float32 limits (with exact zero gradients where
the function is flat to working precision); NaN and ±inf must propagate as in PyTorch,
forward and backward.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import microtorch as mt

DTYPES = {"float32": (mt.float32, torch.float32), "float64": (mt.float64, torch.float64)}
F32_MAX = float(np.finfo(np.float32).max)


def run(lib, np_dtype, fn, values, cotangent=None):
    """fn(x) and d<fn(x), cotangent>/dx for x = values (both as numpy arrays)."""
    x = lib.from_numpy(np.array(values, dtype=np_dtype)).requires_grad_()
    y = fn(lib, x)
    y_np = y.detach().numpy().copy()
    if not y.requires_grad:
        return y_np, None
    cot = np.ones(y_np.shape) if cotangent is None else np.asarray(cotangent)
    cot = lib.from_numpy(np.array(cot, dtype=y_np.dtype))
    (g,) = lib.autograd.grad(y, [x], cot, allow_unused=True)
    return y_np, (None if g is None else g.detach().numpy().copy())


def compare(fn, values, dtype_name, rtol=None, cotangent=None):
    """fn's value and gradient at `values` agree with PyTorch's (NaN where it has NaN).

    Gradients get an absolute tolerance of a few rounding errors of the cotangent: a
    1-ulp difference in a saved output y becomes |cot| * 2 ulp(y) in tanh's 1 - y**2.
    """
    np_dtype = np.float32 if dtype_name == "float32" else np.float64
    y_mt, g_mt = run(mt, np_dtype, fn, values, cotangent)
    y_t, g_t = run(torch, np_dtype, fn, values, cotangent)
    rtol = rtol or 4 * float(np.finfo(np_dtype).eps)
    np.testing.assert_allclose(y_mt, y_t, rtol=rtol, atol=0, equal_nan=True, err_msg="value")
    if g_t is None:
        assert g_mt is None or not np.any(g_mt)
    else:
        if g_mt is None:              # no graph node: the same as a zero gradient
            g_mt = np.zeros_like(g_t)
        cot_scale = max(1.0, float(np.max(np.abs(cotangent)))) if cotangent is not None else 1
        np.testing.assert_allclose(g_mt, g_t, rtol=rtol, atol=rtol * cot_scale, equal_nan=True,
                                   err_msg="gradient")
    return y_mt, g_mt


# ---- saturation -----------------------------------------------------------------------

SATURATING = {
    "softmax": lambda l, x: l.softmax(x, dim=-1),
    "log_softmax": lambda l, x: l.log_softmax(x, dim=-1),
    "logsumexp": lambda l, x: l.logsumexp(x, dim=-1),
    "sigmoid": lambda l, x: l.sigmoid(x),
    "tanh": lambda l, x: l.tanh(x),
    "softmax(dim=0)": lambda l, x: l.softmax(x.reshape(-1, 1), dim=0),
    "log_softmax(dim=0)": lambda l, x: l.log_softmax(x.reshape(-1, 1), dim=0),
}

LARGE = {
    "±1e3": [1e3, -1e3, 0.0, 1.0],
    "±1e4": [1e4, -1e4, 2.0, -3.0],
    "all +1e4": [1e4, 1e4 - 1, 1e4 + 2],
    "all -1e4": [-1e4, -1e4 - 1, -1e4 + 2],
    "near float32 max": [3e38, 2e38, 1e38],
    "near -float32 max": [-3e38, -2e38, -1e38],
    "float32 max": [F32_MAX, 0.0],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("inputs", LARGE)
@pytest.mark.parametrize("name", SATURATING)
def test_saturating_ops_stay_finite(name, inputs, dtype):
    values = LARGE[inputs]
    cot = np.linspace(-1, 2, len(values))
    if name.endswith("(dim=0)"):
        cot = cot.reshape(-1, 1)
    elif name == "logsumexp":
        cot = 1.5
    y, g = compare(SATURATING[name], values, dtype, cotangent=cot)
    assert np.isfinite(y).all(), f"{name}({values}) = {y}"
    assert np.isfinite(g).all(), f"gradient of {name} at {values}: {g}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_flat_tails_have_exactly_zero_gradient(name, dtype):
    values = [1e3, -1e3, 1e4, -1e4, 3e38, -3e38]
    _, g = compare(SATURATING[name], values, dtype)
    assert np.array_equal(g, np.zeros(len(values)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_saturates_to_one_hot(dtype):
    y, g = compare(SATURATING["softmax"], [1e4, 0.0, -1e4], dtype, cotangent=[1.0, 2.0, 3.0])
    assert np.array_equal(y, [1.0, 0.0, 0.0])
    assert np.array_equal(g, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_is_exact_far_from_the_max(dtype):
    y, g = compare(SATURATING["log_softmax"], [1e4, 0.0, -1e4], dtype, cotangent=[1.0, 0, 0])
    assert np.array_equal(y, [0.0, -1e4, -2e4])
    assert np.array_equal(g, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_of_equal_huge_values(dtype):
    y, g = compare(SATURATING["logsumexp"], [1e4, 1e4], dtype)
    assert y == pytest.approx(1e4 + np.log(2), rel=1e-7)
    # float32: exp(x - out) with out rounded to ulp(1e4) ~ 1e-3 (PyTorch gives the same)
    assert np.allclose(g, [0.5, 0.5], rtol=1e-3 if dtype == "float32" else 1e-12)


# ---- NaN and infinities propagate as in PyTorch --------------------------------------------

SPECIAL = [np.nan, 1.5, -2.0, np.inf, -np.inf, 0.0]

PROPAGATING = {
    "relu": lambda l, x: l.relu(x),
    "sigmoid": lambda l, x: l.sigmoid(x),
    "tanh": lambda l, x: l.tanh(x),
    "exp": lambda l, x: l.exp(x),
    "log": lambda l, x: l.log(x),
    "log1p": lambda l, x: l.log1p(x),
    "sqrt": lambda l, x: l.sqrt(x),
    "abs": lambda l, x: l.abs(x),
    "neg": lambda l, x: -x,
    "square": lambda l, x: l.square(x),
    "x ** 3": lambda l, x: x ** 3,
    "2 ** x": lambda l, x: 2.0 ** x,
    "x * 0": lambda l, x: x * 0.0,
    "x / 2": lambda l, x: x / 2.0,
    "1 / x": lambda l, x: 1.0 / x,
    "sign": lambda l, x: l.sign(x),
    "clamp(-1, 1)": lambda l, x: l.clamp(x, -1.0, 1.0),
    "maximum(x, 0)": lambda l, x: l.maximum(x, l.zeros_like(x)),
    "minimum(x, 0)": lambda l, x: l.minimum(x, l.zeros_like(x)),
    "where(x > 0, x, 1)": lambda l, x: l.where(x > 0, x, 1.0),
    "sum": lambda l, x: x.sum(),
    "mean": lambda l, x: x.mean(),
    "max": lambda l, x: x.max(),
    "amax": lambda l, x: x.amax(),
    "amin": lambda l, x: x.amin(),
    "max(dim=0).values": lambda l, x: x.max(dim=0).values,
    "min(dim=0).values": lambda l, x: x.min(dim=0).values,
    "argmax": lambda l, x: x.argmax(),
    "argmin": lambda l, x: x.argmin(),
    "softmax": lambda l, x: l.softmax(x, dim=0),
    "log_softmax": lambda l, x: l.log_softmax(x, dim=0),
    "logsumexp": lambda l, x: l.logsumexp(x, dim=0),
    "var": lambda l, x: x.var(),
    "matmul": lambda l, x: x @ l.ones_like(x),
    "isnan": lambda l, x: l.isnan(x),
    "isinf": lambda l, x: l.isinf(x),
    "x == x": lambda l, x: x == x,  # noqa: PLR0124 - NaN != NaN
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(PROPAGATING))
def test_nan_and_inf_propagate_like_torch(name, dtype):
    compare(PROPAGATING[name], SPECIAL, dtype)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "exp", "softmax", "max", "sum",
                                  "clamp(-1, 1)", "log_softmax", "x ** 3"])
def test_nan_alone(name, dtype):
    """A single NaN element: the value is NaN, as in PyTorch (relu(NaN) is NaN)."""
    y, _ = compare(PROPAGATING[name], [np.nan], dtype)
    assert np.isnan(y).all()


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_a_row_with_inf(dtype):
    compare(SATURATING["softmax"], [np.inf, 0.0, 1.0], dtype)
    compare(SATURATING["softmax"], [-np.inf, 0.0, 1.0], dtype)
    compare(SATURATING["log_softmax"], [-np.inf, 0.0, 1.0], dtype)
    compare(SATURATING["logsumexp"], [-np.inf, 0.0], dtype)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_of_all_minus_inf(dtype):
    compare(SATURATING["logsumexp"], [-np.inf, -np.inf], dtype)


# ---- nn.functional losses at extreme logits (skipped until nn.functional has them) --------

def _functional(name):
    try:
        from microtorch.nn import functional
    except ImportError:
        pytest.skip("microtorch.nn.functional does not exist yet")
    if not hasattr(functional, name):
        pytest.skip(f"microtorch.nn.functional.{name} does not exist yet")


LOGITS = {
    "±1e4": [[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]],
    "all +1e4": [[1e4, 1e4, 1e4 - 1], [1e4 + 3, 1e4, 1e4]],
    "near float32 max": [[3e38, 1e38, 2e38], [-1e38, -3e38, -2e38]],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("logits", LOGITS)
def test_cross_entropy_at_extreme_logits(logits, dtype):
    _functional("cross_entropy")

    def fn(lib, x):
        target = lib.tensor([1, 0])
        return lib.nn.functional.cross_entropy(x, target)

    y, g = compare(fn, LOGITS[logits], dtype, rtol=1e-6 if dtype == "float32" else 1e-12)
    assert np.isfinite(y).all() and np.isfinite(g).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_bce_with_logits_at_extreme_logits(reduction, dtype):
    _functional("binary_cross_entropy_with_logits")
    values = [1e4, -1e4, 1e3, -1e3, 3e38, -3e38, 0.0]

    def fn(lib, x):
        target = lib.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.5], dtype=x.dtype)
        return lib.nn.functional.binary_cross_entropy_with_logits(x, target,
                                                                   reduction=reduction)

    y, g = compare(fn, values, dtype)
    assert np.isfinite(g).all()
    if reduction == "none":
        assert np.isfinite(y[[0, 1, 2, 3, 6]]).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_saturated_probabilities(dtype):
    """binary_cross_entropy clamps log(p) at -100, as PyTorch does."""
    _functional("binary_cross_entropy")

    def fn(lib, p):
        target = lib.tensor([1.0, 0.0, 1.0, 0.0], dtype=p.dtype)
        return lib.nn.functional.binary_cross_entropy(p, target, reduction="none")

    y, _ = compare(fn, [0.0, 1.0, 1.0, 0.0], dtype)
    assert np.isfinite(y).all()
