"""Recurrent layers, lazy modules, attention, the smooth/KL losses, LBFGS and the CPU-only
stand-ins (amp, backends, distributed, nn.parallel) against PyTorch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import microtorch as mt

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def float64_defaults():
    mt.set_default_dtype(mt.float64)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    mt.set_default_dtype(mt.float32)
    torch.set_default_dtype(previous)


def flat(out) -> list:
    return [out] if not isinstance(out, (tuple, list)) else [t for o in out for t in flat(o)]


# ---- recurrent layers -------------------------------------------------------------------

RECURRENT = {
    "RNN": ("RNN", (4, 6), {}, (5, 3, 4), None),
    "RNN relu 2 layers bidirectional batch_first": (
        "RNN", (4, 6, 2), dict(nonlinearity="relu", batch_first=True, bidirectional=True),
        (3, 5, 4), None),
    "RNN no bias with h0": ("RNN", (4, 6, 2), dict(bias=False), (5, 3, 4),
                            lambda l: l.ones(2, 3, 6) * 0.3),
    "LSTM": ("LSTM", (4, 6), {}, (5, 3, 4), None),
    "LSTM 3 layers bidirectional": ("LSTM", (4, 6, 3), dict(bidirectional=True), (5, 3, 4),
                                    None),
    "LSTM proj bidirectional batch_first": (
        "LSTM", (4, 6, 2), dict(bidirectional=True, proj_size=3, batch_first=True), (3, 5, 4),
        None),
    "LSTM with state": ("LSTM", (4, 6, 2), {}, (5, 3, 4),
                        lambda l: (l.ones(2, 3, 6) * 0.1, l.ones(2, 3, 6) * -0.2)),
    "LSTM unbatched": ("LSTM", (4, 6, 2), {}, (5, 4),
                       lambda l: (l.ones(2, 6) * 0.1, l.ones(2, 6) * -0.2)),
    "GRU": ("GRU", (4, 6), {}, (5, 3, 4), None),
    "GRU 2 layers bidirectional batch_first": (
        "GRU", (4, 6, 2), dict(bidirectional=True, batch_first=True), (3, 5, 4), None),
    "GRU unbatched": ("GRU", (4, 6), {}, (5, 4), None),
    "RNNCell": ("RNNCell", (4, 6), {}, (3, 4), None),
    "RNNCell relu with h": ("RNNCell", (4, 6), dict(nonlinearity="relu"), (3, 4),
                            lambda l: l.ones(3, 6) * 0.5),
    "LSTMCell": ("LSTMCell", (4, 6), {}, (3, 4), None),
    "LSTMCell unbatched": ("LSTMCell", (4, 6), {}, (4,),
                           lambda l: (l.ones(6) * 0.5, l.ones(6))),
    "GRUCell no bias": ("GRUCell", (4, 6), dict(bias=False), (3, 4), None),
    "GRUCell unbatched": ("GRUCell", (4, 6), {}, (4,), None),
}


@pytest.mark.parametrize("name", RECURRENT)
def test_recurrent_layers_match_torch(name):
    cls, args, kwargs, shape, hidden = RECURRENT[name]
    theirs = getattr(torch.nn, cls)(*args, **kwargs)
    ours = getattr(mt.nn, cls)(*args, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(v.shape) for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in theirs.state_dict().values()]
    assert repr(ours) == repr(theirs)
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal(shape)
    results = []
    for lib, module in ((mt, ours), (torch, theirs)):
        xt = lib.tensor(x, requires_grad=True)
        out = flat(module(xt) if hidden is None else module(xt, hidden(lib)))
        loss = sum((o * lib.tensor(np.cos(np.arange(o.numel())).reshape(tuple(o.shape)))).sum()
                   for o in out)
        loss.backward()
        results.append(([o.detach().numpy() for o in out], xt.grad.numpy(),
                        [p.grad.numpy() for p in module.parameters()]))
    (o1, g1, p1), (o2, g2, p2) = results
    for a, b in zip(o1 + [g1] + p1, o2 + [g2] + p2):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_recurrent_state_dicts_move_both_ways_and_init_is_pytorchs():
    ours = mt.nn.LSTM(4, 50, 2, bidirectional=True, proj_size=3)
    theirs = torch.nn.LSTM(4, 50, 2, bidirectional=True, proj_size=3)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    for p in ours.parameters():
        values = p.detach().numpy()
        assert np.abs(values).max() <= 1 / np.sqrt(50)
        assert values.std() > 0.8 / np.sqrt(3 * 50)         # uniform: std = bound / sqrt(3)
    assert [w.shape for w in ours.all_weights[0]] == [w.shape for w in theirs.all_weights[0]]
    ours.flatten_parameters()


RNN_ERRORS = {
    "nonlinearity": lambda l: l.nn.RNN(10, 20, nonlinearity="sigmoid"),
    "proj on GRU": lambda l: l.nn.GRU(10, 20, proj_size=2),
    "proj too big": lambda l: l.nn.LSTM(10, 20, proj_size=20),
    "hidden size": lambda l: l.nn.RNN(10, 0),
    "dropout": lambda l: l.nn.RNN(10, 20, dropout=1.5),
    "input size": lambda l: l.nn.RNN(10, 20)(l.randn(5, 3, 7)),
    "4-D input": lambda l: l.nn.RNN(10, 20)(l.randn(5, 3, 4, 10)),
    "LSTM 4-D input": lambda l: l.nn.LSTM(10, 20)(l.randn(5, 3, 4, 10)),
    "hidden shape": lambda l: l.nn.RNN(10, 20)(l.randn(5, 3, 10), l.zeros(2, 3, 20)),
    "hidden dims": lambda l: l.nn.RNN(10, 20)(l.randn(5, 3, 10), l.zeros(3, 20)),
    "unbatched hidden": lambda l: l.nn.RNN(10, 20)(l.randn(5, 10), l.zeros(1, 3, 20)),
    "LSTM h0": lambda l: l.nn.LSTM(10, 20)(l.randn(5, 3, 10),
                                          (l.zeros(2, 3, 20), l.zeros(1, 3, 20))),
    "LSTM c0": lambda l: l.nn.LSTM(10, 20)(l.randn(5, 3, 10),
                                          (l.zeros(1, 3, 20), l.zeros(2, 3, 20))),
    "dtype": lambda l: l.nn.RNN(10, 20, dtype=l.float32)(l.randn(5, 3, 10)),
    "cell input dims": lambda l: l.nn.RNNCell(10, 20)(l.randn(5, 3, 10)),
    "cell input size": lambda l: l.nn.RNNCell(10, 20)(l.randn(3, 7)),
    "cell batch": lambda l: l.nn.RNNCell(10, 20)(l.randn(3, 10), l.zeros(2, 20)),
    "cell hidden size": lambda l: l.nn.RNNCell(10, 20)(l.randn(3, 10), l.zeros(3, 21)),
}


@pytest.mark.parametrize("name", RNN_ERRORS)
def test_recurrent_errors_match_torch(name):
    with pytest.raises(Exception) as theirs:
        RNN_ERRORS[name](torch)
    with pytest.raises(type(theirs.value)) as ours:
        RNN_ERRORS[name](mt)
    assert str(ours.value) == str(theirs.value)


def test_dropout_between_layers_only_in_training():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        mt.nn.GRU(3, 4, dropout=0.5)
    model = mt.nn.LSTM(3, 4, 2, dropout=0.9)
    x = mt.randn(6, 2, 3)
    model.eval()
    first = model(x)[0].detach().numpy()
    np.testing.assert_array_equal(model(x)[0].detach().numpy(), first)
    model.train()
    assert not np.allclose(model(x)[0].detach().numpy(), first)


# ---- lazy modules -----------------------------------------------------------------------

def test_lazy_linear_materialises_on_the_first_call():
    mt.manual_seed(0)
    layer = mt.nn.LazyLinear(3)
    assert repr(layer) == repr(torch.nn.LazyLinear(3))
    assert repr(layer.weight) == "<UninitializedParameter>"
    assert mt.nn.parameter.is_lazy(layer.weight)
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        _ = layer.weight.shape
    optimizer = mt.optim.SGD(layer.parameters(), lr=0.1)   # before the first call
    y = layer(mt.ones(2, 5))
    assert type(layer) is mt.nn.Linear and layer.in_features == 5
    assert tuple(y.shape) == (2, 3) and tuple(layer.weight.shape) == (3, 5)
    assert np.abs(layer.weight.detach().numpy()).max() <= 1 / np.sqrt(5)
    before = layer.weight.detach().numpy().copy()
    y.sum().backward()
    optimizer.step()
    assert not np.allclose(layer.weight.detach().numpy(), before)
    assert not layer._forward_pre_hooks                    # the hook is gone


def test_lazy_linear_loads_a_state_dict_from_torch():
    theirs = torch.nn.LazyLinear(3)
    theirs(torch.ones(2, 7))
    ours = mt.nn.LazyLinear(3)
    ours.load_state_dict(theirs.state_dict())
    assert type(ours) is mt.nn.Linear
    x = np.random.default_rng(1).standard_normal((4, 7))
    np.testing.assert_allclose(ours(mt.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)


# ---- attention --------------------------------------------------------------------------

def _attention(lib, q, k, v, **kw):
    ts = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = lib.nn.functional.scaled_dot_product_attention(*ts, **kw)
    out.backward(lib.ones_like(out))
    return out, [t.grad.numpy() for t in ts]


ATTENTION = {
    "bool mask": lambda l, m: dict(attn_mask=l.tensor(m)),
    "bool mask and causal": lambda l, m: dict(attn_mask=l.tensor(m), is_causal=True),
    "float mask 4-d": lambda l, m: dict(attn_mask=l.tensor(np.where(m, 0.0, -1.5))[None]
                                        [None]),
    "float mask 3-d": lambda l, m: dict(attn_mask=l.tensor(np.where(m, 0.25, -np.inf))[None]),
    "causal scale": lambda l, m: dict(is_causal=True, scale=0.7),
}


@pytest.mark.parametrize("name", ATTENTION)
def test_attention_masks_match_torch(name):
    rng = np.random.default_rng(2)
    q, k = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 6, 4))
    mask = rng.random((5, 6)) > 0.4
    mask[2] = False                                      # a query that sees no key
    results = [_attention(lib, q, k, k, **ATTENTION[name](lib, mask)) for lib in (mt, torch)]
    (o1, g1), (o2, g2) = results
    assert type(o1.grad_fn).__name__ == type(o2.grad_fn).__name__
    np.testing.assert_allclose(o1.detach().numpy(), o2.detach().numpy(), atol=1e-12)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_attention_grouped_query_heads_and_math_path_names():
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s) for s in ((1, 4, 3, 2), (1, 2, 5, 2), (1, 2, 5, 3)))
    for kw in (dict(enable_gqa=True), dict()):
        kv = (k, k) if kw else (k[:, :1], v[:, :1])
        results = [_attention(lib, q, *kv, **kw) for lib in (mt, torch)]
        (o1, g1), (o2, g2) = results
        assert type(o1.grad_fn).__name__ == type(o2.grad_fn).__name__
        np.testing.assert_allclose(o1.detach().numpy(), o2.detach().numpy(), atol=1e-12)
        for a, b in zip(g1, g2):
            np.testing.assert_allclose(a, b, atol=1e-12)


def test_attention_dropout_draws_from_the_global_stream_and_keeps_expectation():
    q = mt.randn(1, 1, 4, 8)
    mt.manual_seed(0)
    a = mt.nn.functional.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    mt.manual_seed(0)
    b = mt.nn.functional.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    ones = mt.ones(1, 1, 600, 1)
    mean = mt.nn.functional.scaled_dot_product_attention(ones, ones, ones, dropout_p=0.3)
    assert abs(float(mean.mean()) - 1.0) < 0.02


ATTENTION_ERRORS = {
    "1-d": lambda l: l.nn.functional.scaled_dot_product_attention(l.ones(3), l.ones(3),
                                                                  l.ones(3)),
    "dtypes": lambda l: l.nn.functional.scaled_dot_product_attention(
        l.ones(1, 2, 3, 4), l.ones(1, 2, 3, 4, dtype=l.float32), l.ones(1, 2, 3, 4)),
    "mask with causal on the math path": lambda l: l.nn.functional.scaled_dot_product_attention(
        l.ones(2, 3, 4), l.ones(2, 3, 4), l.ones(2, 3, 4), attn_mask=l.ones(3, 3).bool(),
        is_causal=True),
}


@pytest.mark.parametrize("name", ATTENTION_ERRORS)
def test_attention_errors_match_torch(name):
    with pytest.raises(Exception) as theirs:
        ATTENTION_ERRORS[name](torch)
    with pytest.raises(type(theirs.value)) as ours:
        ATTENTION_ERRORS[name](mt)
    assert str(ours.value) == str(theirs.value)


# ---- losses -----------------------------------------------------------------------------

LOSSES = {
    "SmoothL1Loss": lambda l: l.nn.SmoothL1Loss(beta=0.5),
    "SmoothL1Loss beta 0": lambda l: l.nn.SmoothL1Loss(reduction="sum", beta=0.0),
    "HuberLoss": lambda l: l.nn.HuberLoss(reduction="none", delta=0.7),
    "KLDivLoss": lambda l: l.nn.KLDivLoss(reduction="batchmean", log_target=True),
}


@pytest.mark.parametrize("name", LOSSES)
def test_loss_modules_match_torch(name):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((3, 5)) * 2, rng.standard_normal((3, 5))
    outs = []
    for lib in (mt, torch):
        module = LOSSES[name](lib)
        xt = lib.tensor(x, requires_grad=True)
        loss = module(xt, lib.tensor(y))
        loss.backward(lib.ones_like(loss))
        outs.append((repr(module), loss.detach().numpy(), xt.grad.numpy(),
                     type(loss.grad_fn).__name__))
    assert outs[0][0] == outs[1][0] and outs[0][3] == outs[1][3]
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12)
    np.testing.assert_allclose(outs[0][2], outs[1][2], rtol=1e-12)


def test_loss_warnings_and_errors_match_torch():
    for lib in (mt, torch):
        with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
            lib.nn.functional.kl_div(lib.zeros(2, 3), lib.ones(2, 3))
        with pytest.warns(UserWarning, match="Using a target size"):
            lib.nn.functional.huber_loss(lib.zeros(2, 3), lib.ones(3))
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            lib.nn.functional.smooth_l1_loss(lib.zeros(2), lib.ones(2), size_average=False)
    calls = [lambda l: l.nn.functional.smooth_l1_loss(l.ones(2), l.ones(2), beta=-1),
             lambda l: l.nn.functional.huber_loss(l.ones(2), l.ones(2), delta=0),
             lambda l: l.nn.functional.huber_loss(l.ones(2), l.ones(2), weight=l.ones(3)),
             lambda l: l.nn.functional.kl_div(l.ones(2), l.ones(2), reduction="foo")]
    for call in calls:
        with pytest.raises(Exception) as theirs:
            call(torch)
        with pytest.raises(type(theirs.value), match=str(theirs.value)):
            call(mt)


def test_weighted_huber_matches_torch():
    rng = np.random.default_rng(5)
    x, y, w = rng.standard_normal((3, 4)) * 2, rng.standard_normal((3, 4)), rng.random((3, 4))
    for reduction in ("mean", "sum", "none"):
        got = [lib.nn.functional.huber_loss(lib.tensor(x), lib.tensor(y), reduction,
                                            weight=lib.tensor(w)).numpy() for lib in (mt, torch)]
        np.testing.assert_allclose(*got, rtol=1e-12)


# ---- LBFGS ------------------------------------------------------------------------------

def _fit(lib, max_iter=10, **options):
    rng = np.random.default_rng(0)
    X = lib.tensor(rng.standard_normal((20, 3)))
    Y = lib.tensor(np.sin(rng.standard_normal((20, 3))).sum(1, keepdims=True))
    w1 = lib.tensor(rng.standard_normal((3, 8)) * 0.5, requires_grad=True)
    w2 = lib.tensor(rng.standard_normal((8, 1)) * 0.5, requires_grad=True)
    optimizer = lib.optim.LBFGS([w1, w2], max_iter=max_iter, **options)

    def closure():
        optimizer.zero_grad()
        loss = ((lib.tanh(X @ w1) @ w2 - Y) ** 2).mean()
        loss.backward()
        return loss

    losses = [optimizer.step(closure).item() for _ in range(2)]
    state = optimizer.state[w1]
    return losses, w1.detach().numpy(), state["func_evals"], state["n_iter"]


@pytest.mark.parametrize("options", [{}, dict(lr=0.5, history_size=3),
                                     dict(line_search_fn="strong_wolfe"),
                                     dict(line_search_fn="strong_wolfe", history_size=3,
                                          max_iter=7)], ids=str)
def test_lbfgs_matches_torch(options):
    ours, theirs = _fit(mt, **options), _fit(torch, **options)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-8)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5, atol=1e-8)
    assert ours[2:] == theirs[2:]


def test_lbfgs_defaults_and_errors_match_torch():
    ours = mt.optim.LBFGS([mt.zeros(1, requires_grad=True)])
    theirs = torch.optim.LBFGS([torch.zeros(1, requires_grad=True)])
    assert ours.defaults == theirs.defaults
    for lib in (mt, torch):
        with pytest.raises(ValueError, match="doesn't support per-parameter options"):
            lib.optim.LBFGS([{"params": [lib.zeros(1, requires_grad=True)]},
                             {"params": [lib.zeros(1, requires_grad=True)]}])
        p = lib.ones(1, requires_grad=True)
        optimizer = lib.optim.LBFGS([p], line_search_fn="armijo")

        def closure(p=p):
            loss = (p ** 2 + 1).sum()
            loss.backward()
            return loss

        with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
            optimizer.step(closure)


# ---- CPU-only stand-ins -----------------------------------------------------------------

def test_backend_flags_and_availability():
    for flag in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(mt.backends.cudnn, flag) == getattr(torch.backends.cudnn, flag)
    assert not mt.backends.cudnn.is_available() and mt.backends.cudnn.version() is None
    assert not mt.backends.mps.is_available() and not mt.backends.mps.is_built()
    assert mt.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    assert isinstance(mt.backends.openmp.is_available(), bool)
    mt.backends.cudnn.benchmark = True
    mt.backends.cudnn.benchmark = False
    assert not mt.distributed.is_available() and not mt.distributed.is_initialized()
    with pytest.raises(RuntimeError, match="no distributed backend"):
        mt.distributed.init_process_group("gloo")
    import microtorch.backends.cudnn as cudnn  # noqa: F401  (importable as a module)
    mt.use_deterministic_algorithms(True)
    assert mt.are_deterministic_algorithms_enabled()
    mt.use_deterministic_algorithms(False)


def test_autocast_changes_no_dtype_and_cuda_autocast_is_disabled_with_a_warning():
    x = mt.ones(2, 2)
    with mt.autocast("cpu"):
        assert mt.is_autocast_enabled("cpu")
        assert (x @ x).dtype == mt.float64
    assert not mt.is_autocast_enabled("cpu")
    for lib in (mt, torch):
        with pytest.warns(UserWarning, match="Disabling autocast"):
            context = lib.autocast("cuda")
        with context:
            assert not lib.is_autocast_enabled()

    @mt.amp.autocast("cpu", enabled=False)
    def twice(t):
        assert not mt.is_autocast_enabled("cpu")
        return t * 2

    assert twice(mt.ones(1)).tolist() == [2.0]


def test_grad_scaler_on_cpu_matches_torch():
    runs = []
    for lib in (mt, torch):
        p = lib.tensor([1.0, -2.0], requires_grad=True)
        optimizer = lib.optim.SGD([p], lr=0.1)
        scaler = lib.amp.GradScaler("cpu", init_scale=4.0, growth_interval=2)
        scales = []
        for step in range(5):
            optimizer.zero_grad()
            loss = (p * p).sum() * (float("inf") if step == 2 else 1.0)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scales.append(scaler.get_scale())
        runs.append((scales, p.detach().numpy().copy(), scaler.state_dict()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-12)
    assert runs[0][2] == {k: v for k, v in runs[1][2].items()}


def test_grad_scaler_for_cuda_is_disabled_with_a_warning():
    for lib in (mt, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scaler = lib.amp.GradScaler()
        assert any("CUDA is not available.  Disabling." in str(w.message) for w in caught)
        assert not scaler.is_enabled() and scaler.get_scale() == 1.0
        assert scaler.state_dict() == {}
        p = lib.ones(1, requires_grad=True)
        loss = (p * 3).sum()
        assert scaler.scale(loss) is loss


def test_data_parallel_calls_the_module_and_ddp_refuses():
    inner = mt.nn.Linear(2, 3)
    wrapped = mt.nn.DataParallel(inner)
    assert repr(wrapped) == repr(torch.nn.DataParallel(torch.nn.Linear(2, 3)))
    assert list(wrapped.state_dict()) == list(torch.nn.DataParallel(
        torch.nn.Linear(2, 3)).state_dict())
    x = mt.randn(4, 2)
    np.testing.assert_array_equal(wrapped(x).detach().numpy(), inner(x).detach().numpy())
    assert wrapped.device_ids == [] and wrapped.module is inner
    with pytest.raises(RuntimeError, match="DistributedDataParallel needs torch.distributed"):
        mt.nn.parallel.DistributedDataParallel(inner)
