"""microtorch.compile: replay is bit-identical to eager mode, guards re-record, graph breaks
fall back to eager, and the compiled region behaves as one autograd node."""
import copy
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    assert buffers.fresh is None                # the set let go of them (the engine's now)
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
    holder = type("Holder", (), {})()
    holder.t = torch.ones(3)                       # behind a plain object: not guarded
    computed = torch.ones(3, requires_grad=True) * 2      # not a leaf: no edge to give it

    def inplace(x):
        x.mul_(2)
        return torch.relu(x)

    def uses_held(x):
        return torch.relu(holder.t)

    def uses_computed(x):
        return torch.relu(computed)

    for f, reason in ((inplace, "no replay plan"), (uses_held, "neither an input"),
                      (uses_computed, "neither an input")):
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


def _train_compiled_10k() -> dict:
    """10,000 compiled training steps (SGD with momentum, cross-entropy, the model compiled);
    RSS and live objects after step 1,000 and at the end, and the cycles the steps made."""
    import gc

    from test_memory import gc_disabled, live_counts, rss_bytes

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))
    cm = torch.compile(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = torch.randn(64, 8)
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    snapshots = {}
    with gc_disabled():
        for step in range(1, 10_001):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(cm(x), y)
            loss.backward()
            opt.step()
            if step in (1_000, 10_000):
                last_loss = loss.item()
                del loss
                unreachable = gc.collect()
                snapshots[str(step)] = {"rss": rss_bytes(), **live_counts()}
    program = cm._compiled.entries[0].program
    return {"snapshots": snapshots, "loss": last_loss, "unreachable": unreachable,
            "entries": len(cm._compiled.entries), "sets": len(program.sets)}


def test_compiled_training_10k_steps_is_flat():
    """Steady state of a compiled model: over steps 1,000..10,000 RSS, live objects, Tensors
    and Nodes stay flat, no cycles are made, one recording and one buffer set serve every
    step. In a fresh process (RSS not that of the suite's fragmented heap)."""
    import json
    import os
    import subprocess
    import sys

    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import test_compile; "
            "print(json.dumps(test_compile._train_compiled_10k()))")
    proc = subprocess.run([sys.executable, "-c", code, os.path.dirname(__file__)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    first, last = result["snapshots"]["1000"], result["snapshots"]["10000"]
    report = {k: (first[k], last[k], last[k] - first[k]) for k in first}
    assert result["loss"] < 0.5, "the model did not train"
    assert result["entries"] == 1 and result["sets"] == 1, result
    assert result["unreachable"] == 0, result
    assert last["tensors"] == first["tensors"], report
    assert last["nodes"] == first["nodes"], report
    assert last["objects"] - first["objects"] <= 20, report
    assert last["rss"] - first["rss"] < 8 * 2**20, report


_LAYERS = ("relu", "sigmoid", "tanh", "dropout", "bn", "bn_plain", "none")
_EVENTS = ("step", "eval", "train", "no_grad", "shape", "freeze", "replace", "input_grad")


def _build(spec: dict) -> nn.Module:
    """The model `spec` describes (see `_program_specs`), in its dtype."""
    layers, width = [], spec["n_in"]
    for out, bias, extra, p in spec["layers"]:
        layers.append(nn.Linear(width, out, bias=bias))
        width = out
        layers += {"relu": [nn.ReLU()], "sigmoid": [nn.Sigmoid()], "tanh": [nn.Tanh()],
                   "dropout": [nn.Dropout(p)], "bn": [nn.BatchNorm1d(width)],
                   "bn_plain": [nn.BatchNorm1d(width, affine=False)], "none": []}[extra]
    layers += {"softmax": [nn.Softmax(dim=1)], "log_softmax": [nn.LogSoftmax(dim=1)],
               "sigmoid": [nn.Sigmoid()], "none": []}[spec["head"]]
    return nn.Sequential(*layers).to(spec["dtype"])


def _program_session(spec: dict, compiled: bool) -> tuple:
    """Run `spec`'s events on a fresh model (eager or compiled); every loss, output and
    gradient seen, and the buffers at the end; how many calls were replays."""
    torch.manual_seed(spec["seed"])
    rng = np.random.default_rng(spec["seed"])
    dtype, n_in = spec["dtype"], spec["n_in"]
    model = _build(spec)
    run = model
    if compiled and spec["via_function"]:

        def forward(inp):                          # reads the model from its closure
            return model(inp)

        run = torch.compile(forward)
    elif compiled:
        run = torch.compile(model)
    loss_fn = {"mse": nn.MSELoss(), "bce": nn.BCELoss(), "ce": nn.CrossEntropyLoss()}[
        spec["loss"]]
    np_dtype = np.float64 if dtype is torch.float64 else np.float32
    seen, replays = [], 0
    for event in spec["events"]:
        rows = int(rng.integers(2, 7)) if event == "shape" else 4
        x = torch.tensor(rng.standard_normal((rows, n_in)).astype(np_dtype),
                         requires_grad=event == "input_grad")
        width = spec["layers"][-1][0]
        if spec["loss"] == "ce":
            y = torch.tensor(rng.integers(0, width, rows))
        else:
            y = torch.tensor(rng.random((rows, width)).astype(np_dtype))
        if event == "eval":
            model.eval()
        elif event == "train":
            model.train()
        elif event == "freeze":
            first = model[0].weight
            first.requires_grad_(not first.requires_grad)
        elif event == "replace":
            old = model[0].weight
            model[0].weight = nn.Parameter(
                torch.tensor(rng.standard_normal(tuple(old.shape)).astype(np_dtype)))
        if event == "no_grad":
            with torch.no_grad():
                out = run(x)
                seen += [out.numpy().copy(), loss_fn(out, y).numpy().copy()]
            continue
        model.zero_grad()
        out = run(x)
        replays += type(out.grad_fn).__name__ == "CompiledFunctionBackward"
        loss = loss_fn(out, y)
        seen += [out.detach().numpy().copy(), loss.detach().numpy().copy()]
        if loss.requires_grad:
            loss.backward()
            seen += [p.grad.numpy().copy() for p in model.parameters() if p.grad is not None]
            if x.grad is not None:
                seen.append(x.grad.numpy().copy())
            with torch.no_grad():
                for p in model.parameters():
                    if p.grad is not None:
                        p.sub_(0.1 * p.grad)
    seen += [b.numpy().copy() for b in model.buffers()]
    return seen, replays


@st.composite
def _program_specs(draw) -> dict:
    """A random small model of the replayable layers, a loss, and a sequence of events."""
    layers = [(draw(st.integers(1, 5)), draw(st.booleans()), draw(st.sampled_from(_LAYERS)),
               draw(st.sampled_from([0.0, 0.3, 0.5])))
              for _ in range(draw(st.integers(1, 3)))]
    loss = draw(st.sampled_from(["mse", "bce", "ce"]))
    heads = {"mse": ["none", "softmax", "log_softmax", "sigmoid"], "bce": ["sigmoid"],
             "ce": ["none", "softmax", "log_softmax"]}[loss]
    return {"seed": draw(st.integers(0, 2**16)), "n_in": draw(st.integers(1, 4)),
            "dtype": draw(st.sampled_from([torch.float32, torch.float64])),
            "layers": layers, "loss": loss, "head": draw(st.sampled_from(heads)),
            "via_function": draw(st.booleans()),
            "events": ["step", "step"] + draw(st.lists(st.sampled_from(_EVENTS), min_size=3,
                                                max_size=8))}


@given(_program_specs())
def test_hypothesis_programs_bit_identical(spec):
    """Compiled == eager bit for bit (outputs, losses, gradients, buffers) for random models,
    losses, dtypes and shapes, across train/eval switches, no_grad calls, replaced
    parameters, toggled requires_grad and inputs that require grad; the model compiled, or
    a function compiled that calls it from its closure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # every layer here is replayable: no break
        warnings.filterwarnings("ignore", "microtorch.compile: 8 recordings")  # many changes
        (eager, _), (compiled, replays) = (_program_session(spec, False),
                                           _program_session(spec, True))
    assert replays >= 1
    assert len(eager) == len(compiled)
    for e, c in zip(eager, compiled):
        assert e.dtype == c.dtype and e.shape == c.shape and np.array_equal(e, c)


def _outside_session(compiled: bool) -> tuple:
    """A loss function reading a model and a leaf tensor from its closure, trained with
    train/eval switches, the tensor replaced and its requires_grad toggled."""
    torch.manual_seed(0)
    model = _course_model("mix")                  # BatchNorm, Dropout, LogSoftmax
    head = torch.randn(3, 3, requires_grad=True)

    def loss_of(x, y):
        return nn.functional.cross_entropy(nn.functional.linear(model(x), head), y)

    run = torch.compile(loss_of) if compiled else loss_of
    x, y = _data("mix")
    seen, replays = [], 0
    for step in range(12):
        if step == 4:
            model.eval()
        elif step == 6:
            model.train()
            head = torch.randn(3, 3, requires_grad=True)      # the closure variable rebound
        elif step == 8:
            head.requires_grad_(False)
        elif step == 10:
            head.requires_grad_(True)
        params = list(model.parameters()) + [head]
        for p in params:
            p.grad = None
        loss = run(x, y)
        replays += type(loss.grad_fn).__name__ == "CompiledFunctionBackward"
        loss.backward()
        seen.append(loss.detach().numpy().copy())
        seen += [p.grad.numpy().copy() for p in params if p.grad is not None]
        with torch.no_grad():
            for p in params:
                if p.grad is not None:
                    p.sub_(0.1 * p.grad)
    seen += [b.numpy().copy() for b in model.buffers()]
    entries = run._compiled.entries if compiled else []
    return seen, replays, len(entries)


def test_function_reading_model_and_tensor_from_closure():
    """A compiled function may use a model and a leaf tensor directly: they are guarded like
    a compiled module's parameters, the gradients land on them, and every change re-records
    and matches eager bit for bit."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (eager, _, _), (compiled, replays, entries) = (_outside_session(False),
                                                       _outside_session(True))
    assert replays == 8            # 0, 4, 6, 8 record; 10 matches 6's recording again
    assert entries == 4
    assert len(eager) == len(compiled)
    for e, c in zip(eager, compiled):
        assert e.dtype == c.dtype and np.array_equal(e, c)


_GLOBAL_W = torch.ones(2, 3)
_GLOBAL_P = 0.0


def _uses_globals(x):
    return nn.functional.dropout(nn.functional.linear(x, _GLOBAL_W), p=_GLOBAL_P)


def test_function_reading_globals_is_guarded():
    """A global tensor rebound, its array replaced, or a global constant changed: the next
    call records again instead of replaying stale values."""
    global _GLOBAL_W, _GLOBAL_P
    saved = _GLOBAL_W, _GLOBAL_P
    try:
        cf = torch.compile(_uses_globals, fullgraph=True)
        x = torch.randn(4, 3)
        entries = cf._compiled.entries
        for change in ("none", "rebind", "data", "constant", "none"):
            if change == "rebind":
                _GLOBAL_W = torch.full((2, 3), 2.0)
            elif change == "data":
                _GLOBAL_W.data = torch.full((2, 3), 3.0)
            elif change == "constant":
                _GLOBAL_P = 0.5
            before = len(entries)
            torch.manual_seed(1)
            got = cf(x).numpy()
            torch.manual_seed(1)
            want = _uses_globals(x).numpy()
            assert np.array_equal(got, want)
            assert len(entries) == before + (change != "none" or before == 0)
            got = cf(x).numpy()                      # and the replay of that recording
            assert np.array_equal(got, nn.functional.linear(x, _GLOBAL_W).numpy()) \
                or _GLOBAL_P > 0
        assert len(entries) == 4
        with torch.no_grad():
            _GLOBAL_W.mul_(2)                        # in place: the replay reads the new values
        torch.manual_seed(2)
        got = cf(x).numpy()
        torch.manual_seed(2)
        assert np.array_equal(got, _uses_globals(x).numpy()) and len(entries) == 4
    finally:
        _GLOBAL_W, _GLOBAL_P = saved
