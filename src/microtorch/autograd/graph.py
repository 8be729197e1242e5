"""Recording ops into the graph: the two helpers every differentiable op calls."""
from __future__ import annotations

from . import anomaly_mode
from .grad_mode import state
from .node import grad_accumulator


def needs_grad(*tensors) -> bool:
    """True if grad mode is on and any of the tensors requires grad."""
    if not state.enabled:
        return False
    for t in tensors:
        if t is not None and t._requires_grad:
            return True
    return False


def _edge(t):
    if t is None or not t._requires_grad:
        return (None, 0)
    fn = t.grad_fn
    return (fn if fn is not None else grad_accumulator(t), 0)


def record(node, out, *inputs):
    """Make `node` the `grad_fn` of `out`, with one edge per input (None for constants)."""
    node.next_functions = tuple([_edge(t) for t in inputs])
    data = out._data
    node.shape = data.shape
    node.dtype = data.dtype
    out.grad_fn = node
    out._requires_grad = True
    if anomaly_mode._enabled:
        anomaly_mode.check_forward(node, data, inputs)
    return out
