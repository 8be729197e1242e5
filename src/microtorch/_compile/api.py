"""`microtorch.compile`: PyTorch's `torch.compile` entry point, backed by record-and-replay.

A compiled callable keeps up to `CACHE_LIMIT` recordings, one per *guard signature*: the
positional inputs' shapes, dtypes, contiguity and `requires_grad` (other arguments by
value), grad mode, and, for a module, every submodule's `training` flag and forward hooks
and the identity, array and `requires_grad` of each parameter and buffer. A compiled
function is guarded the same way on what it reads from outside: each closure variable and
each global its code names is guarded by identity (constants by value); tensors among them
also by array and `requires_grad`, and modules among them like a compiled module, so a
function may use a model or a leaf tensor directly. A call with a known signature replays
its program; a new signature is recorded by running the call eagerly; a signature whose
recording hit a graph break runs eagerly.
"""
from __future__ import annotations

import copy
import functools
import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd import anomaly_mode
from ..autograd import function as _function
from ..autograd.grad_mode import state
from ..nn.modules.batchnorm import _BatchNorm
from ..nn.modules.module import Module
from .plans import PLANS, _bump
from .program import Program
from .recorder import GraphBreak, Recorder

CACHE_LIMIT = 8
"""Recordings per compiled callable (PyTorch's default recompile limit)."""


class Unsupported(RuntimeError):
    """A graph break under `fullgraph=True` (PyTorch's `torch._dynamo.exc.Unsupported`)."""


class _Entry:
    """One guard signature and its program (None: the signature runs eagerly)."""

    __slots__ = ("specs", "grad", "program", "modules", "members", "roots")


_CONSTANTS = (int, float, bool, str, type(None))
"""Non-tensor argument types guarded by value; any other object is guarded by identity."""


def _spec(a):
    if isinstance(a, Tensor):
        d = a._data
        return (Tensor, d.shape, d.dtype, d.flags.c_contiguous, a._requires_grad)
    return (type(a), a)


class CompiledCallable:
    """A function or module call with record-and-replay (see the module docstring)."""

    def __init__(self, fn, module: Module | None, fullgraph: bool) -> None:
        self.fn = fn
        self.module = module
        self.fullgraph = fullgraph
        self.entries: list[_Entry] = []
        self.warned: set = set()

    def __deepcopy__(self, memo: dict) -> CompiledCallable:
        """A copy compiles afresh: recordings hold buffers and views that a copy would
        separate."""
        return CompiledCallable(copy.deepcopy(self.fn, memo), copy.deepcopy(self.module, memo),
                                self.fullgraph)

    def __getstate__(self) -> dict:
        return {"fn": self.fn, "module": self.module, "fullgraph": self.fullgraph}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["fn"], state["module"], state["fullgraph"])

    def __call__(self, *args, **kwargs):
        if kwargs or anomaly_mode._enabled or _function._recorder is not None:
            return self.fn(*args, **kwargs)
        for entry in self.entries:
            if self._matches(entry, args):
                program = entry.program
                if program is None:
                    return self.fn(*args)
                bs = program.acquire()
                if bs is None:
                    return self.fn(*args)
                return program.replay([a for a in args if isinstance(a, Tensor)], bs)
        if len(self.entries) >= CACHE_LIMIT:
            self._warn("cache", f"microtorch.compile: {CACHE_LIMIT} recordings of "
                                f"{_name(self.fn)} exist (the cache limit); new input "
                                "signatures run eagerly")
            return self.fn(*args)
        return self._record(args)

    def _matches(self, entry: _Entry, args: tuple) -> bool:
        if len(args) != len(entry.specs) or state.enabled != entry.grad:
            return False
        for a, spec in zip(args, entry.specs):
            if isinstance(a, Tensor):
                d = a._data
                if spec[0] is not Tensor or d.shape != spec[1] or d.dtype != spec[2] \
                        or d.flags.c_contiguous is not spec[3] \
                        or a._requires_grad is not spec[4]:
                    return False
            elif type(a) is not spec[0] or (a != spec[1] if spec[0] in _CONSTANTS
                                            else a is not spec[1]):
                return False
        for m, training in entry.modules:
            if m.training != training or m._forward_hooks or m._forward_pre_hooks:
                return False
        for store, key, obj, data, requires_grad in entry.members:
            now = store.get(key)
            if now is not obj and not (type(obj) in _CONSTANTS and type(now) is type(obj)
                                       and now == obj):
                return False
            if data is not None and (obj._data is not data
                                     or obj._requires_grad is not requires_grad):
                return False
        return True

    def _snapshot(self, entry: _Entry) -> list:
        """Fill the module and outside-value guards of `entry`; the tensors the recording
        may read besides the inputs (parameters and buffers, leaf tensors the function
        reads from its closure or globals)."""
        entry.modules, entry.members = [], []
        tensors = []

        def guard(store, key, obj) -> None:
            if isinstance(obj, Tensor):
                entry.members.append((store, key, obj, obj._data, obj._requires_grad))
                if obj.grad_fn is None and all(obj is not t for t in tensors):
                    tensors.append(obj)
            else:
                entry.members.append((store, key, obj, None, None))

        roots = [] if self.module is None else [self.module]
        if self.module is None:
            for store, key, obj in _outside_values(self.fn):
                guard(store, key, obj)
                if isinstance(obj, Module):
                    roots.append(obj)
        entry.roots = roots
        seen = set()
        for m in (m for root in roots for m in root.modules()):
            if id(m) in seen:
                continue
            seen.add(id(m))
            entry.modules.append((m, m.training))
            for store in (m._parameters, m._buffers, m._modules):
                for key, obj in store.items():
                    guard(store, key, obj)
        return tensors

    def _record(self, args: tuple):
        entry = _Entry()
        entry.specs = [_spec(a) for a in args]
        entry.grad = state.enabled
        members = self._snapshot(entry)
        inputs = [a for a in args if isinstance(a, Tensor)]
        versions = [(t, t._version[0]) for t in inputs + members]
        hooked = any(m._forward_hooks or m._forward_pre_hooks for m, _ in entry.modules)
        with Recorder(inputs, members, PLANS) as rec:
            if hooked:
                rec.fail("a module has forward hooks")
            out = self.fn(*args)
        program = None
        reason = rec.broken
        if reason is None:
            try:
                prologue = self._check_changes(rec, versions, entry)
                if not isinstance(out, Tensor):
                    raise GraphBreak(f"the call returns a {type(out).__name__}, not one tensor")
                program = Program(rec, out, prologue)
            except GraphBreak as err:
                reason = str(err)
        if reason is not None:
            if self.fullgraph:
                raise Unsupported(f"microtorch.compile(fullgraph=True): graph break: {reason}")
            self._warn(reason, f"microtorch.compile: graph break in {_name(self.fn)}: {reason}; "
                               "calls with this input signature run eagerly")
        entry.program = program
        self.entries.insert(0, entry)
        return out

    def _check_changes(self, rec: Recorder, versions: list, entry: _Entry) -> list:
        """Prologue steps for the in-place changes replay must repeat (BatchNorm's batch
        counter); a break for any other change of an input, parameter or buffer (the
        running statistics change in place without a new version, as in PyTorch)."""
        prologue = []
        counters = {}
        for m in (m for root in entry.roots for m in root.modules()):
            if isinstance(m, _BatchNorm) and m.num_batches_tracked is not None:
                counters[id(m.num_batches_tracked)] = m
        for t, version in versions:
            change = t._version[0] - version
            if change == 0:
                continue
            m = counters.get(id(t))
            if m is None or m.momentum is None or change != 1:
                raise GraphBreak("an input, parameter or buffer is changed in place")
            prologue += [(np.add, (t._data, 1, t._data)), (_bump, (t._version,))]
        for t in rec.keep:
            node = t.grad_fn
            if node is not None and node._pre_hooks:
                raise GraphBreak("a hook is registered on a value inside the compiled call")
        return prologue

    def _warn(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            warnings.warn(message, stacklevel=4)


class _Cells:
    """A function's closure cells, read like a dict (`get(i)`) by the guards."""

    __slots__ = ("cells",)

    def __init__(self, cells: tuple) -> None:
        self.cells = cells

    def get(self, i: int):
        try:
            return self.cells[i].cell_contents
        except ValueError:                      # an empty cell (not yet assigned)
            return None


def _outside_values(fn) -> list:
    """(store, key, value) for what `fn` reads from outside: its closure variables, the
    globals its code names and, for a bound method, its `self`."""
    found = []
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, (Module, Tensor)):
        found.append(({"self": owner}, "self", owner))
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return found
    if fn.__closure__:
        cells = _Cells(fn.__closure__)
        found += [(cells, i, cells.get(i)) for i in range(len(fn.__closure__))]
    names = fn.__globals__
    found += [(names, name, names[name]) for name in dict.fromkeys(_names(code))
              if name in names]
    return found


def _names(code) -> list:
    """The global and attribute names `code` and the functions nested in it use."""
    found = list(code.co_names)
    for const in code.co_consts:
        if type(const) is type(code):
            found += _names(const)
    return found


def _name(fn) -> str:
    return type(fn).__name__ if isinstance(fn, Module) else getattr(fn, "__qualname__", repr(fn))


class OptimizedModule(Module):
    """What `compile(module)` returns: a module whose calls are compiled and whose one child
    is the original module, `_orig_mod` (so state_dict keys start with `_orig_mod.`, as in
    PyTorch). Other attributes are read from the original module."""

    def __init__(self, mod: Module, fullgraph: bool = False) -> None:
        super().__init__()
        self._orig_mod = mod
        self.__dict__["_compiled"] = CompiledCallable(mod, mod, fullgraph)

    def forward(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        if self._forward_hooks or self._forward_pre_hooks:
            return self._call_with_hooks(args, kwargs)
        return self._compiled(*args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            mod = self.__dict__.get("_modules", {}).get("_orig_mod")
            if mod is None:
                raise
            return getattr(mod, name)


def compile(model=None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend="inductor", mode: str | None = None, options: dict | None = None,
            disable: bool = False):
    """Compile a module or a function of tensors: its kernel calls are recorded once per
    input signature and replayed (bit-identical to eager mode) on later calls.

    Use it as `compile(model)`, `compile(fn)`, `@compile` or `@compile(fullgraph=True)`.
    `fullgraph=True` raises `Unsupported` at a graph break instead of running eagerly.
    `dynamic`, `backend`, `mode` and `options` are accepted for PyTorch compatibility and
    ignored (there is one backend); `disable=True` returns `model` unchanged. Calls with
    keyword arguments, or under anomaly detection, run eagerly.
    """
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic,
                                 backend=backend, mode=mode, options=options, disable=disable)
    if not callable(model):
        raise RuntimeError("compile(): argument 'model' must be a callable or an nn.Module")
    if disable:
        return model
    if isinstance(model, Module):
        return OptimizedModule(model, fullgraph)
    compiled = CompiledCallable(model, None, fullgraph)

    @functools.wraps(model)
    def wrapper(*args, **kwargs):
        return compiled(*args, **kwargs)

    wrapper._compiled = compiled
    return wrapper
