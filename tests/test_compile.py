"""microtorch.compile: replay is bit-identical to eager mode, guards re-record, graph breaks
fall back to eager, and the compiled region behaves as one autograd node."""
import copy
import pickle
import warnings

import numpy as np
import pytest

import microtorch as torch
from microtorch import nn
from microtorch._compile import Unsupported


def _course_model(kind: str) -> nn.Module:
    if kind == "mse":
        return nn.Sequential(nn.Linear(1, 5), nn.Sigmoid(), nn.Linear(5, 2), nn.Tanh(),
                             nn.Linear(2, 1))
    if kind == "bce":
        return nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 10), nn.ReLU(),
                             nn.Linear(10, 1), nn.Sigmoid())
    if kind == "ce":
        return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
    return nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(16, 3, bias=False), nn.LogSoftmax(dim=1))


def _data(kind: str):
    rng = np.random.default_rng(1)
    n_in = {"mse": 1, "bce": 2}.get(kind, 4)
    x = torch.tensor(rng.standard_normal((32, n_in)).astype(np.float32))
    if kind == "mse":
        return x, x ** 2
    if kind == "bce":
        return x, torch.tensor((rng.random((32, 1)) > 0.5).astype(np.float32))
    return x, torch.tensor(rng.integers(0, 3, 32))


def _train(kind: str, compiled: bool, steps: int = 100):
    torch.manual_seed(0)
    model = _course_model(kind)
    run = torch.compile(model) if compiled else model
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=0.01) if kind in ("ce", "mix") else \
        torch.optim.SGD(params, lr=0.1, momentum=0.9)
    loss_fn = {"mse": nn.MSELoss(), "bce": nn.BCELoss(), "ce": nn.CrossEntropyLoss(),
               "mix": nn.NLLLoss()}[kind]
    x, y = _data(kind)
    record = []
    for step in range(steps):
        if kind == "mix" and step == steps // 2:
            run.eval()
        opt.zero_grad()
        loss = loss_fn(run(x), y)
        loss.backward()
        record.append(np.array(loss.detach().numpy()))
        record.extend(p.grad.numpy().copy() for p in params)
        opt.step()
    record.extend(b.numpy().copy() for b in model.buffers())
    return record


@pytest.mark.parametrize("kind", ["mse", "bce", "ce", "mix"])
def test_course_models_bit_identical(kind):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eager, compiled = _train(kind, False), _train(kind, True)
    assert len(eager) == len(compiled)
    for a, b in zip(eager, compiled):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_replay_is_used_and_node_is_one():
    model = _course_model("bce")
    cm = torch.compile(model)
    x, _ = _data("bce")
    cm(x)
    out = cm(x)
    node = out.grad_fn
    assert type(node).__name__ == "CompiledFunctionBackward"
    assert len(node.next_functions) == 6      # one edge per parameter (x needs no grad)
    assert {type(n).__name__ for n, _ in node.next_functions} == {"AccumulateGrad"}
    assert len(cm._compiled.entries) == 1
    program = cm._compiled.entries[0].program
    buffers = node._saved[0]
    handed = [id(a) for a in buffers.fresh]
    out.sum().backward()                        # .grad adopts the replay's fresh arrays
    assert sorted(id(p.grad._data) for p in model.parameters()) == sorted(handed)
    assert not {id(a) for a in buffers.fresh} & set(handed)     # and the set got new ones
    del buffers
    del out, node                               # frees the graph, and its buffer set
    for _ in range(50):
        model.zero_grad()
        cm(x).sum().backward()
    assert len(program.sets) == 1               # one buffer set, reused: memory stays flat


def test_compiled_function_decorators_and_targets():
    torch.manual_seed(0)
    lin = nn.Linear(4, 3)
    x, y = _data("ce")

    def loss_of(inp, target):
        return nn.functional.cross_entropy(nn.functional.log_softmax(inp, dim=1), target)

    plain = torch.compile(loss_of)
    with_args = torch.compile(fullgraph=True)(loss_of)
    h = lin(x)
    expected = loss_of(h, y)
    for fn in (plain, with_args):
        for _ in range(3):
            assert np.array_equal(fn(h, y).numpy(force=True), expected.numpy(force=True))
    g_eager, = torch.autograd.grad(expected, lin.weight)
    g_comp, = torch.autograd.grad(with_args(lin(x), y), lin.weight)
    assert np.array_equal(g_eager.numpy(), g_comp.numpy())
    y2 = torch.tensor(np.roll(y.numpy(), 1))          # a new target value, same signature
    assert np.array_equal(with_args(h, y2).numpy(force=True), loss_of(h, y2).numpy(force=True))


def test_guards_rerecord():
    model = _course_model("mix")
    cm = torch.compile(model)
    x, _ = _data("mix")
    entries = cm._compiled.entries
    cm(x), cm(x)
    assert len(entries) == 1
    cm(x[:8])                                    # new input shape
    assert len(entries) == 2
    cm.eval()
    cm(x)                                        # training flags changed
    assert len(entries) == 3
    model[0].weight.requires_grad_(False)        # requires_grad toggled
    cm(x)
    out = cm(x)
    assert len(entries) == 4
    assert type(out.grad_fn).__name__ == "CompiledFunctionBackward"
    assert all(n.variable is not model[0].weight for n, _ in out.grad_fn.next_functions)
    model[0].weight = nn.Parameter(torch.ones(16, 4))     # parameter replaced
    out = cm(x)
    assert len(entries) == 5
    assert np.array_equal(out.detach().numpy(), model(x).detach().numpy())
    with torch.no_grad():                        # grad mode
        assert cm(x).grad_fn is None
    assert len(entries) == 6


class _Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x, switch):
        h = self.lin(x)
        return torch.relu(h) if switch.item() > 0 else torch.sigmoid(h)   # reads a value


def test_graph_break_warns_once_and_matches_eager():
    torch.manual_seed(0)
    model = _Branchy()
    cm = torch.compile(model)
    x = torch.randn(4, 3)
    on, off = torch.tensor(1.0), torch.tensor(-1.0)
    with pytest.warns(UserWarning, match="graph break") as caught:
        first = cm(x, on)
    assert "item()" in str(caught[0].message) and "test_compile.py" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again, other = cm(x, on), cm(x, off)     # same signature: eager, no new warning
    assert np.array_equal(first.detach().numpy(), model(x, on).detach().numpy())
    assert np.array_equal(again.detach().numpy(), model(x, on).detach().numpy())
    assert np.array_equal(other.detach().numpy(), model(x, off).detach().numpy())
    assert type(again.grad_fn).__name__ == "ReluBackward0"
    with pytest.raises(Unsupported, match="item"):
        torch.compile(model, fullgraph=True)(x, on)


def test_unsupported_op_and_fullgraph():
    def f(x):
        return torch.exp(x) * 2

    x = torch.randn(3, 3)
    with pytest.raises(Unsupported, match="graph break"):
        torch.compile(f, fullgraph=True)(x)
    with pytest.warns(UserWarning, match="no replay plan"):
        out = torch.compile(f)(x)
    assert np.array_equal(out.numpy(), f(x).numpy())


def _aliasing_sequence(compiled: bool) -> list:
    torch.manual_seed(0)
    model = _course_model("mse")
    run = torch.compile(model) if compiled else model
    x1, _ = _data("mse")
    x2 = x1 * 0.5
    run(x1)
    a, b = run(x1), run(x2)                     # two graphs alive at once
    kept = a.detach().numpy().copy()
    seen = [kept]
    (b.sum() * 3).backward()
    seen += [p.grad.numpy().copy() for p in model.parameters()]
    a.sum().backward(retain_graph=True)
    seen += [p.grad.numpy().copy() for p in model.parameters()]
    a.sum().backward()                          # retained: a second backward works
    seen += [p.grad.numpy().copy() for p in model.parameters()]
    c = run(x2)
    seen += list(torch.autograd.grad(c.sum(), list(model.parameters())))
    run(x1)
    assert np.array_equal(a.detach().numpy(), kept)      # not overwritten by later calls
    with pytest.raises(RuntimeError, match="second time"):
        b.sum().backward()
    return [np.asarray(s) for s in seen]


def test_double_forward_retain_graph_and_kept_outputs():
    eager, compiled = _aliasing_sequence(False), _aliasing_sequence(True)
    for e, c in zip(eager, compiled):
        assert np.array_equal(e, c)


def test_state_dict_round_trip_and_torch_weights():
    model = _course_model("bce")
    cm = torch.compile(model)
    assert cm._orig_mod is model
    sd = cm.state_dict()
    assert list(sd) == ["_orig_mod." + k for k in model.state_dict()]
    other = torch.compile(_course_model("bce"))
    assert str(other.load_state_dict(sd)) == "<All keys matched successfully>"
    x, _ = _data("bce")
    assert np.array_equal(other(x).detach().numpy(), cm(x).detach().numpy())
    with pytest.raises(RuntimeError, match="Missing key"):
        other.load_state_dict(model.state_dict())
    assert torch.compile(model, disable=True) is model
    twin = copy.deepcopy(cm)                     # records afresh, on its own parameters
    twin(x)
    assert np.array_equal(twin(x).detach().numpy(), cm(x).detach().numpy())
    assert all(p is not q for p, q in zip(twin.parameters(), cm.parameters()))
    restored = pickle.loads(pickle.dumps(cm))
    assert np.array_equal(restored(x).detach().numpy(), cm(x).detach().numpy())

    real = pytest.importorskip("torch")
    ref = real.nn.Sequential(real.nn.Linear(2, 10), real.nn.ReLU(), real.nn.Linear(10, 10),
                             real.nn.ReLU(), real.nn.Linear(10, 1), real.nn.Sigmoid())
    other.load_state_dict({"_orig_mod." + k: v for k, v in ref.state_dict().items()})
    other(x)                                    # parameters were copied in place: replay
    want = ref(real.tensor(x.numpy())).detach().numpy()
    np.testing.assert_allclose(other(x).detach().numpy(), want, rtol=1e-5, atol=1e-6)


def test_function_losses_and_target_grads_bit_identical():
    rng = np.random.default_rng(3)

    def fn(x, t):
        s = torch.softmax(x, dim=1)
        return nn.functional.mse_loss(s, t, reduction="sum")

    def fn2(x, t):
        return nn.functional.binary_cross_entropy_with_logits(torch.tanh(x), t)

    for f in (fn, fn2):
        cf = torch.compile(f)
        for _ in range(3):
            x = torch.tensor(rng.standard_normal((5, 4)), requires_grad=True)
            t = torch.tensor(rng.random((5, 4)), requires_grad=f is fn)
            out = cf(x, t)
            out.backward()
            got = [out.detach().numpy().copy(), x.grad.numpy().copy()]
            got += [t.grad.numpy().copy()] if f is fn else []
            x.grad = t.grad = None
            ref = f(x, t)
            ref.backward()
            want = [ref.detach().numpy(), x.grad.numpy()] + ([t.grad.numpy()] if f is fn else [])
            for g, w in zip(got, want):
                assert g.dtype == w.dtype and np.array_equal(g, w)
        assert type(out.grad_fn).__name__ == "CompiledFunctionBackward"


def test_breaks_inplace_outside_tensors_and_cache_limit():
    outside = torch.ones(3)

    def inplace(x):
        x.mul_(2)
        return torch.relu(x)

    def uses_outside(x):
        return torch.relu(outside)

    for f, reason in ((inplace, "no replay plan"), (uses_outside, "neither an input")):
        with pytest.warns(UserWarning, match=reason):
            torch.compile(f)(torch.ones(2, 3))
    lin = nn.Linear(3, 2)
    cm = torch.compile(lin)
    with pytest.warns(UserWarning, match="cache limit"):
        for n in range(1, 11):
            out = cm(torch.ones(n, 3))
    assert len(cm._compiled.entries) == 8
    assert np.array_equal(out.detach().numpy(), lin(torch.ones(10, 3)).detach().numpy())


class _Shared(nn.Module):
    """One Linear applied twice (shared weights) and a value read by two ops."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        h = self.lin(x)
        h2 = self.lin(torch.sigmoid(h))
        return nn.functional.mse_loss(torch.relu(h2), torch.tanh(h))


@pytest.mark.parametrize("zero_grads", [True, False])
def test_shared_weights_and_fan_out_bit_identical(zero_grads):
    results = []
    for compiled in (False, True):
        torch.manual_seed(0)
        model = _Shared()
        run = torch.compile(model) if compiled else model
        x = torch.randn(6, 3)
        seen = []
        for _ in range(5):
            if zero_grads:
                model.zero_grad()
            loss = run(x)
            loss.backward()
            assert compiled == (type(loss.grad_fn).__name__ == "CompiledFunctionBackward") \
                or len(seen) == 0
            seen += [loss.detach().numpy().copy()] + [p.grad.numpy().copy()
                                                      for p in model.parameters()]
        results.append(seen)
    for e, c in zip(*results):
        assert np.array_equal(e, c)


def _random_model(rng, n_in: int) -> nn.Module:
    """A random stack of the replayable layers."""
    layers, width = [], n_in
    for _ in range(rng.integers(1, 4)):
        out = int(rng.integers(1, 7))
        layers.append(nn.Linear(width, out, bias=bool(rng.integers(2))))
        width = out
        extra = rng.choice(["relu", "sigmoid", "tanh", "bn", "dropout", "none"])
        if extra == "bn":
            layers.append(nn.BatchNorm1d(width, affine=bool(rng.integers(2))))
        elif extra == "dropout":
            layers.append(nn.Dropout(float(rng.choice([0.0, 0.2, 0.5]))))
        elif extra != "none":
            layers.append({"relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh()}[extra])
    layers.append(rng.choice([nn.Softmax(dim=1), nn.LogSoftmax(dim=1), nn.Identity()]))
    return nn.Sequential(*layers)


def _random_session(seed: int, compiled: bool) -> list:
    rng = np.random.default_rng(seed)
    dtype = torch.float64 if rng.integers(2) else torch.float32
    n_in = int(rng.integers(1, 5))
    torch.manual_seed(seed)
    model = _random_model(rng, n_in).to(dtype)
    run = torch.compile(model) if compiled else model
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    seen = []
    for step in range(8):
        event = rng.choice(["step", "step", "eval", "train", "no_grad", "shape", "freeze"])
        rows = int(rng.integers(2, 6)) if event == "shape" else 4
        x = torch.randn(rows, n_in, dtype=dtype)
        if event == "eval":
            run.eval()
        elif event == "train":
            run.train()
        elif event == "freeze":
            first = next(model.parameters())
            first.requires_grad_(not first.requires_grad)
        if event == "no_grad":
            with torch.no_grad():
                seen.append(run(x).numpy().copy())
            continue
        opt.zero_grad()
        out = run(x)
        if out.requires_grad:
            (out * out).sum().backward()
            opt.step()
        seen.append(out.detach().numpy().copy())
        seen += [p.grad.numpy().copy() for p in model.parameters() if p.grad is not None]
    seen += [b.numpy().copy() for b in model.buffers()]
    return seen


@pytest.mark.parametrize("seed", range(12))
def test_random_programs_bit_identical(seed):
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # every layer here is replayable: no break
        eager, compiled = _random_session(seed, False), _random_session(seed, True)
    assert len(eager) == len(compiled)
    for e, c in zip(eager, compiled):
        assert e.dtype == c.dtype and np.array_equal(e, c)
