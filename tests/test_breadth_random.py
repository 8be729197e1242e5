"""Random sampling (ops/sampling.py), generators, default device and constants.

microtorch's random stream is not PyTorch's, so values are checked by their distribution
and reproducibility; errors, dtypes, shapes and graph nodes are checked against PyTorch.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import microtorch as mt


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


# ---- generators -------------------------------------------------------------------------

DRAWS = {
    "rand": lambda g: mt.rand(5, generator=g),
    "randn": lambda g: mt.randn(2, 3, generator=g),
    "randint": lambda g: mt.randint(0, 100, (6,), generator=g),
    "randperm": lambda g: mt.randperm(10, generator=g),
    "multinomial": lambda g: mt.multinomial(mt.ones(4, 8), 3, generator=g),
    "multinomial replacement": lambda g: mt.multinomial(mt.ones(8), 20, True, generator=g),
    "normal_": lambda g: mt.empty(6).normal_(generator=g),
    "uniform_": lambda g: mt.empty(6).uniform_(-1, 1, generator=g),
    "bernoulli": lambda g: mt.bernoulli(mt.full((20,), 0.5), generator=g),
    "bernoulli_": lambda g: mt.empty(20).bernoulli_(0.3, generator=g),
    "normal": lambda g: mt.normal(mt.zeros(5), 1.0, generator=g),
    "normal sizes": lambda g: mt.normal(0.0, 2.0, (5,), generator=g),
    "poisson": lambda g: mt.poisson(mt.full((8,), 3.0), generator=g),
    "exponential_": lambda g: mt.empty(6).exponential_(generator=g),
    "random_": lambda g: mt.empty(6).random_(0, 1000, generator=g),
    "Tensor.multinomial": lambda g: mt.ones(6).multinomial(2, generator=g),
}


@pytest.mark.parametrize("name", DRAWS)
def test_generator_is_reproducible_and_independent_of_the_global_seed(name):
    draw = DRAWS[name]
    mt.manual_seed(1)
    first = draw(mt.Generator().manual_seed(7)).numpy().copy()
    mt.manual_seed(2)
    mt.rand(100)                                   # the global stream moves on
    again = draw(mt.Generator().manual_seed(7)).numpy()
    np.testing.assert_array_equal(first, again)
    other = draw(mt.Generator().manual_seed(8)).numpy()
    assert not np.array_equal(first, other)
    mt.manual_seed(3)
    g_state = mt.get_rng_state()
    draw(mt.Generator().manual_seed(7))
    assert mt.get_rng_state() == g_state           # the global stream is untouched


def test_global_seed_reproduces_the_default_stream():
    mt.manual_seed(11)
    a = mt.multinomial(mt.tensor([0.1, 0.2, 0.7]), 5, True).tolist()
    mt.manual_seed(11)
    assert mt.multinomial(mt.tensor([0.1, 0.2, 0.7]), 5, True).tolist() == a


def test_dropout_stays_on_the_global_stream():
    mt.manual_seed(5)
    a = mt.nn.Dropout(0.5)(mt.ones(50)).numpy().copy()
    mt.manual_seed(5)
    mt.Generator().manual_seed(0)
    mt.rand(3, generator=mt.Generator())
    np.testing.assert_array_equal(mt.nn.Dropout(0.5)(mt.ones(50)).numpy(), a)


def test_generator_argument_must_be_a_generator():
    with pytest.raises(TypeError, match="must be torch.Generator, not int"):
        mt.rand(2, generator=5)
    with pytest.raises(TypeError, match="must be torch.Generator, not str"):
        mt.multinomial(mt.ones(3), 1, generator="x")


def test_generator_device_and_default_seed(torch):
    g = mt.Generator()
    assert repr(g.device) == repr(torch.Generator().device)
    assert g.initial_seed() == torch.Generator().initial_seed()
    with pytest.raises(RuntimeError, match="CPU only"):
        mt.Generator("cuda")


# ---- multinomial ------------------------------------------------------------------------

def test_multinomial_frequencies_follow_the_weights():
    g = mt.Generator().manual_seed(0)
    w = mt.tensor([1.0, 0.0, 3.0, 6.0])
    draws = mt.multinomial(w, 20000, replacement=True, generator=g)
    assert draws.dtype == mt.int64 and tuple(draws.shape) == (20000,)
    freq = np.bincount(draws.numpy(), minlength=4) / 20000
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.3, 0.6], atol=0.015)


def test_multinomial_without_replacement_is_a_permutation_weighted_by_first_pick():
    g = mt.Generator().manual_seed(1)
    rows = mt.multinomial(mt.tensor([[1.0, 2.0, 7.0]]).expand(4000, 3), 3, generator=g)
    rows = rows.numpy()
    assert all(sorted(r) == [0, 1, 2] for r in rows)
    np.testing.assert_allclose(np.bincount(rows[:, 0], minlength=3) / 4000, [0.1, 0.2, 0.7],
                               atol=0.025)
    # zero-weight categories come last
    last = mt.multinomial(mt.tensor([0.2, 0.0, 0.8]), 3, generator=g).tolist()
    assert last[-1] == 1


def test_multinomial_shapes_and_dtypes_match_torch(torch):
    for lib in (mt, torch):
        assert tuple(lib.multinomial(lib.ones(2, 5), 3).shape) == (2, 3)
        assert tuple(lib.multinomial(lib.zeros(0, 3) + 1, 2).shape) == (0, 2)
    assert mt.multinomial(mt.ones(3, dtype=mt.float16), 2).dtype == mt.int64
    assert not mt.multinomial(mt.ones(3, requires_grad=True), 1).requires_grad


MULTINOMIAL_ERRORS = [
    lambda l: l.multinomial(l.tensor([0.2, 0.0, 0.8]), 4),
    lambda l: l.multinomial(l.ones(3), 0),
    lambda l: l.multinomial(l.ones(3), -1),
    lambda l: l.multinomial(l.tensor([1, 2]), 1),
    lambda l: l.multinomial(l.tensor(1.0), 1),
    lambda l: l.multinomial(l.ones(2, 2, 2), 1),
    lambda l: l.multinomial(l.tensor([-1.0, 2.0]), 1),
    lambda l: l.multinomial(l.tensor([math.nan, 2.0]), 1),
    lambda l: l.multinomial(l.tensor([math.inf, 2.0]), 1),
    lambda l: l.multinomial(l.tensor([0.0, 0.0]), 1),
    lambda l: l.multinomial(l.tensor([[0.0, 0.0], [1.0, 1.0]]), 1, True),
    lambda l: l.multinomial(l.zeros(0), 1),
    lambda l: l.multinomial(l.ones(3), 1.5),
]


@pytest.mark.parametrize("call", MULTINOMIAL_ERRORS, ids=range(len(MULTINOMIAL_ERRORS)))
def test_multinomial_errors_match_torch(torch, call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(mt)
    assert str(ours.value) == str(theirs.value)


# ---- the other samplers -----------------------------------------------------------------

def test_bernoulli_normal_poisson_statistics():
    g = mt.Generator().manual_seed(2)
    p = mt.tensor([0.0, 0.25, 1.0]).expand(20000, 3).contiguous()
    b = mt.bernoulli(p, generator=g).numpy()
    assert b.dtype == np.float32
    np.testing.assert_allclose(b.mean(0), [0.0, 0.25, 1.0], atol=0.012)
    n = mt.normal(mt.full((20000,), 3.0, dtype=mt.float64), 2.0, generator=g).numpy()
    assert n.dtype == np.float64
    assert abs(n.mean() - 3.0) < 0.05 and abs(n.std() - 2.0) < 0.05
    both = mt.normal(mt.zeros(20000, 1), mt.tensor([1.0, 5.0]), generator=g).numpy()
    np.testing.assert_allclose(both.std(0), [1.0, 5.0], rtol=0.03)
    k = mt.poisson(mt.full((20000,), 4.0), generator=g).numpy()
    assert abs(k.mean() - 4.0) < 0.06 and abs(k.var() - 4.0) < 0.2
    assert np.all(k == np.round(k))
    e = mt.empty(20000, dtype=mt.float64).exponential_(2.0, generator=g).numpy()
    assert e.min() >= 0 and abs(e.mean() - 0.5) < 0.02


def test_random_fill_ranges(torch):
    g = mt.Generator().manual_seed(3)
    assert set(mt.empty(500).random_(5, generator=g).tolist()) == {0, 1, 2, 3, 4}
    assert set(mt.empty(500).random_(2, 5, generator=g).tolist()) == {2, 3, 4}
    assert set(mt.empty(500).random_(to=3, generator=g).tolist()) == {0, 1, 2}
    full = mt.empty(1000).random_(generator=g).numpy()
    assert full.min() >= 0 and full.max() <= 2 ** 24 and full.max() > 2 ** 22
    assert mt.empty(4, dtype=mt.int32).random_().dtype == mt.int32
    assert set(mt.empty(100, dtype=mt.bool).random_(generator=g).tolist()) == {False, True}
    with pytest.raises(RuntimeError) as theirs:
        torch.empty(3).random_(5, 2)
    with pytest.raises(RuntimeError, match="from=5 >= to=2") as ours:
        mt.empty(3).random_(5, 2)
    assert str(ours.value) == str(theirs.value)


SAMPLER_ERRORS = [
    lambda l: l.bernoulli(l.tensor([1.5])),
    lambda l: l.bernoulli(l.tensor([1, 0])),
    lambda l: l.normal(0.0, -1.0, (2, 3)),
    lambda l: l.normal(l.zeros(2), -1.0),
    lambda l: l.normal(l.zeros(2), l.tensor([-1.0, 1.0])),
    lambda l: l.normal(l.tensor([1, 2]), 1.0),
    lambda l: l.normal(l.zeros(2, 2), l.ones(4)),
    lambda l: l.poisson(l.tensor([-1.0])),
    lambda l: l.poisson(l.tensor([1, 2])),
    lambda l: l.empty(3).exponential_(-1),
    lambda l: l.empty(3).exponential_(0),
    lambda l: l.empty(3).bernoulli_(1.5),
]


@pytest.mark.parametrize("call", SAMPLER_ERRORS, ids=range(len(SAMPLER_ERRORS)))
def test_sampler_errors_match_torch(torch, call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(mt)
    assert str(ours.value) == str(theirs.value)[:len(str(ours.value))]


SAMPLER_GRAPHS = [
    lambda l, p: l.bernoulli(p),
    lambda l, p: l.normal(p, 1.0),
    lambda l, p: l.normal(0.0, p),
    lambda l, p: l.normal(p, p),
    lambda l, p: l.poisson(p * 3),
    lambda l, p: (p * 1).bernoulli_(0.5),
    lambda l, p: (p * 1).bernoulli_(l.full((3,), 0.25)),
    lambda l, p: (p * 1).exponential_(),
    lambda l, p: (p * 1).random_(),
    lambda l, p: (p * 1).random_(7),
    lambda l, p: (p * 1).random_(2, 7),
]


@pytest.mark.parametrize("call", SAMPLER_GRAPHS, ids=range(len(SAMPLER_GRAPHS)))
def test_samples_record_torchs_node_with_zero_gradient(torch, call):
    names = []
    for lib in (mt, torch):
        p = lib.tensor([0.2, 0.5, 0.9], requires_grad=True)
        out = call(lib, p)
        names.append(type(out.grad_fn).__name__)
        out.sum().backward()
        assert not np.any(p.grad.numpy())
    assert names[0] == names[1]


# ---- default device and constants -------------------------------------------------------

def test_default_device_and_device_argument_on_every_factory(torch):
    assert mt.get_default_device() == mt.device("cpu")
    assert repr(mt.get_default_device()) == repr(torch.get_default_device())
    mt.set_default_device("cpu")
    mt.set_default_device(None)
    mt.set_default_device(mt.device("cpu"))
    with pytest.raises(RuntimeError, match="CPU only: cannot use device 'cuda'"):
        mt.set_default_device("cuda")
    with pytest.raises(RuntimeError, match="'mps'"):
        mt.set_default_device("mps")
    x = mt.ones(2)
    factories = [lambda d: mt.zeros(2, device=d), lambda d: mt.ones(2, device=d),
                 lambda d: mt.empty(2, device=d), lambda d: mt.full((2,), 1.0, device=d),
                 lambda d: mt.rand(2, device=d), lambda d: mt.randn(2, device=d),
                 lambda d: mt.randint(3, (2,), device=d), lambda d: mt.randperm(3, device=d),
                 lambda d: mt.arange(3, device=d), lambda d: mt.linspace(0, 1, 3, device=d),
                 lambda d: mt.eye(2, device=d), lambda d: mt.tensor([1.0], device=d),
                 lambda d: mt.as_tensor([1.0], device=d), lambda d: mt.zeros_like(x, device=d),
                 lambda d: mt.ones_like(x, device=d), lambda d: mt.empty_like(x, device=d),
                 lambda d: mt.full_like(x, 2.0, device=d), lambda d: mt.rand_like(x, device=d),
                 lambda d: mt.randn_like(x, device=d),
                 lambda d: mt.randint_like(x, 5, device=d),
                 lambda d: mt.normal(0.0, 1.0, (2,), device=d),
                 lambda d: x.new_tensor([1.0], device=d), lambda d: x.new_zeros(2, device=d),
                 lambda d: x.new_ones(2, device=d), lambda d: x.new_empty(2, device=d),
                 lambda d: x.new_full((2,), 1.0, device=d)]
    for make in factories:
        assert make("cpu").device == "cpu"
        assert make(mt.device("cpu")).device == "cpu"
        with pytest.raises(RuntimeError, match="CPU only"):
            make("cuda:0")


def test_randint_like_matches_torch_semantics(torch):
    x = mt.zeros(3, 4)
    r = mt.randint_like(x, 10)
    assert r.dtype == mt.float32 and tuple(r.shape) == (3, 4)
    assert r.numpy().min() >= 0 and r.numpy().max() < 10
    assert set(mt.randint_like(mt.zeros(200, dtype=mt.int64), 2, 4).tolist()) == {2, 3}


def test_constants_match_torch(torch):
    for name in ("pi", "e", "inf"):
        assert getattr(mt, name) == getattr(torch, name)
    assert math.isnan(mt.nan) and isinstance(mt.nan, float)
