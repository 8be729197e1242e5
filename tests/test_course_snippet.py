"""The foundation's acceptance snippet from the course runs, and its gradients are right."""
from __future__ import annotations

import numpy as np

import microtorch


def _loss(X, y, W1, W2):
    return ((microtorch.relu(X @ W1.T) @ W2.T - y) ** 2).mean()


def test_course_snippet_runs_in_float32():
    microtorch.manual_seed(0)
    X = microtorch.randn(392, 1)
    y = 3 * X + 2
    W1 = microtorch.randn(5, 1, requires_grad=True)
    W2 = microtorch.randn(1, 5, requires_grad=True)
    loss = _loss(X, y, W1, W2)
    loss.backward()
    assert loss.dtype == microtorch.float32 and loss.grad_fn.name() == "MeanBackward0"
    assert W1.grad.shape == (5, 1) and W2.grad.shape == (1, 5)
    assert np.isfinite(W1.grad.numpy()).all() and np.abs(W2.grad.numpy()).sum() > 0


def test_course_snippet_gradients_match_finite_differences():
    microtorch.manual_seed(1)
    X = microtorch.randn(392, 1, dtype=microtorch.float64)
    y = 3 * X + 2
    W1 = microtorch.randn(5, 1, dtype=microtorch.float64, requires_grad=True)
    W2 = microtorch.randn(1, 5, dtype=microtorch.float64, requires_grad=True)
    _loss(X, y, W1, W2).backward()
    eps = 1e-6
    for W in (W1, W2):
        numeric = np.zeros(W.shape)
        data = W.detach().numpy()
        for idx in np.ndindex(*W.shape):
            old = data[idx]
            data[idx] = old + eps
            up = _loss(X, y, W1, W2).item()
            data[idx] = old - eps
            down = _loss(X, y, W1, W2).item()
            data[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(W.grad.numpy(), numeric, rtol=1e-5, atol=1e-7)
