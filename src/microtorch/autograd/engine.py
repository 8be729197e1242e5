"""The backward pass: run the graph's nodes from the output back to the leaves.

Every node gets an increasing sequence number when it is recorded, so a node is always
numbered after the nodes of its inputs. Processing pending nodes highest number first
(a heap) is therefore a valid reverse topological order: when a node runs, every consumer
has already delivered its gradient. No recursion and no separate sorting pass: a chain of
100,000 ops costs the same per node as a chain of 3, and nodes that receive no gradient
are never visited. Gradients a node receives from several consumers are summed, and each
is reduced to the shape and dtype of the tensor it belongs to (`sum_to_shape`): the one
place where broadcasting is undone.
"""
from __future__ import annotations

import threading
from heapq import heappop, heappush

import numpy as np

from . import anomaly_mode
from .node import _FREED, AccumulateGrad, Node


class _State(threading.local):
    accumulating = True
    """False while `autograd.grad` runs in this thread: nodes must not write into `.grad`."""


state = _State()


def sum_to_shape(grad: np.ndarray, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Sum a broadcast gradient back to `shape` and cast it to `dtype`."""
    if grad.shape != shape:
        lead = grad.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1
        )
        if axes:
            grad = grad.sum(axis=axes)
        grad = grad.reshape(shape)
    if grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad


def run_backward(roots: list[Node], root_grads: list[np.ndarray], retain_graph: bool,
                 capture: dict | None = None) -> dict | None:
    """Propagate `root_grads` from `roots` to the leaves.

    Without `capture`, leaves' `.grad` are accumulated. With `capture` (a dict whose keys
    are nodes), the total gradient arriving at each of those nodes is stored there instead
    and no `.grad` is touched (this is `autograd.grad`).
    """
    prev = state.accumulating
    state.accumulating = capture is None
    try:
        return _run(roots, root_grads, retain_graph, capture)
    finally:
        state.accumulating = prev


def _run(roots, root_grads, retain_graph, capture):
    grads: dict = {}
    heap: list = []
    for node, g in zip(roots, root_grads):
        if node in grads:
            grads[node] = grads[node] + g
        else:
            grads[node] = g
            heappush(heap, (-node.seq, node))
    detect = anomaly_mode._enabled
    while heap:
        node = heappop(heap)[1]
        grad = grads.pop(node)
        if node.pre_hooks:
            grad = _run_hooks(node, grad)
        if capture is not None and node in capture:
            capture[node] = grad
        if type(node) is AccumulateGrad:
            if capture is None:
                node.backward(grad)
            continue
        if node.saved is None:
            raise RuntimeError(_FREED)
        outs = node.backward(grad)
        if detect:
            anomaly_mode.check_backward(node, outs)
        if not retain_graph:
            node.release()
        for (nxt, _), g in zip(node.next_functions, outs):
            if nxt is None or g is None:
                continue
            if g.shape != nxt.shape or g.dtype != nxt.dtype:
                g = sum_to_shape(g, nxt.shape, nxt.dtype)
            prev = grads.get(nxt)
            if prev is None:
                grads[nxt] = g
                heappush(heap, (-nxt.seq, nxt))
            else:
                grads[nxt] = prev + g
    return capture


def _run_hooks(node: Node, grad: np.ndarray) -> np.ndarray:
    from .._tensor import Tensor

    for hook in node.pre_hooks:
        new = hook(Tensor._wrap(grad))
        if new is not None:
            grad = new._data
    return grad
