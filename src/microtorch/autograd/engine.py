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

from heapq import heappop, heappush
from sys import getrefcount

import numpy as np

from . import anomaly_mode
from .node import _FREED, AccumulateGrad, Node


def sum_to_shape(grad: np.ndarray, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Sum a broadcast gradient back to `shape` and cast it to `dtype`."""
    if grad.shape != shape:
        lead = grad.ndim - len(shape)
        if lead < 0:                  # a value with leading size-1 dims (x[i] = v)
            grad, lead = grad.reshape((1,) * -lead + grad.shape), 0
        axes = tuple(range(lead)) + tuple(
            i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1
        )
        if axes:
            grad = grad.sum(axis=axes)
        grad = grad.reshape(shape)
    if grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad


def run_backward(roots: list, root_grads: list[np.ndarray], retain_graph: bool,
                 capture: dict | None = None) -> dict | None:
    """Propagate `root_grads` from the `roots` edges `(node, output_nr)` to the leaves.

    Without `capture`, leaves' `.grad` are accumulated (by their AccumulateGrad nodes, the
    only writers of `.grad`). With `capture` (a dict whose keys are nodes), the total
    gradient arriving at each of those nodes is stored there instead and no `.grad` is
    touched (this is `autograd.grad`), and, as in PyTorch, only the nodes on a path to one
    of them run.
    """
    grads: dict = {}
    heap: list = []
    direct: set = set()
    needed = None if capture is None else _on_paths(roots, capture)
    for (node, nr), g in zip(roots, root_grads):
        if needed is None or node in needed:
            _deliver(grads, heap, node, nr, g)
    detect = anomaly_mode._enabled
    while heap:
        node = heappop(heap)[1]
        grad = grads.pop(node)
        if node._pre_hooks:
            grad = _run_hooks(node, grad)
        if capture is not None and node in capture:
            capture[node] = grad
        if type(node) is AccumulateGrad:
            if capture is None:
                owned = getrefcount(grad) <= _OWNED_REFS    # nothing else holds the array
                node.backward(grad, owned)
            continue
        if node._saved is None:
            raise RuntimeError(_FREED)
        outs = node.backward(grad)
        del grad
        if detect:
            anomaly_mode.check_backward(node, outs)
        if not retain_graph:
            node.release()
        outs = list(outs)
        for i, (nxt, nr) in enumerate(node.next_functions):
            g = outs[i]
            outs[i] = None              # so that `g` is this array's only holder here
            if nxt is None or g is None or needed is not None and nxt not in needed:
                continue
            if nxt._n_outputs != 1:
                if not nxt._n_outputs:      # a PassThrough node: `g` is already its input's
                    nxt, nr = nxt.next_functions[0]
                if nxt._n_outputs != 1:
                    _deliver(grads, heap, nxt, nr, g)
                    continue
            if g.shape != nxt._shape or g.dtype is not nxt._dtype:
                g = sum_to_shape(g, nxt._shape, nxt._dtype)
            if type(nxt) is AccumulateGrad and capture is None and not nxt._pre_hooks \
                    and (nxt in direct or _has_no_grad(nxt)):
                # A leaf whose .grad starts empty in this pass: accumulate each arrival now
                # (the same sums in the same order as collecting them first).
                owned = getrefcount(g) <= _OWNED_REFS
                nxt.backward(g, owned)
                direct.add(nxt)
                continue
            prev = grads.get(nxt)
            if prev is None:
                grads[nxt] = g
                heappush(heap, (-nxt._seq, nxt))
            else:
                grads[nxt] = prev + g
        outs = g = None      # keep no reference: AccumulateGrad may take ownership
    return capture


_OWNED_REFS = 2
"""getrefcount of an array held by one local variable only (the call adds one)."""

def _on_paths(roots: list, targets) -> set:
    """The nodes from which one of `targets` can be reached (roots' edges downwards)."""
    order, seen = [], set()
    stack = [(node, False) for node, _ in roots if node is not None]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((nxt, False) for nxt, _ in node.next_functions
                     if nxt is not None and nxt not in seen)
    needed = set()
    for node in order:                      # every node after the nodes it points to
        if node in targets or any(nxt in needed for nxt, _ in node.next_functions):
            needed.add(node)
    return needed


def _has_no_grad(acc: AccumulateGrad) -> bool:
    leaf = acc.variable
    return leaf is not None and leaf.grad is None


def _deliver(grads: dict, heap: list, node: Node, nr: int, g: np.ndarray) -> None:
    """Add gradient `g` for output `nr` of `node` to what it has received so far."""
    while node._n_outputs == 0:      # a PassThrough node: `g` is already its input's
        node, nr = node.next_functions[0]
    if node._n_outputs == 1:
        if g.shape != node._shape or g.dtype is not node._dtype:
            g = sum_to_shape(g, node._shape, node._dtype)
        prev = grads.get(node)
        if prev is None:
            grads[node] = g
            heappush(heap, (-node._seq, node))
        else:
            grads[node] = prev + g
        return
    shape, dtype = node._out_meta[nr]
    if g.shape != shape or g.dtype != dtype:
        g = sum_to_shape(g, shape, dtype)
    slots = grads.get(node)
    if slots is None:
        slots = grads[node] = [None] * node._n_outputs
        heappush(heap, (-node._seq, node))
    slots[nr] = g if slots[nr] is None else slots[nr] + g


def _run_hooks(node: Node, grad: np.ndarray) -> np.ndarray:
    from .._tensor import Tensor

    for hook in list(node._pre_hooks.values()):
        new = hook(Tensor._wrap(grad))
        if new is not None:
            grad = new._data
    return grad
