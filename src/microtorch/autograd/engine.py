"""The backward pass: run the graph's nodes in reverse topological order.

No recursion: a dependency count per node (how many consumers still owe it a gradient)
orders the work, so a chain of 100,000 ops is as easy as a chain of 3. Gradients that a
node receives from several consumers are summed, and every gradient is reduced to the
shape and dtype of the tensor it belongs to (`sum_to_shape`): the one place where
broadcasting is undone.
"""
from __future__ import annotations

import numpy as np

from . import anomaly_mode
from .node import _FREED, AccumulateGrad, Node

accumulating = True
"""False while `autograd.grad` runs: nodes must then not write into leaves' `.grad`."""


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


def _dependencies(roots: list[Node]) -> dict:
    """For every node reachable from the roots: how many edges point at it."""
    deps: dict = {}
    stack = list(roots)
    seen = set(roots)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


def run_backward(roots: list[Node], root_grads: list[np.ndarray], retain_graph: bool,
                 capture: dict | None = None) -> dict | None:
    """Propagate `root_grads` from `roots` to the leaves.

    Without `capture`, leaves' `.grad` are accumulated. With `capture` (a dict whose keys
    are nodes), the total gradient arriving at each of those nodes is stored there instead
    and no `.grad` is touched (this is `autograd.grad`).
    """
    global accumulating
    accumulating = capture is None
    try:
        return _run(roots, root_grads, retain_graph, capture)
    finally:
        accumulating = True


def _run(roots, root_grads, retain_graph, capture):
    deps = _dependencies(roots)
    grads: dict = {}
    for node, g in zip(roots, root_grads):
        grads[node] = grads[node] + g if node in grads else g
    ready = [n for n in dict.fromkeys(roots) if deps.get(n, 0) == 0]
    detect = anomaly_mode.is_enabled()
    from .._tensor import Tensor

    while ready:
        node = ready.pop()
        grad = grads.pop(node, None)
        outs = ()
        if grad is not None:
            if node.pre_hooks:
                for hook in node.pre_hooks:
                    new = hook(Tensor._wrap(grad))
                    if new is not None:
                        grad = new._data
            if capture is not None and node in capture:
                capture[node] = grad
            if type(node) is AccumulateGrad:
                if capture is None:
                    node.backward(grad)
            else:
                if node.saved is None:
                    raise RuntimeError(_FREED)
                outs = node.backward(grad)
                if detect:
                    anomaly_mode.check_backward(node, outs)
                if not retain_graph:
                    node.release()
        for i, (nxt, _) in enumerate(node.next_functions):
            if nxt is None:
                continue
            g = outs[i] if outs else None
            if g is not None:
                if g.shape != nxt.shape or g.dtype != nxt.dtype:
                    g = sum_to_shape(g, nxt.shape, nxt.dtype)
                prev = grads.get(nxt)
                grads[nxt] = g if prev is None else prev + g
            left = deps[nxt] - 1
            deps[nxt] = left
            if left == 0:
                ready.append(nxt)
    return capture
