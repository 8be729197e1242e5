"""Recording: run a call eagerly once and write down every op it applies.

While a `Recorder` is installed (`autograd.function._recorder`), `Function.apply` hands
each op its thread runs to `Recorder.record`, which runs the op eagerly as usual and notes
what it was, which values it read (the call's inputs, the module's parameters and buffers,
or outputs of earlier ops) and what it produced. Anything the recording could not replay
faithfully is a *graph break*: an op without a replay plan, a tensor from outside the
inputs and parameters, Python reading a tensor's values (`item()`, `bool()`, `tolist()`,
`numpy()`, `__index__`, ...), hooks on intermediate values, or an in-place change of an
input or parameter. The call still completes eagerly; the break makes its signature run
eagerly from then on.
"""
from __future__ import annotations

import threading
import traceback

import numpy as np

from .. import _tensor
from ..autograd import function as _function
from ..autograd.grad_mode import state

Tensor = _tensor.Tensor

_PACKAGE = __name__.rsplit(".", 2)[0]
_VALUE_READERS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__",
                  "__index__", "__array__")
_lock = threading.RLock()


class GraphBreak(Exception):
    """Raised inside recording when the call cannot be replayed; its message names why."""


class Slot:
    """A value of the recorded region: input `index`, a `member` (parameter or buffer), or
    the output of a recorded op (kind "value"). `shape`/`dtype` are the recorded ones."""

    __slots__ = ("kind", "index", "member", "shape", "dtype")

    def __init__(self, kind: str, array: np.ndarray, index: int = -1,
                 member: Tensor | None = None) -> None:
        self.kind, self.index, self.member = kind, index, member
        self.shape, self.dtype = array.shape, array.dtype


class TensorOption:
    """A keyword option that was a Tensor (BatchNorm's running statistics): its value's
    Slot, kept apart from array options because the op reads it as a Tensor."""

    __slots__ = ("slot",)

    def __init__(self, slot: Slot) -> None:
        self.slot = slot


class Op:
    """One recorded op: its Function class, positional arguments (Slots or constants),
    keyword options (arrays mapped to Slots where they are region values, tensors to
    `TensorOption`s), output Slots and
    which positional arguments needed a gradient."""

    __slots__ = ("cls", "args", "kwargs", "outs", "needs")

    def __init__(self, cls, args, kwargs, outs, needs) -> None:
        self.cls, self.args, self.kwargs = cls, args, kwargs
        self.outs, self.needs = outs, needs


def user_line() -> str:
    """'file:line' of the innermost frame outside microtorch (where the user's code is)."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        if f"/{_PACKAGE}/" not in frame.filename.replace("\\", "/"):
            return f"{frame.filename}:{frame.lineno}"
    return "<unknown>"


class Recorder:
    """Collects the ops of one eager call (see the module docstring)."""

    def __init__(self, inputs: list, members: list, planned) -> None:
        self.thread = threading.get_ident()
        self.busy = False
        self.planned = planned
        self.ops: list[Op] = []
        self.slots: dict[int, Slot] = {}
        self.keep: list = []                 # the recorded tensors stay alive: ids stay unique
        self.inputs: list[Slot] = []
        self.broken: str | None = None
        self.member_arrays: dict[int, Slot] = {}
        for i, t in enumerate(inputs):
            slot = Slot("input", t._data, index=i)
            self.slots.setdefault(id(t), slot)
            self.inputs.append(slot)
        for t in members:
            slot = Slot("member", t._data, member=t)
            self.slots.setdefault(id(t), slot)
            self.member_arrays.setdefault(id(t._data), slot)
        self.keep.extend(inputs)
        self.keep.extend(members)

    # ---- the hook in Function.apply --------------------------------------------------------
    def wants(self, cls) -> bool:
        return not self.busy and threading.get_ident() == self.thread

    def record(self, cls, args: tuple, kwargs: dict):
        self.busy = True
        try:
            out = cls.apply(*args, **kwargs)
        finally:
            self.busy = False
        if self.broken is None:
            try:
                self._note(cls, args, kwargs, out)
            except GraphBreak as err:
                self.fail(str(err))
        return out

    def fail(self, reason: str) -> None:
        """Mark the recording broken (the first reason is kept), with the user's line."""
        if self.broken is None:
            self.broken = f"{reason} (at {user_line()})"

    def _note(self, cls, args: tuple, kwargs: dict, out) -> None:
        name = cls._backward_cls.__name__
        if cls not in self.planned:
            raise GraphBreak(f"{cls.__name__} ({name}) has no replay plan")
        enabled = state.enabled
        slot_args, needs = [], []
        for a in args:
            if isinstance(a, Tensor):
                slot_args.append(self._slot_of(a, name))
                needs.append(enabled and a._requires_grad)
            else:
                slot_args.append(a)
                needs.append(False)
        opts = {}
        for key, value in kwargs.items():
            if type(value) is np.ndarray:
                value = self._array_slot(value, name, key)
            elif isinstance(value, Tensor):
                value = TensorOption(self._slot_of(value, name))
            opts[key] = value
        outs = out if type(out) is tuple else (out,)
        out_slots = []
        for o in outs:
            if not isinstance(o, Tensor) or id(o) in self.slots:
                raise GraphBreak(f"{name} changed a value in place")
            slot = Slot("value", o._data)
            self.slots[id(o)] = slot
            self.keep.append(o)
            out_slots.append(slot)
        if not any(o._requires_grad for o in outs):
            needs = [False] * len(needs)
        self.ops.append(Op(cls, slot_args, opts, out_slots, tuple(needs)))

    def _slot_of(self, t: Tensor, name: str) -> Slot:
        slot = self.slots.get(id(t))
        if slot is None:
            raise GraphBreak(f"{name} reads a tensor that is neither an input, a parameter or "
                             "buffer of the module, nor computed from them")
        return slot

    def _array_slot(self, value: np.ndarray, name: str, key: str) -> Slot:
        """A keyword array: a buffer's own array (BatchNorm's running statistics), or a copy
        of exactly one input (a class target), else a break."""
        slot = self.member_arrays.get(id(value))
        if slot is not None:
            return slot
        found = [s for t, s in zip(self.keep, self.inputs)
                 if t._data.shape == value.shape and t._data.dtype == value.dtype
                 and np.array_equal(t._data, value)]
        if len(found) != 1:
            raise GraphBreak(f"{name} takes {key}= from a tensor that is not an input")
        return found[0]

    # ---- value readers ---------------------------------------------------------------------
    def __enter__(self) -> Recorder:
        _lock.acquire()
        self._saved_methods = {n: Tensor.__dict__[n] for n in _VALUE_READERS}
        for n, method in self._saved_methods.items():
            setattr(Tensor, n, _reader(self, n, method))
        _function._recorder = self
        return self

    def __exit__(self, *exc) -> None:
        _function._recorder = None
        for n, method in self._saved_methods.items():
            setattr(Tensor, n, method)
        _lock.release()


def _reader(rec: Recorder, name: str, method):
    """`method` that also breaks the recording when the recording thread calls it."""

    def read(self, *args, **kwargs):
        if threading.get_ident() == rec.thread and not rec.busy:
            rec.fail(f"Tensor.{name.strip('_')}() reads a tensor's values in Python")
        return method(self, *args, **kwargs)

    read.__name__ = name
    return read
