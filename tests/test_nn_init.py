"""nn.init: gains, fans, and the moments of every initialiser's distribution.

microtorch draws from its own generator, so values differ from PyTorch's by design;
the distributions must not.
"""
import math

import numpy as np
import pytest

import microtorch as mt
from microtorch import nn
from microtorch.nn import init

N_OUT, N_IN = 400, 250           # 100,000 draws: sample moments within ~1% of the truth


@pytest.fixture(autouse=True)
def seeded():
    mt.manual_seed(1234)


def draws(fn, *args, shape=(N_OUT, N_IN), **kwargs):
    t = mt.empty(shape)
    assert fn(t, *args, **kwargs) is t
    return t.numpy().astype(np.float64)


def assert_uniform(values, low, high):
    assert values.min() >= low and values.max() <= high
    assert values.mean() == pytest.approx((low + high) / 2, abs=0.01 * (high - low))
    assert values.std() == pytest.approx((high - low) / math.sqrt(12), rel=0.01)


def assert_normal(values, mean, std):
    assert values.mean() == pytest.approx(mean, abs=0.01 * std)
    assert values.std() == pytest.approx(std, rel=0.01)
    z = (values - mean) / std
    assert np.mean(z ** 4) == pytest.approx(3.0, rel=0.05)          # normal kurtosis


@pytest.mark.parametrize("name, param, gain", [
    ("linear", None, 1), ("conv2d", None, 1), ("sigmoid", None, 1), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)),
    ("selu", None, 0.75),
])
def test_calculate_gain(name, param, gain):
    assert init.calculate_gain(name, param) == pytest.approx(gain)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope x not a valid number"):
        init.calculate_gain("leaky_relu", "x")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_fans():
    assert init._calculate_fan_in_and_fan_out(mt.empty(5, 3)) == (3, 5)
    assert init._calculate_fan_in_and_fan_out(mt.empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed for tensor "
                                         "with fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(mt.empty(3))
    with pytest.raises(ValueError, match=r"Mode foo not supported, please use one of "
                                         r"\['fan_in', 'fan_out'\]"):
        init.kaiming_uniform_(mt.empty(3, 2), mode="foo")


def test_uniform_normal_constant():
    assert_uniform(draws(init.uniform_), 0, 1)
    assert_uniform(draws(init.uniform_, -3, 2), -3, 2)
    assert_normal(draws(init.normal_), 0, 1)
    assert_normal(draws(init.normal_, 2.0, 0.5), 2.0, 0.5)
    assert np.all(draws(init.constant_, 0.3, shape=(3, 2)) == np.float32(0.3))
    assert np.all(draws(init.zeros_, shape=(3,)) == 0)
    assert np.all(draws(init.ones_, shape=(2, 2)) == 1)
    assert np.array_equal(draws(init.eye_, shape=(2, 3)), np.eye(2, 3))


def test_xavier():
    std = math.sqrt(2 / (N_IN + N_OUT))
    assert_uniform(draws(init.xavier_uniform_), -math.sqrt(3) * std, math.sqrt(3) * std)
    assert_normal(draws(init.xavier_normal_, gain=2.0), 0, 2 * std)


@pytest.mark.parametrize("mode, fan", [("fan_in", N_IN), ("fan_out", N_OUT)])
def test_kaiming(mode, fan):
    bound = math.sqrt(3) * math.sqrt(2) / math.sqrt(fan)
    assert_uniform(draws(init.kaiming_uniform_, mode=mode, nonlinearity="relu"), -bound, bound)
    gain = math.sqrt(2 / (1 + 0.1 ** 2))
    assert_normal(draws(init.kaiming_normal_, a=0.1, mode=mode), 0, gain / math.sqrt(fan))


def test_kaiming_uniform_sqrt5_is_linear_default():
    bound = 1 / math.sqrt(N_IN)
    assert_uniform(draws(init.kaiming_uniform_, a=math.sqrt(5)), -bound, bound)


def test_trunc_normal():
    values = draws(init.trunc_normal_, 1.0, 2.0, -1.0, 2.0)
    assert values.min() >= -1.0 and values.max() <= 2.0
    # moments of N(1, 2^2) truncated to [-1, 2], i.e. standard bounds alpha = -1, beta = 0.5
    alpha, beta = -1.0, 0.5
    pdf = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in (alpha, beta)]
    mass = (math.erf(beta / math.sqrt(2)) - math.erf(alpha / math.sqrt(2))) / 2
    shift = (pdf[0] - pdf[1]) / mass
    var = 1 + (alpha * pdf[0] - beta * pdf[1]) / mass - shift ** 2
    assert values.mean() == pytest.approx(1.0 + 2.0 * shift, abs=0.01)
    assert values.std() == pytest.approx(2.0 * math.sqrt(var), rel=0.01)
    default = draws(init.trunc_normal_, std=0.02)
    assert np.abs(default).max() <= 2.0 and default.std() == pytest.approx(0.02, rel=0.02)


def test_init_is_untracked_and_bumps_version():
    p = nn.Parameter(mt.empty(4, 3))
    version = p._version[0]
    init.kaiming_normal_(p)
    assert p.grad_fn is None and p.requires_grad and p._version[0] == version + 1
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(mt.empty(0, 3))


def test_generator_and_seed_reproducibility():
    g1, g2 = mt.Generator().manual_seed(7), mt.Generator().manual_seed(7)
    a = init.normal_(mt.empty(10), generator=g1).numpy()
    b = init.normal_(mt.empty(10), generator=g2).numpy()
    assert np.array_equal(a, b)
    mt.manual_seed(3)
    first = nn.Linear(4, 4).weight.detach().numpy().copy()
    mt.manual_seed(3)
    assert np.array_equal(nn.Linear(4, 4).weight.detach().numpy(), first)


def test_float64_tensors_keep_dtype():
    t = mt.empty(20, 10, dtype=mt.float64)
    init.xavier_uniform_(t)
    assert t.dtype == mt.float64 and np.abs(t.numpy()).max() <= math.sqrt(6 / 30)
