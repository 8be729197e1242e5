"""Compiled loss kernels against their numpy twins and against PyTorch 2.13."""
import numpy as np
import pytest
import reference_ops as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from microtorch import _kernels as K

DTYPES = [np.float32, np.float64]
REDUCTIONS = {K.REDUCTION_NONE: "none", K.REDUCTION_MEAN: "mean", K.REDUCTION_SUM: "sum"}
TOL = {np.float32: {"rtol": 3e-5, "atol": 3e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}
IGNORE = -100


def assert_close(got, expected, dtype, scale=1.0):
    tol = TOL[dtype]
    np.testing.assert_allclose(got, expected, rtol=tol["rtol"], atol=tol["atol"] * scale,
                               equal_nan=True)


def random(shape, dtype, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def uniform(shape, dtype, seed=0, lo=0.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dtype)


def out_for(n, reduction, dtype):
    return np.full(n if reduction == K.REDUCTION_NONE else 1, np.nan, dtype)


# --------------------------------------------------------- pointwise losses
#
# name -> (needs probabilities as input, takes weight, takes pos_weight)
POINTWISE = {
    "mse": (False, False, False),
    "l1": (False, False, False),
    "bce": (True, True, False),
    "bce_with_logits": (False, True, True),
}


def pointwise_args(name, x, t, w, pw):
    """The optional arguments each pointwise kernel takes, in contract order."""
    _, takes_weight, takes_pos_weight = POINTWISE[name]
    return (x, t) + ((w,) if takes_weight else ()) + ((pw,) if takes_pos_weight else ())


def run_pointwise(name, x, t, w, pw, reduction, grad):
    """Run forward and backward of a kernel and its twin; return both pairs."""
    forward, backward = getattr(K, name + "_forward"), getattr(K, name + "_backward")
    args = pointwise_args(name, x, t, w, pw)
    out = out_for(x.size, reduction, x.dtype)
    forward(*args, out, reduction)
    grad_in = np.full_like(x, np.nan)
    backward(grad, *args, grad_in, reduction)
    expected = getattr(ref, name + "_forward")(*args, out, reduction)
    expected_grad = getattr(ref, name + "_backward")(grad, *args, grad_in, reduction)
    return (out, grad_in), (expected, expected_grad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(POINTWISE))
@settings(deadline=None, max_examples=30)
@given(n=st.integers(0, 40), reduction=st.sampled_from(list(REDUCTIONS)),
       weighted=st.booleans(), pos_weighted=st.booleans(), seed=st.integers(0, 2**16))
def test_pointwise_losses_match_reference(name, dtype, n, reduction, weighted, pos_weighted,
                                          seed):
    probs = POINTWISE[name][0]
    x = uniform(n, dtype, seed) if probs else random(n, dtype, seed, 4)
    t = uniform(n, dtype, seed + 1) if name.startswith("bce") else random(n, dtype, seed + 1)
    w = uniform(n, dtype, seed + 2, 0.1, 2) if weighted else None
    pw = uniform(n, dtype, seed + 3, 0.1, 3) if pos_weighted else None
    grad = random(n if reduction == K.REDUCTION_NONE else 1, dtype, seed + 4)
    (out, grad_in), (expected, expected_grad) = run_pointwise(name, x, t, w, pw, reduction, grad)
    assert_close(out, expected, dtype, scale=max(1, n))
    assert_close(grad_in, expected_grad, dtype, scale=10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(POINTWISE))
@pytest.mark.parametrize("n", [65535, 3 * 65536 + 5])
def test_pointwise_losses_large_and_thread_independent(name, dtype, n):
    probs = POINTWISE[name][0]
    x = uniform(n, dtype, 1) if probs else random(n, dtype, 1, 4)
    t = uniform(n, dtype, 2)
    w = uniform(n, dtype, 3, 0.5, 2)
    for reduction in REDUCTIONS:
        grad = random(n if reduction == K.REDUCTION_NONE else 1, dtype, 4)
        (out, grad_in), (expected, expected_grad) = run_pointwise(name, x, t, w, w, reduction,
                                                                  grad)
        assert_close(out, expected, dtype, scale=n if reduction == K.REDUCTION_SUM else 10)
        assert_close(grad_in, expected_grad, dtype, scale=10)
    before = K.get_num_threads()
    try:
        K.set_num_threads(1)
        serial = out_for(n, K.REDUCTION_SUM, dtype)
        getattr(K, name + "_forward")(*pointwise_args(name, x, t, w, w), serial, K.REDUCTION_SUM)
    finally:
        K.set_num_threads(before)
    np.testing.assert_array_equal(serial, out)             # bitwise: fixed-block partial sums


def torch_pointwise(torch, name, x, t, w, pw, reduction):
    """The PyTorch loss and d loss / d x for the same arguments."""
    F = torch.nn.functional
    X = torch.from_numpy(x).requires_grad_()
    T = torch.from_numpy(t)
    W = None if w is None else torch.from_numpy(w)
    kwargs = {"reduction": REDUCTIONS[reduction]}
    if name == "mse":
        loss = F.mse_loss(X, T, **kwargs)
    elif name == "l1":
        loss = F.l1_loss(X, T, **kwargs)
    elif name == "bce":
        loss = F.binary_cross_entropy(X, T, weight=W, **kwargs)
    else:
        loss = F.binary_cross_entropy_with_logits(
            X, T, weight=W, pos_weight=None if pw is None else torch.from_numpy(pw), **kwargs)
    return loss, X


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(POINTWISE))
@pytest.mark.parametrize("reduction", list(REDUCTIONS))
def test_pointwise_losses_match_torch(name, reduction, dtype):
    torch = pytest.importorskip("torch")
    n = 257
    probs = POINTWISE[name][0]
    x = uniform(n, dtype, 5) if probs else random(n, dtype, 5, 3)
    t = uniform(n, dtype, 6)
    if probs:                                  # exercise the log clamp and the 1e-12 floor
        x[:4] = [0.0, 1.0, 0.0, 1.0]
        t[:4] = [0.0, 1.0, 1.0, 0.0]
    if name in ("mse", "l1"):
        x[:3] = t[:3]                          # sign(0) = 0 in the L1 gradient
    w = uniform(n, dtype, 7, 0.1, 2) if POINTWISE[name][1] else None
    pw = uniform(n, dtype, 8, 0.1, 3) if POINTWISE[name][2] else None
    grad = random(n if reduction == K.REDUCTION_NONE else 1, dtype, 9)
    (out, grad_in), _ = run_pointwise(name, x, t, w, pw, reduction, grad)
    loss, X = torch_pointwise(torch, name, x, t, w, pw, reduction)
    loss.backward(torch.from_numpy(grad).reshape(loss.shape))
    finite = np.isfinite(X.grad.numpy())
    assert_close(out, loss.detach().numpy().reshape(-1), dtype, scale=10)
    assert_close(grad_in[finite], X.grad.numpy()[finite], dtype, scale=10)
    np.testing.assert_array_equal(grad_in[~finite], X.grad.numpy()[~finite])


@pytest.mark.parametrize("dtype", DTYPES)
def test_special_values_like_torch(dtype):
    torch = pytest.importorskip("torch")
    nan, inf = np.nan, np.inf
    x = np.array([nan, 1.0, -inf, inf, 0.0, -0.0], dtype)
    t = np.array([0.5, nan, 1.0, 2.0, 0.0, 1.0], dtype)
    for name in ("mse", "l1"):
        (out, grad_in), _ = run_pointwise(name, x, t, None, None, K.REDUCTION_NONE, np.ones_like(x))
        loss, X = torch_pointwise(torch, name, x, t, None, None, K.REDUCTION_NONE)
        loss.backward(torch.ones_like(loss))
        np.testing.assert_array_equal(out, loss.detach().numpy())
        np.testing.assert_array_equal(grad_in, X.grad.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", list(REDUCTIONS))
def test_bce_with_logits_is_stable_at_1000(dtype, reduction):
    torch = pytest.importorskip("torch")
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0, 1000.0, -1000.0], dtype)
    t = np.array([0.0, 1.0, 0.5, 0.0, 1.0, 0.0, 1.0], dtype)
    pw = np.full_like(x, 2.5)
    grad = np.ones(x.size if reduction == K.REDUCTION_NONE else 1, dtype)
    with np.errstate(all="raise"):
        out = out_for(x.size, reduction, dtype)
        K.bce_with_logits_forward(x, t, None, pw, out, reduction)
        grad_in = np.empty_like(x)
        K.bce_with_logits_backward(grad, x, t, None, pw, grad_in, reduction)
    loss, X = torch_pointwise(torch, "bce_with_logits", x, t, None, pw, reduction)
    loss.backward(torch.from_numpy(grad).reshape(loss.shape))
    assert np.all(np.isfinite(out))
    assert_close(out, loss.detach().numpy().reshape(-1), dtype, scale=1000)
    assert_close(grad_in, X.grad.numpy(), dtype)


@pytest.mark.parametrize("bad", [1.5, -0.25, np.nan, np.inf])
def test_bce_rejects_input_outside_unit_interval(bad):
    x = np.full(100, 0.5)
    x[37] = bad
    with pytest.raises(ValueError, match="^all elements of input should be between 0 and 1$"):
        K.bce_forward(x, np.zeros(100), None, np.empty(1), K.REDUCTION_MEAN)
    with pytest.raises(ValueError, match="between 0 and 1"):
        ref.bce_forward(x, np.zeros(100), None, None, K.REDUCTION_MEAN)


def test_pointwise_argument_errors():
    x = np.ones(5)
    with pytest.raises(TypeError, match="mse_forward: expected float32 or float64 arrays of one "
                                        "dtype, got float64, float32 and float64"):
        K.mse_forward(x, x.astype(np.float32), np.empty(1), K.REDUCTION_MEAN)
    with pytest.raises(ValueError, match="reduction"):
        K.mse_forward(x, x, np.empty(1), 3)
    with pytest.raises(ValueError, match=r"out has shape \(1,\), expected \(5,\)"):
        K.mse_forward(x, x, np.empty(1), K.REDUCTION_NONE)
    with pytest.raises(ValueError, match=r"grad has shape \(5,\), expected \(1,\)"):
        K.l1_backward(x, x, x, np.empty(5), K.REDUCTION_SUM)
    with pytest.raises(ValueError, match=r"weight has shape \(4,\)"):
        K.bce_forward(x * 0.5, x, np.ones(4), np.empty(1), K.REDUCTION_SUM)
    with pytest.raises(ValueError, match="C-contiguous"):
        K.bce_with_logits_forward(np.ones(10)[::2], x, None, None, np.empty(1), K.REDUCTION_SUM)
    with pytest.raises(ValueError, match="read-only"):
        frozen = np.empty(1)
        frozen.setflags(write=False)
        K.mse_forward(x, x, frozen, K.REDUCTION_SUM)


# -------------------------------------------------- cross-entropy and NLL

def ce_case(n, c, dtype, seed, ignore_some=True, weighted=True):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((n, c)) * 3).astype(dtype)
    target = rng.integers(0, max(c, 1), n).astype(np.int64)
    if ignore_some and n:
        target[rng.random(n) < 0.2] = IGNORE
    weight = rng.uniform(0.1, 2.0, c).astype(dtype) if weighted else None
    return logits, target, weight


def run_ce(logits, target, weight, eps, reduction, grad, ignore_index=IGNORE):
    n = logits.shape[0]
    log_probs = np.full_like(logits, np.nan)
    out = out_for(n, reduction, logits.dtype)
    denom = K.cross_entropy_forward(logits, target, weight, ignore_index, eps, log_probs, out,
                                    reduction)
    grad_in = np.full_like(logits, np.nan)
    K.cross_entropy_backward(grad, log_probs, target, weight, ignore_index, eps, grad_in,
                             reduction, denom)
    return out, log_probs, denom, grad_in


def torch_ce(torch, logits, target, weight, eps, reduction, grad, ignore_index=IGNORE, probs=False):
    X = torch.from_numpy(logits).requires_grad_()
    loss = torch.nn.functional.cross_entropy(
        X, torch.from_numpy(target), weight=None if weight is None else torch.from_numpy(weight),
        ignore_index=ignore_index, label_smoothing=eps, reduction=REDUCTIONS[reduction])
    loss.backward(torch.from_numpy(grad).reshape(loss.shape))
    return loss.detach().numpy().reshape(-1), X.grad.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@settings(deadline=None, max_examples=40)
@given(n=st.integers(0, 9), c=st.integers(1, 7), eps=st.sampled_from([0.0, 0.1, 1.0]),
       reduction=st.sampled_from(list(REDUCTIONS)), weighted=st.booleans(),
       seed=st.integers(0, 2**16))
def test_cross_entropy_matches_reference(dtype, n, c, eps, reduction, weighted, seed):
    logits, target, weight = ce_case(n, c, dtype, seed, weighted=weighted)
    grad = random(n if reduction == K.REDUCTION_NONE else 1, dtype, seed + 1)
    out, log_probs, denom, grad_in = run_ce(logits, target, weight, eps, reduction, grad)
    e_out, e_lp, e_denom = ref.cross_entropy_forward(logits, target, weight, IGNORE, eps, None,
                                                     None, reduction)
    e_grad = ref.cross_entropy_backward(grad, e_lp, target, weight, IGNORE, eps, grad_in,
                                        reduction, e_denom)
    assert denom == pytest.approx(e_denom, rel=TOL[dtype]["rtol"])  # summed in the dtype
    assert_close(log_probs, e_lp, dtype, scale=10)
    assert_close(out, e_out, dtype, scale=10)
    assert_close(grad_in, e_grad, dtype, scale=10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", list(REDUCTIONS))
@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_matches_torch(dtype, reduction, eps, weighted):
    torch = pytest.importorskip("torch")
    logits, target, weight = ce_case(23, 6, dtype, 3, weighted=weighted)
    grad = random(23 if reduction == K.REDUCTION_NONE else 1, dtype, 4)
    out, _, _, grad_in = run_ce(logits, target, weight, eps, reduction, grad)
    expected, expected_grad = torch_ce(torch, logits, target, weight, eps, reduction, grad)
    assert_close(out, expected, dtype, scale=10)
    assert_close(grad_in, expected_grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(600, 128), (2, 40000), (5000, 3)])
def test_cross_entropy_large_matches_torch_and_is_thread_independent(dtype, shape):
    torch = pytest.importorskip("torch")
    logits, target, weight = ce_case(*shape, dtype, 5)
    for reduction in REDUCTIONS:
        grad = random(shape[0] if reduction == K.REDUCTION_NONE else 1, dtype, 6)
        out, _, _, grad_in = run_ce(logits, target, weight, 0.1, reduction, grad)
        expected, expected_grad = torch_ce(torch, logits, target, weight, 0.1, reduction, grad)
        assert_close(out, expected, dtype, scale=100)
        assert_close(grad_in, expected_grad, dtype)
    before = K.get_num_threads()
    try:
        K.set_num_threads(1)
        serial = run_ce(logits, target, weight, 0.1, K.REDUCTION_SUM, grad)
    finally:
        K.set_num_threads(before)
    for a, b in zip(serial, run_ce(logits, target, weight, 0.1, K.REDUCTION_SUM, grad)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_edge_cases_like_torch(dtype):
    torch = pytest.importorskip("torch")
    nan, inf = np.nan, np.inf
    logits = np.array([[1.0, nan, 0.0], [-inf, 0.0, 1.0], [1000.0, -1000.0, 0.0],
                       [nan, nan, nan], [2.0, 1.0, inf]], dtype)
    target = np.array([0, 1, 1, IGNORE, 2], np.int64)
    for reduction in REDUCTIONS:
        for eps in (0.0, 0.3):
            grad = np.ones(5 if reduction == K.REDUCTION_NONE else 1, dtype)
            with np.errstate(all="raise"):
                out, _, _, grad_in = run_ce(logits, target, None, eps, reduction, grad)
            expected, expected_grad = torch_ce(torch, logits, target, None, eps, reduction, grad)
            assert_close(out, expected, dtype)
            assert_close(grad_in, expected_grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [0.0, 0.4])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_mean_over_no_rows_is_nan(dtype, eps, weighted):
    torch = pytest.importorskip("torch")
    for n in (0, 3):
        logits, _, weight = ce_case(n, 4, dtype, 8, weighted=weighted)
        target = np.full(n, IGNORE, np.int64)
        out, _, denom, grad_in = run_ce(logits, target, weight, eps, K.REDUCTION_MEAN,
                                        np.ones(1, dtype))
        expected, expected_grad = torch_ce(torch, logits, target, weight, eps, K.REDUCTION_MEAN,
                                           np.ones(1, dtype))
        assert denom == 0 and np.isnan(out[0]) and np.isnan(expected[0])
        np.testing.assert_array_equal(grad_in, expected_grad)


def test_cross_entropy_custom_ignore_index_in_range():
    torch = pytest.importorskip("torch")
    logits, _, weight = ce_case(6, 4, np.float64, 9)
    target = np.array([0, 2, 2, 1, 3, 2], np.int64)
    grad = np.ones(1)
    out, _, denom, grad_in = run_ce(logits, target, weight, 0.1, K.REDUCTION_MEAN, grad,
                                    ignore_index=2)
    expected, expected_grad = torch_ce(torch, logits, target, weight, 0.1, K.REDUCTION_MEAN, grad,
                                       ignore_index=2)
    assert denom == pytest.approx(weight[[0, 1, 3]].sum())
    assert_close(out, expected, np.float64)
    assert_close(grad_in, expected_grad, np.float64)
    assert np.all(grad_in[[1, 2, 5]] == 0)


@pytest.mark.parametrize("bad", [7, 4, -1, -101])
def test_bad_class_index_raises_index_error(bad):
    logits = np.zeros((5, 4))
    target = np.array([0, 1, bad, 2, IGNORE], np.int64)
    message = rf"^Target {bad} is out of bounds\.$"
    with pytest.raises(IndexError, match=message):
        K.cross_entropy_forward(logits, target, None, IGNORE, 0.0, np.empty_like(logits),
                                np.empty(1), K.REDUCTION_MEAN)
    with pytest.raises(IndexError, match=message):
        K.cross_entropy_backward(np.ones(1), logits, target, None, IGNORE, 0.0,
                                 np.empty_like(logits), K.REDUCTION_MEAN, 4.0)
    with pytest.raises(IndexError, match=message):
        K.nll_forward(logits, target, None, IGNORE, np.empty(1), K.REDUCTION_MEAN)
    with pytest.raises(IndexError, match=message):
        K.nll_backward(np.ones(1), target, None, IGNORE, np.empty_like(logits),
                       K.REDUCTION_MEAN, 4.0)
    with pytest.raises(IndexError, match=message):
        ref.cross_entropy_forward(logits, target, None, IGNORE, 0.0, None, None,
                                  K.REDUCTION_MEAN)


def test_cross_entropy_argument_errors():
    logits = np.zeros((3, 4), np.float32)
    target = np.array([0, 1, 2], np.int64)
    args = (IGNORE, 0.0, np.empty_like(logits), np.empty(1, np.float32), K.REDUCTION_MEAN)
    with pytest.raises(TypeError, match="int64 target, got int32"):
        K.cross_entropy_forward(logits, target.astype(np.int32), None, *args)
    with pytest.raises(TypeError, match="got float32, float64, float32 and float32"):
        K.cross_entropy_forward(logits, target, np.ones(4), *args)
    with pytest.raises(ValueError, match=r"weight has shape \(3,\), expected \(4,\)"):
        K.cross_entropy_forward(logits, target, np.ones(3, np.float32), *args)
    with pytest.raises(ValueError, match=r"target has shape \(2,\), expected \(3,\)"):
        K.cross_entropy_forward(logits, target[:2], None, *args)
    with pytest.raises(ValueError, match="label_smoothing"):
        K.cross_entropy_forward(logits, target, None, IGNORE, 1.5, *args[2:])
    with pytest.raises(ValueError, match="C-contiguous"):
        K.cross_entropy_forward(np.zeros((4, 3), np.float32).T, target, None, *args)
    with pytest.raises(ValueError, match=r"out has shape \(1,\), expected \(3,\)"):
        K.cross_entropy_forward(logits, target, None, IGNORE, 0.0, np.empty_like(logits),
                                np.empty(1, np.float32), K.REDUCTION_NONE)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_read_only_inputs(dtype):
    logits, target, weight = ce_case(8, 5, dtype, 10)
    for a in (logits, target, weight):
        a.setflags(write=False)
    out, log_probs, denom, grad_in = run_ce(logits, target, weight, 0.1, K.REDUCTION_MEAN,
                                            np.ones(1, dtype))
    e_out, e_lp, e_denom = ref.cross_entropy_forward(logits, target, weight, IGNORE, 0.1, None,
                                                     None, K.REDUCTION_MEAN)
    e_grad = ref.cross_entropy_backward(np.ones(1, dtype), e_lp, target, weight, IGNORE, 0.1,
                                        grad_in, K.REDUCTION_MEAN, e_denom)
    assert denom == pytest.approx(e_denom)
    assert_close(out, e_out, dtype)
    assert_close(log_probs, e_lp, dtype, scale=10)
    assert_close(grad_in, e_grad, dtype)


# ------------------------------------------- probability-target cross-entropy

def run_ce_prob(logits, target, weight, eps, reduction, grad):
    log_probs = np.full_like(logits, np.nan)
    out = out_for(logits.shape[0], reduction, logits.dtype)
    denom = K.cross_entropy_prob_forward(logits, target, weight, eps, log_probs, out, reduction)
    grad_in = np.full_like(logits, np.nan)
    K.cross_entropy_prob_backward(grad, log_probs, target, weight, eps, grad_in, reduction, denom)
    return out, log_probs, denom, grad_in


def prob_case(n, c, dtype, seed, weighted):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((n, c)) * 3).astype(dtype)
    target = rng.dirichlet(np.ones(c), n).astype(dtype) if c else np.zeros((n, 0), dtype)
    weight = rng.uniform(0.1, 2.0, c).astype(dtype) if weighted else None
    return logits, target, weight


@pytest.mark.parametrize("dtype", DTYPES)
@settings(deadline=None, max_examples=30)
@given(n=st.integers(0, 9), c=st.integers(1, 7), eps=st.sampled_from([0.0, 0.25]),
       reduction=st.sampled_from(list(REDUCTIONS)), weighted=st.booleans(),
       seed=st.integers(0, 2**16))
def test_cross_entropy_prob_matches_reference(dtype, n, c, eps, reduction, weighted, seed):
    logits, target, weight = prob_case(n, c, dtype, seed, weighted)
    grad = random(n if reduction == K.REDUCTION_NONE else 1, dtype, seed + 1)
    out, log_probs, denom, grad_in = run_ce_prob(logits, target, weight, eps, reduction, grad)
    assert_close(log_probs, ref.log_softmax_forward(logits, None), dtype, scale=10)
    e_out, e_lp, e_denom = ref.cross_entropy_prob_forward(logits, target, weight, eps, None, None,
                                                          reduction)
    e_grad = ref.cross_entropy_prob_backward(grad, e_lp, target, weight, eps, None, reduction,
                                             e_denom)
    assert denom == e_denom == n
    assert_close(out, e_out, dtype, scale=10)
    assert_close(grad_in, e_grad, dtype, scale=10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", list(REDUCTIONS))
@pytest.mark.parametrize("shape", [(13, 5), (700, 100)])
def test_cross_entropy_prob_matches_torch(dtype, reduction, shape):
    torch = pytest.importorskip("torch")
    for eps, weighted in [(0.0, False), (0.3, True)]:
        logits, target, weight = prob_case(*shape, dtype, 11, weighted)
        grad = random(shape[0] if reduction == K.REDUCTION_NONE else 1, dtype, 12)
        out, _, _, grad_in = run_ce_prob(logits, target, weight, eps, reduction, grad)
        X = torch.from_numpy(logits).requires_grad_()
        loss = torch.nn.functional.cross_entropy(
            X, torch.from_numpy(target),
            weight=None if weight is None else torch.from_numpy(weight),
            label_smoothing=eps, reduction=REDUCTIONS[reduction])
        loss.backward(torch.from_numpy(grad).reshape(loss.shape))
        assert_close(out, loss.detach().numpy().reshape(-1), dtype, scale=100)
        assert_close(grad_in, X.grad.numpy(), dtype)


# -------------------------------------------------------------------- NLL

@pytest.mark.parametrize("dtype", DTYPES)
@settings(deadline=None, max_examples=30)
@given(n=st.integers(0, 9), c=st.integers(1, 7), reduction=st.sampled_from(list(REDUCTIONS)),
       weighted=st.booleans(), seed=st.integers(0, 2**16))
def test_nll_matches_reference(dtype, n, c, reduction, weighted, seed):
    logits, target, weight = ce_case(n, c, dtype, seed, weighted=weighted)
    log_probs = ref.log_softmax_forward(logits, None)
    out = out_for(n, reduction, dtype)
    denom = K.nll_forward(log_probs, target, weight, IGNORE, out, reduction)
    grad = random(out.shape, dtype, seed + 1)
    grad_in = np.full_like(log_probs, np.nan)
    K.nll_backward(grad, target, weight, IGNORE, grad_in, reduction, denom)
    e_out, e_denom = ref.nll_forward(log_probs, target, weight, IGNORE, out, reduction)
    assert denom == pytest.approx(e_denom, rel=TOL[dtype]["rtol"])  # summed in the dtype
    assert_close(out, e_out, dtype, scale=10)
    assert_close(grad_in, ref.nll_backward(grad, target, weight, IGNORE, grad_in, reduction,
                                           e_denom), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", list(REDUCTIONS))
def test_nll_matches_torch(dtype, reduction):
    torch = pytest.importorskip("torch")
    logits, target, weight = ce_case(31, 6, dtype, 13)
    log_probs = ref.log_softmax_forward(logits, None)
    out = out_for(31, reduction, dtype)
    denom = K.nll_forward(log_probs, target, weight, IGNORE, out, reduction)
    grad = random(out.shape, dtype, 14)
    grad_in = np.empty_like(log_probs)
    K.nll_backward(grad, target, weight, IGNORE, grad_in, reduction, denom)
    LP = torch.from_numpy(log_probs).requires_grad_()
    loss = torch.nn.functional.nll_loss(LP, torch.from_numpy(target),
                                        weight=torch.from_numpy(weight),
                                        reduction=REDUCTIONS[reduction])
    loss.backward(torch.from_numpy(grad).reshape(loss.shape))
    assert_close(out, loss.detach().numpy().reshape(-1), dtype, scale=10)
    assert_close(grad_in, LP.grad.numpy(), dtype)
