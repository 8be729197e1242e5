"""microtorch.nn.functional: signatures/defaults as PyTorch's, values, validation."""
import inspect

import numpy as np
import pytest

import microtorch as mt
import microtorch.nn.functional as F

# PyTorch 2.x signatures (parameter name -> default; inspect.Parameter.empty if required)
E = inspect.Parameter.empty
SIGNATURES = {
    "linear": {"input": E, "weight": E, "bias": None},
    "relu": {"input": E, "inplace": False},
    "leaky_relu": {"input": E, "negative_slope": 0.01, "inplace": False},
    "sigmoid": {"input": E},
    "tanh": {"input": E},
    "softmax": {"input": E, "dim": None, "_stacklevel": 3, "dtype": None},
    "log_softmax": {"input": E, "dim": None, "_stacklevel": 3, "dtype": None},
    "dropout": {"input": E, "p": 0.5, "training": True, "inplace": False},
    "batch_norm": {"input": E, "running_mean": E, "running_var": E, "weight": None,
                   "bias": None, "training": False, "momentum": 0.1, "eps": 1e-05},
    "layer_norm": {"input": E, "normalized_shape": E, "weight": None, "bias": None,
                   "eps": 1e-05},
    "mse_loss": {"input": E, "target": E, "size_average": None, "reduce": None,
                 "reduction": "mean", "weight": None},
    "l1_loss": {"input": E, "target": E, "size_average": None, "reduce": None,
                "reduction": "mean", "weight": None},
    "binary_cross_entropy": {"input": E, "target": E, "weight": None, "size_average": None,
                             "reduce": None, "reduction": "mean"},
    "binary_cross_entropy_with_logits": {"input": E, "target": E, "weight": None,
                                         "size_average": None, "reduce": None,
                                         "reduction": "mean", "pos_weight": None},
    "cross_entropy": {"input": E, "target": E, "weight": None, "size_average": None,
                      "ignore_index": -100, "reduce": None, "reduction": "mean",
                      "label_smoothing": 0.0},
    "nll_loss": {"input": E, "target": E, "weight": None, "size_average": None,
                 "ignore_index": -100, "reduce": None, "reduction": "mean"},
    "one_hot": {"tensor": E, "num_classes": -1},
}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signatures_match_pytorch(name):
    params = inspect.signature(getattr(F, name)).parameters
    assert {k: p.default for k, p in params.items()} == SIGNATURES[name]


def test_linear_relu_sigmoid_tanh_values():
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (2, 3), (2,)))
    assert np.allclose(F.linear(mt.tensor(x), mt.tensor(w)).numpy(), x @ w.T, atol=1e-6)
    assert np.allclose(F.linear(mt.tensor(x), mt.tensor(w), mt.tensor(b)).numpy(),
                       x @ w.T + b, atol=1e-6)
    assert np.allclose(F.relu(mt.tensor(x)).numpy(), np.maximum(x, 0))
    assert np.allclose(F.leaky_relu(mt.tensor(x), 0.2).numpy(), np.where(x > 0, x, 0.2 * x))
    assert np.allclose(F.sigmoid(mt.tensor(x)).numpy(), 1 / (1 + np.exp(-x)), atol=1e-7)
    assert np.allclose(F.tanh(mt.tensor(x)).numpy(), np.tanh(x), atol=1e-7)


def test_relu_inplace_gradient():
    w = mt.tensor([-1.0, 2.0, 3.0], requires_grad=True)
    h = w * 2
    out = F.relu(h, inplace=True)
    assert out is h and h.tolist() == [0.0, 4.0, 6.0]
    out.sum().backward()
    assert w.grad.tolist() == [0.0, 2.0, 2.0]


def test_softmax_dims_and_implicit_dim_warning():
    x = mt.randn(2, 3, 4)
    a = x.numpy()
    for dim in (0, 1, 2, -1):
        e = np.exp(a - a.max(axis=dim, keepdims=True))
        assert np.allclose(F.softmax(x, dim=dim).numpy(), e / e.sum(axis=dim, keepdims=True))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax has been "
                                         "deprecated. Change the call to include dim=X"):
        implicit = F.softmax(x)                              # 3-D: dim 0, as PyTorch
    assert np.allclose(implicit.numpy(), F.softmax(x, 0).numpy())
    with pytest.warns(UserWarning, match="for log_softmax"):
        implicit = F.log_softmax(mt.randn(2, 3))             # 2-D: dim 1
    assert np.allclose(implicit.exp().sum(1).numpy(), 1)
    assert F.softmax(x, 1, dtype=mt.float64).dtype == mt.float64


def test_dropout_functional():
    x = mt.ones(100, 100)
    assert F.dropout(x, training=False) is x
    assert F.dropout(x, 0.0) is x
    mt.manual_seed(0)
    y = F.dropout(x, 0.3).numpy()
    assert abs((y == 0).mean() - 0.3) < 0.02 and np.allclose(y[y != 0], 1 / 0.7)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but "
                                         "got 2.0"):
        F.dropout(x, 2.0)
    z = mt.ones(10)
    assert F.dropout(z, 1.0, inplace=True) is z and z.sum().item() == 0


def test_dropout_reproducible_with_seed():
    mt.manual_seed(42)
    a = F.dropout(mt.ones(50)).numpy()
    mt.manual_seed(42)
    b = F.dropout(mt.ones(50)).numpy()
    assert np.array_equal(a, b)


def test_batch_norm_functional():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 3))
    rm, rv = mt.zeros(3, dtype=mt.float64), mt.ones(3, dtype=mt.float64)
    out = F.batch_norm(mt.tensor(x), rm, rv, training=True, momentum=0.5)
    assert np.allclose(out.numpy(), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5))
    assert np.allclose(rm.numpy(), 0.5 * x.mean(0))
    assert np.allclose(rv.numpy(), 0.5 + 0.5 * x.var(0, ddof=1))
    version = rm._version[0]
    out = F.batch_norm(mt.tensor(x), rm, rv)                   # training=False by default
    assert rm._version[0] == version
    assert np.allclose(out.numpy(), (x - rm.numpy()) / np.sqrt(rv.numpy() + 1e-5))
    out = F.batch_norm(mt.tensor(x), None, None, mt.tensor([2.0, 1, 1], dtype=mt.float64),
                       training=True)
    assert np.allclose(out.numpy()[:, 0], 2 * (x[:, 0] - x[:, 0].mean()) / np.sqrt(
        x[:, 0].var() + 1e-5))
    with pytest.raises(RuntimeError, match="weight should contain 3 elements not 2"):
        F.batch_norm(mt.tensor(x), None, None, mt.ones(2), training=True)
    y = rng.standard_normal((4, 3, 2, 2))                     # any rank >= 2
    out = F.batch_norm(mt.tensor(y), None, None, training=True)
    axes = (0, 2, 3)
    expected = (y - y.mean(axes, keepdims=True)) / np.sqrt(y.var(axes, keepdims=True) + 1e-5)
    assert np.allclose(out.numpy(), expected)


def test_layer_norm_functional():
    x = mt.randn(3, 4, 5)
    a = x.numpy().astype(np.float64)
    out = F.layer_norm(x, (5,))
    expected = (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + 1e-5)
    assert np.allclose(out.numpy(), expected, atol=1e-5)
    out = F.layer_norm(x, [4, 5], eps=0.1)
    m, v = a.mean((1, 2), keepdims=True), a.var((1, 2), keepdims=True)
    assert np.allclose(out.numpy(), (a - m) / np.sqrt(v + 0.1), atol=1e-5)
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[2, 10\], expected input "
                                           r"with shape \[\*, 2, 10\]"):
        F.layer_norm(x, (2, 10))
    with pytest.raises(RuntimeError, match="Expected weight to be of same shape"):
        F.layer_norm(x, (5,), weight=mt.ones(4))


def test_one_hot():
    out = F.one_hot(mt.tensor([0, 2]))
    assert out.dtype == mt.int64 and out.tolist() == [[1, 0, 0], [0, 0, 1]]
    assert F.one_hot(mt.tensor(2), 4).tolist() == [0, 0, 1, 0]
    assert F.one_hot(mt.tensor([[1], [2]])).shape == (2, 1, 3)
    assert F.one_hot(mt.tensor([], dtype=mt.int64), 3).shape == (0, 3)
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        F.one_hot(mt.tensor([0, 2]), 2)
    with pytest.raises(RuntimeError, match="Class values must be non-negative."):
        F.one_hot(mt.tensor([0, -1]))
    with pytest.raises(RuntimeError, match="one_hot is only applicable to index tensor of type "
                                           "LongTensor."):
        F.one_hot(mt.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="Can not infer total number of classes from empty "
                                           "tensor."):
        F.one_hot(mt.tensor([], dtype=mt.int64))


def test_reduction_aliases():
    x, t = mt.randn(4), mt.randn(4)
    with pytest.warns(UserWarning, match="elementwise_mean"):
        a = F.mse_loss(x, t, reduction="elementwise_mean")
    assert a.item() == pytest.approx(F.mse_loss(x, t).item())
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert F.l1_loss(x, t, reduce=False).shape == (4,)
