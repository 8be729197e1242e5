"""Graph nodes: what one operation remembers so that backward can run through it.

Every differentiable op creates one `Node` subclass instance (PyTorch calls them
`grad_fn`, e.g. `MulBackward0`). Its `next_functions` point at the nodes that produced
its inputs (or at an `AccumulateGrad` for a leaf), and `backward(grad)` maps the
gradient of its output to one gradient per input, as numpy arrays. Gradients may have
the broadcast shape: the engine sums them back to each input's shape in one place.
"""
from __future__ import annotations

import weakref

import numpy as np

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


class Node:
    """One recorded operation. Subclasses implement `backward(grad) -> tuple`."""

    __slots__ = ("next_functions", "saved", "versions", "shape", "dtype", "pre_hooks",
                 "created_at", "__weakref__")

    def __init__(self) -> None:
        self.saved = ()
        self.versions = ()
        self.pre_hooks = None

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def save_for_backward(self, *tensors) -> None:
        """Keep the tensors' arrays, and their versions to detect later in-place changes."""
        self.saved = tuple(t._data for t in tensors)
        self.versions = tuple((t, t._version[0]) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        """The saved arrays, after checking that none was modified in place since."""
        saved = self.saved
        if saved is None:
            raise RuntimeError(_FREED)
        for t, v in self.versions:
            if t._version[0] != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{t.dtype.name} {list(t.shape)}] is at version "
                    f"{t._version[0]}; expected version {v} instead. ({self.name()})"
                )
        return saved

    def release(self) -> None:
        """Free what backward needed; a second backward through this node then raises."""
        self.saved = None
        self.versions = ()

    def backward(self, grad: np.ndarray) -> tuple:
        raise NotImplementedError

    def register_prehook(self, hook) -> None:
        if self.pre_hooks is None:
            self.pre_hooks = []
        self.pre_hooks.append(hook)


class AccumulateGrad(Node):
    """The node of a leaf tensor that requires grad: backward adds into `leaf.grad`."""

    __slots__ = ("variable",)

    def __init__(self, variable) -> None:
        self.saved = ()
        self.versions = ()
        self.pre_hooks = None
        self.variable = variable
        self.next_functions = ()
        self.shape = variable._data.shape
        self.dtype = variable._data.dtype

    def backward(self, grad: np.ndarray) -> tuple:
        from .._tensor import Tensor

        leaf = self.variable
        if leaf.grad is None:
            leaf.grad = Tensor._wrap(np.array(grad, dtype=self.dtype, copy=True))
        else:
            leaf.grad = Tensor._wrap(leaf.grad._data + grad) if _needs_new(leaf.grad, grad) \
                else _add_into(leaf.grad, grad)
        return ()


def _needs_new(g, grad) -> bool:
    return g.requires_grad or g._data.shape != grad.shape or not g._data.flags.writeable


def _add_into(g, grad):
    np.add(g._data, grad, out=g._data)
    return g


def grad_accumulator(tensor) -> AccumulateGrad:
    """The leaf's AccumulateGrad node, created once and shared by every op that uses it."""
    ref = tensor._grad_acc
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(tensor)
        tensor._grad_acc = weakref.ref(node)
    return node
