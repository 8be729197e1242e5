"""Pointwise math, the newer activations, Embedding, tril/triu/masked_fill and norms against
PyTorch: modules with the same weights, the GPT attention-mask pattern, graph node names,
extreme values, the out= contract, in-place rules and PyTorch's errors.

The ops' gradients on random inputs are checked through tests/registry.py (gradcheck,
parity, float32, extremes of shapes); this file covers what the registry cannot express.
"""
import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import microtorch as mt
import microtorch.nn.functional as F
from microtorch import nn

RNG = np.random.default_rng(16)
TOL = {np.float32: {"rtol": 2e-6, "atol": 2e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}


def both(values, dtype=np.float64, requires_grad=True):
    """The same leaf values in microtorch and in PyTorch."""
    a = np.array(values, dtype=dtype)
    return (mt.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def close(a, b, dtype=np.float64):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, equal_nan=True, **TOL[dtype])


def copy_weights(m, t):
    """Load microtorch module m's weights into the torch module t."""
    t.load_state_dict({k: torch.from_numpy(np.array(v.numpy()))
                       for k, v in m.state_dict().items()})


# ---- activation modules ------------------------------------------------------------------

ACTIVATIONS = {
    "GELU": lambda lib: lib.GELU(),
    "GELU(tanh)": lambda lib: lib.GELU(approximate="tanh"),
    "SiLU": lambda lib: lib.SiLU(),
    "ELU": lambda lib: lib.ELU(alpha=0.7),
    "Mish": lambda lib: lib.Mish(),
    "Softplus": lambda lib: lib.Softplus(beta=2.0, threshold=3.0),
    "Hardtanh": lambda lib: lib.Hardtanh(-0.5, 1.5),
    "Softmin": lambda lib: lib.Softmin(dim=1),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_modules_match_torch(name, dtype):
    m, t = ACTIVATIONS[name](nn), ACTIVATIONS[name](torch.nn)
    assert repr(m) == repr(t)
    x, tx = both(RNG.normal(scale=2.0, size=(4, 5)), dtype)
    y, ty = m(x), t(tx)
    close(y, ty, dtype)
    assert y.grad_fn.name() == ty.grad_fn.name()
    cot = RNG.normal(size=(4, 5)).astype(dtype)
    y.backward(mt.tensor(cot))
    ty.backward(torch.tensor(cot))
    close(x.grad, tx.grad, dtype)


@pytest.mark.parametrize("name", ["SiLU", "ELU", "Mish", "Hardtanh"])
def test_inplace_activation_modules_match_torch(name):
    build = {"SiLU": lambda lib: lib.SiLU(inplace=True), "ELU": lambda lib: lib.ELU(inplace=True),
             "Mish": lambda lib: lib.Mish(inplace=True),
             "Hardtanh": lambda lib: lib.Hardtanh(inplace=True)}[name]
    m, t = build(nn), build(torch.nn)
    assert repr(m) == repr(t)
    x, tx = both(RNG.normal(scale=2.0, size=(3, 4)))
    h, th = x * 1.0, tx * 1.0
    y, ty = m(h), t(th)
    assert y is h and h._version[0] == th._version
    assert y.grad_fn.name() == ty.grad_fn.name()
    y.sum().backward()
    ty.sum().backward()
    close(x.grad, tx.grad)


def test_inplace_activation_on_a_leaf_raises_like_torch():
    for lib, fn in ((mt, F), (torch, torch.nn.functional)):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            fn.silu(x, inplace=True)


def test_softmin_without_dim_warns_like_torch():
    x, tx = both(RNG.normal(size=(2, 3)))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        y = F.softmin(x)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        ty = torch.nn.functional.softmin(tx)
    close(y, ty)


def test_gelu_rejects_unknown_approximation_like_torch():
    x = mt.ones(2)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(x, approximate="erf")
    with pytest.raises(AssertionError, match="must be greater than min_val"):
        nn.Hardtanh(1.0, -1.0)


SATURATING = {
    "softplus": lambda lib, x: lib.nn.functional.softplus(x),
    "softplus(beta=3)": lambda lib, x: lib.nn.functional.softplus(x, beta=3.0, threshold=5.0),
    "gelu": lambda lib, x: lib.nn.functional.gelu(x),
    "gelu(tanh)": lambda lib, x: lib.nn.functional.gelu(x, approximate="tanh"),
    "silu": lambda lib, x: lib.nn.functional.silu(x),
    "mish": lambda lib, x: lib.nn.functional.mish(x),
    "elu": lambda lib, x: lib.nn.functional.elu(x),
    "erf": lambda lib, x: lib.erf(x),
    "erfc": lambda lib, x: lib.erfc(x),
    "expm1": lambda lib, x: lib.expm1(x),
    "logaddexp": lambda lib, x: lib.logaddexp(x, x.flip(0)),
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", SATURATING)
def test_extreme_values_match_torch(name, dtype):
    """Large magnitudes, the float32 limit, NaN and infinities: values and gradients."""
    values = [1e4, -1e4, 3e38, -3e38, 80.0, -80.0, 0.0, np.nan, np.inf, -np.inf]
    if name.startswith("gelu") and dtype == np.float32:
        values = values[:2] + values[4:8]    # PyTorch's float32 kernel: inf at 3e38, NaN at inf
    x, tx = both(values, dtype)
    y, ty = SATURATING[name](mt, x), SATURATING[name](torch, tx)
    close(y, ty, dtype)
    (g,) = mt.autograd.grad(y.sum(), [x])
    (tg,) = torch.autograd.grad(ty.sum(), [tx])
    close(g, tg, dtype)


POINTWISE = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
             "atanh", "log10", "log2", "exp2", "expm1", "reciprocal", "rsqrt", "erf", "erfc",
             "floor", "ceil", "round", "trunc", "frac"]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", POINTWISE)
def test_nan_inf_and_domain_edges_propagate_like_torch(name):
    values = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 2.5, -1.5, 1e-30]
    x, tx = both(values)
    y, ty = getattr(mt, name)(x), getattr(torch, name)(tx)
    close(y, ty)
    assert y.grad_fn.name() == ty.grad_fn.name()
    (g,) = mt.autograd.grad(y.sum(), [x])
    (tg,) = torch.autograd.grad(ty.sum(), [tx])
    close(g, tg)


@pytest.mark.parametrize("name", POINTWISE)
def test_integer_inputs_follow_torch(name):
    values = [1, 2, -3, 0]
    x, tx = mt.tensor(values), torch.tensor(values)
    try:
        expected = getattr(torch, name)(tx)
    except NotImplementedError as err:
        with pytest.raises(NotImplementedError, match=str(err).replace('"', '.')):
            getattr(mt, name)(x)
        return
    got = getattr(mt, name)(x)
    assert repr(got.dtype) == str(expected.dtype)
    close(got, expected, np.float32)


# ---- graph node names and edges -------------------------------------------------------------

def _graph(lib, x, y, w, m):
    """One call of every new differentiable op on leaves x, y, w (w in (0, 1)), m (2 x 3)."""
    fn = lib.nn.functional
    return {
        "atan2": lib.atan2(x, y), "hypot": lib.hypot(x, y), "logaddexp": lib.logaddexp(x, y),
        "fmod": lib.fmod(x, y), "fmod number": lib.fmod(x, 1.5),
        "lerp": lib.lerp(x, y, 0.3), "lerp tensor": lib.lerp(x, y, w),
        "addcmul": lib.addcmul(x, y, w, value=2), "addcdiv": lib.addcdiv(x, y, w),
        "clamp_min": lib.clamp_min(x, 0.1), "clamp_max tensor": lib.clamp_max(x, y),
        "round decimals": lib.round(x, decimals=2), "tril": lib.tril(m), "triu": m.triu(1),
        "masked_fill": x.masked_fill(x > 0, 1.0), "masked_fill tensor": x.masked_fill(x > 0, w[0]),
        "embedding": fn.embedding(lib.tensor([[0, 1], [1, 1]]), m),
        "vector_norm": lib.linalg.vector_norm(x, 3), "norm": x.norm(),
        "matrix_norm 1": lib.linalg.matrix_norm(m, 1), "svdvals": lib.linalg.svdvals(m),
        "softplus": fn.softplus(x), "gelu": fn.gelu(x), "silu": fn.silu(x), "elu": fn.elu(x),
        "mish": fn.mish(x), "hardtanh": fn.hardtanh(x), "softmin": fn.softmin(x, 0),
        "sin_": (x * 1).sin_(), "asinh_": (x * 1).asinh_(), "elu inplace":
            fn.elu(x * 1, inplace=True), "masked_fill_": (x * 1).masked_fill_(x > 0, 0.0),
        "tril_": (m * 1).tril_(),
    }


def _names(node, depth: int = 2):
    """(name, [children...]) of a node down to `depth`, edges without a node as None."""
    if node is None:
        return None
    kids = [_names(n, depth - 1) for n, _ in node.next_functions] if depth else []
    name = node.name().replace("torch::autograd::", "")
    return name, kids


def test_new_ops_record_torchs_nodes_and_edges():
    values = [[0.3, -0.7, 1.5, 0.2, -1.1, 0.9], [0.5, 2.0, -1.0, 0.4, 0.6, -0.3],
              [0.2, 0.7, 0.5, 0.9, 0.1, 0.4], [[1.0, -2.0, 0.5], [0.3, 0.8, -1.5]]]
    ours = _graph(mt, *(mt.tensor(v, dtype=mt.float64, requires_grad=True) for v in values))
    theirs = _graph(torch, *(torch.tensor(v, dtype=torch.float64, requires_grad=True)
                             for v in values))
    for key, y in ours.items():
        ty = theirs[key]
        assert _names(y.grad_fn) == _names(ty.grad_fn), key
        close(y, ty)


# ---- Embedding -----------------------------------------------------------------------------

def test_embedding_module_matches_torch_with_padding_and_repeats():
    m = nn.Embedding(10, 4, padding_idx=2)
    t = torch.nn.Embedding(10, 4, padding_idx=2).double()
    m.double()
    copy_weights(m, t)
    assert repr(m) == repr(t)
    assert np.array_equal(m.weight.detach().numpy()[2], np.zeros(4))
    idx = [[2, 3, 3, 9], [1, 2, 3, 3]]
    y, ty = m(mt.tensor(idx)), t(torch.tensor(idx))
    close(y, ty)
    assert y.grad_fn.name() == ty.grad_fn.name() == "EmbeddingBackward0"
    cot = RNG.normal(size=(2, 4, 4))
    y.backward(mt.tensor(cot))
    ty.backward(torch.tensor(cot))
    close(m.weight.grad, t.weight.grad)
    assert not m.weight.grad.numpy()[2].any()                      # the padding row
    np.testing.assert_allclose(m.weight.grad.numpy()[3], cot[0, 1] + cot[0, 2] + cot[1, 2]
                               + cot[1, 3])


def test_embedding_gradient_sums_many_repeats():
    weight = mt.randn(50, 8, dtype=mt.float64, requires_grad=True)
    idx = RNG.integers(0, 50, size=(64, 33))
    cot = RNG.normal(size=(64, 33, 8))
    F.embedding(mt.tensor(idx), weight).backward(mt.tensor(cot))
    expected = np.zeros((50, 8))
    np.add.at(expected, idx.reshape(-1), cot.reshape(-1, 8))
    np.testing.assert_allclose(weight.grad.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_embedding_scale_grad_by_freq_matches_torch():
    w, tw = both(RNG.normal(size=(5, 3)))
    idx = [[0, 0, 1], [4, 0, 1]]
    cot = RNG.normal(size=(2, 3, 3))
    F.embedding(mt.tensor(idx), w, scale_grad_by_freq=True).backward(mt.tensor(cot))
    torch.nn.functional.embedding(torch.tensor(idx), tw, scale_grad_by_freq=True).backward(
        torch.tensor(cot))
    close(w.grad, tw.grad)


def test_embedding_init_is_standard_normal():
    mt.manual_seed(0)
    w = nn.Embedding(400, 50).weight.detach().numpy()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02
    assert w.dtype == np.float32


def test_embedding_from_pretrained():
    vectors = mt.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    frozen = nn.Embedding.from_pretrained(vectors)
    assert not frozen.weight.requires_grad
    assert np.array_equal(frozen(mt.tensor([2, 0])).numpy(), [[5.0, 6.0], [1.0, 2.0]])
    trainable = nn.Embedding.from_pretrained(vectors, freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.padding_idx == 1
    assert repr(trainable) == repr(torch.nn.Embedding.from_pretrained(
        torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), freeze=False, padding_idx=1))


def test_embedding_negative_padding_idx_wraps_like_torch():
    assert nn.Embedding(10, 3, padding_idx=-2).padding_idx == 8
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(10, 3, padding_idx=10)


def test_embedding_max_norm_and_sparse_raise_clearly():
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding(10, 3, max_norm=1.0)
    with pytest.raises(NotImplementedError, match="max_norm"):
        F.embedding(mt.tensor([1]), mt.ones(4, 2), max_norm=1.0)
    with pytest.raises(NotImplementedError, match="sparse"):
        F.embedding(mt.tensor([1]), mt.ones(4, 2), sparse=True)


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.functional.embedding(lib.tensor([0.0]), lib.ones(4, 3)),
    lambda lib: lib.nn.functional.embedding(lib.tensor([True]), lib.ones(4, 3)),
    lambda lib: lib.nn.functional.embedding(lib.tensor([4]), lib.ones(4, 3)),
    lambda lib: lib.nn.functional.embedding(lib.tensor([-1]), lib.ones(4, 3)),
    lambda lib: lib.nn.functional.embedding(lib.tensor([1]), lib.ones(4)),
])
def test_embedding_errors_match_torch(call):
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(type(expected.value), match=_literal(expected.value)):
        call(mt)


# ---- the GPT attention-mask pattern ---------------------------------------------------------

def _head(lib, n_embd=8, head_size=4, block_size=6):
    """Zero to Hero's self-attention head: a causal mask kept as a buffer."""
    class Head(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.key = lib.nn.Linear(n_embd, head_size, bias=False)
            self.query = lib.nn.Linear(n_embd, head_size, bias=False)
            self.value = lib.nn.Linear(n_embd, head_size, bias=False)
            self.register_buffer("tril", lib.tril(lib.ones(block_size, block_size)))

        def forward(self, x):
            _, T, C = x.shape
            k, q = self.key(x), self.query(x)
            wei = q @ k.transpose(-2, -1) * C ** -0.5
            wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
            wei = lib.nn.functional.softmax(wei, dim=-1)
            return wei @ self.value(x)

    return Head()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gpt_attention_mask_pattern_matches_torch(dtype):
    m, t = _head(mt), _head(torch)
    if dtype == np.float64:
        m.double()
        t.double()
    assert "tril" in m.state_dict() and [n for n, _ in m.named_buffers()] == ["tril"]
    copy_weights(m, t)
    x, tx = both(RNG.normal(size=(2, 5, 8)), dtype)
    y, ty = m(x), t(tx)
    close(y, ty, dtype)
    cot = RNG.normal(size=(2, 5, 4)).astype(dtype)
    y.backward(mt.tensor(cot))
    ty.backward(torch.tensor(cot))
    close(x.grad, tx.grad, dtype)
    for (name, p), tp in zip(m.named_parameters(), t.parameters()):
        close(p.grad, tp.grad, dtype)
    assert m.tril.dtype == (mt.float64 if dtype == np.float64 else mt.float32)


def test_masked_fill_in_place_and_with_a_tensor_value():
    x, tx = both(RNG.normal(size=(3, 4)))
    v, tv = both(2.5)
    y, ty = x * 2, tx * 2
    y.masked_fill_(y > 0, v)
    ty.masked_fill_(ty > 0, tv)
    close(y, ty)
    assert y.grad_fn.name() == ty.grad_fn.name() == "MaskedFillBackward1"
    cot = RNG.normal(size=(3, 4))
    y.backward(mt.tensor(cot))
    ty.backward(torch.tensor(cot))
    close(x.grad, tx.grad)
    close(v.grad, tv.grad)


@pytest.mark.parametrize("call", [
    lambda lib: lib.ones(3).masked_fill(lib.ones(3), 1.0),
    lambda lib: lib.ones(3).masked_fill(lib.ones(3).long(), 1.0),
    lambda lib: lib.ones(3).masked_fill(lib.ones(3) > 0, lib.ones(1)),
    lambda lib: lib.ones(3).masked_fill_(lib.ones(3, 1) > 0, 1.0),
    lambda lib: lib.tril(lib.ones(3)),
    lambda lib: lib.ones(2, 2).triu_(diagonal=1.5),
    lambda lib: lib.ones(2, 2, requires_grad=True).tril_(),
])
def test_mask_errors_match_torch(call):
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(type(expected.value), match=_literal(expected.value)):
        call(mt)


def test_tril_of_a_batch_and_of_bools():
    a = RNG.normal(size=(2, 3, 4))
    for k in (-2, 0, 1, 5):
        assert np.array_equal(mt.tril(mt.tensor(a), k).numpy(), torch.tril(torch.tensor(a),
                                                                           k).numpy())
        assert np.array_equal(mt.tensor(a).triu(k).numpy(), torch.tensor(a).triu(k).numpy())
    ones = mt.ones(3, 3, dtype=mt.bool)
    assert mt.tril(ones).dtype == mt.bool
    assert np.array_equal(mt.tril(ones, -1).numpy(), np.tril(np.ones((3, 3), bool), -1))


# ---- norms ------------------------------------------------------------------------------------

NORM_CALLS = {
    "vector 2": lambda lib, x: lib.linalg.vector_norm(x),
    "vector 1 dim": lambda lib, x: lib.linalg.vector_norm(x, 1, dim=-1),
    "vector inf": lambda lib, x: lib.linalg.vector_norm(x, math.inf, dim=0, keepdim=True),
    "vector -inf": lambda lib, x: lib.linalg.vector_norm(x, -math.inf),
    "vector 0": lambda lib, x: lib.linalg.vector_norm(x, 0),
    "vector 0.5": lambda lib, x: lib.linalg.vector_norm(x, 0.5, dim=1),
    "vector 3": lambda lib, x: lib.linalg.vector_norm(x, 3),
    "vector -1": lambda lib, x: lib.linalg.vector_norm(x, -1, dim=0),
    "fro": lambda lib, x: lib.linalg.matrix_norm(x),
    "nuc": lambda lib, x: lib.linalg.matrix_norm(x, "nuc"),
    "spectral": lambda lib, x: lib.linalg.matrix_norm(x, 2),
    "-2": lambda lib, x: lib.linalg.matrix_norm(x, -2),
    "1": lambda lib, x: lib.linalg.matrix_norm(x, 1, keepdim=True),
    "inf": lambda lib, x: lib.linalg.matrix_norm(x, math.inf, dim=(1, 0)),
    "linalg.norm": lambda lib, x: lib.linalg.norm(x),
    "linalg.norm ord": lambda lib, x: lib.linalg.norm(x, -math.inf),
    "linalg.norm dim": lambda lib, x: lib.linalg.norm(x, 3, dim=1),
    "torch.norm": lambda lib, x: lib.norm(x),
    "torch.norm nuc": lambda lib, x: lib.norm(x, "nuc"),
    "Tensor.norm": lambda lib, x: x.norm(p=1, dim=0, keepdim=True),
    "svdvals": lambda lib, x: lib.linalg.svdvals(x),
}
MATRICES = {
    "random": RNG.normal(size=(3, 4)),
    "with zeros": np.array([[0.0, 2.0, -1.0], [0.0, 0.0, 3.0]]),
    "zero matrix": np.zeros((2, 3)),
    "zero row": np.array([[0.0, 0.0], [1.0, -2.0]]),
}


SINGULAR_VALUES = ("nuc", "spectral", "-2", "svdvals", "torch.norm nuc")
"""Norms from the singular values: only on the full-rank matrix (at a rank-deficient one the
gradient is not unique)."""


@pytest.mark.parametrize("name,matrix", [(n, m) for n in NORM_CALLS for m in MATRICES
                                         if n not in SINGULAR_VALUES or m == "random"])
def test_norms_and_their_zero_safe_gradients_match_torch(name, matrix):
    values = MATRICES[matrix]
    x, tx = both(values)
    y, ty = NORM_CALLS[name](mt, x), NORM_CALLS[name](torch, tx)
    close(y, ty)
    cot = RNG.normal(size=tuple(ty.shape))
    (g,) = mt.autograd.grad(y, [x], mt.tensor(cot), allow_unused=True)
    (tg,) = torch.autograd.grad(ty, [tx], torch.tensor(cot), allow_unused=True)
    g = np.zeros(values.shape) if g is None else g.numpy()
    tg = np.zeros(values.shape) if tg is None else tg.numpy()
    assert np.isfinite(g).all()
    close(g, tg)


def test_norm_keepdims_alias_where_torch_has_it():
    x, tx = both(RNG.normal(size=(2, 3)))
    close(mt.linalg.vector_norm(x, dim=1, keepdims=True),
          torch.linalg.vector_norm(tx, dim=1, keepdims=True))
    close(mt.linalg.norm(x, dim=1, keepdims=True), torch.linalg.norm(tx, dim=1, keepdims=True))
    close(mt.linalg.matrix_norm(x, keepdims=True), torch.linalg.matrix_norm(tx, keepdims=True))


@pytest.mark.parametrize("call", [
    lambda lib: lib.linalg.vector_norm(lib.tensor([1, 2])),
    lambda lib: lib.linalg.vector_norm(lib.ones(2), ord="fro"),
    lambda lib: lib.linalg.vector_norm(lib.ones(2), dtype=lib.int64),
    lambda lib: lib.linalg.vector_norm(lib.ones(2, dtype=lib.float64), dtype=lib.float32),
    lambda lib: lib.linalg.vector_norm(lib.ones(0, 2), math.inf),
    lambda lib: lib.linalg.vector_norm(lib.ones(0, 2), -1, dim=0),
    lambda lib: lib.linalg.matrix_norm(lib.ones(3)),
    lambda lib: lib.linalg.matrix_norm(lib.ones(2, 2), 3),
    lambda lib: lib.linalg.matrix_norm(lib.ones(2, 2), dim=(0, 0)),
    lambda lib: lib.linalg.norm(lib.ones(2, 2, 2), 2),
    lambda lib: lib.linalg.norm(lib.ones(2, 2, 2), dim=(0, 1, 2)),
    lambda lib: lib.norm(lib.ones(2, 2, 2), "nuc"),
])
def test_norm_errors_match_torch(call):
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(type(expected.value), match=_literal(expected.value)):
        call(mt)


# ---- errors of the pointwise ops ------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda lib: lib.frac(lib.tensor([1, 2])),
    lambda lib: lib.round(lib.tensor([1, 2]), decimals=1),
    lambda lib: lib.tensor([1, 2]).sin_(),
    lambda lib: lib.ones(2, requires_grad=True).sin_(),
    lambda lib: lib.atan2(lib.ones(2), 2),
    lambda lib: lib.hypot(lib.tensor([1]), lib.tensor([2])),
    lambda lib: lib.logaddexp(lib.tensor([1]), lib.tensor([2])),
    lambda lib: lib.fmod(lib.tensor([1, 2]), 0),
    lambda lib: lib.lerp(lib.ones(2), lib.ones(2, dtype=lib.float64), 0.5),
    lambda lib: lib.lerp(lib.ones(2), lib.ones(2), lib.ones(2, dtype=lib.float64)),
    lambda lib: lib.lerp(lib.tensor([1]), lib.tensor([2]), 0.5),
    lambda lib: lib.addcdiv(lib.ones(2), lib.tensor([1, 2]), lib.tensor([1, 2])),
    lambda lib: lib.ones(2, dtype=lib.int64).clamp_min_(0.5),
    lambda lib: lib.ones(3).atan2_(lib.ones(2, 3)),
    lambda lib: lib.ones(2).add(lib.ones(3)).sin(),
])
def test_pointwise_errors_match_torch(call):
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(type(expected.value), match=_literal(expected.value)):
        call(mt)


def _literal(err: BaseException) -> str:
    import re

    return re.escape(str(err).strip('"').splitlines()[0][:80])


def test_pointwise_dtype_rules_match_torch():
    cases = [
        lambda lib: lib.atan2(lib.tensor([1, 2]), lib.tensor([3, 4])),
        lambda lib: lib.atan2(lib.ones(2), lib.tensor(2.0, dtype=lib.float64)),
        lambda lib: lib.fmod(lib.tensor([5, -7]), 3),
        lambda lib: lib.fmod(lib.tensor([5, -7]), 2.5),
        lambda lib: lib.addcmul(lib.tensor([1, 2]), lib.tensor([3, 4]), lib.tensor([1, 1])),
        lambda lib: lib.addcmul(lib.ones(2), lib.tensor([3, 4]), lib.ones(2, dtype=lib.float64)),
        lambda lib: lib.clamp_min(lib.tensor([1, -2]), 0),
        lambda lib: lib.clamp_min(lib.tensor([1, -2]), 0.5),
        lambda lib: lib.floor(lib.tensor([1, -2])),
        lambda lib: lib.lerp(lib.ones(2), lib.ones(2), lib.tensor(0.5, dtype=lib.float64)),
        lambda lib: lib.nn.functional.hardtanh(lib.tensor([3, -2, 0])),
        lambda lib: lib.ones(2, dtype=lib.uint8).masked_fill(lib.ones(2) > 0, 1.5),
    ]
    for call in cases:
        got, expected = call(mt), call(torch)
        assert repr(got.dtype) == str(expected.dtype)
        close(got, expected, np.float32)


def test_lerp_is_exact_at_both_ends():
    x, y = mt.tensor([1e8, -3.0, 0.1]), mt.tensor([1.0, 7.0, 0.3])
    assert np.array_equal(mt.lerp(x, y, 1.0).numpy(), y.numpy())
    assert np.array_equal(mt.lerp(x, y, 0.0).numpy(), x.numpy())


# ---- in-place rules ---------------------------------------------------------------------------

def test_inplace_pointwise_bumps_the_version_and_guards_saved_values():
    x = mt.tensor([0.5, 1.0], requires_grad=True)
    h = x * 2
    y = h * h                                      # saves h
    h.sin_()
    assert h._version[0] == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_a_view_of_a_tensor_that_requires_grad_is_recorded():
    w = mt.tensor([[0.5, 1.0, 2.0], [3.0, -1.0, 0.25]], requires_grad=True)
    x = w * 1
    x[0].cos_()                                    # rebases x: CopySlices, as in PyTorch
    assert x.grad_fn.name() == "CopySlices" and x[0].grad_fn.name() == "SelectBackward0"
    x.sum().backward()
    expected = np.ones((2, 3))
    expected[0] = -np.sin(w.detach().numpy()[0])
    assert np.allclose(w.grad.numpy(), expected)


def test_inplace_op_with_itself_as_operand():
    """x.atan2_(x): the operand is read before x is overwritten (same values as PyTorch), but
    the saved operand is x at its version before the op, so backward raises, as PyTorch's."""
    x, tx = both([0.4, -1.2, 2.0])
    a, ta = x * 1, tx * 1
    a.atan2_(a)
    ta.atan2_(ta)
    close(a, ta)
    for t in (a, ta):
        with pytest.raises(RuntimeError, match="output 0 of Atan2, is at version 1; expected "
                                               "version 0"):
            t.sum().backward()


# ---- out= ---------------------------------------------------------------------------------------

OUT_CALLS = {
    "sin": lambda lib, x, out: lib.sin(x, out=out),
    "atan2": lambda lib, x, out: lib.atan2(x, x, out=out),
    "lerp": lambda lib, x, out: lib.lerp(x, x * 2, 0.25, out=out),
    "tril": lambda lib, x, out: lib.tril(x.reshape(2, 3), out=out),
    "norm": lambda lib, x, out: lib.linalg.vector_norm(x, out=out),
    "clamp_min": lambda lib, x, out: lib.clamp_min(x, 0.0, out=out),
}


@pytest.mark.parametrize("name", OUT_CALLS)
def test_out_writes_into_the_given_tensor(name):
    values = RNG.normal(size=6).astype(np.float32)
    x, tx = mt.tensor(values), torch.tensor(values)
    expected = OUT_CALLS[name](torch, tx, None)
    out = mt.empty(expected.shape, dtype=mt.float64)
    assert OUT_CALLS[name](mt, x, out) is out
    assert out.dtype == mt.float64 and out._version[0] == 1
    close(out, expected.double(), np.float32)


def test_out_resizes_like_torch():
    x = mt.ones(2, 3)
    empty = mt.empty(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mt.sin(x, out=empty)                       # no elements: resized silently
    assert empty.shape == (2, 3)
    wrong = mt.empty(5)
    with pytest.warns(UserWarning, match="An output with one or more elements was resized"):
        mt.cos(x, out=wrong)
    assert np.allclose(wrong.numpy(), np.cos(1.0))


@pytest.mark.parametrize("call", [
    lambda lib: lib.sin(lib.ones(3, requires_grad=True), out=lib.empty(3)),
    lambda lib: lib.sin(lib.ones(3), out=lib.empty(3, requires_grad=True)),
    lambda lib: lib.sin(lib.ones(3), out=lib.empty(3, dtype=lib.int64)),
    lambda lib: lib.sin(lib.ones(3), out=3),
])
def test_out_errors_match_torch(call):
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(type(expected.value), match=_literal(expected.value)):
        call(mt)


def test_out_under_no_grad_keeps_requires_grad():
    out = mt.empty(3, requires_grad=True)
    with mt.no_grad():
        mt.exp2(mt.ones(3, requires_grad=True), out=out)
    assert out.requires_grad and np.allclose(out.detach().numpy(), 2.0)


OUT_ELSEWHERE = {
    "add": lambda lib, x, out: lib.add(x, x, alpha=2, out=out),
    "sub": lambda lib, x, out: lib.sub(x, 1.5, out=out),
    "mul": lambda lib, x, out: lib.mul(x, x, out=out),
    "div": lambda lib, x, out: lib.div(x, 4.0, out=out),
    "pow": lambda lib, x, out: lib.pow(x, 2, out=out),
    "exp": lambda lib, x, out: lib.exp(x, out=out),
    "log": lambda lib, x, out: lib.log(x.abs() + 1, out=out),
    "sqrt": lambda lib, x, out: lib.sqrt(x.abs(), out=out),
    "clamp": lambda lib, x, out: lib.clamp(x, -0.5, 0.5, out=out),
    "maximum": lambda lib, x, out: lib.maximum(x, -x, out=out),
    "matmul": lambda lib, x, out: lib.matmul(x, x.T, out=out),
    "mm": lambda lib, x, out: lib.mm(x, x.T, out=out),
    "sigmoid": lambda lib, x, out: lib.sigmoid(x, out=out),
    "softmax": lambda lib, x, out: lib.softmax(x, 1, out=out),
    "logsumexp": lambda lib, x, out: lib.logsumexp(x, 1, out=out),
    "sum": lambda lib, x, out: lib.sum(x, 0, out=out),
    "mean": lambda lib, x, out: lib.mean(x, 1, keepdim=True, out=out),
    "amax": lambda lib, x, out: lib.amax(x, 0, out=out),
    "cat": lambda lib, x, out: lib.cat([x, x], 1, out=out),
    "stack": lambda lib, x, out: lib.stack([x, x], out=out),
}


@pytest.mark.parametrize("name", OUT_ELSEWHERE)
def test_out_on_the_common_ops_matches_torch(name):
    values = RNG.normal(size=(2, 3)).astype(np.float32)
    x, tx = mt.tensor(values), torch.tensor(values)
    out, tout = mt.empty(0), torch.empty(0)
    assert OUT_ELSEWHERE[name](mt, x, out) is out
    OUT_ELSEWHERE[name](torch, tx, tout)
    close(out, tout, np.float32)


def test_out_of_matmul_needs_the_exact_dtype_like_torch():
    for lib in (mt, torch):
        with pytest.raises(RuntimeError, match="Expected out tensor to have dtype float, but got "
                                               "double instead"):
            lib.matmul(lib.ones(2, 2), lib.ones(2, 2), out=lib.empty(2, 2, dtype=lib.float64))


# ---- keepdims= (numpy's spelling of keepdim=) -------------------------------------------------

KEEPDIMS = [
    "x.sum(1, keepdims=True)", "x.mean(1, keepdims=True)", "x.var(1, keepdims=True)",
    "x.std(0, keepdims=True)", "x.max(1, keepdims=True)[0]", "x.min(1, keepdims=True)[1]",
    "x.amax(1, keepdims=True)", "x.amin(0, keepdims=True)", "x.argmax(1, keepdims=True)",
    "x.argmin(1, keepdims=True)", "(x > 2).any(1, keepdims=True)",
    "(x > 2).all(1, keepdims=True)", "x.logsumexp(1, keepdims=True)", "x.prod(1, keepdims=True)",
    "L.sum(x, 1, keepdims=True)", "L.mean(x, (0, 1), keepdims=True)",
    "L.var(x, 1, keepdims=True)", "L.std(x, 1, keepdims=True)", "L.max(x, 1, keepdims=True)[0]",
    "L.amax(x, 1, keepdims=True)", "L.argmax(x, 1, keepdims=True)", "L.any(x, 1, keepdims=True)",
    "L.logsumexp(x, 1, keepdims=True)", "L.prod(x, 1, keepdims=True)",
    "L.sum(x, 1, keepdims=False)", "L.linalg.vector_norm(x, dim=0, keepdims=True)",
]


@pytest.mark.parametrize("expr", KEEPDIMS)
def test_keepdims_is_accepted_like_torch(expr):
    values = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    got = eval(expr, {"x": mt.tensor(values), "L": mt})
    expected = eval(expr, {"x": torch.tensor(values), "L": torch})
    assert tuple(got.shape) == tuple(expected.shape)
    close(got, expected)
