"""Reverse-mode automatic differentiation: `backward`, `grad`, grad modes, anomaly mode.

Start reading at `Tensor.backward` -> `backward` below -> `engine.run_backward`, which
walks the graph of `Node`s (see node.py) from the loss to every leaf.
"""
from __future__ import annotations

import numpy as np

from . import engine
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .anomaly_mode import is_enabled as is_anomaly_enabled
from .function import BackwardFunction, Function, FunctionCtx, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .node import AccumulateGrad, Node, grad_accumulator

__all__ = ["backward", "grad", "gradcheck", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "inference_mode", "set_detect_anomaly", "detect_anomaly", "is_anomaly_enabled", "Node",
           "Function", "FunctionCtx", "BackwardFunction", "once_differentiable"]


_ONES = {np.dtype(d): np.ones((), dtype=d) for d in (np.float16, np.float32, np.float64)}


def _root_grad(t, g, what: str) -> np.ndarray:
    if g is None:
        if t._data.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        if t._data.dtype.kind != "f":
            raise RuntimeError(
                f"grad can be implicitly created only for real scalar outputs but got {t.dtype}"
            )
        return _ONES[t._data.dtype].reshape(t._data.shape)
    arr = g._data if hasattr(g, "_data") else np.asarray(g)
    if arr.shape != t._data.shape:
        raise RuntimeError(
            f"Mismatch in shape: grad_output[0] has a shape of {tuple(arr.shape)} and output[0] "
            f"has a shape of {tuple(t._data.shape)}."
        )
    return arr.astype(t._data.dtype, copy=False)


def _edge(t) -> tuple:
    """The graph edge `(node, output_nr)` that a tensor's gradient enters by."""
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (grad_accumulator(t), 0)


def _root_edge(t) -> tuple:
    if not t._requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    return _edge(t)


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate the gradients of `tensors` into the `.grad` of every leaf they depend on."""
    if create_graph:
        raise NotImplementedError("microtorch does not support create_graph=True "
                                  "(higher-order gradients)")
    if inputs is not None:
        raise NotImplementedError("backward(inputs=...) is not supported; use autograd.grad")
    tensors = [tensors] if not isinstance(tensors, (list, tuple)) else list(tensors)
    if grad_tensors is None or not isinstance(grad_tensors, (list, tuple)):
        grad_tensors = [grad_tensors] * len(tensors)
    roots = [_root_edge(t) for t in tensors]
    grads = [_root_grad(t, g, "backward") for t, g in zip(tensors, grad_tensors)]
    engine.run_backward(roots, grads, bool(retain_graph))


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False) -> tuple:
    """The gradients of `outputs` w.r.t. `inputs`, returned instead of stored in `.grad`."""
    from .._tensor import Tensor

    if create_graph:
        raise NotImplementedError("microtorch does not support create_graph=True")
    outputs = [outputs] if not isinstance(outputs, (list, tuple)) else list(outputs)
    single = not isinstance(inputs, (list, tuple))
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs] * len(outputs)
    targets = []
    for i, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
        targets.append(_edge(t))
    roots = [_root_edge(t) for t in outputs]
    root_grads = [_root_grad(t, g, "grad") for t, g in zip(outputs, grad_outputs)]
    capture = engine.run_backward(roots, root_grads, bool(retain_graph),
                                  capture=dict.fromkeys(node for node, _ in targets))
    result = []
    for i, (t, (node, nr)) in enumerate(zip(inputs, targets)):
        g = capture[node]
        if g is not None and node._n_outputs > 1:
            g = g[nr]
        if g is None:
            if materialize_grads:
                g = np.zeros_like(t._data)
            elif not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}) appears to not have been "
                    "used in the graph. Set allow_unused=True if this is the desired behavior."
                )
        result.append(None if g is None else Tensor._wrap(
            np.array(g, dtype=t._data.dtype, copy=True).reshape(t._data.shape)))
    return tuple(result)


def gradcheck(*args, **kwargs) -> bool:
    """PyTorch's spelling `torch.autograd.gradcheck`: see `microtorch.testing.gradcheck`."""
    from ..testing import gradcheck as check

    return check(*args, **kwargs)
