"""microtorch.optim.lr_scheduler on its own (PyTorch parity is in test_optim_parity.py)."""
import copy
import math
import pickle
import warnings

import numpy as np
import pytest

import microtorch as mt
from microtorch.optim import lr_scheduler as S


def make_opt(lrs=(0.1,)):
    return mt.optim.SGD([{"params": [mt.zeros(1, requires_grad=True)], "lr": lr}
                         for lr in lrs], lr=0.5)


def lrs_over(opt, sched, epochs, metrics=None):
    out = [[g["lr"] for g in opt.param_groups]]
    for e in range(epochs):
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[e])
        out.append([g["lr"] for g in opt.param_groups])
    return np.array(out)


def test_base_sets_initial_lr_and_applies_the_first_epoch():
    opt = make_opt((0.1, 0.2))
    sched = S.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.2]
    assert sched.base_lrs == [0.1, 0.2] and sched.last_epoch == 0
    assert sched.get_last_lr() == [0.1, 0.2]
    assert isinstance(sched, S.LRScheduler)


def test_step_lr():
    opt = make_opt()
    got = lrs_over(opt, S.StepLR(opt, step_size=3, gamma=0.5), 7)
    np.testing.assert_allclose(got[:, 0], [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025])


def test_multi_step_lr_counts_repeated_milestones():
    opt = make_opt()
    got = lrs_over(opt, S.MultiStepLR(opt, milestones=[4, 2, 4], gamma=0.1), 5)
    np.testing.assert_allclose(got[:, 0], [0.1, 0.1, 0.01, 0.01, 1e-4, 1e-4])


def test_exponential_lr():
    opt = make_opt()
    got = lrs_over(opt, S.ExponentialLR(opt, gamma=0.5), 4)
    np.testing.assert_allclose(got[:, 0], [0.1, 0.05, 0.025, 0.0125, 0.00625])


def test_cosine_annealing_follows_the_closed_form_and_comes_back_up():
    opt = make_opt()
    T, low = 6, 0.01
    got = lrs_over(opt, S.CosineAnnealingLR(opt, T_max=T, eta_min=low), 2 * T)[:, 0]
    want = [low + (0.1 - low) * (1 + math.cos(math.pi * t / T)) / 2 for t in range(2 * T + 1)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[T] == pytest.approx(low)


def test_lambda_lr_per_group():
    opt = make_opt((0.1, 1.0))
    got = lrs_over(opt, S.LambdaLR(opt, [lambda e: 0.5 ** e, lambda e: e + 1]), 3)
    np.testing.assert_allclose(got, [[0.1, 1.0], [0.05, 2.0], [0.025, 3.0], [0.0125, 4.0]])
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        S.LambdaLR(make_opt((0.1, 1.0)), [lambda e: 1.0])


def test_chained_schedulers_compose():
    opt = make_opt()
    a, b = S.ExponentialLR(opt, 0.5), S.StepLR(opt, 2, gamma=0.1)
    for _ in range(2):
        opt.step()
        a.step()
        b.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.25 * 0.1)


def test_reduce_lr_on_plateau():
    opt = make_opt((1.0, 0.1))
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=[0.2, 0.0])
    metrics = [5, 4, 4, 4, 4, 4, 4, 3]
    got = lrs_over(opt, sched, len(metrics), metrics)
    # bad epochs: 2 (no change), 3 (> patience: halve), 4 (cooldown), 5, 6 (halve), 7 better
    np.testing.assert_allclose(got[:, 0], [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])
    np.testing.assert_allclose(got[:, 1], [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025])
    assert sched.get_last_lr() == [0.25, 0.025] and sched.last_epoch == len(metrics)
    assert "initial_lr" not in opt.param_groups[0]


def test_reduce_lr_on_plateau_modes_min_lr_and_eps():
    opt = make_opt()
    sched = S.ReduceLROnPlateau(opt, mode="max", patience=0, threshold=0.5,
                                threshold_mode="abs", min_lr=0.03)
    got = lrs_over(opt, sched, 4, [1.0, 1.4, 2.0, 2.1])[:, 0]
    np.testing.assert_allclose(got, [0.1, 0.1, 0.03, 0.03, 0.03])   # floor at min_lr
    opt = make_opt((1e-8,))
    sched = S.ReduceLROnPlateau(opt, patience=0)
    got = lrs_over(opt, sched, 3, [1, 1, 1])[:, 0]
    np.testing.assert_allclose(got, 1e-8)                  # changes below eps are skipped
    assert sched.is_better(0.5, 1.0) and not sched.is_better(0.99995, 1.0)


@pytest.mark.parametrize("kwargs,message", [
    ({"factor": 1.0}, "Factor should be < 1.0."),
    ({"mode": "avg"}, "mode avg is unknown!"),
    ({"threshold_mode": "pct"}, "threshold mode pct is unknown!"),
    ({"min_lr": [0.1, 0.2]}, "expected 1 min_lrs, got 2"),
])
def test_reduce_lr_on_plateau_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        S.ReduceLROnPlateau(make_opt(), **kwargs)


def test_reduce_lr_on_plateau_state_dict():
    opt = make_opt()
    sched = S.ReduceLROnPlateau(opt, mode="max", patience=2)
    lrs_over(opt, sched, 3, [1.0, 0.5, 0.5])
    state = pickle.loads(pickle.dumps(sched.state_dict()))
    assert "optimizer" not in state and state["num_bad_epochs"] == 2 and state["best"] == 1.0
    other = S.ReduceLROnPlateau(make_opt())
    other.load_state_dict(state)
    assert other.mode == "max" and other.num_bad_epochs == 2
    assert other.is_better(2.0, 1.0)


def test_errors():
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        S.StepLR([], 3)
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in "
                                       "param_groups\\[0\\] when resuming"):
        S.StepLR(make_opt(), 3, last_epoch=4)


def test_warnings():
    opt = make_opt()
    sched = S.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before "
                                         "`optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()
    with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)`"):
        sched.step(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2 = make_opt()
        sched2 = S.ExponentialLR(opt2, 0.9)
        opt2.step()
        sched2.step()


def test_explicit_epoch_uses_the_closed_form():
    opt = make_opt()
    sched = S.StepLR(opt, 3, gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning):
        sched.step(7)
    assert sched.last_epoch == 7 and opt.param_groups[0]["lr"] == pytest.approx(0.025)


def test_state_dict_round_trip_resumes_the_schedule():
    opt = make_opt()
    sched = S.CosineAnnealingLR(opt, T_max=10)
    lrs_over(opt, sched, 4)
    saved = copy.deepcopy(sched.state_dict())
    assert "optimizer" not in saved and saved["last_epoch"] == 4
    expected = lrs_over(opt, sched, 5)

    opt2 = make_opt()
    opt2.param_groups[0]["lr"] = saved["_last_lr"][0]
    sched2 = S.CosineAnnealingLR(opt2, T_max=10)
    sched2.load_state_dict(saved)
    np.testing.assert_allclose(lrs_over(opt2, sched2, 5), expected, rtol=1e-12)


def test_lambda_lr_state_dict_saves_callable_objects_only():
    class Warmup:
        def __init__(self):
            self.factor = 2.0

        def __call__(self, epoch):
            return self.factor * epoch

    opt = make_opt((0.1, 0.1))
    fn = Warmup()
    sched = S.LambdaLR(opt, [fn, lambda e: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"factor": 2.0}, None]
    fn.factor = 5.0
    sched.load_state_dict(state)
    assert fn.factor == 2.0 and "lr_lambdas" in state


def test_optimizer_still_copies_and_pickles_with_a_scheduler():
    opt = make_opt()
    S.StepLR(opt, 2)
    assert getattr(opt.step, "_wrapped_by_lr_sched", False)
    S.ExponentialLR(opt, 0.9)                       # wrapped only once
    assert not hasattr(opt.step.__wrapped__, "_wrapped_by_lr_sched")
    clone = copy.deepcopy(opt)
    assert "step" not in clone.__dict__
    pickle.loads(pickle.dumps(opt))
