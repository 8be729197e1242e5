"""Recording ops into the graph: the two helpers every differentiable op calls."""
from __future__ import annotations

from . import anomaly_mode
from .grad_mode import state
from .node import grad_accumulator, sequence


def needs_grad(*tensors) -> bool:
    """True if grad mode is on and any of the tensors requires grad."""
    if not state.enabled:
        return False
    for t in tensors:
        if t is not None and t._requires_grad:
            return True
    return False


_NO_EDGE = (None, 0)


def record(node, out, *inputs):
    """Make `node` the `grad_fn` of `out`, with one edge per input (None for constants)."""
    edges = []
    for t in inputs:
        if t is None or not t._requires_grad:
            edges.append(_NO_EDGE)
        else:
            fn = t.grad_fn
            edges.append((fn if fn is not None else grad_accumulator(t), 0))
    node.next_functions = tuple(edges)
    node.seq = next(sequence)
    data = out._data
    node.shape = data.shape
    node.dtype = data.dtype
    out.grad_fn = node
    out._requires_grad = True
    if anomaly_mode._enabled:
        anomaly_mode.check_forward(node, data, inputs)
    return out
