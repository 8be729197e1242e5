"""Graph nodes: what one operation remembers so that backward can run through it.

Every differentiable op creates one `Node` (PyTorch calls it `grad_fn`, e.g. `MulBackward0`).
Its `next_functions` point at the nodes that produced its inputs (or at an `AccumulateGrad`
for a leaf), and `backward(grad)` maps the gradient of its output to one gradient per input,
as numpy arrays. Gradients may have the broadcast shape: the engine sums them back to each
input's shape in one place.

Nodes are made by `Function.apply` (function.py); the node of a Function *is* the `ctx` its
forward and backward receive, so user attributes (`ctx.dim = 1`) live on it. The engine's own
fields therefore start with an underscore.
"""
from __future__ import annotations

import itertools
import re
import weakref

import numpy as np

from .. import _dtype
from ..utils.hooks import RemovableHandle

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
    """One recorded operation. Subclasses implement `backward(grad) -> tuple`.

    Engine fields: `next_functions` (one `(node, output_nr)` edge per input), `_seq`
    (creation number), `_shape`/`_dtype` (of output 0: the engine reduces incoming
    gradients to them), `_n_outputs` and `_out_meta` (per-output shape/dtype when a node
    has several outputs), `_saved`/`_versions` (saved values and the version counters that
    guard them), `_pre_hooks`, `_created_at` (anomaly mode).
    """

    __slots__ = ("next_functions", "_saved", "_versions", "_shape", "_dtype", "_pre_hooks",
                 "_seq", "_created_at", "__weakref__")
    _n_outputs = 1

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    def check_versions(self) -> None:
        """Raise if a saved value was modified in place since it was saved."""
        for box, v, k, owner in self._versions:
            if box[0] != v:
                raise RuntimeError(self._version_error(box[0], v, k, owner))

    def _version_error(self, now: int, expected: int, k: int, owner) -> str:
        """PyTorch's message: the saved tensor's type and shape, the node that made it (an
        output of this node, or the current grad_fn of a saved input), the versions."""
        s = self._saved[k]
        data = s if isinstance(s, np.ndarray) else s[0] if isinstance(s, tuple) else s._data
        kind = ("CPUBoolType" if data.dtype == np.bool_
                else f"torch.{_dtype.scalar_name(data.dtype)}Tensor")
        made = ""
        if isinstance(owner, int):
            made = f", which is output {owner} of {_label(self.name())},"
        else:
            t = s if owner is None else owner if hasattr(owner, "_data") else owner()
            fn = None if t is None else t.grad_fn
            if fn is not None:
                made = f", which is output {t._output_nr} of {_label(fn.name())},"
        return ("one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{kind} {list(data.shape)}]{made} is at version {now}; "
                f"expected version {expected} instead. Hint: enable anomaly detection to find "
                "the operation that failed to compute its gradient, with "
                "torch.autograd.set_detect_anomaly(True, check_nan=False).")

    def release(self) -> None:
        """Free the saved values; a second backward through this node then raises.

        Nodes that saved nothing stay usable, as in PyTorch.
        """
        if self._saved:
            self._saved = None
            self._versions = ()

    def backward(self, grad):
        raise NotImplementedError

    def register_prehook(self, hook) -> RemovableHandle:
        """Call `hook(grad)` on the gradient arriving at this node; a returned tensor replaces it."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
        handle = RemovableHandle(self._pre_hooks)
        self._pre_hooks[handle.id] = hook
        return handle

    def register_hook(self, hook):
        raise NotImplementedError("microtorch supports hooks on tensors (Tensor.register_hook), "
                                  "not post-hooks on graph nodes")


class AccumulateGrad(Node):
    """The node of a leaf tensor that requires grad: backward adds into `leaf.grad`.

    This is the one writer of `.grad`. A gradient array that nobody else references (the
    engine checks its reference count) becomes `leaf.grad` as is, without a copy. The leaf
    keeps its node alive (one per leaf, reused by every graph); the node only refers back
    weakly, so no reference cycle forms.
    """

    __slots__ = ("_variable",)

    def __init__(self, variable) -> None:
        self._saved = ()
        self._versions = ()
        self._pre_hooks = None
        self._variable = weakref.ref(variable)
        self.next_functions = ()
        self._seq = next(sequence)
        self._shape = variable._data.shape
        self._dtype = variable._data.dtype

    @property
    def variable(self):
        """The leaf tensor (None once it has been freed)."""
        return self._variable()

    def backward(self, grad: np.ndarray, owned: bool = False) -> tuple:
        """Add `grad` into the leaf's `.grad`; `owned` means the array may be kept as is."""
        leaf = self._variable()
        if leaf is None:
            return ()
        current = leaf.grad
        if current is None:
            if not (owned and grad.flags.c_contiguous and grad.flags.writeable
                    and grad.base is None):
                grad = np.array(grad, dtype=self._dtype, copy=True)
            leaf.grad = _wrap(grad)
        else:
            buf = current._data
            if current._requires_grad or buf.shape != grad.shape or not buf.flags.writeable:
                leaf.grad = _wrap(buf + grad)
            else:
                np.add(buf, grad, out=buf)
        return ()


def _label(name: str) -> str:
    """A node's name as PyTorch's messages print it ('MulBackward0' -> 'Mul')."""
    return re.sub(r"Backward\d*$", "", name)


def _wrap(data: np.ndarray):
    from .._tensor import Tensor

    global _wrap
    _wrap = Tensor._wrap
    return _wrap(data)


def grad_accumulator(tensor) -> AccumulateGrad:
    """The leaf's AccumulateGrad node, created once and shared by every op that uses it."""
    node = tensor._grad_acc
    if node is None:
        node = tensor._grad_acc = AccumulateGrad(tensor)
    return node


class PassThrough(Node):
    """A node that a fused op shows where PyTorch records an op of its own (the TBackward0
    between linear's node and its weight), so that `next_functions` read as in PyTorch
    while the fused op still computes every gradient in one backward.

    No tensor has it as grad_fn and it owns no output (`_n_outputs = 0`): the fused op's
    backward already returns the gradient of this node's input, and the engine hands what
    arrives here on to the node's one edge unchanged. It saves nothing and is never
    scheduled, so showing one costs one object and one attribute (`pass_through`).
    """

    __slots__ = ()
    _n_outputs = 0
    _saved = _versions = ()
    _pre_hooks = None
    _seq = -1

    @property
    def _shape(self) -> tuple:
        return _meta(*self.next_functions[0])[0]

    @property
    def _dtype(self):
        return _meta(*self.next_functions[0])[1]

    def backward(self, grad):
        return (grad,)

    def register_prehook(self, hook):
        raise RuntimeError(f"{self.name()} stands for a step that microtorch fuses into the "
                           "node before it; register the hook on that node's input instead")


def _meta(node: Node, nr: int) -> tuple:
    """(shape, dtype) of output `nr` of `node`."""
    return (node._shape, node._dtype) if node._n_outputs == 1 else node._out_meta[nr]


def pass_through_type(name: str) -> type:
    """The PassThrough subclass named `name` (the PyTorch node it stands for)."""
    return type(name, (PassThrough,), {"__slots__": ()})


def pass_through(out, slot: int, cls: type):
    """Show the PassThrough node `cls` (a `pass_through_type`) on edge `slot` of the node
    that made `out`, between it and that input, as PyTorch's graph has a node there;
    returns `out`. Nothing changes without a node or an edge there."""
    node = out.grad_fn
    if node is not None:
        edges = node.next_functions
        edge = edges[slot]
        if edge[0] is not None:
            shown = cls.__new__(cls)
            shown.next_functions = (edge,)
            node.next_functions = edges[:slot] + ((shown, 0),) + edges[slot + 1:]
    return out
