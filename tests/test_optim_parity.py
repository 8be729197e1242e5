"""microtorch.optim against PyTorch: same problem, same hyper-parameters, same trajectory.

Both libraries optimize the same least-squares problem from the same start; the gradient
of each step is computed in numpy from that library's own current parameters, so the
trajectories evolve independently and any difference in the update rules compounds over
the 100 steps.  Skipped when torch is not installed.
"""
import copy
import inspect
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import microtorch as mt

RNG = np.random.default_rng(7)
X = RNG.standard_normal((32, 4))
Y = RNG.standard_normal((32, 3))
W0 = RNG.standard_normal((4, 3))
B0 = RNG.standard_normal(3)
STEPS = 100
# (Hyper-parameters are chosen where the dynamics are not chaotic: e.g. RMSprop with
# alpha=0.3 and momentum amplifies last-bit differences 10x every few steps, and PyTorch's
# kernels use fused multiply-adds where microtorch's portable build does not.)
TOL = {np.float64: {"rtol": 1e-6, "atol": 1e-6}, np.float32: {"rtol": 2e-4, "atol": 2e-5}}
MAX_DEVIATION = {}          # (name, kwargs, dtype) -> largest relative deviation seen


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def grads(W: np.ndarray, b: np.ndarray):
    """Gradient of 0.5 * mean over rows of |X W + b - Y|^2."""
    r = X @ W + b - Y
    return X.T @ r / len(X), r.mean(0)


def make_pair(dtype=np.float64):
    mt_params = [mt.from_numpy(W0.astype(dtype)).requires_grad_(),
                 mt.from_numpy(B0.astype(dtype)).requires_grad_()]
    t_params = [torch.tensor(W0.astype(dtype), requires_grad=True),
                torch.tensor(B0.astype(dtype), requires_grad=True)]
    return mt_params, t_params


def set_grads(mt_params, t_params):
    """Each library's parameters get the gradient at their own current values."""
    dt = mt_params[0].detach().numpy().dtype
    for lib, params in ((mt, mt_params), (torch, t_params)):
        dW, db = grads(*(p.detach().numpy().astype(np.float64) for p in params))
        params[0].grad = lib.from_numpy(dW.astype(dt))
        params[1].grad = lib.from_numpy(db.astype(dt))


def deviation(mt_params, t_params) -> float:
    return max(float(np.max(np.abs(a.detach().numpy() - b.detach().numpy())
                            / np.maximum(1.0, np.abs(b.detach().numpy()))))
               for a, b in zip(mt_params, t_params))


def assert_same_params(mt_params, t_params, dtype):
    for a, b in zip(mt_params, t_params):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **TOL[dtype])


def run(mt_opt, t_opt, mt_params, t_params, steps, key=None, dtype=np.float64):
    worst = 0.0
    for _ in range(steps):
        set_grads(mt_params, t_params)
        mt_opt.step()
        t_opt.step()
        worst = max(worst, deviation(mt_params, t_params))
    if key is not None:
        MAX_DEVIATION[key] = max(MAX_DEVIATION.get(key, 0.0), worst)
    assert_same_params(mt_params, t_params, dtype)
    return worst


CASES = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "dampening": 0.2, "weight_decay": 0.1,
             "maximize": True}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05,
             "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "maximize": True}),
    ("Adam", {"lr": 0.05, "betas": (0.3, 0.4), "eps": 1e-3, "weight_decay": 0.1,
              "amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "betas": (0.2, 0.9), "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.3, "centered": True}),     # lerp weight >= 0.5
    ("RMSprop", {"lr": 0.01, "maximize": True, "weight_decay": 0.05}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "maximize": True}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_trajectory_float64(name, kwargs):
    mt_params, t_params = make_pair()
    mt_opt = getattr(mt.optim, name)(mt_params, **kwargs)
    t_opt = getattr(torch.optim, name)(t_params, **kwargs)
    run(mt_opt, t_opt, mt_params, t_params, STEPS, key=(name, str(kwargs), "float64"))
    # the state agrees too, entry by entry
    mt_sd, t_sd = mt_opt.state_dict(), t_opt.state_dict()
    assert mt_sd["param_groups"] == t_sd["param_groups"]
    assert mt_sd["state"].keys() == t_sd["state"].keys()
    for i, t_state in t_sd["state"].items():
        assert list(mt_sd["state"][i]) == list(t_state)
        for key, value in t_state.items():
            got = mt_sd["state"][i][key]
            assert isinstance(got, mt.Tensor)
            assert str(got.dtype) == str(value.dtype), key
            np.testing.assert_allclose(got.numpy(), value.numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name,kwargs", CASES[::3], ids=[f"{n}-{k}" for n, k in CASES[::3]])
def test_trajectory_float32(name, kwargs):
    mt_params, t_params = make_pair(np.float32)
    mt_opt = getattr(mt.optim, name)(mt_params, **kwargs)
    t_opt = getattr(torch.optim, name)(t_params, **kwargs)
    run(mt_opt, t_opt, mt_params, t_params, STEPS, key=(name, str(kwargs), "float32"),
        dtype=np.float32)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_signature_and_defaults_match_torch(name):
    ours = inspect.signature(getattr(mt.optim, name))
    theirs = inspect.signature(getattr(torch.optim, name))
    assert list(ours.parameters) == list(theirs.parameters)
    for p, q in zip(ours.parameters.values(), theirs.parameters.values()):
        assert p.kind == q.kind, p.name
        assert p.default == q.default, p.name
    mt_params, t_params = make_pair()
    assert (getattr(mt.optim, name)(mt_params).param_groups[0].keys()
            == getattr(torch.optim, name)(t_params).param_groups[0].keys())


@pytest.mark.parametrize("name,kwargs", [("SGD", {"momentum": 0.9, "nesterov": True}),
                                         ("Adam", {"amsgrad": True}), ("AdamW", {}),
                                         ("RMSprop", {"centered": True, "momentum": 0.5}),
                                         ("Adagrad", {"lr_decay": 0.01})])
def test_param_groups_with_their_own_lr(name, kwargs):
    mt_params, t_params = make_pair()
    mt_opt = getattr(mt.optim, name)([{"params": [mt_params[0]], "lr": 0.1},
                                      {"params": [mt_params[1]]}], lr=0.01, **kwargs)
    t_opt = getattr(torch.optim, name)([{"params": [t_params[0]], "lr": 0.1},
                                        {"params": [t_params[1]]}], lr=0.01, **kwargs)
    assert mt_opt.state_dict()["param_groups"] == t_opt.state_dict()["param_groups"]
    run(mt_opt, t_opt, mt_params, t_params, STEPS)


def test_add_param_group_midway():
    mt_params, t_params = make_pair()
    mt_opt = mt.optim.Adam([mt_params[0]], lr=0.05)
    t_opt = torch.optim.Adam([t_params[0]], lr=0.05)
    run(mt_opt, t_opt, mt_params, t_params, 10)
    mt_opt.add_param_group({"params": mt_params[1], "lr": 0.2, "amsgrad": True})
    t_opt.add_param_group({"params": t_params[1], "lr": 0.2, "amsgrad": True})
    run(mt_opt, t_opt, mt_params, t_params, 30)


@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.05, "momentum": 0.9}),
                                         ("Adam", {"lr": 0.05, "amsgrad": True}),
                                         ("RMSprop", {"centered": True, "momentum": 0.5}),
                                         ("Adagrad", {"lr": 0.1, "lr_decay": 0.01})])
def test_state_dict_round_trip_continues_the_trajectory(name, kwargs):
    mt_params, t_params = make_pair()
    mt_opt = getattr(mt.optim, name)(mt_params, **kwargs)
    t_opt = getattr(torch.optim, name)(t_params, **kwargs)
    run(mt_opt, t_opt, mt_params, t_params, 50)
    saved = copy.deepcopy(mt_opt.state_dict())
    # a fresh optimizer on fresh parameters with the same values, restored from the save
    new_params = [mt.from_numpy(p.detach().numpy().copy()).requires_grad_() for p in mt_params]
    new_opt = getattr(mt.optim, name)(new_params, lr=123.0)
    new_opt.load_state_dict(saved)
    assert new_opt.param_groups[0]["lr"] == kwargs.get("lr", new_opt.defaults["lr"]) or \
        name == "RMSprop"
    run(new_opt, t_opt, new_params, t_params, 50)
    # and torch accepts the same structure
    t_new = getattr(torch.optim, name)([torch.zeros_like(p) for p in t_params])
    t_new.load_state_dict(
        {"state": {k: {kk: torch.from_numpy(np.array(vv.numpy())) for kk, vv in v.items()}
                   for k, v in saved["state"].items()},
         "param_groups": saved["param_groups"]})


def test_closure_and_autograd_loop_matches_torch():
    """A whole training loop through each library's autograd, with a closure."""
    x = RNG.standard_normal((16, 4))
    y = RNG.standard_normal((16, 1))
    w0 = RNG.standard_normal((1, 4)) * 0.5

    def train(lib, opt_cls):
        w = lib.tensor(w0.copy(), requires_grad=True)
        b = lib.zeros(1, dtype=lib.float64, requires_grad=True)
        xs, ys = lib.tensor(x), lib.tensor(y)
        opt = opt_cls([w, b], lr=0.05, momentum=0.9)
        losses = []
        for _ in range(40):
            def closure():
                opt.zero_grad()
                loss = ((xs @ w.t() + b - ys) ** 2).mean()
                loss.backward()
                return loss
            losses.append(float(opt.step(closure).detach()))
        return np.array(losses), w.detach().numpy()

    mt_losses, mt_w = train(mt, mt.optim.SGD)
    t_losses, t_w = train(torch, torch.optim.SGD)
    np.testing.assert_allclose(mt_losses, t_losses, rtol=1e-10)
    np.testing.assert_allclose(mt_w, t_w, rtol=1e-10)


def test_validation_errors_match_torch():
    bad = [("SGD", {"lr": -0.1}), ("SGD", {"momentum": -1}), ("SGD", {"weight_decay": -1}),
           ("SGD", {"nesterov": True}),
           ("SGD", {"momentum": 0.9, "nesterov": True, "dampening": 0.1}),
           ("Adam", {"eps": -1}), ("Adam", {"betas": (1.0, 0.9)}),
           ("Adam", {"betas": (0.9, -0.1)}), ("AdamW", {"weight_decay": -1}),
           ("RMSprop", {"alpha": -1}), ("RMSprop", {"momentum": -2}),
           ("Adagrad", {"lr_decay": -1}), ("Adagrad", {"initial_accumulator_value": -1}),
           ("Adagrad", {"eps": -1})]
    mt_params, t_params = make_pair()
    for name, kwargs in bad:
        with pytest.raises(ValueError) as expected:
            getattr(torch.optim, name)(t_params, **kwargs)
        with pytest.raises(ValueError) as got:
            getattr(mt.optim, name)(mt_params, **kwargs)
        assert str(got.value) == str(expected.value)
    for arg in ([], mt_params[0]):
        targ = [] if isinstance(arg, list) else t_params[0].float()
        with pytest.raises(Exception) as expected:
            torch.optim.SGD(targ)
        with pytest.raises(type(expected.value), match=str(expected.value)):
            mt.optim.SGD(arg if isinstance(arg, list) else arg.float())


# ---- schedulers ------------------------------------------------------------------------
def lr_sequences(make_mt, make_torch, epochs=30, metrics=None, lrs=(0.1, 0.02)):
    """lr of every group after each of `epochs` steps, in both libraries."""
    out = []
    for lib, make in ((mt, make_mt), (torch, make_torch)):
        ps = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
        opt = lib.optim.SGD([{"params": [ps[0]], "lr": lrs[0]},
                             {"params": [ps[1]], "lr": lrs[1]}], momentum=0.9)
        scheds = make(lib.optim.lr_scheduler, opt)
        seq = [[g["lr"] for g in opt.param_groups]]
        for epoch in range(epochs):
            opt.step()
            for s in scheds:
                if metrics is None:
                    s.step()
                else:
                    s.step(metrics[epoch])
            seq.append([g["lr"] for g in opt.param_groups])
            assert scheds[-1].get_last_lr() == seq[-1]
        out.append((np.array(seq), [s.state_dict() for s in scheds]))
    return out


SCHEDULES = {
    "StepLR": lambda S, o: [S.StepLR(o, step_size=7, gamma=0.5)],
    "MultiStepLR": lambda S, o: [S.MultiStepLR(o, milestones=[5, 10, 10, 21], gamma=0.3)],
    "ExponentialLR": lambda S, o: [S.ExponentialLR(o, gamma=0.9)],
    "CosineAnnealingLR": lambda S, o: [S.CosineAnnealingLR(o, T_max=10, eta_min=0.001)],
    "CosineAnnealingLR-T7": lambda S, o: [S.CosineAnnealingLR(o, T_max=7)],
    "LambdaLR": lambda S, o: [S.LambdaLR(o, lambda e: 1.0 / (e + 1))],
    "LambdaLR-list": lambda S, o: [S.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: e % 4 + 1])],
    "chained": lambda S, o: [S.ExponentialLR(o, gamma=0.95), S.StepLR(o, 4, gamma=0.5)],
    "cosine+multistep": lambda S, o: [S.CosineAnnealingLR(o, 12),
                                      S.MultiStepLR(o, [3, 15], gamma=0.5)],
}


@pytest.mark.parametrize("kind", list(SCHEDULES))
def test_scheduler_lr_sequence(kind):
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # neither library should warn here
        (ours, our_states), (theirs, their_states) = lr_sequences(SCHEDULES[kind],
                                                                  SCHEDULES[kind])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    for a, b in zip(our_states, their_states):
        a, b = dict(a), dict(b)
        a.pop("lr_lambdas", None)
        b.pop("lr_lambdas", None)
        assert a.keys() == b.keys()
        np.testing.assert_allclose(a["_last_lr"], b["_last_lr"], rtol=1e-12)


@pytest.mark.parametrize("kind", ["StepLR", "MultiStepLR", "ExponentialLR",
                                  "CosineAnnealingLR", "LambdaLR"])
def test_scheduler_resumed_with_last_epoch(kind):
    make = {"StepLR": lambda S, o: S.StepLR(o, 3, last_epoch=5),
            "MultiStepLR": lambda S, o: S.MultiStepLR(o, [6, 9], last_epoch=5),
            "ExponentialLR": lambda S, o: S.ExponentialLR(o, 0.8, last_epoch=5),
            "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, 10, last_epoch=5),
            "LambdaLR": lambda S, o: S.LambdaLR(o, lambda e: 0.9 ** e, last_epoch=5)}[kind]

    def seq(lib):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.05)
        opt.param_groups[0]["initial_lr"] = 0.1
        s = make(lib.optim.lr_scheduler, opt)
        out = [opt.param_groups[0]["lr"]]
        for _ in range(12):
            opt.step()
            s.step()
            out.append(opt.param_groups[0]["lr"])
        return out

    np.testing.assert_allclose(seq(mt), seq(torch), rtol=1e-12)


@pytest.mark.parametrize("kind", ["StepLR", "MultiStepLR", "ExponentialLR",
                                  "CosineAnnealingLR"])
def test_scheduler_explicit_epoch_uses_closed_form(kind):
    make = SCHEDULES[kind]

    def seq(lib):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        (s,) = make(lib.optim.lr_scheduler, opt)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (3, 7, 8, 2, 15, 10, 21, 0):
                opt.step()
                s.step(epoch)
                out.append(opt.param_groups[0]["lr"])
        return out

    np.testing.assert_allclose(seq(mt), seq(torch), rtol=1e-12)


@pytest.mark.parametrize("kwargs", [
    {},
    {"mode": "max", "factor": 0.5, "patience": 2},
    {"patience": 1, "threshold": 0.1, "threshold_mode": "abs", "cooldown": 2},
    {"mode": "max", "patience": 0, "threshold_mode": "abs", "min_lr": [0.01, 0.005], "factor": 0.3},
    {"patience": 2, "cooldown": 1, "min_lr": 0.004, "eps": 1e-3},
])
def test_reduce_lr_on_plateau(kwargs):
    rng = np.random.default_rng(3)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 8), 0.5 + 0.05 * rng.random(22)])
    make = lambda S, o: [S.ReduceLROnPlateau(o, **kwargs)]
    (ours, (a,)), (theirs, (b,)) = lr_sequences(make, make, metrics=metrics)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert a.keys() == b.keys()
    assert {k: v for k, v in a.items() if k != "_last_lr"} == \
        {k: v for k, v in b.items() if k != "_last_lr"}


def test_scheduler_signatures_match_torch():
    for name in ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                 "ReduceLROnPlateau", "LambdaLR"]:
        ours = inspect.signature(getattr(mt.optim.lr_scheduler, name))
        theirs = inspect.signature(getattr(torch.optim.lr_scheduler, name))
        assert [(p.name, p.default) for p in ours.parameters.values()] == \
            [(p.name, p.default) for p in theirs.parameters.values()], name
