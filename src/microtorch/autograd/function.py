"""`Function`: one differentiable op as one class — forward and backward side by side.

Every op in microtorch, built in or written by a user, is a `Function` subclass run through
`Function.apply`, the one place where the graph is recorded::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y

`apply` decides whether to record (grad mode on and an input requires grad), creates the
graph node — which is also the `ctx` that forward and backward receive — wires one edge per
input, runs forward without recording, marks the outputs (`grad_fn`, `requires_grad`,
views, in-place changes) and guards saved values with version counters.

Built-in ops take a documented fast path through the same `apply`: a subclass that sets
`_array_io = True` receives the inputs' numpy arrays in `forward` and returns numpy arrays;
`backward` receives and returns numpy arrays too, always as a tuple with one entry per
positional argument of `forward` (None where no gradient flows). Its edges are one per
positional argument (constants get `(None, 0)`, as in PyTorch's nodes); keyword arguments
are options. A user `Function` has one edge per Tensor argument, as in PyTorch.
"""
from __future__ import annotations

import functools
import weakref

import numpy as np

from .._broadcast import broadcast_error
from . import anomaly_mode, views
from .grad_mode import no_grad, state
from .node import _FREED, Node, grad_accumulator, sequence

Tensor: type = None
"""The Tensor class, bound by `_tensor.py` once it is defined (so that the autograd core
imports nothing above it)."""

_NO_EDGE = (None, 0)

_recorder = None
"""While `microtorch.compile` records a call: its recorder, which takes over `apply` for the
ops its thread runs (see `microtorch._compile.recorder`); None otherwise."""


class FunctionCtx:
    """What `forward`/`setup_context` and `backward` may call on `ctx`."""

    _dirty = None
    _non_differentiable = None
    _materialize_grads = True
    needs_input_grad: tuple = ()

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (inputs or outputs; None allowed) for backward, guarded against
        later in-place changes. Call it once, from forward or setup_context."""
        self._saved = tensors

    def mark_dirty(self, *tensors) -> None:
        """Declare inputs that forward modified in place (they must be returned)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs that get no gradient (they never require grad)."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None (not zeros) for outputs that got no gradient."""
        self._materialize_grads = bool(value)


class BackwardFunction(FunctionCtx, Node):
    """The graph node of a Function call (PyTorch's `BackwardCFunction`); also its ctx.

    `Function.__init_subclass__` makes one subclass per Function, named like PyTorch's node
    (`MulBackward0`, `MyFnBackward`), with `_forward_cls` pointing back at the Function.
    No `__slots__`: user code stores arbitrary attributes on ctx.
    """

    _forward_cls = None
    _grad_edges_only = False
    _saved = ()
    _versions = ()
    _pre_hooks = None

    @property
    def saved_tensors(self) -> tuple:
        """The saved values, after checking that none was modified in place since."""
        saved = self._saved
        if saved is None:
            raise RuntimeError(_FREED)
        if self._versions:
            self.check_versions()
        return saved

    def apply(self, *grads):
        """Run backward on Tensor gradients (PyTorch's `grad_fn.apply`)."""
        arrays = [None if g is None else g._data for g in grads]
        out = self.backward(arrays[0] if self._n_outputs == 1 else arrays)
        return tuple(None if g is None else Tensor._wrap(np.asarray(g)) for g in out)


class _UserBackward(BackwardFunction):
    """Node of a user Function: Tensors in and out of backward, PyTorch's checks on results."""

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is None:
            raise RuntimeError(_FREED)
        if self._versions:
            self.check_versions()
        out = []
        for s in saved:
            if type(s) is tuple:                       # an output: rebuilt, so no cycle
                data, box, requires_grad = s
                t = Tensor._wrap(data)
                t._version = box
                t._requires_grad = requires_grad
                s = t
            out.append(s)
        return tuple(out)

    def backward(self, grad):
        fn = self._forward_cls
        grads = grad if self._n_outputs > 1 else [grad]
        wrapped = []
        for i, g in enumerate(grads):
            if g is None and self._materialize_grads:
                shape, dtype = self._out_meta[i] if self._n_outputs > 1 else (self._shape,
                                                                               self._dtype)
                g = np.zeros(shape, dtype=dtype)
            wrapped.append(None if g is None else Tensor._wrap(g))
        with no_grad():
            result = fn.backward(self, *wrapped)
        if not isinstance(result, tuple):
            result = (result,)
        n_args = len(self.needs_input_grad)
        if len(result) < n_args or any(r is not None for r in result[n_args:]):
            raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                               f"gradients (expected {n_args}, got {len(result)})")
        out = []
        for i in self._tensor_positions:
            g = result[i]
            if g is None:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"function {self.name()} returned a gradient of type "
                                f"{type(g).__name__} at index {i}; expected a Tensor or None")
            out.append(g._data)
        for i, g in enumerate(result[:n_args]):
            if g is not None and i not in self._tensor_positions:
                raise RuntimeError(f"function {self.name()} returned a gradient different than "
                                   f"None at position {i + 1}, but the corresponding forward "
                                   "input was not a Variable")
        for k, ((nxt, nr), g) in enumerate(zip(self.next_functions, out)):
            if g is None or nxt is None:
                continue
            shape = nxt._shape if nxt._n_outputs == 1 else nxt._out_meta[nr][0]
            if g.shape != shape and not _expandable(shape, g.shape):
                raise RuntimeError(
                    f"Function {self.name()} returned an invalid gradient at index "
                    f"{self._tensor_positions[k]} - got {list(g.shape)} but expected shape "
                    f"compatible with {list(shape)}")
        return tuple(out)


def _expandable(shape: tuple, target: tuple) -> bool:
    """True if an array of `shape` broadcasts to `target` (so `target` sums back to it)."""
    if len(shape) > len(target):
        return False
    return all(s == 1 or s == t for s, t in zip(reversed(shape), reversed(target)))


class Function:
    """Base class of every differentiable op; subclass it with static `forward`/`backward`.

    Two styles, as in PyTorch: `forward(ctx, *args, **kwargs)`, or `forward(*args,
    **kwargs)` plus `setup_context(ctx, inputs, output)`. Call the op with `MyFn.apply(...)`.
    The node is named `node_name` (default `<ClassName>Backward`).
    """

    node_name: str | None = None
    _array_io = False
    _backward_cls = BackwardFunction
    _grad_edges_only = False
    """True for PyTorch's `NotImplemented` nodes: edges only for the inputs that require grad."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("node_name") or f"{cls.__name__}Backward"
        if cls._array_io:
            body = {"_forward_cls": cls, "backward": _plain(cls, "backward"),
                    "_grad_edges_only": cls._grad_edges_only}
            cls._backward_cls = type(name, (BackwardFunction,), body)
        else:
            cls._backward_cls = type(name, (_UserBackward,), {"_forward_cls": cls})
        cls._new_style = _plain(cls, "setup_context") is not _plain(Function, "setup_context")

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use "
            "new-style autograd function with static forward method. (Example: "
            "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs: tuple, output) -> None:
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward and, when an input requires grad under grad mode, record one node."""
        if _recorder is not None and _recorder.wants(cls):
            return _recorder.record(cls, args, kwargs)
        node = cls._backward_cls.__new__(cls._backward_cls)
        requires = False
        if cls._array_io:
            enabled = state.enabled
            values = []
            for a in args:
                if isinstance(a, Tensor):
                    values.append(a._data)
                    if enabled and (a._requires_grad or a._base is not None
                                    and a._base._requires_grad):
                        requires = True
                else:
                    values.append(a)
            node.needs_input_grad = tuple([
                isinstance(a, Tensor) and (a._requires_grad or a._base is not None
                                           and a._base._requires_grad)
                for a in args]) if requires else (False,) * len(args)
            try:
                result = cls.forward(node, *values, **kwargs)
            except ValueError as err:
                raise _broadcast_error(err, values) from None
            if type(result) is np.ndarray and node._dirty is None:
                return _finish_array(node, args, values, result, requires, kwargs)
            edges = _edges(args) if requires else None
        else:
            if state.enabled:
                for a in args:
                    if isinstance(a, Tensor) and a.requires_grad:
                        requires = True
            edges = _edges(args) if requires else None
            node.needs_input_grad = tuple([e is not None and e[0] is not None for e in edges]) \
                if requires else (False,) * len(args)
            node._tensor_positions = tuple([i for i, a in enumerate(args)
                                            if isinstance(a, Tensor)])
            if edges is not None:
                edges = [edges[i] for i in node._tensor_positions]
            with no_grad():
                if cls._new_style:
                    result = cls.forward(*args, **kwargs)
                    cls.setup_context(node, args, result)
                else:
                    result = cls.forward(node, *args, **kwargs)
        if type(result) is tuple:
            return tuple(_finish(cls, node, args, result, requires, edges, kwargs, True))
        return _finish(cls, node, args, (result,), requires, edges, kwargs)[0]


def _broadcast_error(err: ValueError, values: list) -> Exception:
    """numpy's broadcast ValueError from a built-in forward as PyTorch's RuntimeError; any
    other ValueError unchanged."""
    if "broadcast" not in str(err):
        return err
    return broadcast_error(*[v.shape for v in values if type(v) is np.ndarray])


def _edges(args) -> list:
    """One edge per argument: the node its gradient goes to, or `(None, 0)`."""
    edges = []
    for a in args:
        if isinstance(a, Tensor):
            if a._base is not None:
                edges.append(_view_edge(a))
                continue
            if a._requires_grad:
                fn = a._grad_fn
                edges.append((grad_accumulator(a), 0) if fn is None else (fn, a._output_nr))
                continue
        edges.append(_NO_EDGE)
    return edges


def _view_edge(a) -> tuple:
    """A view's edge: its (possibly regenerated) node; none for a view that only inherits
    requires_grad from its base (made under no_grad), as in PyTorch."""
    fn = a.grad_fn
    if fn is not None:
        return (fn, a._output_nr)
    return (grad_accumulator(a), 0) if a._requires_grad else _NO_EDGE


def _finish_array(node, args, values, result: np.ndarray, requires: bool, options: dict):
    """`_finish` for the common case: one array output, nothing changed in place."""
    base = result.base
    for v in values:
        if v is result or (base is not None and type(v) is np.ndarray
                           and (base is v or base is v.base)):
            out = _wrap_output(result, args, None)
            break
    else:
        out = Tensor._wrap(result)
    if requires and result.dtype.kind == "f" and node._non_differentiable is None:
        node.next_functions = tuple(_edges(args)) if not node._grad_edges_only else \
            tuple([e for e in _edges(args) if e[0] is not None])
        node._seq = next(sequence)
        node._shape = result.shape
        node._dtype = result.dtype
        out._grad_fn = node
        out._requires_grad = True
        if node._saved:
            node._versions = _guard_arrays(node._saved, args, (out,), values, None, options)
        if anomaly_mode._enabled:
            anomaly_mode.check_forward(node, [out], args)
    return out


def _finish(cls, node, args, results, requires, edges, options: dict,
            several: bool = False) -> list:
    """Wrap forward's results as Tensors and, when recording, attach them to the node.

    `several`: forward returned a tuple; views among its results are then the outputs of
    a multi-view op (unbind, split), which must not be changed in place while recording."""
    dirty = node._dirty
    non_diff = node._non_differentiable
    array_io = cls._array_io
    before = _check_dirty(args, dirty, requires, array_io) if dirty is not None else None
    outs = []
    for r in results:
        if array_io:
            r = _wrap_output(r, args, dirty)
        elif isinstance(r, Tensor):
            r = _user_output(r, args, dirty)
        if several and isinstance(r, Tensor) and r._base is not None \
                and not (dirty is not None and _member(r, r._data, dirty)):
            r._creation = views.MULTI_OUTPUT if state.enabled else views.NO_GRAD
        outs.append(r)
    if requires:
        node.next_functions = tuple(edges) if not node._grad_edges_only else \
            tuple([e for e in edges if e[0] is not None])
        node._seq = next(sequence)
        differentiable = False
        meta = []
        for nr, o in enumerate(outs):
            if not isinstance(o, Tensor):
                meta.append(((), np.dtype(np.float64)))
                continue
            data = o._data
            meta.append((data.shape, data.dtype))
            if data.dtype.kind != "f" or (non_diff is not None and _member(o, data, non_diff)):
                continue
            differentiable = True
            if o._base is not None and dirty is not None and _member(o, data, dirty):
                views.rebase(o, node, _edge_slot(cls, node, args, o))
                continue
            o._grad_fn = node
            o._requires_grad = True
            o._output_nr = nr
            if o._base is not None:
                o._attr_version = o._version[0]
        node._shape, node._dtype = meta[0]
        if len(outs) > 1:
            node._n_outputs = len(outs)
            node._out_meta = meta
        if differentiable:
            if node._saved:
                node._versions = _guard_saved(node, args, outs, array_io, before, options)
            if anomaly_mode._enabled:
                anomaly_mode.check_forward(node, outs, args)
    return outs


def _edge_slot(cls, node, args, t) -> int:
    """The index in the node's edges of input `t` (a user Function has edges for its Tensor
    arguments only)."""
    k = next(i for i, a in enumerate(args) if a is t)
    return k if cls._array_io else node._tensor_positions.index(k)


def _member(t: Tensor, data: np.ndarray, group) -> bool:
    return any(g is t or g is data for g in group)


def _check_dirty(args, dirty, requires, array_io) -> dict:
    """Refuse in-place changes that cannot be recorded (PyTorch's checks, also made by the
    public entries before any data is written), then bump the version of inputs an
    array-mode forward changed in place (a user forward's own in-place Tensor ops already
    did). Returns each bumped counter's version before the op, by id."""
    before = {}
    seen = []
    for a in args:
        if isinstance(a, Tensor) and _member(a, a._data, dirty) and not _member(a, a, seen):
            seen.append(a)
            views.check_inplace_target(a, requires)
            if array_io:
                box = a._version
                before.setdefault(id(box), box[0])
                box[0] += 1
    return before


def _wrap_output(r, args, dirty):
    """A Tensor for one array returned by an array-mode forward: the input itself when it
    was modified in place, a view sharing its version counter when it is a numpy view of
    (or the very array of) an input, else a new tensor."""
    if not isinstance(r, np.ndarray):
        r = np.asarray(r)
    base = r.base
    for a in args:
        if isinstance(a, Tensor):
            x = a._data
            if r is x:
                if dirty is not None and _member(a, x, dirty):
                    return a
                return a._view_of(r)
            if base is not None and (base is x or base is x.base):
                return a._view_of(r)
    return Tensor._wrap(r)


def _user_output(r: Tensor, args, dirty) -> Tensor:
    """An input returned unchanged by a user forward comes back as a new view of it."""
    for a in args:
        if r is a:
            if dirty is not None and _member(a, a._data, dirty):
                return a
            return a._view_of(a._data)
    return r


def _guard_arrays(saved: tuple, args, outs, values=None, before=None, options=None) -> tuple:
    """Version guards `(counter, version, index in saved, owner)` for saved arrays that are
    an input's or an output's array. An input is guarded at its version before the op (so
    an in-place op that saves an operand it then changes fails in backward, as in
    PyTorch), an output at its version after; the owner (an output's index, or a weak
    reference to the input) names the tensor in the error. Inputs after the first are
    matched first: an in-place op's first input is also its output. A Tensor passed as a
    keyword option (where's condition: no graph edge) is guarded like an input."""
    if values is None:
        values = [a._data if isinstance(a, Tensor) else a for a in args]
    versions = []
    n = len(values)
    for k, s in enumerate(saved):
        if s is None:
            continue
        for i in range(1, n):
            if values[i] is s and isinstance(args[i], Tensor):
                versions.append(_input_guard(args[i], k, before))
                break
        else:
            for j, t in enumerate(outs):
                if isinstance(t, Tensor) and t._data is s:
                    versions.append((t._version, t._version[0], k, j))
                    break
            else:
                if n and values[0] is s and isinstance(args[0], Tensor):
                    versions.append(_input_guard(args[0], k, before))
                elif options:
                    for o in options.values():
                        if isinstance(o, Tensor) and o._data is s:
                            versions.append(_input_guard(o, k, before))
                            break
    return tuple(versions)


def _input_guard(a, k: int, before) -> tuple:
    """A saved input's guard; the owner is the tensor itself for a view (often a temporary,
    whose regenerated grad_fn the error names), else a weak reference."""
    box = a._version
    version = box[0] if before is None else before.get(id(box), box[0])
    return (box, version, k, a if a._base is not None else weakref.ref(a))


def _guard_saved(node, args, outs, array_io, before=None, options=None) -> tuple:
    """Version guards for saved inputs and outputs; outputs are stored unwrapped (no cycle)."""
    if array_io:
        return _guard_arrays(node._saved, args, outs, None, before, options)
    versions = []
    saved = list(node._saved)
    for k, s in enumerate(saved):
        if s is None:
            continue
        if not isinstance(s, Tensor):
            raise TypeError("save_for_backward can only save variables, but argument "
                            f"{k} is of type {type(s).__name__}")
        j = next((j for j, o in enumerate(outs) if s is o), None)
        versions.append((s._version, s._version[0], k, j))
        if j is not None:
            saved[k] = (s._data, s._version, s._requires_grad)
    node._saved = tuple(saved)
    return tuple(versions)


def once_differentiable(fn):
    """Mark a backward as not differentiable twice (microtorch has first-order autograd only,
    so this runs `fn` as is)."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)

    return wrapper


def _plain(cls, name: str):
    """The plain function behind the staticmethod `name` of `cls` (usable as a node method)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            raw = klass.__dict__[name]
            if isinstance(raw, staticmethod):
                return raw.__func__
            raise TypeError(f"{cls.__name__}.{name} must be a @staticmethod")
    raise AttributeError(name)


class ArrayFunction(Function):
    """Base of the built-in ops: the numpy-array fast path through the same `apply`.

    `forward(ctx, *args, **options)` receives each Tensor argument's array (other arguments
    as given) and returns an array or a tuple of arrays; `backward(ctx, grad)` receives the
    output's gradient array (a list, one entry or None per output, when there are several)
    and returns a tuple with one gradient array or None per positional argument.
    `ctx.save_for_backward` takes arrays; those that are an input's or output's array are
    guarded by that tensor's version counter.
    """

    _array_io = True
