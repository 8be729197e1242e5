"""nn.utils: gradient clipping and parameter vectors (PyTorch parity when installed)."""
import math

import numpy as np
import pytest

import microtorch as mt
from microtorch import nn


def model_with_grads(seed=0):
    mt.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    (model(mt.randn(5, 3)) ** 2).sum().backward()
    return model


def grads(model):
    return [p.grad.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("norm_type", [2.0, 1, 3, math.inf])
def test_clip_grad_norm_scales_to_max_norm(norm_type):
    model = model_with_grads()
    before = grads(model)
    flat = np.concatenate([g.ravel() for g in before]).astype(np.float64)
    expected = np.abs(flat).max() if math.isinf(norm_type) else \
        (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.1, norm_type=norm_type)
    assert total.dtype == mt.float32 and total.item() == pytest.approx(expected, rel=1e-5)
    scale = 0.1 / (expected + 1e-6)
    for g, old in zip(grads(model), before):
        assert np.allclose(g, old * scale, rtol=1e-5)


def test_clip_grad_norm_no_op_below_max_and_edge_cases():
    model = model_with_grads()
    before = grads(model)
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1e6)
    assert all(np.allclose(a, b) for a, b in zip(grads(model), before))
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    p = nn.Parameter(mt.tensor([3.0, 4.0]))
    p.grad = mt.tensor([3.0, 4.0])
    assert nn.utils.clip_grad_norm_(p, 1.0).item() == 5.0            # a single tensor
    assert np.allclose(p.grad.numpy(), [0.6, 0.8], atol=1e-6)
    p.grad = mt.tensor([math.inf, 1.0])
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_and_vectors():
    model = model_with_grads()
    nn.utils.clip_grad_value_(model.parameters(), 0.05)
    assert all(np.abs(g).max() <= 0.05 for g in grads(model))
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    nn.utils.vector_to_parameters(mt.arange(26, dtype=mt.float32), model.parameters())
    assert model[0].weight[0, 1].item() == 1.0 and model[2].bias[1].item() == 25.0


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    ours = model_with_grads()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    for p, q in zip(theirs.parameters(), ours.parameters()):
        p.grad = torch.from_numpy(q.grad.numpy().copy())
    for norm_type in (2.0, math.inf, 1.5):
        a = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.3, norm_type)
        b = nn.utils.clip_grad_norm_(ours.parameters(), 0.3, norm_type)
        assert b.item() == pytest.approx(a.item(), rel=1e-6)
        for p, q in zip(theirs.parameters(), ours.parameters()):
            np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-6)
