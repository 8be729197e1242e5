"""microtorch.nn against PyTorch: same weights in, same numbers, names and errors out.

Weights are copied between the libraries through state_dict/load_state_dict with numpy
arrays (the random streams differ by design). Skipped when torch is not installed.
"""
import inspect
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import microtorch as mt
import microtorch.nn.functional as F
from microtorch import nn

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-10)}
RNG = np.random.default_rng(2024)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)             # tiny problems: avoid thread start-up noise
    yield
    torch.set_num_threads(threads)


def to_torch_state(module):
    return {k: torch.from_numpy(np.array(v.numpy())) for k, v in module.state_dict().items()}


def to_mt_state(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def pair(builder, dtype=np.float32):
    """The same architecture in both libraries, microtorch's weights copied into torch's."""
    m, t = builder(nn), builder(torch.nn)
    if dtype == np.float64:
        m.double()
        t.double()
    t.load_state_dict(to_torch_state(m))
    return m, t


def close(a, b, dtype):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, **TOL[dtype])


def regressor(lib):
    return lib.Sequential(lib.Linear(1, 5), lib.ReLU(), lib.Linear(5, 2), lib.ReLU(),
                          lib.Linear(2, 1))


def binary(lib):
    return lib.Sequential(lib.Linear(2, 10), lib.Sigmoid(), lib.Linear(10, 10), lib.Sigmoid(),
                          lib.Linear(10, 1), lib.Sigmoid())


def classifier(lib):
    return lib.Sequential(lib.Linear(3, 8), lib.Tanh(), lib.Linear(8, 3), lib.Softmax(dim=1))


def deep(lib):
    return lib.Sequential(lib.Linear(6, 16), lib.BatchNorm1d(16), lib.LeakyReLU(0.1),
                          lib.Dropout(0.3), lib.Linear(16, 8), lib.LayerNorm(8), lib.ReLU(),
                          lib.Flatten(), lib.Linear(8, 4), lib.LogSoftmax(dim=1))


ARCHS = {"regressor": (regressor, 1), "binary": (binary, 2), "classifier": (classifier, 3),
         "deep": (deep, 6)}


# ---------------------------------------------------------- outputs and grads
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_module_outputs_and_gradients(arch, dtype):
    builder, features = ARCHS[arch]
    m, t = pair(builder, dtype)
    if arch == "deep":                       # dropout masks differ: compare in eval mode
        m.eval()
        t.eval()
    x = RNG.standard_normal((7, features)).astype(dtype)
    g = RNG.standard_normal((7, list(t.parameters())[-1].shape[0])).astype(dtype)
    mx, tx = mt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mo, to = m(mx), t(tx)
    close(mo, to, dtype)
    mo.backward(mt.tensor(g))
    to.backward(torch.tensor(g))
    close(mx.grad, tx.grad, dtype)
    for (name, mp), (tname, tp) in zip(m.named_parameters(), t.named_parameters()):
        assert name == tname
        close(mp.grad, tp.grad, dtype)


def test_weights_copy_both_ways():
    m, t = regressor(nn), regressor(torch.nn)
    m.load_state_dict(to_mt_state(t))                # torch -> microtorch (numpy arrays)
    m.load_state_dict(t.state_dict())                # torch tensors directly
    x = RNG.standard_normal((5, 1)).astype(np.float32)
    close(m(mt.tensor(x)), t(torch.tensor(x)), np.float32)
    t.load_state_dict(to_torch_state(m))             # microtorch -> torch


class Custom:
    """The same nested custom module in both libraries."""

    @staticmethod
    def build(lib):
        class Block(lib.Module):
            def __init__(self):
                super().__init__()
                self.fc = lib.Linear(4, 4)
                self.bn = lib.BatchNorm1d(4)
                self.register_buffer("mask", torch.ones(4) if lib is torch.nn else mt.ones(4))
                self.register_buffer("tmp", torch.ones(1) if lib is torch.nn else mt.ones(1),
                                     persistent=False)

            def forward(self, x):
                return self.bn(self.fc(x)) * self.mask

        class Model(lib.Module):
            def __init__(self):
                super().__init__()
                self.blocks = lib.ModuleList([Block(), Block()])
                self.heads = lib.ModuleDict({"a": lib.Linear(4, 1), "b": lib.Linear(4, 2)})
                self.ln = lib.LayerNorm((4,), elementwise_affine=False)

            def forward(self, x):
                for block in self.blocks:
                    x = block(x)
                return self.heads["b"](self.ln(x))

        return Model()


def test_state_dict_keys_and_metadata_match():
    for builder in (regressor, deep, Custom.build):
        m, t = builder(nn), builder(torch.nn)
        ms, ts = m.state_dict(), t.state_dict()
        assert list(ms) == list(ts)
        assert dict(ms._metadata) == dict(ts._metadata)
        assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
        assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
        assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
        assert repr(m) == repr(t)
        for a, b in zip(ms.values(), ts.values()):
            assert a.shape == tuple(b.shape) and a.dtype.name == str(b.dtype)[6:]


def test_custom_model_parity_training_and_eval():
    m, t = Custom.build(nn), Custom.build(torch.nn)
    t.load_state_dict(to_torch_state(m))
    for step in range(3):
        x = RNG.standard_normal((5, 4)).astype(np.float32)
        close(m(mt.tensor(x)), t(torch.tensor(x)), np.float32)
    for a, b in zip(m.state_dict().values(), t.state_dict().values()):
        close(a, b, np.float32)
    m.eval()
    t.eval()
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    close(m(mt.tensor(x)), t(torch.tensor(x)), np.float32)


def test_load_state_dict_results_match():
    m, t = deep(nn), deep(torch.nn)
    sd_t = t.state_dict()
    del sd_t["1.running_var"]
    sd_t["9.foo"] = torch.zeros(1)
    sd_m = {k: v.numpy() for k, v in sd_t.items()}
    rt = t.load_state_dict(sd_t, strict=False)
    rm = m.load_state_dict(sd_m, strict=False)
    assert rm == rt and repr(rm) == repr(rt)
    with pytest.raises(RuntimeError) as et:
        t.load_state_dict(sd_t)
    with pytest.raises(RuntimeError) as em:
        m.load_state_dict(sd_m)
    assert str(em.value) == str(et.value)


# ------------------------------------------------------------------ BatchNorm
@pytest.mark.parametrize("momentum", [0.1, None, 0.5])
@pytest.mark.parametrize("shape", [(16, 4), (8, 4, 5)])
def test_batchnorm_running_stats_then_eval(momentum, shape):
    m, t = pair(lambda lib: lib.BatchNorm1d(4, momentum=momentum, eps=1e-3))
    with torch.no_grad():
        t.weight.uniform_(0.5, 1.5)
        t.bias.uniform_(-1, 1)
    m.load_state_dict(to_mt_state(t))
    for step in range(5):
        x = (RNG.standard_normal(shape) * 3 + 2).astype(np.float32)
        mx, tx = mt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        mo, to = m(mx), t(tx)
        close(mo, to, np.float32)
        g = RNG.standard_normal(shape).astype(np.float32)
        mo.backward(mt.tensor(g))
        to.backward(torch.tensor(g))
        close(mx.grad, tx.grad, np.float32)
    for key, value in t.state_dict().items():
        close(m.state_dict()[key], value, np.float32)
    close(m.weight.grad, t.weight.grad, np.float32)
    close(m.bias.grad, t.bias.grad, np.float32)
    m.eval()
    t.eval()
    x = RNG.standard_normal(shape).astype(np.float32)
    mx, tx = mt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    close(m(mx), t(tx), np.float32)
    m(mx).sum().backward()
    t(tx).sum().backward()
    close(mx.grad, tx.grad, np.float32)


def test_batchnorm_without_tracking_or_affine():
    for kwargs in (dict(track_running_stats=False), dict(affine=False), dict(bias=False)):
        m, t = pair(lambda lib, kw=kwargs: lib.BatchNorm1d(3, **kw), np.float64)
        for mode in ("train", "eval"):
            getattr(m, mode)()
            getattr(t, mode)()
            x = RNG.standard_normal((6, 3))
            close(m(mt.tensor(x)), t(torch.tensor(x)), np.float64)
        assert repr(m) == repr(t) and list(m.state_dict()) == list(t.state_dict())


# -------------------------------------------------------------------- Dropout
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics_match_torch(p):
    x = np.ones((400, 250), dtype=np.float32)
    ours = nn.Dropout(p)(mt.tensor(x)).numpy()
    theirs = torch.nn.Dropout(p)(torch.tensor(x)).numpy()
    for y in (ours, theirs):
        assert abs((y == 0).mean() - p) < 0.01
        assert abs(y.mean() - 1) < 0.03
    assert np.unique(ours[ours != 0]) == pytest.approx(np.unique(theirs[theirs != 0]))


# ----------------------------------------------------------------------- init
@pytest.mark.parametrize("name, kwargs", [
    ("uniform_", dict(a=-2, b=3)), ("normal_", dict(mean=1, std=0.5)),
    ("xavier_uniform_", dict(gain=2)), ("xavier_normal_", {}),
    ("kaiming_uniform_", dict(a=5 ** 0.5)), ("kaiming_normal_", dict(mode="fan_out")),
    ("kaiming_uniform_", dict(nonlinearity="relu")), ("trunc_normal_", dict(std=0.7)),
])
def test_init_distributions_match_torch(name, kwargs):
    ours = getattr(nn.init, name)(mt.empty(300, 200), **kwargs).numpy().astype(np.float64)
    theirs = getattr(torch.nn.init, name)(torch.empty(300, 200), **kwargs).double().numpy()
    for stat in (np.mean, np.std):
        assert stat(ours) == pytest.approx(stat(theirs), abs=0.02 * theirs.std())
    if "normal" not in name or name == "trunc_normal_":         # bounded: same range
        assert ours.min() == pytest.approx(theirs.min(), abs=0.01 * theirs.std())
        assert ours.max() == pytest.approx(theirs.max(), abs=0.01 * theirs.std())


def test_init_gains_and_linear_default_init_match():
    for args in (("relu",), ("tanh",), ("leaky_relu", 0.3), ("selu",), ("sigmoid",)):
        assert nn.init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))
    ours = np.concatenate([nn.Linear(50, 40).weight.detach().numpy().ravel() for _ in range(20)])
    theirs = np.concatenate([torch.nn.Linear(50, 40).weight.detach().numpy().ravel()
                             for _ in range(20)])
    assert ours.std() == pytest.approx(theirs.std(), rel=0.02)
    assert np.abs(ours).max() <= 1 / 50 ** 0.5


# --------------------------------------------------------------------- losses
def _case_list():
    cases = []
    for red in ("mean", "sum", "none"):
        cases += [("mse", {}, red), ("l1", {}, red), ("mse", {"weight": True}, red),
                  ("l1", {"weight": True}, red), ("bce", {}, red), ("bce", {"weight": True}, red),
                  ("bce_logits", {}, red), ("bce_logits", {"weight": True}, red),
                  ("bce_logits", {"pos_weight": True}, red),
                  ("bce_logits", {"weight": True, "pos_weight": True}, red),
                  ("nll", {}, red), ("nll", {"weight": True, "ignore_index": 2}, red),
                  ("nll_spatial", {"weight": True}, red)]
        for ls in (0.0, 0.2):
            cases += [("ce", {"label_smoothing": ls}, red),
                      ("ce", {"weight": True, "label_smoothing": ls}, red),
                      ("ce", {"ignore_index": 1, "label_smoothing": ls}, red),
                      ("ce", {"weight": True, "ignore_index": 0, "label_smoothing": ls}, red),
                      ("ce_prob", {"label_smoothing": ls}, red),
                      ("ce_prob", {"weight": True, "label_smoothing": ls}, red),
                      ("ce_spatial", {"weight": True, "label_smoothing": ls}, red),
                      ("ce_spatial_prob", {"label_smoothing": ls}, red),
                      ("ce_single", {"label_smoothing": ls}, red)]
    return cases


def _loss_inputs(kind, options, dtype):
    """(function name, input array, target array, target requires grad, kwargs arrays)."""
    n, c = 6, 4
    x = RNG.standard_normal((n, c)).astype(dtype) * 2
    labels = RNG.integers(0, c, n)
    labels[:3] = [0, 1, 2]
    probs = RNG.random((n, c)).astype(dtype)
    spatial = RNG.standard_normal((2, c, 3, 2)).astype(dtype)
    if kind in ("mse", "l1"):
        args = (x, RNG.standard_normal((n, c)).astype(dtype), True)
        weight_shape = (n, c)
    elif kind == "bce":
        args = (RNG.uniform(0.02, 0.98, (n, c)).astype(dtype), probs, True)
        weight_shape = (c,)
    elif kind == "bce_logits":
        args = (x, probs, True)
        weight_shape = (n, 1)
    elif kind in ("ce", "nll"):
        args = (x, labels, False)
        weight_shape = (c,)
    elif kind == "ce_prob":
        args = (x, probs / probs.sum(1, keepdims=True), True)
        weight_shape = (c,)
    elif kind in ("ce_spatial", "nll_spatial"):
        args = (spatial, RNG.integers(0, c, (2, 3, 2)), False)
        weight_shape = (c,)
    elif kind == "ce_spatial_prob":
        args = (spatial, RNG.random(spatial.shape).astype(dtype), True)
        weight_shape = (c,)
    else:                                                      # ce_single: (C,) input
        args = (x[0], np.array(2), False)
        weight_shape = (c,)
    kwargs = {}
    for key, value in options.items():
        if key in ("weight", "pos_weight"):
            kwargs[key] = (RNG.random(weight_shape if key == "weight" else (c,)) + 0.5
                           ).astype(dtype)
        else:
            kwargs[key] = value
    name = {"mse": "mse_loss", "l1": "l1_loss", "bce": "binary_cross_entropy",
            "bce_logits": "binary_cross_entropy_with_logits", "nll": "nll_loss",
            "nll_spatial": "nll_loss"}.get(kind, "cross_entropy")
    return name, args, kwargs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind, options, reduction", _case_list())
def test_losses_match_torch(kind, options, reduction, dtype):
    name, (x, target, target_grad), kwargs = _loss_inputs(kind, options, dtype)
    mx, tx = mt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mtg = mt.tensor(target, requires_grad=target_grad)
    ttg = torch.tensor(target, requires_grad=target_grad)
    mk = {k: mt.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    tk = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    mo = getattr(F, name)(mx, mtg, reduction=reduction, **mk)
    to = getattr(torch.nn.functional, name)(tx, ttg, reduction=reduction, **tk)
    assert mo.dtype.name == str(to.dtype)[6:]
    close(mo, to, dtype)
    g = RNG.standard_normal(tuple(to.shape)).astype(dtype)
    mo.backward(mt.tensor(g))
    to.backward(torch.tensor(g))
    close(mx.grad, tx.grad, dtype)
    if target_grad:
        close(mtg.grad, ttg.grad, dtype)


def test_loss_modules_match_torch():
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    labels = np.array([0, 2, 1, 1, 2])
    w = np.array([0.5, 1.0, 2.0], dtype=np.float32)
    pairs = [
        ("MSELoss", {}, x[::-1].copy()), ("L1Loss", {"reduction": "sum"}, x[::-1].copy()),
        ("CrossEntropyLoss", {"weight": w, "label_smoothing": 0.1}, labels),
        ("NLLLoss", {"ignore_index": 2}, labels),
        ("BCEWithLogitsLoss", {"pos_weight": w}, (x > 0).astype(np.float32)),
        ("BCELoss", {"weight": w}, (x > 0).astype(np.float32)),
    ]
    for cls, kwargs, target in pairs:
        m_loss = getattr(nn, cls)(**{k: mt.tensor(v) if isinstance(v, np.ndarray) else v
                                     for k, v in kwargs.items()})
        t_loss = getattr(torch.nn, cls)(**{k: torch.tensor(v) if isinstance(v, np.ndarray)
                                           else v for k, v in kwargs.items()})
        inp = 1 / (1 + np.exp(-x)) if cls == "BCELoss" else x
        close(m_loss(mt.tensor(inp), mt.tensor(target)),
              t_loss(torch.tensor(inp), torch.tensor(target)), np.float32)
        assert repr(m_loss) == repr(t_loss)
        assert list(m_loss.state_dict()) == list(t_loss.state_dict())


def test_loss_grad_fn_names_match():
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, 0])
    calls = [
        lambda lib, a: lib.nn.functional.mse_loss(a, a.detach() * 0),
        lambda lib, a: lib.nn.functional.binary_cross_entropy(a.sigmoid().detach().requires_grad_(),
                                                             a.detach() * 0),
        lambda lib, a: lib.nn.functional.binary_cross_entropy_with_logits(a, a.detach() * 0),
        lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(labels)),
        lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(labels), label_smoothing=.1),
        lambda lib, a: lib.nn.functional.nll_loss(a, lib.tensor(labels)),
        lambda lib, a: lib.nn.functional.batch_norm(a, None, None, training=True),
        lambda lib, a: lib.nn.functional.layer_norm(a, (3,)),
        lambda lib, a: lib.nn.functional.linear(a, a.detach(), a.detach()[:, 0]),
    ]
    for call in calls:
        ours = call(MT_AS_TORCH, mt.tensor(x, requires_grad=True))
        theirs = call(torch, torch.tensor(x, requires_grad=True))
        assert ours.grad_fn.name() == theirs.grad_fn.name()


class _MtAsTorch:
    """`microtorch` with `.nn.functional` reachable as on torch (until the lead re-exports nn)."""

    def __getattr__(self, name):
        return nn if name == "nn" else getattr(mt, name)


MT_AS_TORCH = _MtAsTorch()


# ------------------------------------------------------------- error parity
ERROR_CASES = [
    lambda lib, F_: lib.nn.Linear(10, 5)(lib.zeros(32, 7)),
    lambda lib, F_: lib.nn.BatchNorm1d(10)(lib.zeros(32, 7)),
    lambda lib, F_: lib.nn.BatchNorm1d(7)(lib.zeros(1, 7)),
    lambda lib, F_: lib.nn.BatchNorm1d(7)(lib.zeros(2, 7, 3, 3)),
    lambda lib, F_: lib.nn.LayerNorm(10)(lib.zeros(3, 5)),
    lambda lib, F_: lib.nn.Dropout(1.5),
    lambda lib, F_: F_.dropout(lib.zeros(3), -1.0),
    lambda lib, F_: F_.binary_cross_entropy(lib.rand(3, 1), lib.rand(3)),
    lambda lib, F_: F_.binary_cross_entropy(lib.tensor([1.5]), lib.rand(1)),
    lambda lib, F_: F_.binary_cross_entropy_with_logits(lib.rand(3, 1), lib.rand(3)),
    lambda lib, F_: F_.mse_loss(lib.rand(3), lib.rand(3), reduction="foo"),
    lambda lib, F_: F_.cross_entropy(lib.rand(3, 4), lib.tensor([0, 1, 2.0])),
    lambda lib, F_: F_.cross_entropy(lib.rand(3, 4), lib.tensor([0, 1])),
    lambda lib, F_: F_.cross_entropy(lib.rand(3, 4), lib.tensor([0, 1, 7])),
    lambda lib, F_: F_.cross_entropy(lib.rand(3, 4), lib.zeros(3, 4, dtype=lib.int64)),
    lambda lib, F_: F_.cross_entropy(lib.rand(3, 4, 5), lib.zeros(3, 4, dtype=lib.int64)),
    lambda lib, F_: F_.cross_entropy(lib.rand(3, 4), lib.tensor([0, 1, 2]), weight=lib.ones(3)),
    lambda lib, F_: F_.cross_entropy(lib.rand(3, 4), lib.tensor([0, 1, 2]), label_smoothing=2.),
    lambda lib, F_: F_.nll_loss(lib.rand(3, 4), lib.rand(3, 4)),
    lambda lib, F_: F_.one_hot(lib.tensor([0, 2]), 2),
    lambda lib, F_: F_.one_hot(lib.tensor([0.0])),
    lambda lib, F_: lib.nn.init.calculate_gain("foo"),
    lambda lib, F_: lib.nn.init.kaiming_uniform_(lib.empty(3)),
    lambda lib, F_: lib.nn.Sequential(lib.nn.ReLU())[3],
    lambda lib, F_: lib.nn.Linear(1, 1).to(lib.int64),
    lambda lib, F_: lib.nn.Linear(1, 1).load_state_dict([1]),
    lambda lib, F_: lib.nn.Linear(1, 1).register_buffer("weight", None),
    lambda lib, F_: lib.nn.Module()(1),
    lambda lib, F_: setattr(lib.nn.Linear(1, 1), "weight", lib.zeros(1, 1)),
]


@pytest.mark.parametrize("case", range(len(ERROR_CASES)))
def test_errors_match_torch(case):
    call = ERROR_CASES[case]
    with pytest.raises(Exception) as theirs:
        call(torch, torch.nn.functional)
    with pytest.raises(Exception) as ours:
        call(MT_AS_TORCH, F)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_warnings_match_torch():
    calls = [lambda lib, F_: F_.mse_loss(lib.zeros(3, 1), lib.zeros(3)),
             lambda lib, F_: F_.softmax(lib.zeros(2, 3)),
             lambda lib, F_: F_.l1_loss(lib.zeros(2), lib.zeros(2), size_average=False)]
    for call in calls:
        messages = []
        for lib, F_ in ((torch, torch.nn.functional), (MT_AS_TORCH, F)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                call(lib, F_)
            messages.append([(w.category, str(w.message)) for w in caught])
        assert messages[0] == messages[1]


# --------------------------------------------------------------- reprs, API
def test_reprs_match_torch():
    builders = [
        lambda lib: lib.Sequential(lib.Linear(1, 5), lib.Sequential(lib.ReLU(), lib.Linear(5, 2)),
                                   lib.BatchNorm1d(4, momentum=None)),
        lambda lib: lib.ModuleList([lib.Sequential(lib.Linear(2, 2), lib.ReLU())
                                    for _ in range(2)] + [lib.Tanh()]),
        lambda lib: lib.ModuleDict({"a": lib.LeakyReLU(0.2, inplace=True), "b": lib.Identity()}),
        lambda lib: lib.Sequential(lib.Flatten(0, -1), lib.Unflatten(0, (2, 3)),
                                   lib.Dropout(0.2), lib.LayerNorm([3, 4], bias=False),
                                   lib.LogSoftmax(1), lib.Softmax(), lib.Sigmoid(),
                                   lib.BatchNorm1d(3, affine=False, track_running_stats=False)),
        lambda lib: lib.Linear(3, 2, bias=False),
    ]
    for build in builders:
        assert repr(build(nn)) == repr(build(torch.nn))
    p = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(nn.Parameter(mt.tensor([1.0, 2.0]))) == repr(p)


def test_functional_signatures_match_torch():
    for name in ("relu", "leaky_relu", "softmax", "log_softmax", "dropout", "batch_norm",
                 "layer_norm", "mse_loss", "l1_loss", "binary_cross_entropy",
                 "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss"):
        ours = inspect.signature(getattr(F, name)).parameters
        theirs = inspect.signature(getattr(torch.nn.functional, name)).parameters
        assert [(p.name, p.default) for p in ours.values()] == \
            [(p.name, p.default) for p in theirs.values()], name
    for name in ("calculate_gain", "uniform_", "normal_", "constant_", "xavier_uniform_",
                 "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "trunc_normal_"):
        ours = inspect.signature(getattr(nn.init, name)).parameters
        theirs = inspect.signature(getattr(torch.nn.init, name)).parameters
        assert [(p.name, p.default) for p in ours.values()] == \
            [(p.name, p.default) for p in theirs.values()], name
    for cls in ("Linear", "Flatten", "ReLU", "LeakyReLU", "Softmax", "Dropout", "BatchNorm1d",
                "LayerNorm", "MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
                "NLLLoss"):
        ours = inspect.signature(getattr(nn, cls).__init__).parameters
        theirs = inspect.signature(getattr(torch.nn, cls).__init__).parameters
        assert [(p.name, p.default) for p in ours.values()] == \
            [(p.name, p.default) for p in theirs.values()], cls


# -------------------------------------------------------- the course's models
def sgd_run(lib, model, loss_fn, x, y, steps=20, lr=0.05):
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        model.zero_grad()
        loss.backward()
        with lib.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        losses.append(loss.item())
    return losses


COURSE = {
    "1-5-2-1 ReLU + MSE": (regressor, lambda lib: lib.nn.MSELoss(), 1, "regression"),
    "2-10-10-1 ReLU, Sigmoid + BCELoss": (
        lambda lib: lib.Sequential(lib.Linear(2, 10), lib.ReLU(), lib.Linear(10, 10),
                                   lib.ReLU(), lib.Linear(10, 1), lib.Sigmoid()),
        lambda lib: lib.nn.BCELoss(), 2, "binary"),
    "3-class Softmax(dim=1) + cross_entropy": (
        lambda lib: lib.Sequential(lib.Linear(2, 10), lib.ReLU(), lib.Linear(10, 3),
                                   lib.Softmax(dim=1)),
        lambda lib: lib.nn.functional.cross_entropy, 2, "classes"),
}


@pytest.mark.parametrize("name", sorted(COURSE))
def test_course_models_train_like_torch(name):
    build, make_loss, features, kind = COURSE[name]
    rng = np.random.default_rng(7)
    x = rng.uniform(-2, 2, (392, features)).astype(np.float32)
    if kind == "regression":
        y = (0.5 * x ** 2 - x + 0.1 * rng.standard_normal(x.shape)).astype(np.float32)
    elif kind == "binary":
        y = (x.sum(1, keepdims=True) > 0).astype(np.float32)
    else:
        y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1)
    m, t = pair(build)
    ours = sgd_run(mt, m, make_loss(MT_AS_TORCH), mt.tensor(x), mt.tensor(y))
    theirs = sgd_run(torch, t, make_loss(torch), torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert ours[-1] < ours[0]
    for a, b in zip(m.state_dict().values(), t.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------- random MLPs
@settings(max_examples=8, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4), batch=st.integers(2, 5),
       act=st.sampled_from(["ReLU", "Tanh", "Sigmoid", "LeakyReLU"]),
       norm=st.sampled_from([None, "BatchNorm1d", "LayerNorm"]), seed=st.integers(0, 999))
def test_random_mlps_match_torch(sizes, batch, act, norm, seed):
    def build(lib):
        layers = []
        for n_in, n_out in itertools.pairwise(sizes):
            layers.append(lib.Linear(n_in, n_out))
            if norm is not None:
                layers.append(getattr(lib, norm)(n_out))
            layers.append(getattr(lib, act)())
        return lib.Sequential(*layers)

    m, t = pair(build, np.float64)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0]))
    mx, tx = mt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mo, to = m(mx), t(tx)
    close(mo, to, np.float64)
    (mo ** 2).sum().backward()
    (to ** 2).sum().backward()
    close(mx.grad, tx.grad, np.float64)
    for mp, tp in zip(m.parameters(), t.parameters()):
        close(mp.grad, tp.grad, np.float64)
