"""Graph nodes: what one operation remembers so that backward can run through it.

Every differentiable op creates one `Node` subclass instance (PyTorch calls them
`grad_fn`, e.g. `MulBackward0`). Its `next_functions` point at the nodes that produced
its inputs (or at an `AccumulateGrad` for a leaf), and `backward(grad)` maps the
gradient of its output to one gradient per input, as numpy arrays. Gradients may have
the broadcast shape: the engine sums them back to each input's shape in one place.
"""
from __future__ import annotations

import itertools
import weakref

import numpy as np

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


sequence = itertools.count()
"""Numbers nodes in creation order; the engine runs higher numbers first."""


class Node:
    """One recorded operation. Subclasses implement `backward(grad) -> tuple`."""

    __slots__ = ("next_functions", "saved", "versions", "shape", "dtype", "pre_hooks",
                 "seq", "in_shape", "created_at", "__weakref__")

    def __init__(self) -> None:
        self.saved = ()
        self.versions = ()
        self.pre_hooks = None

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    def save_for_backward(self, *tensors) -> None:
        """Keep the tensors' arrays, and their versions to detect later in-place changes.

        Only the version counters are referenced, never the tensors, so saving an op's own
        output creates no reference cycle.
        """
        self.saved = tuple(t._data for t in tensors)
        self.versions = tuple((t._version, t._version[0]) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        """The saved arrays, after checking that none was modified in place since."""
        saved = self.saved
        if saved is None:
            raise RuntimeError(_FREED)
        for box, v in self.versions:
            if box[0] != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: the output of or an input to {self.name()} is at "
                    f"version {box[0]}; expected version {v} instead. Hint: avoid in-place "
                    "operations on tensors that backward needs, or clone() them first."
                )
        return saved

    def release(self) -> None:
        """Free the saved arrays; a second backward through this node then raises.

        Nodes that saved no arrays stay usable, as in PyTorch.
        """
        if self.saved:
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
        self.seq = next(sequence)
        self.shape = variable._data.shape
        self.dtype = variable._data.dtype

    def backward(self, grad: np.ndarray) -> tuple:
        leaf = self.variable
        current = leaf.grad
        if current is None:
            leaf.grad = _wrap(np.array(grad, dtype=self.dtype, copy=True))
        else:
            buf = current._data
            if current._requires_grad or buf.shape != grad.shape or not buf.flags.writeable:
                leaf.grad = _wrap(buf + grad)
            else:
                np.add(buf, grad, out=buf)
        return ()


def _wrap(data: np.ndarray):
    from .._tensor import Tensor

    global _wrap
    _wrap = Tensor._wrap
    return _wrap(data)


def grad_accumulator(tensor) -> AccumulateGrad:
    """The leaf's AccumulateGrad node, created once and shared by every op that uses it."""
    ref = tensor._grad_acc
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(tensor)
        tensor._grad_acc = weakref.ref(node)
    return node
