"""A recorded call turned into replayable kernel calls, and its node in the autograd graph.

A `Program` holds what one recording found (ops, input and member slots, the output) and a
small pool of `BufferSet`s. A buffer set is one complete instantiation of the program: a
buffer for every value and gradient, and the forward and backward step lists built over
them by the plans. Replaying a forward takes a free set, copies the inputs into it, runs the
forward steps and returns a *copy* of the output (a tensor given to the user is never
overwritten). When the output requires grad, the set stays reserved by the call's one graph
node, `CompiledFunctionBackward`, until that node's backward has run without
`retain_graph` (the engine then releases it) or the node is gone: two forwards before one
backward, `retain_graph=True` and `autograd.grad` therefore see exactly eager's values.

Gradients of inputs and parameters are written into arrays that are handed to the engine
and then replaced, so each leaf's AccumulateGrad adopts them without a copy. The
replacements are allocated when the next backward starts, as eager mode's kernels allocate
theirs: after the optimizer's `zero_grad` has freed the previous gradients, whose memory
they then reuse (a steady loop takes no page faults for them).
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

from .._kernels._replay import run
from .._tensor import Tensor
from ..autograd.node import Node, grad_accumulator, sequence
from .plans import PLANS
from .recorder import GraphBreak, Op, Slot

POOL_SIZE = 4
"""Buffer sets per program: how many graphs of one compiled call may be alive at once
before further calls run eagerly."""


class _Builder:
    """Allocates one buffer set's arrays while the plans build its steps."""

    def __init__(self) -> None:
        self.vals: dict[int, np.ndarray] = {}
        self.grads: dict[int, np.ndarray] = {}
        self.inputs: dict[int, np.ndarray] = {}
        self.pending: list = []

    def val(self, ref):
        if not isinstance(ref, Slot):
            return ref
        arr = self.vals.get(id(ref))
        if arr is None:
            if ref.kind == "member":
                arr = ref.member._data
            elif ref.kind == "input":
                arr = self.inputs[ref.index] = np.empty(ref.shape, ref.dtype)
            else:
                raise GraphBreak("a value is read before it is computed")
            self.vals[id(ref)] = arr
        return arr

    def out(self, slot: Slot) -> np.ndarray:
        arr = self.vals[id(slot)] = np.empty(slot.shape, slot.dtype)
        return arr

    def scratch(self, shape: tuple, dtype) -> np.ndarray:
        return np.empty(shape, dtype)

    def grad(self, slot: Slot) -> np.ndarray:
        """The gradient arriving at `slot` (complete when its producer's backward runs)."""
        arr = self.grads.get(id(slot))
        if arr is None:
            arr = self.grads[id(slot)] = np.empty(slot.shape, slot.dtype)
        return arr

    def dest(self, slot: Slot) -> np.ndarray:
        """Where an op writes its gradient for `slot`: the gradient array itself for the
        first contribution (in backward order), else a temporary added to it right after
        the op (the sums of eager's engine, in its order)."""
        if id(slot) not in self.grads:
            return self.grad(slot)
        tmp = np.empty(slot.shape, slot.dtype)
        self.pending.append((np.add, (self.grads[id(slot)], tmp, self.grads[id(slot)])))
        return tmp


class BufferSet:
    """One instantiation of a program: buffers, step lists and the fresh-gradient rebinds."""

    __slots__ = ("forward", "backward", "inputs", "output", "out_grad", "fresh", "rebind",
                 "owner", "specs")

    def __init__(self, program: Program) -> None:
        b = _Builder()
        self.forward: list = list(program.prologue)
        backwards = []
        for op in program.ops:
            steps, backward = PLANS[op.cls](op, b)
            self.forward += steps
            backwards.append((op, backward))
        self.backward: list = []
        if program.grad_slots:
            b.grad(program.output)
            for op, backward in reversed(backwards):
                if op in program.live:
                    self.backward += backward()
                    self.backward += b.pending
                    b.pending = []
        self.inputs = [b.inputs.get(i) for i in range(len(program.inputs))]
        self.output = b.vals[id(program.output)]
        self.out_grad = b.grads.get(id(program.output))
        self.fresh = [b.grads[id(s)] for s in program.grad_slots]
        self.rebind = _rebinds(self.backward, self.fresh)
        self.owner = None
        self.specs = [(g.shape, g.dtype) for g in self.fresh]

    def is_free(self) -> bool:
        owner = self.owner
        if owner is None:
            return True
        node = owner()
        return node is None or node._saved is None

    def take_grads(self) -> tuple:
        """The gradients just computed for the edges: the steps let go of them, so the
        engine holds their only references (and the leaves adopt them without a copy)."""
        grads = tuple(self.fresh)
        self.fresh = None
        self._bind([None] * len(grads))
        return grads

    def renew(self) -> None:
        """New gradient arrays in place of those `take_grads` handed out."""
        self.fresh = [np.empty(shape, dtype) for shape, dtype in self.specs]
        self._bind(self.fresh)

    def _bind(self, arrays: list) -> None:
        steps = self.backward
        for i, uses in self.rebind:
            fn, args = steps[i]
            args = list(args)
            for j, k, shape in uses:
                a = arrays[k]
                args[j] = a if shape is None or a is None else a.reshape(shape)
            steps[i] = (fn, tuple(args))


def _rebinds(steps: list, fresh: list) -> list:
    """[(step index, [(argument position, fresh index, view shape or None)])] for the steps
    that pass a fresh gradient array (or a reshape of it)."""
    index = {id(arr): k for k, arr in enumerate(fresh)}
    found = []
    for i, (_, args) in enumerate(steps):
        uses = []
        for j, a in enumerate(args):
            if type(a) is np.ndarray:
                k = index.get(id(a))
                if k is not None:
                    uses.append((j, k, None))
                elif a.base is not None and id(a.base) in index:
                    uses.append((j, index[id(a.base)], a.shape))
        if uses:
            found.append((i, uses))
    return found


class _Busy:
    """Stands for the owner of a buffer set during its forward replay (never free)."""

    _saved = ()


_IN_USE = weakref.ref(_Busy)
"""`owner` of a set being replayed: a reference that never dies and never is released."""


class CompiledFunctionBackward(Node):
    """The graph node of one compiled call: its backward replays the recorded backward
    steps and returns one gradient per edge (inputs and parameters that need one)."""

    __slots__ = ()

    def backward(self, grad: np.ndarray) -> tuple:
        bs = self._saved[0]
        if bs.fresh is None:
            bs.renew()
        np.copyto(bs.out_grad, grad)
        run(bs.backward)
        return bs.take_grads()


class Program:
    """A recorded call made replayable (see the module docstring)."""

    def __init__(self, recorder, output: Tensor, prologue: list) -> None:
        self.ops: list[Op] = recorder.ops
        self.inputs: list[Slot] = recorder.inputs
        out_slot = recorder.slots.get(id(output))
        if out_slot is None or out_slot.kind != "value":
            raise GraphBreak("the compiled call returns a tensor that no recorded op computed")
        self.output = out_slot
        self.prologue = prologue
        self.requires_grad = output._requires_grad
        self.live = _live_ops(self.ops, out_slot) if self.requires_grad else set()
        grad_slots = []
        for op in self.ops:
            if op in self.live:
                for a, need in zip(op.args, op.needs):
                    if need and a.kind != "value" and all(a is not s for s in grad_slots):
                        grad_slots.append(a)
        self.grad_slots = grad_slots
        self.edges = tuple(None if s.kind == "input" else (grad_accumulator(s.member), 0)
                           for s in grad_slots)
        self.input_edges = [(k, s.index) for k, s in enumerate(grad_slots) if s.kind == "input"]
        self.lock = threading.Lock()
        self.sets = [BufferSet(self)]

    def acquire(self) -> BufferSet | None:
        """A free buffer set, marked in use (None when all `POOL_SIZE` sets are taken)."""
        with self.lock:
            for bs in self.sets:
                if bs.is_free():
                    bs.owner = _IN_USE
                    return bs
            if len(self.sets) < POOL_SIZE:
                bs = BufferSet(self)
                bs.owner = _IN_USE
                self.sets.append(bs)
                return bs
        return None

    def replay(self, inputs: list, bs: BufferSet) -> Tensor:
        """Run the forward steps on `inputs` (tensors) in `bs`; the output as a new tensor
        (attached to a new graph node when it requires grad)."""
        for buf, t in zip(bs.inputs, inputs):
            if buf is not None:
                np.copyto(buf, t._data)
        run(bs.forward)
        out = Tensor._wrap(bs.output.copy())
        if not self.requires_grad:
            bs.owner = None
            return out
        node = CompiledFunctionBackward.__new__(CompiledFunctionBackward)
        edges = self.edges
        if self.input_edges:
            edges = list(edges)
            for k, i in self.input_edges:
                t = inputs[i]
                fn = t.grad_fn
                edges[k] = (grad_accumulator(t), 0) if fn is None else (fn, t._output_nr)
            edges = tuple(edges)
        node.next_functions = edges
        node._saved = (bs,)
        node._versions = ()
        node._pre_hooks = None
        node._seq = next(sequence)
        node._shape = self.output.shape
        node._dtype = self.output.dtype
        bs.owner = weakref.ref(node)
        out.grad_fn = node
        out._requires_grad = True
        return out


def _live_ops(ops: list[Op], output: Slot) -> set:
    """The ops whose outputs the output depends on (the only ones backward runs)."""
    wanted = {id(output)}
    live = set()
    for op in reversed(ops):
        if any(id(s) in wanted for s in op.outs) and any(op.needs):
            live.add(op)
            wanted.update(id(a) for a, need in zip(op.args, op.needs) if need)
    return live
