"""Accuracy of the hand-written transcendentals in microtorch/_kernels/_fmath.pxd.

exp, expm1, sigmoid, tanh and log(1 + e^-|x|) are written without libm so that the
kernel loops vectorise.  Each is checked here against numpy (libm) evaluated in a wider
type (float64 for float32, long double for float64) over the whole range of its dtype:
a dense sweep of float32 bit patterns, random float64 bit patterns plus the ranges where
the values live, and the edges (+-0, +-inf, NaN, subnormals, the largest finite values,
and the switch points inside the approximations).  The bounds are the measured maxima
rounded up (docs/kernels.md has the table, with libm's own error for comparison).
The vectorised loops that use them are checked at every length 0..67, so every vector
tail runs.
"""
import numpy as np
import pytest

from microtorch import _kernels as K
from microtorch._kernels import _elementwise

_fmath = _elementwise._fmath

FUNCTIONS = ("exp", "expm1", "sigmoid", "tanh", "log1pexp")
# Max error in ulps of the result's dtype, measured (see the module docstring) and rounded up.
MAX_ULP = {
    np.float32: {"exp": 1.5, "expm1": 2.0, "sigmoid": 3.0, "tanh": 2.5, "log1pexp": 3.0},
    np.float64: {"exp": 1.5, "expm1": 2.5, "sigmoid": 3.0, "tanh": 3.0, "log1pexp": 3.0},
}
WIDE = {np.float32: np.float64, np.float64: np.longdouble}
HAS_LONG_DOUBLE = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant


def reference(name: str, x: np.ndarray) -> np.ndarray:
    """The function in x's (wide) dtype, by numpy/libm."""
    with np.errstate(all="ignore"):
        if name == "exp":
            return np.exp(x)
        if name == "expm1":
            return np.expm1(x)
        if name == "sigmoid":
            e = np.exp(-np.abs(x))
            return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        if name == "tanh":
            return np.tanh(x)
        return np.log1p(np.exp(-np.abs(x)))


def ulp_errors(got: np.ndarray, exact: np.ndarray, dtype) -> np.ndarray:
    """|got - exact| in ulps of dtype at exact (the subnormal spacing below the normals).

    A result that matches where both are NaN, or the same infinity (including an exact
    value that overflows dtype), counts as 0; any other non-finite mismatch as inf."""
    info = np.finfo(dtype)
    with np.errstate(all="ignore"):
        rounded = exact.astype(dtype)
        exponent = np.floor(np.log2(np.maximum(np.abs(exact), info.tiny)))
        ulp = np.exp2(exponent - info.nmant)
        err = np.abs(got.astype(exact.dtype) - exact) / ulp
    same_special = (np.isnan(got) & np.isnan(exact)) | (np.isinf(rounded) & (got == rounded))
    err[same_special] = 0
    err[np.isnan(err)] = np.inf
    return err


def edges(dtype) -> np.ndarray:
    info = np.finfo(dtype)
    tiny_sub = np.array(info.smallest_subnormal, dtype)
    values = [0.0, np.inf, np.nan, info.max, info.tiny, tiny_sub, info.tiny - tiny_sub,
              1e-30, 1e-8, 0.25, 0.3465, 0.3466, 0.347, 0.41421356, 0.5, 0.55, 0.5500001,
              0.6931471805599453, 1.0, 2.0, 15.0, 17.0, 20.0, 30.0, 30.000002, 36.0, 44.0,
              87.0, 88.3, 88.72, 88.73, 89.0, 103.0, 104.0, 105.0, 700.0, 709.7, 710.0,
              745.0, 746.0, 1e10, 1e30]
    x = np.array(values, dtype=dtype)
    return np.concatenate([x, -x])


def sample(dtype) -> np.ndarray:
    """The whole range of dtype: every 4099th float32 bit pattern (about 1M values, all
    signs and exponents), or random float64 bit patterns, plus the busy range uniformly."""
    rng = np.random.default_rng(0)
    if dtype == np.float32:
        bits = np.arange(0, 2**32, 4099, dtype=np.uint64).astype(np.uint32)
        spread = bits.view(np.float32)
    else:
        spread = rng.integers(0, 2**64, 400_000, dtype=np.uint64).view(np.float64)
    busy = rng.uniform(-40, 40, 200_000).astype(dtype)
    return np.concatenate([spread, busy, edges(dtype)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_max_ulp_error_over_the_whole_range(name, dtype):
    if dtype == np.float64 and not HAS_LONG_DOUBLE:
        pytest.skip("no long double wider than float64 here to serve as the reference")
    x = sample(dtype)
    got = np.empty_like(x)
    _fmath(name, x, got)
    with np.errstate(invalid="ignore"):                 # NaN payloads widen noisily
        wide = x.astype(WIDE[dtype])
    err = ulp_errors(got, reference(name, wide), dtype)
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULP[dtype][name], (
        f"{name} {dtype.__name__}: {err[worst]:.2f} ulp at x={x[worst]!r} "
        f"(got {got[worst]!r})")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_edges_exactly(dtype):
    """The special values come out exactly as libm has them."""
    inf, nan = np.inf, np.nan
    x = np.array([-0.0, 0.0, inf, -inf, nan, 1e4, -1e4], dtype)
    expected = {
        "exp": [1, 1, inf, 0, nan, inf, 0],
        "expm1": [-0.0, 0, inf, -1, nan, inf, -1],
        "sigmoid": [0.5, 0.5, 1, 0, nan, 1, 0],
        "tanh": [-0.0, 0, 1, -1, nan, 1, -1],
        "log1pexp": [np.log(2), np.log(2), 0, 0, nan, 0, 0],
    }
    for name, values in expected.items():
        got = np.empty_like(x)
        _fmath(name, x, got)
        np.testing.assert_array_equal(got, np.array(values, dtype), err_msg=name)
        if name in ("expm1", "tanh"):
            assert np.signbit(got[0]) and not np.signbit(got[1]), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_subnormal_inputs_and_results(dtype):
    info = np.finfo(dtype)
    sub = np.array([info.smallest_subnormal, info.tiny / 3, info.tiny / 2**10], dtype)
    x = np.concatenate([sub, -sub])
    for name in ("expm1", "tanh"):                    # ~ x near 0: subnormals pass through
        got = np.empty_like(x)
        _fmath(name, x, got)
        np.testing.assert_array_equal(got, x, err_msg=name)
    # e^x for x where the result itself is subnormal
    x = np.log(np.array([info.tiny / 4, info.tiny / 1000], np.longdouble)).astype(dtype)
    got = np.empty_like(x)
    _fmath("exp", x, got)
    assert np.all(got > 0) and np.all(got < info.tiny)
    np.testing.assert_allclose(got, np.exp(x.astype(WIDE[dtype])).astype(dtype), rtol=0,
                               atol=float(info.smallest_subnormal))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vector_loops_agree_with_the_scalar_helpers_at_every_tail_length(dtype):
    """sigmoid/tanh kernels and BCE-with-logits run the helpers in vectorised loops; every
    length 0..67 (all vector tails of 4, 8 and 16 lanes) gives the scalar helper's values."""
    rng = np.random.default_rng(1)
    for n in range(68):
        x = (rng.standard_normal(n) * 20).astype(dtype)
        x[::7] = np.resize(np.array([np.nan, np.inf, -np.inf, -0.0, 1e30, -1e30, 0.0], dtype),
                           len(x[::7]))
        for kernel, name in ((K.sigmoid_forward, "sigmoid"), (K.tanh_forward, "tanh")):
            out, scalar = np.empty_like(x), np.empty_like(x)
            kernel(x, out)
            _fmath(name, x, scalar)
            np.testing.assert_array_equal(out, scalar, err_msg=f"{name} n={n}")
        zeros = np.zeros_like(x)
        loss = np.empty_like(x)
        K.bce_with_logits_forward(x, zeros, None, None, loss, K.REDUCTION_NONE)
        tail = np.empty_like(x)
        _fmath("log1pexp", x, tail)
        with np.errstate(invalid="ignore"):
            expected = x + (np.maximum(-x, 0) + tail)   # (1 - 0) x + softplus(-x)
        np.testing.assert_array_equal(loss, expected, err_msg=f"bce n={n}")
