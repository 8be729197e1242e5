"""microtorch.viz (graph as text/DOT/rendered file) and anomaly detection."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import microtorch as torch
from microtorch import nn, viz


def _model_and_loss():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    loss = nn.MSELoss()(model(torch.randn(8, 3)), torch.zeros(8, 1))
    return model, loss


def test_to_text_walks_the_graph_with_names():
    model, loss = _model_and_loss()
    text = viz.to_text(loss, params=model.named_parameters())
    lines = text.splitlines()
    assert lines[0].startswith("#1 MseLossBackward0 -> () float32")
    for name in ("AddmmBackward0", "ReluBackward0", "0.weight (4, 3) float32 requires_grad",
                 "2.bias (1,) float32 requires_grad"):
        assert name in text
    assert sum("requires_grad" in line for line in lines) == 4


def test_to_text_of_a_leaf():
    assert viz.to_text(torch.ones(2, requires_grad=True)) == "leaf (2,) float32 requires_grad"
    assert viz.to_text(torch.ones(2)) == "leaf (2,) float32 (no graph)"


def test_to_dot_has_every_node_and_edge():
    model, loss = _model_and_loss()
    dot = viz.to_dot(loss, params=dict(model.named_parameters()))
    assert dot.startswith("digraph microtorch {") and dot.rstrip().endswith("}")
    nodes = [line for line in dot.splitlines() if "[label=" in line and "shape=note" not in line]
    # MseLoss, 2 x Addmm, Relu, 2 x TBackward0 (PyTorch's weight.t()), 4 parameter leaves
    assert len(nodes) == 10
    edges = [line for line in dot.splitlines() if re.match(r"\s+n\d+ -> (n\d+|out);", line)]
    assert len(edges) == 10              # 9 graph edges + the edge to the output box
    assert 'label="0.weight (4, 3) float32 requires_grad"' in dot


def test_render_without_graphviz_says_how_to_get_it(monkeypatch, tmp_path):
    _, loss = _model_and_loss()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz 'dot' program"):
        viz.render(loss, str(tmp_path / "g.svg"))
    with pytest.raises(ValueError, match="unsupported format"):
        viz.render(loss, str(tmp_path / "g.txt"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_render_writes_svg(tmp_path):
    _, loss = _model_and_loss()
    path = viz.render(loss, str(tmp_path / "g.svg"))
    assert "<svg" in open(path).read()


def test_next_functions_reach_accumulate_grad():
    w = torch.ones(2, 2, requires_grad=True)
    y = (w * 3).sum()
    (mul, _), = y.grad_fn.next_functions
    assert mul.name() == "MulBackward0"
    (acc, _), number = mul.next_functions          # PyTorch's edges: w, then the number
    assert acc.name() == "AccumulateGrad" and acc.variable is w
    assert number == (None, 0)


def test_anomaly_mode_names_the_forward_op_and_line():
    x = torch.tensor([-1.0, 1.0], requires_grad=True)
    with torch.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match=r"'LogBackward0'.*input shapes: \(2,\).*"
                                               r"test_viz_anomaly.py:\d+"):
            torch.log(x)
    assert not torch.autograd.is_anomaly_enabled()
    assert np.isnan(torch.log(x)[0].item())          # outside the block: no check


def test_anomaly_mode_catches_nan_gradients_in_backward():
    x = torch.tensor([0.0, 4.0], requires_grad=True)
    torch.autograd.set_detect_anomaly(True)
    try:
        y = torch.sqrt(x).sum()                      # finite forward, inf gradient at 0
        with pytest.raises(RuntimeError, match=r"'SqrtBackward0' returned nan values in its 0th "
                                               r"output.*created at .*test_viz_anomaly.py"):
            y.backward()
    finally:
        torch.autograd.set_detect_anomaly(False)
