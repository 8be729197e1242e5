"""Losses (functional and modules) against numpy references and finite differences, and
PyTorch's validation messages. PyTorch comparisons are in test_nn_parity.py."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microtorch as mt
import microtorch.nn.functional as F
from microtorch import nn
from microtorch.autograd.node import PassThrough

RNG = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def reduce(values, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](values)


def log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f at the float64 array x."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        hi, lo = x.copy(), x.copy()
        hi[idx] += eps
        lo[idx] -= eps
        grad[idx] = (f(hi) - f(lo)) / (2 * eps)
    return grad


def check_grad(loss_fn, x, **kwargs):
    """Gradient of sum(loss_fn(x)) by autograd vs finite differences (float64)."""
    t = mt.tensor(x, requires_grad=True)
    loss_fn(t, **kwargs).sum().backward()
    numeric = numeric_grad(lambda a: loss_fn(mt.tensor(a), **kwargs).sum().item(), x)
    assert np.allclose(t.grad.numpy(), numeric, atol=1e-6, rtol=1e-5)


def tensors(*arrays):
    return [mt.tensor(a) for a in arrays]


# ---------------------------------------------------------------- pointwise
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mse_and_l1_values(reduction, dtype):
    x, t = RNG.standard_normal((4, 3)).astype(dtype), RNG.standard_normal((4, 3)).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    out = F.mse_loss(*tensors(x, t), reduction=reduction)
    assert out.dtype.name == np.dtype(dtype).name
    assert np.allclose(out.numpy(), reduce((x - t) ** 2, reduction), rtol=tol)
    out = nn.L1Loss(reduction=reduction)(*tensors(x, t))
    assert np.allclose(out.numpy(), reduce(np.abs(x - t), reduction), rtol=tol)


def test_mse_gradients_both_inputs():
    x, t = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    xt, tt = mt.tensor(x, requires_grad=True), mt.tensor(t, requires_grad=True)
    loss = nn.MSELoss()(xt, tt)
    assert loss.grad_fn.name() == "MseLossBackward0"
    loss.backward()
    assert np.allclose(xt.grad.numpy(), 2 * (x - t) / 6)
    assert np.allclose(tt.grad.numpy(), -2 * (x - t) / 6)
    check_grad(lambda a: F.l1_loss(a, mt.tensor(t), reduction="sum"), x)


def test_mse_broadcasting_warns_like_torch():
    x, t = mt.randn(3, 1, requires_grad=True), mt.randn(3)
    with pytest.warns(UserWarning, match=r"Using a target size \(torch.Size\(\[3\]\)\) that is "
                                         r"different to the input size \(torch.Size\(\[3, 1\]\)\)"
                                         r". This will likely lead to incorrect results"):
        loss = F.mse_loss(x, t)
    diff = x.detach().numpy() - t.numpy()                     # broadcast to (3, 3)
    assert np.isclose(loss.item(), np.mean(diff ** 2))
    loss.backward()
    assert x.grad.shape == (3, 1)
    assert np.allclose(x.grad.numpy(), (2 * diff / 9).sum(1, keepdims=True), atol=1e-6)
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match="must match the size"):
        warnings.simplefilter("ignore")
        F.mse_loss(mt.randn(3), mt.randn(4))


def test_mse_dtype_promotion_and_errors():
    assert F.mse_loss(mt.randn(3), mt.randn(3, dtype=mt.float64)).dtype == mt.float64
    assert F.mse_loss(mt.randn(3), mt.arange(3)).dtype == mt.float32
    with pytest.raises(NotImplementedError, match="\"mse_cpu\" not implemented for 'Long'"):
        F.mse_loss(mt.arange(3), mt.arange(3))
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(mt.randn(3), mt.randn(3), reduction="foo")
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        nn.MSELoss(reduction="foo")(mt.randn(3), mt.randn(3))
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated, "
                                         "please use reduction='sum' instead."):
        F.mse_loss(mt.randn(3), mt.randn(3), size_average=False)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_mse_and_l1(reduction):
    x, t, w = RNG.standard_normal((4, 2)), RNG.standard_normal((4, 2)), RNG.random((4, 2))
    for fn, elem in ((F.mse_loss, (x - t) ** 2), (F.l1_loss, np.abs(x - t))):
        out = fn(*tensors(x, t), reduction=reduction, weight=mt.tensor(w))
        expected = {"mean": (w * elem).sum() / w.sum(), "sum": (w * elem).sum(),
                    "none": w * elem}[reduction]
        assert np.allclose(out.numpy(), expected)
    wt = mt.tensor(w, requires_grad=True)
    check_grad(lambda a: F.mse_loss(a, mt.tensor(t), weight=wt, reduction=reduction), x)
    with pytest.raises(ValueError, match="Weights and input must have the same size."):
        F.mse_loss(*tensors(x, t), weight=mt.ones(2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_values_weights_and_grads(reduction):
    p, t, w = RNG.random((5, 3)), RNG.random((5, 3)), RNG.random(3)
    elem = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    out = F.binary_cross_entropy(*tensors(p, t), reduction=reduction)
    assert np.allclose(out.numpy(), reduce(elem, reduction))
    out = nn.BCELoss(weight=mt.tensor(w), reduction=reduction)(*tensors(p, t))
    assert np.allclose(out.numpy(), reduce(elem * w, reduction))
    check_grad(lambda a: F.binary_cross_entropy(a, mt.tensor(t), mt.tensor(w),
                                                reduction=reduction), p)
    tt = mt.tensor(t, requires_grad=True)
    F.binary_cross_entropy(mt.tensor(p), tt, reduction="sum").backward()
    assert np.allclose(tt.grad.numpy(), np.log(1 - p) - np.log(p))


def test_bce_clamps_logs_and_validates():
    out = F.binary_cross_entropy(mt.tensor([0.0, 1.0]), mt.tensor([1.0, 0.0]), reduction="none")
    assert out.tolist() == [100.0, 100.0]
    with pytest.raises(ValueError, match=r"Using a target size \(torch.Size\(\[3\]\)\) that is "
                                         r"different to the input size \(torch.Size\(\[3, 1\]\)\) "
                                         r"is deprecated. Please ensure they have the same size."):
        nn.BCELoss()(mt.rand(3, 1), mt.rand(3))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(mt.tensor([1.5]), mt.tensor([1.0]))
    with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
        F.binary_cross_entropy(mt.tensor([0.5]), mt.tensor([2.0]))
    with pytest.raises(RuntimeError, match="Attempting to broadcast a dimension of length 4"):
        F.binary_cross_entropy(mt.rand(3), mt.rand(3), weight=mt.rand(4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_values_and_grads(reduction):
    x, t = RNG.standard_normal((4, 3)) * 3, RNG.random((4, 3))
    w, pw = RNG.random((4, 1)), RNG.random(3) * 3
    sig = 1 / (1 + np.exp(-x))
    elem = -w * (pw * t * np.log(sig) + (1 - t) * np.log(1 - sig))
    loss = nn.BCEWithLogitsLoss(weight=mt.tensor(w), pos_weight=mt.tensor(pw),
                                reduction=reduction)
    assert np.allclose(loss(*tensors(x, t)).numpy(), reduce(elem, reduction))
    check_grad(lambda a: loss(a, mt.tensor(t)), x)
    plain = -(t * np.log(sig) + (1 - t) * np.log(1 - sig))
    assert np.allclose(F.binary_cross_entropy_with_logits(*tensors(x, t), reduction=reduction)
                       .numpy(), reduce(plain, reduction))


def test_bce_with_logits_is_stable_and_validates():
    big = F.binary_cross_entropy_with_logits(mt.tensor([200.0, -200.0]), mt.tensor([0.0, 1.0]),
                                             reduction="none")
    assert big.tolist() == [200.0, 200.0]
    with pytest.raises(ValueError, match=r"Target size \(torch.Size\(\[3\]\)\) must be the same "
                                         r"as input size \(torch.Size\(\[3, 1\]\)\)"):
        F.binary_cross_entropy_with_logits(mt.rand(3, 1), mt.rand(3))
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        F.binary_cross_entropy_with_logits(mt.rand(3, 2), mt.rand(3, 2), pos_weight=mt.rand(3))


# -------------------------------------------------------------- cross-entropy
def ce_reference(x, target, weight=None, ignore_index=-100, eps=0.0, reduction="mean"):
    """Cross-entropy of (N, C) logits against indices, PyTorch's smoothing formula."""
    n, c = x.shape
    w = np.ones(c) if weight is None else weight
    lp = log_softmax(x, 1)
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    w_t = w[safe] * keep
    nll = -w_t * lp[np.arange(n), safe]
    smooth = -(lp * w).sum(1) * keep
    if reduction == "none":
        return (1 - eps) * nll + eps / c * smooth
    if reduction == "sum":
        return (1 - eps) * nll.sum() + eps / c * smooth.sum()
    return ((1 - eps) * nll.sum() + eps / c * smooth.sum()) / w_t.sum()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_class_indices(reduction, smoothing, weighted):
    x = RNG.standard_normal((6, 4))
    target = np.array([0, 3, 1, 2, 3, 1])
    weight = RNG.random(4) + 0.5 if weighted else None
    kwargs = dict(weight=None if weight is None else mt.tensor(weight), ignore_index=1,
                  reduction=reduction, label_smoothing=smoothing)
    out = F.cross_entropy(mt.tensor(x), mt.tensor(target), **kwargs)
    expected = ce_reference(x, target, weight, 1, smoothing, reduction)
    assert np.allclose(out.numpy(), expected)
    check_grad(lambda a: F.cross_entropy(a, mt.tensor(target), **kwargs), x)


def test_cross_entropy_module_names_and_float32():
    x = mt.randn(5, 3, requires_grad=True)
    target = mt.tensor([0, 1, 2, 1, 0])
    loss = nn.CrossEntropyLoss()(x, target)
    assert loss.dtype == mt.float32 and loss.shape == ()
    assert loss.grad_fn.name() == "NllLossBackward0"
    expected = ce_reference(x.detach().numpy().astype(np.float64), target.numpy())
    assert abs(loss.item() - expected) < 1e-6
    loss.backward()
    soft = np.exp(log_softmax(x.detach().numpy().astype(np.float64), 1))
    soft[np.arange(5), target.numpy()] -= 1
    assert np.allclose(x.grad.numpy(), soft / 5, atol=1e-7)


def test_cross_entropy_all_ignored_is_nan_and_uint8_targets():
    out = F.cross_entropy(mt.randn(2, 3), mt.tensor([-100, -100]))
    assert np.isnan(out.item())
    x = mt.randn(3, 4)
    assert F.cross_entropy(x, mt.tensor([0, 1, 3], dtype=mt.uint8)).item() == pytest.approx(
        F.cross_entropy(x, mt.tensor([0, 1, 3])).item())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial(reduction):
    x = RNG.standard_normal((2, 3, 4, 5))
    target = RNG.integers(0, 3, (2, 4, 5))
    target[0, 0, 0] = -100
    out = F.cross_entropy(mt.tensor(x), mt.tensor(target), reduction=reduction)
    rows = np.moveaxis(x, 1, -1).reshape(-1, 3)
    expected = ce_reference(rows, target.reshape(-1), reduction=reduction)
    if reduction == "none":
        expected = expected.reshape(2, 4, 5)
    assert np.allclose(out.numpy(), expected)
    small = x[:1, :, :2, :2]
    check_grad(lambda a: F.cross_entropy(a, mt.tensor(target[:1, :2, :2]),
                                         reduction=reduction), small)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probabilities(reduction, smoothing):
    x = RNG.standard_normal((4, 3))
    probs = RNG.random((4, 3))
    probs /= probs.sum(1, keepdims=True)
    weight = RNG.random(3) + 0.5
    smoothed = probs * (1 - smoothing) + smoothing / 3
    elem = -(smoothed * weight * log_softmax(x, 1)).sum(1)
    out = F.cross_entropy(mt.tensor(x), mt.tensor(probs), weight=mt.tensor(weight),
                          reduction=reduction, label_smoothing=smoothing)
    assert np.allclose(out.numpy(), reduce(elem, reduction))
    check_grad(lambda a: F.cross_entropy(a, mt.tensor(probs), reduction=reduction,
                                         label_smoothing=smoothing), x)
    check_grad(lambda t: F.cross_entropy(mt.tensor(x), t, reduction=reduction,
                                         label_smoothing=smoothing), probs)


def test_cross_entropy_one_sample_and_spatial_probabilities():
    x = RNG.standard_normal(4)
    out = F.cross_entropy(mt.tensor(x), mt.tensor(2), reduction="none")
    assert out.shape == () and np.isclose(out.item(), -log_softmax(x, 0)[2])
    x = RNG.standard_normal((2, 3, 5))
    p = RNG.random((2, 3, 5))
    out = F.cross_entropy(mt.tensor(x), mt.tensor(p), reduction="none")
    assert out.shape == (2, 5)
    assert np.allclose(out.numpy(), -(p * log_softmax(x, 1)).sum(1))


def test_cross_entropy_validation_messages():
    x = mt.rand(3, 4)
    cases = [
        (mt.tensor([0, 1, 2.0]), RuntimeError,
         "expected target dtype to be Long or Byte, but got Float"),
        (mt.tensor([0, 1, 2], dtype=mt.int32), RuntimeError, "but got Int"),
        (mt.tensor([0, 1]), ValueError,
         r"Expected input batch_size \(3\) to match target batch_size \(2\)."),
        (mt.tensor([0, 1, 7]), IndexError, "Target 7 is out of bounds."),
        (mt.tensor([0, 1, -2]), IndexError, "Target -2 is out of bounds."),
        (mt.zeros(3, 4, dtype=mt.int64), RuntimeError,
         "Expected floating point type for target with class probabilities, got Long"),
        (mt.zeros(3, 5), RuntimeError,
         "0D or 1D target tensor expected, multi-target not supported"),
    ]
    for target, exc, message in cases:
        with pytest.raises(exc, match=message):
            F.cross_entropy(x, target)
    with pytest.raises(RuntimeError, match=r"Expected target size \[3, 5\], got \[3, 4\]"):
        F.cross_entropy(mt.rand(3, 4, 5), mt.zeros(3, 4, dtype=mt.int64))
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 4 "
                                           r"classes or no classes but got weight tensor of "
                                           r"shape: \[3\]"):
        F.cross_entropy(x, mt.tensor([0, 1, 2]), weight=mt.ones(3))
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0. Got: "
                                           "1.5"):
        F.cross_entropy(x, mt.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.cross_entropy(mt.arange(12).reshape(3, 4), mt.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="bad is not a valid value for reduction"):
        nn.CrossEntropyLoss(reduction="bad")(x, mt.tensor([0, 1, 2]))


# ------------------------------------------------------------------------ NLL
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    lp = log_softmax(RNG.standard_normal((5, 3)), 1)
    target = np.array([0, 2, 1, 2, 0])
    weight = RNG.random(3) + 0.5
    loss = nn.NLLLoss(weight=mt.tensor(weight), ignore_index=0, reduction=reduction)
    out = loss(mt.tensor(lp), mt.tensor(target))
    keep = target != 0
    elem = -weight[target] * lp[np.arange(5), target] * keep
    expected = {"none": elem, "sum": elem.sum(),
                "mean": elem.sum() / (weight[target] * keep).sum()}[reduction]
    assert np.allclose(out.numpy(), expected)
    check_grad(lambda a: loss(a, mt.tensor(target)), lp)


def test_nll_after_log_softmax_equals_cross_entropy():
    x = mt.randn(6, 4, dtype=mt.float64)
    target = mt.tensor([0, 3, 1, 2, 3, 1])
    a = nn.NLLLoss()(nn.LogSoftmax(dim=1)(x), target).item()
    assert a == pytest.approx(F.cross_entropy(x, target).item(), rel=1e-12)
    spatial = mt.randn(2, 3, 4, dtype=mt.float64)
    t = mt.randint(0, 3, (2, 4))
    assert F.nll_loss(F.log_softmax(spatial, 1), t).item() == pytest.approx(
        F.cross_entropy(spatial, t).item())
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected"):
        F.nll_loss(mt.rand(3, 4), mt.rand(3, 4))


# ------------------------------------------------------------ property checks
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 6), c=st.integers(1, 5), smoothing=st.sampled_from([0.0, 0.1]),
       reduction=st.sampled_from(REDUCTIONS), seed=st.integers(0, 2 ** 16))
def test_cross_entropy_matches_reference_random_shapes(n, c, smoothing, reduction, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c)) * 4
    target = rng.integers(0, c, n)
    out = F.cross_entropy(mt.tensor(x), mt.tensor(target), reduction=reduction,
                          label_smoothing=smoothing)
    assert np.allclose(out.numpy(), ce_reference(x, target, eps=smoothing,
                                                 reduction=reduction))


def test_losses_are_single_graph_nodes():
    x = mt.randn(4, 3, requires_grad=True)
    p = mt.rand(4, 3, requires_grad=True)
    targets = mt.tensor([0, 1, 2, 0])
    for loss in (F.mse_loss(x, mt.randn(4, 3)),
                 F.binary_cross_entropy(p, mt.rand(4, 3)),
                 F.binary_cross_entropy_with_logits(x, mt.rand(4, 3)),
                 F.cross_entropy(x, targets), F.nll_loss(x, targets)):
        (edge, _), = [e for e in loss.grad_fn.next_functions if e[0] is not None]
        if isinstance(edge, PassThrough):      # cross_entropy shows PyTorch's log_softmax step
            assert type(edge).__name__ == "LogSoftmaxBackward0"
            (edge, _), = edge.next_functions
        assert type(edge).__name__ == "AccumulateGrad"


def test_l1_loss_is_composed_like_pytorch():
    """PyTorch's l1_loss is |input - target| reduced: its graph is Mean/Sum <- Abs <- Sub."""
    x = mt.randn(4, 3, requires_grad=True)
    for reduction, names in (("mean", ["MeanBackward0", "AbsBackward0", "SubBackward0"]),
                             ("sum", ["SumBackward0", "AbsBackward0", "SubBackward0"]),
                             ("none", ["AbsBackward0", "SubBackward0"])):
        node, seen = F.l1_loss(x, mt.randn(4, 3), reduction=reduction).grad_fn, []
        while type(node).__name__ != "AccumulateGrad":
            seen.append(node.name())
            node = next(e[0] for e in node.next_functions if e[0] is not None)
        assert seen == names
