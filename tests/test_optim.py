"""microtorch.optim on its own: kernels against their numpy twins, and the Optimizer API.

PyTorch parity lives in test_optim_parity.py; nothing here needs torch.
"""
import copy
import pickle
import sys
import warnings

import numpy as np
import optim_reference as R
import pytest

import microtorch as mt
from microtorch._kernels import _optim as K
from microtorch.optim.optimizer import Optimizer, required

DTYPES = [np.float32, np.float64]
# The default build is bit-exact against the reference; the tolerance leaves room for
# builds that contract a*b+c into fused multiply-adds (e.g. MICROTORCH_NATIVE=1).
TOL = {np.float32: {"rtol": 1e-6, "atol": 1e-7}, np.float64: {"rtol": 1e-13, "atol": 1e-15}}
SIZES = [0, 1, 37, 1000]


# ---- kernels against the numpy reference -----------------------------------------------
# Hyper-parameters of each kernel, after its state buffers (and `step`), in order.
KEYS = {
    "sgd_step": ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"),
    "adam_step": ("lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad", "maximize",
                  "decoupled"),
    "rmsprop_step": ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"),
    "adagrad_step": ("lr", "lr_decay", "weight_decay", "eps", "maximize"),
}
# (kernel, number of state buffers, values for KEYS[kernel])
TABLE = [
    ("sgd_step", 0, (0.1, 0.0, 0.0, 0.0, False, False)),
    ("sgd_step", 0, (0.1, 0.0, 0.0, 0.1, False, True)),
    ("sgd_step", 1, (0.1, 0.9, 0.3, 0.0, False, False)),
    ("sgd_step", 1, (0.1, 0.9, 0.0, 0.01, True, True)),
    ("adam_step", 3, (0.01, 0.9, 0.999, 1e-8, 0.0, False, False, False)),
    ("adam_step", 3, (0.01, 0.9, 0.999, 1e-8, 0.1, True, False, False)),
    ("adam_step", 3, (0.01, 0.2, 0.5, 1e-3, 0.1, True, True, True)),      # lerp weight >= 0.5
    ("adam_step", 3, (0.01, 0.9, 0.99, 1e-8, 0.01, False, False, True)),
    ("rmsprop_step", 3, (0.01, 0.99, 1e-8, 0.0, 0.0, False, False)),
    ("rmsprop_step", 3, (0.01, 0.9, 1e-8, 0.1, 0.9, True, True)),
    ("rmsprop_step", 3, (0.01, 0.3, 1e-6, 0.0, 0.0, True, False)),
    ("rmsprop_step", 3, (0.01, 0.99, 1e-8, 0.0, 0.5, False, False)),
    ("adagrad_step", 1, (0.1, 0.0, 0.0, 1e-10, False)),
    ("adagrad_step", 1, (0.1, 0.1, 0.1, 1e-10, True)),
]
KERNEL_CASES = [(name, n, dict(zip(KEYS[name], values))) for name, n, values in TABLE]


def call(module, name, param, grad, states, hyper, step):
    """Call kernel `name` of `module` (the Cython one or the numpy twin)."""
    if name == "sgd_step":
        buf = states[0] if states else None
        return module.sgd_step(param, grad, buf, hyper["lr"], hyper["momentum"],
                               hyper["dampening"], hyper["weight_decay"], hyper["nesterov"],
                               hyper["maximize"], step == 1)
    if name == "adam_step":
        return module.adam_step(param, grad, *states, float(step), **hyper)
    if name == "rmsprop_step":
        s, gavg, buf = states
        return module.rmsprop_step(param, grad, s, gavg if hyper["centered"] else None,
                                   buf if hyper["momentum"] > 0 else None, **hyper)
    return module.adagrad_step(param, grad, states[0], float(step), **hyper)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name,n_states,hyper", KERNEL_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(KERNEL_CASES)])
def test_kernel_matches_numpy_reference(name, n_states, hyper, n, dtype):
    rng = np.random.default_rng(n)
    param = rng.standard_normal(n).astype(dtype)
    states = [np.abs(rng.standard_normal(n)).astype(dtype) * 0.1 for _ in range(n_states)]
    if name == "adam_step":
        states[2] = np.maximum(states[2], states[1])       # a running max is >= exp_avg_sq
    if name == "rmsprop_step":
        states[0] += states[1] * states[1]                 # E[g^2] >= E[g]^2
    ours = (param.copy(), [s.copy() for s in states])
    ref = (param.copy(), [s.copy() for s in states])
    for step in (1, 2, 3):
        grad = rng.standard_normal(n).astype(dtype)
        grad_before = grad.copy()
        call(K, name, ours[0], grad, ours[1], hyper, step)
        call(R, name, ref[0], grad, ref[1], hyper, step)
        np.testing.assert_array_equal(grad, grad_before)          # grad is read only
        np.testing.assert_allclose(ours[0], ref[0], **TOL[dtype])
        for a, b in zip(ours[1], ref[1]):
            np.testing.assert_allclose(a, b, **TOL[dtype])
    assert ours[0].dtype == dtype


@pytest.mark.parametrize("index", [1, 5, 9, 13], ids=["sgd", "adam", "rmsprop", "adagrad"])
def test_kernel_threaded_path_matches_reference(index):
    """Buffers from PARALLEL_THRESHOLD elements up are split over OpenMP threads."""
    name, n_states, hyper = KERNEL_CASES[index]
    n = K.PARALLEL_THRESHOLD + 1001
    threads = mt.get_num_threads()
    mt.set_num_threads(2)
    try:
        rng = np.random.default_rng(1)
        param = rng.standard_normal(n).astype(np.float32)
        grad = rng.standard_normal(n).astype(np.float32)
        states = [np.full(n, 0.5, np.float32) for _ in range(n_states)]
        if name == "rmsprop_step":
            states[1][:] = 0.25
        ours = (param.copy(), [x.copy() for x in states])
        call(K, name, ours[0], grad, ours[1], hyper, 2)
        call(R, name, param, grad, states, hyper, 2)
        np.testing.assert_allclose(ours[0], param, **TOL[np.float32])
        for a, b in zip(ours[1], states):
            np.testing.assert_allclose(a, b, **TOL[np.float32])
    finally:
        mt.set_num_threads(threads)


def test_kernels_propagate_nan_and_accept_read_only_grad():
    p = np.array([1.0, 2.0, 3.0])
    g = np.array([np.nan, 1.0, np.inf])
    g.setflags(write=False)
    m, v, vmax = np.zeros(3), np.zeros(3), np.zeros(3)
    K.adam_step(p, g, m, v, vmax, 1.0, 0.1, 0.9, 0.999, 1e-8, 0.0, True, False, False)
    assert np.isnan(p[0]) and np.isnan(vmax[0]) and np.isfinite(p[1])
    vmax[1] = np.nan                                    # max keeps NaN from either side
    K.adam_step(p, g, m, v, vmax, 2.0, 0.1, 0.9, 0.999, 1e-8, 0.0, True, False, False)
    assert np.isnan(vmax[1]) and np.isnan(p[1])


def test_kernel_argument_checks():
    p, g, b = np.zeros(4), np.ones(4), np.zeros(4)
    with pytest.raises(TypeError, match="float32 or float64"):
        K.sgd_step(np.zeros(4, np.int64), g, None, 0.1, 0, 0, 0, False, False, False)
    with pytest.raises(TypeError, match="float32 or float64"):
        K.sgd_step(np.zeros(4, np.float16), g, None, 0.1, 0, 0, 0, False, False, False)
    with pytest.raises(TypeError, match="grad has dtype float32"):
        K.sgd_step(p, g.astype(np.float32), None, 0.1, 0, 0, 0, False, False, False)
    with pytest.raises(ValueError, match="momentum_buf has 3 elements"):
        K.sgd_step(p, g, np.zeros(3), 0.1, 0.9, 0, 0, False, False, False)
    with pytest.raises(ValueError, match="sgd_step: param must be C-contiguous"):
        K.sgd_step(np.zeros(8)[::2], g, None, 0.1, 0, 0, 0, False, False, False)
    with pytest.raises(ValueError, match="sgd_step: grad must be C-contiguous"):
        K.sgd_step(p, np.ones(8)[::2], None, 0.1, 0, 0, 0, False, False, False)
    with pytest.raises(ValueError, match="sgd_step: param must be 1-D, got shape"):
        K.sgd_step(np.zeros((2, 2)), g, None, 0.1, 0, 0, 0, False, False, False)
    with pytest.raises(TypeError, match="max_exp_avg_sq must be an array"):
        K.adam_step(p, g, b, b.copy(), None, 1.0, 0.1, 0.9, 0.99, 1e-8, 0, True, False, False)
    with pytest.raises(TypeError, match="centered needs grad_avg"):
        K.rmsprop_step(p, g, b, None, None, 0.1, 0.9, 1e-8, 0, 0, True, False)
    with pytest.raises(ValueError, match="sgd_step: param is read-only"):
        ro = np.zeros(4)
        ro.setflags(write=False)
        K.sgd_step(ro, g, None, 0.1, 0, 0, 0, False, False, False)
    np.testing.assert_array_equal(p, 0)                 # nothing was touched


# ---- helpers ----------------------------------------------------------------------------
def params(dtype=mt.float32, seed=0):
    gen = mt.Generator().manual_seed(seed)
    return [mt.randn(3, 4, dtype=dtype, generator=gen).requires_grad_(),
            mt.randn(4, dtype=dtype, generator=gen).requires_grad_()]


def give_grads(ps, seed=1):
    rng = np.random.default_rng(seed)
    for p in ps:
        p.grad = mt.from_numpy(rng.standard_normal(p.shape).astype(p.detach().numpy().dtype))


ALL = [(mt.optim.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1, "nesterov": True}),
       (mt.optim.SGD, {"lr": 0.1}),
       (mt.optim.Adam, {"weight_decay": 0.1, "amsgrad": True, "maximize": True}),
       (mt.optim.AdamW, {}),
       (mt.optim.RMSprop, {"centered": True, "momentum": 0.9, "weight_decay": 0.1}),
       (mt.optim.Adagrad, {"lr_decay": 0.1, "weight_decay": 0.1})]
IDS = [f"{c.__name__}-{i}" for i, (c, _) in enumerate(ALL)]


# ---- constructor, defaults and validation ----------------------------------------------
def test_defaults_mirror_pytorch():
    ps = params()
    assert mt.optim.SGD(ps).defaults["lr"] == 1e-3
    adam = mt.optim.Adam(ps).defaults
    assert (adam["lr"], adam["betas"], adam["eps"], adam["weight_decay"]) == (1e-3, (0.9, 0.999),
                                                                              1e-8, 0)
    assert mt.optim.AdamW(ps).defaults["weight_decay"] == 1e-2
    assert mt.optim.AdamW(ps).defaults["decoupled_weight_decay"] is True
    rms = mt.optim.RMSprop(ps).defaults
    assert (rms["lr"], rms["alpha"], rms["eps"], rms["momentum"]) == (1e-2, 0.99, 1e-8, 0)
    ada = mt.optim.Adagrad(ps).defaults
    assert (ada["lr"], ada["lr_decay"], ada["eps"], ada["initial_accumulator_value"]) == \
        (1e-2, 0, 1e-10, 0)


@pytest.mark.parametrize("cls,kwargs,message", [
    (mt.optim.SGD, {"lr": -0.1}, "Invalid learning rate: -0.1"),
    (mt.optim.SGD, {"momentum": -0.5}, "Invalid momentum value: -0.5"),
    (mt.optim.SGD, {"weight_decay": -1}, "Invalid weight_decay value: -1"),
    (mt.optim.SGD, {"nesterov": True},
     "Nesterov momentum requires a momentum and zero dampening"),
    (mt.optim.SGD, {"momentum": 0.9, "dampening": 0.1, "nesterov": True}, "Nesterov momentum"),
    (mt.optim.Adam, {"lr": -1e-3}, "Invalid learning rate: -0.001"),
    (mt.optim.Adam, {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    (mt.optim.Adam, {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
    (mt.optim.Adam, {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    (mt.optim.Adam, {"weight_decay": -1}, "Invalid weight_decay value: -1"),
    (mt.optim.AdamW, {"betas": (0.9, 1.5)}, "Invalid beta parameter at index 1: 1.5"),
    (mt.optim.RMSprop, {"alpha": -1}, "Invalid alpha value: -1"),
    (mt.optim.RMSprop, {"momentum": -1}, "Invalid momentum value: -1"),
    (mt.optim.RMSprop, {"eps": -1}, "Invalid epsilon value: -1"),
    (mt.optim.Adagrad, {"lr_decay": -1}, "Invalid lr_decay value: -1"),
    (mt.optim.Adagrad, {"initial_accumulator_value": -1},
     "Invalid initial_accumulator_value value: -1"),
    (mt.optim.Adagrad, {"eps": -1}, "Invalid epsilon value: -1"),
    (mt.optim.SGD, {"lr": mt.tensor([0.1, 0.2])}, "Tensor lr must be 1-element"),
])
def test_invalid_hyper_parameters(cls, kwargs, message):
    with pytest.raises(ValueError) as err:
        cls(params(), **kwargs)
    assert str(err.value).startswith(message)


def test_invalid_params_arguments():
    p = params()[0]
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an "
                                        "iterable of Tensors or dicts, but got "
                                        "torch.FloatTensor"):
        mt.optim.SGD(p)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        mt.optim.SGD([])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        mt.optim.Adam(iter([]))
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the "
                                        "params is int"):
        mt.optim.SGD([p, 3])
    with pytest.raises(TypeError, match="ordered collections"):
        mt.optim.SGD([{"params": {p}}])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        mt.optim.SGD([p * 2])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        mt.optim.SGD([{"params": [p]}, {"params": p}])
    with pytest.raises(TypeError, match="param_group must be a dict"):
        mt.optim.SGD([p]).add_param_group([p])
    with pytest.warns(UserWarning, match="duplicate parameters"):
        mt.optim.SGD([p, p])


def test_param_groups_fill_in_defaults_and_keep_their_own():
    w, b = params()
    opt = mt.optim.SGD([{"params": [w], "lr": 0.5, "custom": 1}, {"params": b}], lr=0.1,
                       momentum=0.9)
    g0, g1 = opt.param_groups
    assert g0["lr"] == 0.5 and g0["custom"] == 1 and g0["momentum"] == 0.9
    assert g1["lr"] == 0.1 and g1["params"] == [b]
    assert list(g0) == ["params", "lr", "custom", "momentum", "dampening", "weight_decay",
                        "nesterov", "maximize", "foreach", "differentiable", "fused"]


def test_named_parameters():
    w, b = params()
    opt = mt.optim.Adam([("weight", w), ("bias", b)])
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="with/without names"):
        mt.optim.Adam([("weight", w), b])


def test_required_hyper_parameter_in_a_custom_optimizer():
    class Custom(Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, {"lr": lr})

    w, b = params()
    assert repr(required) == "<required parameter>"
    opt = Custom([{"params": [w], "lr": 0.1}])
    with pytest.raises(ValueError, match="didn't specify a value of required optimization "
                                         "parameter lr"):
        opt.add_param_group({"params": [b]})
    with pytest.raises(NotImplementedError):
        opt.step()


# ---- step ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs", ALL, ids=IDS)
def test_step_never_writes_grad_and_bumps_the_version(cls, kwargs):
    ps = params()
    give_grads(ps)
    grads = [p.grad.numpy().copy() for p in ps]
    grad_objects = [p.grad for p in ps]
    before = [p.detach().numpy().copy() for p in ps]
    versions = [p._version[0] for p in ps]
    opt = cls(ps, **kwargs)
    for _ in range(3):
        opt.step()
    for p, g, obj, x, v in zip(ps, grads, grad_objects, before, versions):
        assert p.grad is obj
        np.testing.assert_array_equal(p.grad.numpy(), g)
        assert not np.array_equal(p.detach().numpy(), x)
        assert p._version[0] == v + 3
        assert p.requires_grad and p.is_leaf


@pytest.mark.parametrize("cls,kwargs", ALL, ids=IDS)
def test_params_without_grad_are_skipped(cls, kwargs):
    w, b = params()
    w.grad = mt.ones(3, 4)
    opt = cls([w, b], **kwargs)
    b_before = b.detach().numpy().copy()
    opt.step()
    np.testing.assert_array_equal(b.detach().numpy(), b_before)
    if cls is not mt.optim.Adagrad:              # Adagrad makes its state up front
        assert b not in opt.state


@pytest.mark.parametrize("cls,kwargs", ALL, ids=IDS)
def test_float16_strided_and_transposed_grads_match_the_plain_path(cls, kwargs):
    rng = np.random.default_rng(5)
    base = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(3)]

    def run(make_param, make_grad):
        p = make_param(base.copy())
        opt = cls([p], **kwargs)
        for g in grads:
            p.grad = make_grad(g)
            opt.step()
        return p.detach().numpy()

    plain = run(lambda a: mt.from_numpy(a).requires_grad_(), mt.from_numpy)
    # a parameter whose storage is a transposed (F-ordered) view
    strided = run(lambda a: mt.from_numpy(np.ascontiguousarray(a.T)).t().detach()
                  .requires_grad_(), lambda g: mt.from_numpy(np.asfortranarray(g)))
    np.testing.assert_allclose(strided, plain, rtol=1e-14)
    half = run(lambda a: mt.from_numpy(a.astype(np.float16)).requires_grad_(),
               lambda g: mt.from_numpy(g.astype(np.float16)))
    assert half.dtype == np.float16
    np.testing.assert_allclose(half, plain, rtol=2e-2, atol=2e-2)


def test_step_with_closure_runs_it_with_grad_enabled():
    w, b = params()
    opt = mt.optim.SGD([w, b], lr=0.1)
    seen = []

    def closure():
        seen.append(mt.is_grad_enabled())
        opt.zero_grad()
        loss = (w.sum() + b.sum()) ** 2
        loss.backward()
        return loss

    with mt.no_grad():
        loss = opt.step(closure)
    assert seen == [True]
    assert isinstance(loss, mt.Tensor) and loss.grad_fn is not None
    assert opt.step() is None
    assert opt.step(lambda: 3.5) == 3.5


def test_zero_grad():
    w, b = params()
    opt = mt.optim.SGD([w, b])
    opt.zero_grad()                                   # no grads yet: nothing to do
    assert w.grad is None
    give_grads([w, b])
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and not np.any(w.grad.numpy()) and not np.any(b.grad.numpy())
    assert not w.grad.requires_grad
    opt.zero_grad(set_to_none=False)                  # idempotent
    assert w.grad is g and not np.any(w.grad.numpy())
    opt.zero_grad()
    assert w.grad is None and b.grad is None
    opt.zero_grad()
    assert w.grad is None


def test_lr_changes_between_steps_are_used():
    w = mt.zeros(3, dtype=mt.float64, requires_grad=True)
    opt = mt.optim.SGD([w], lr=0.1)
    w.grad = mt.ones(3, dtype=mt.float64)
    opt.step()
    opt.param_groups[0]["lr"] = 1.0
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), -1.1)


def test_sgd_first_momentum_step_has_no_dampening():
    w = mt.zeros(2, dtype=mt.float64, requires_grad=True)
    opt = mt.optim.SGD([w], lr=1.0, momentum=0.9, dampening=0.5)
    w.grad = mt.ones(2, dtype=mt.float64)
    opt.step()
    np.testing.assert_allclose(opt.state[w]["momentum_buffer"].numpy(), 1.0)   # buf = g
    opt.step()
    np.testing.assert_allclose(opt.state[w]["momentum_buffer"].numpy(), 0.9 + 0.5)
    np.testing.assert_allclose(w.detach().numpy(), -1.0 - 1.4)


def test_adam_first_step_moves_by_lr():
    w = mt.zeros(3, dtype=mt.float64, requires_grad=True)
    opt = mt.optim.Adam([w], lr=0.01)
    w.grad = mt.tensor([1.0, -2.0, 1e-3], dtype=mt.float64)
    opt.step()
    # bias correction makes the first update lr * sign(g) (up to eps)
    np.testing.assert_allclose(w.detach().numpy(), [-0.01, 0.01, -0.01], rtol=1e-4)


# ---- state and state_dict ---------------------------------------------------------------
def test_state_layout_and_step_dtype():
    w, b = params()
    give_grads([w, b])
    opt = mt.optim.Adam([w, b], amsgrad=True)
    opt.step()
    st = opt.state[w]
    assert list(st) == ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    assert st["step"].shape == () and st["step"].dtype == mt.float32 and st["step"].item() == 1
    assert st["exp_avg"].shape == w.shape and st["exp_avg"].dtype == w.dtype
    assert list(mt.optim.SGD([w], momentum=0.9).state) == []
    ada = mt.optim.Adagrad([w], initial_accumulator_value=0.25)
    assert list(ada.state[w]) == ["step", "sum"]
    np.testing.assert_array_equal(ada.state[w]["sum"].numpy(), 0.25)
    rms = mt.optim.RMSprop([w], momentum=0.5, centered=True)
    rms.step()
    assert list(rms.state[w]) == ["step", "square_avg", "momentum_buffer", "grad_avg"]


def test_step_counter_follows_the_default_dtype():
    old = mt.get_default_dtype()
    mt.set_default_dtype(mt.float64)
    try:
        w = mt.zeros(2, requires_grad=True)
        w.grad = mt.ones(2)
        opt = mt.optim.Adam([w])
        opt.step()
        assert opt.state[w]["step"].dtype == mt.float64
    finally:
        mt.set_default_dtype(old)


def test_state_dict_structure():
    w, b = params()
    give_grads([w, b])
    opt = mt.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    opt.step()
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][1]["params"] == [1]
    assert sd["param_groups"][1]["lr"] == 0.5
    assert set(sd["state"]) == {0, 1}
    assert sd["state"][0]["momentum_buffer"] is opt.state[w]["momentum_buffer"]
    assert "params" in opt.param_groups[0]                  # the optimizer's own groups intact


@pytest.mark.parametrize("cls,kwargs", ALL, ids=IDS)
def test_state_dict_round_trip_continues_identically(cls, kwargs):
    ps = params(mt.float64)
    opt = cls(ps, **kwargs)
    for seed in range(3):
        give_grads(ps, seed)
        opt.step()
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    twins = [mt.from_numpy(p.detach().numpy().copy()).requires_grad_() for p in ps]
    twin_opt = cls(twins, lr=99.0)
    twin_opt.load_state_dict(saved)
    assert twin_opt.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    assert twin_opt.param_groups[0]["params"] == twins
    for seed in range(3, 6):
        give_grads(ps, seed)
        give_grads(twins, seed)
        opt.step()
        twin_opt.step()
    for p, q in zip(ps, twins):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_load_state_dict_casts_to_the_param_dtype_and_checks_sizes():
    w64 = mt.zeros(3, dtype=mt.float64, requires_grad=True)
    w64.grad = mt.ones(3, dtype=mt.float64)
    opt = mt.optim.Adam([w64])
    opt.step()
    w32 = mt.zeros(3, requires_grad=True)
    opt32 = mt.optim.Adam([w32])
    opt32.load_state_dict(opt.state_dict())
    assert opt32.state[w32]["exp_avg"].dtype == mt.float32
    assert opt32.state[w32]["step"].dtype == mt.float32
    w32.grad = mt.ones(3)
    opt32.step()
    assert opt32.state[w32]["step"].item() == 2
    with pytest.raises(ValueError, match="different number of parameter groups"):
        mt.optim.Adam([{"params": [w32]}, {"params": [w64]}]).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        mt.optim.Adam([w32, mt.zeros(1, requires_grad=True)]).load_state_dict(opt.state_dict())


def test_load_state_dict_accepts_a_plain_number_step():
    w = mt.zeros(3, dtype=mt.float64, requires_grad=True)
    w.grad = mt.ones(3, dtype=mt.float64)
    opt = mt.optim.Adam([w])
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["step"] = 1                          # an older checkpoint format
    opt.load_state_dict(sd)
    opt.step()
    assert opt.state[w]["step"].item() == 2


def test_deepcopy_and_pickle_of_an_optimizer():
    ps = params()
    give_grads(ps)
    opt = mt.optim.Adam(ps)
    opt.step()
    clone = copy.deepcopy(opt)
    assert clone.param_groups[0]["params"][0] is not ps[0]
    restored = pickle.loads(pickle.dumps(opt))
    assert restored.defaults == opt.defaults


def test_repr():
    text = repr(mt.optim.SGD(params(), lr=0.1))
    assert text.startswith("SGD (\nParameter Group 0\n    dampening: 0\n")
    assert "    lr: 0.1\n" in text and text.endswith("\n)")
    assert "params" not in text


def test_no_warnings_in_a_normal_loop():
    ps = params()
    opt = mt.optim.Adam(ps)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for seed in range(3):
            opt.zero_grad()
            give_grads(ps, seed)
            opt.step()


# ---- one call per group (foreach) against the per-parameter path ------------------------
FOREACH_ALL = ALL + [
    (mt.optim.SGD, {"lr": 0.1, "momentum": 0.5, "dampening": 0.3, "maximize": True}),
    (mt.optim.Adam, {"lr": 0.01, "betas": (0.2, 0.5), "weight_decay": 0.1}),
    (mt.optim.AdamW, {"amsgrad": True, "weight_decay": 0.3}),
    (mt.optim.RMSprop, {"momentum": 0.5}),
    (mt.optim.RMSprop, {"centered": True, "maximize": True}),
    (mt.optim.Adagrad, {"initial_accumulator_value": 0.5, "maximize": True}),
]
FOREACH_IDS = [f"{c.__name__}-{i}" for i, (c, _) in enumerate(FOREACH_ALL)]


def mixed_params():
    """Parameters the foreach kernel takes (float32, float64, 0-d, empty, large) and ones it
    hands back to the per-parameter path (float16, an F-ordered view)."""
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(7),
              np.array(0.5), np.zeros((0, 4), np.float32),
              rng.standard_normal(3 * 65536 + 5).astype(np.float32),
              rng.standard_normal((4, 2)).astype(np.float16),
              np.asfortranarray(rng.standard_normal((3, 6)))]
    return [mt.from_numpy(a.copy()).requires_grad_() for a in arrays]


def run_steps(cls, kwargs, steps=4, **flags):
    """Params after `steps` steps, each with fresh gradients, one parameter skipped on
    the second step (so per-parameter step counts differ)."""
    ps = mixed_params()
    opt = cls(ps, **kwargs, **flags)
    rng = np.random.default_rng(12)
    for step in range(steps):
        for i, p in enumerate(ps):
            a = p.detach().numpy()
            p.grad = None if (step == 1 and i == 1) else \
                mt.from_numpy(rng.standard_normal(a.shape).astype(a.dtype))
        opt.step()
    return ps, opt


@pytest.mark.parametrize("cls,kwargs", FOREACH_ALL, ids=FOREACH_IDS)
def test_one_call_step_is_bit_identical_to_the_per_parameter_step(cls, kwargs, monkeypatch):
    calls = []
    module = sys.modules[cls.step.__module__]            # where step() finds its kernel
    name = next(n for n in vars(module) if n.endswith("_step_foreach"))
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a: calls.append(1) or real(*a))
    default, opt_default = run_steps(cls, kwargs)
    assert len(calls) == 4                       # one kernel call per group and step
    loop, opt_loop = run_steps(cls, kwargs, foreach=False)
    assert len(calls) == 4                       # ... and none with foreach=False
    for a, b in zip(default, loop):
        assert a._version[0] == b._version[0]
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), strict=True)
    for a, b in zip(opt_default.state.values(), opt_loop.state.values()):
        for key in a:
            np.testing.assert_array_equal(np.asarray(a[key].numpy()), np.asarray(b[key].numpy()))
    fused, _ = run_steps(cls, kwargs, **({"fused": True} if cls is not mt.optim.RMSprop
                                          else {"foreach": True}))
    for a, b in zip(fused, loop):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), strict=True)


@pytest.mark.parametrize("flags,one_call", [
    ({}, True), ({"foreach": True}, True), ({"fused": True}, True),
    ({"foreach": False}, False), ({"fused": False}, False),
    ({"foreach": True, "fused": False}, True), ({"foreach": False, "fused": False}, False),
])
def test_foreach_and_fused_choose_the_path_like_pytorch(flags, one_call):
    from microtorch.optim.optimizer import _one_call
    assert _one_call({"foreach": None, "fused": None, **flags}) is one_call


@pytest.mark.parametrize("cls", [mt.optim.SGD, mt.optim.Adam, mt.optim.AdamW,
                                 mt.optim.Adagrad])
def test_fused_is_validated_like_pytorch(cls):
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        cls(params(), fused=True, foreach=True)
    with pytest.raises(RuntimeError, match="`fused` does not support `differentiable`"):
        cls(params(), fused=True, differentiable=True)
    cls(params(), fused=False, foreach=True)
    assert "fused" not in mt.optim.RMSprop(params()).defaults


def test_adam_tensor_lr_with_foreach_is_refused_like_pytorch():
    with pytest.raises(ValueError, match="lr as a Tensor is not supported for "
                                         "capturable=False and foreach=True"):
        mt.optim.Adam(params(), lr=mt.tensor(0.01), foreach=True)
    mt.optim.Adam(params(), lr=mt.tensor(0.01))


def test_foreach_kernels_skip_what_they_cannot_take_and_check_list_lengths():
    p32, g32 = np.zeros(4, np.float32), np.ones(4, np.float32)
    p16, g16 = np.zeros(4, np.float16), np.ones(4, np.float16)
    strided = np.zeros(8)[::2]
    short = np.zeros(3, np.float32)
    skipped = K.sgd_step_foreach([p32, p16, strided, short], [g32, g16, np.ones(4), g32],
                                 None, None, 0.5, 0.0, 0.0, 0.0, False, False)
    assert skipped == [1, 2, 3]
    np.testing.assert_array_equal(p32, -0.5)
    for untouched in (p16, strided, short):
        np.testing.assert_array_equal(untouched, 0)
    with pytest.raises(ValueError, match="sgd_step_foreach: grads has 1 entries for 2 params"):
        K.sgd_step_foreach([p32, p32], [g32], None, None, 0.1, 0.0, 0.0, 0.0, False, False)
    with pytest.raises(ValueError, match="adam_step_foreach: 1 step counts for 2 params"):
        K.adam_step_foreach([p32, p32], [g32, g32], [p32, p32], [p32, p32], None, [1.0],
                            0.1, 0.9, 0.99, 1e-8, 0.0, False, False, False)
    with pytest.raises(TypeError):
        K.adagrad_step_foreach([p32], [g32], (p32,), [1.0], 0.1, 0.0, 0.0, 1e-10, False)
    with pytest.raises(TypeError, match="centered needs grad_avgs"):
        K.rmsprop_step_foreach([p32], [g32], [p32], None, None, 0.1, 0.9, 1e-8, 0.0, 0.0,
                               True, False)
    assert K.sgd_step_foreach([], [], None, None, 0.1, 0.0, 0.0, 0.0, False, False) == []
