"""In-place changes of views: how the base's history and its views' `grad_fn` follow.

A view tensor (`_base` set: the root of its view chain) shares its base's memory and
version counter. PyTorch's rules, which microtorch follows:

- An in-place op on a view V whose result requires grad rebases the *base*: the base's
  `grad_fn` becomes a `CopySlices` node that wraps the op's node, and V's becomes an
  `AsStridedBackward0` of the base. `CopySlices.backward` hands the gradient of V's region
  to the op's backward and writes what comes back (the gradient of V's old values) into
  that region; the rest of the base's gradient passes through unchanged.
- Every view records the version its `grad_fn` belongs to (`_attr_version`). When the
  shared counter has moved on (an in-place change of the base or of another view), the
  view's `grad_fn` is regenerated on first use, as an `AsStridedBackward0` of the base's
  current history (`refresh`).
- Views made under no_grad, and the outputs of ops returning several views (unbind,
  split, chunk), must not be changed in place while recording: `_creation` says which
  kind of view a tensor is, and `check_inplace_target` raises PyTorch's errors.

A view's place in its base is recovered from the arrays' byte offsets and strides, so
gradients are written into (or read from) a buffer laid out like the base.
"""
from __future__ import annotations

import numpy as np

from .grad_mode import state
from .node import Node, _label, grad_accumulator, sequence

DEFAULT, NO_GRAD, MULTI_OUTPUT = 0, 1, 2
"""`_creation` of a view: made by an ordinary view op under grad mode, under no_grad, or as
one output of an op returning several views."""

_NO_EDGE = (None, 0)


def base_edge(base) -> tuple:
    """The edge a gradient of the (root) `base` enters the graph by."""
    fn = base._grad_fn
    if fn is not None:
        return (fn, base._output_nr)
    return (grad_accumulator(base), 0) if base._requires_grad else _NO_EDGE


class _Geometry:
    """Where a view's elements lie in its base: the C-order flat index into the base of
    each element of the view (computed once, when a backward first needs it)."""

    __slots__ = ("base_shape", "base_strides", "shape", "strides", "offset", "itemsize",
                 "_index", "_overlaps")

    def __init__(self, base: np.ndarray, view: np.ndarray) -> None:
        self.base_shape, self.base_strides = base.shape, base.strides
        self.shape, self.strides = view.shape, view.strides
        self.offset = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        self.itemsize = base.itemsize
        self._index = None

    def index(self) -> np.ndarray:
        if self._index is None:
            self._index = self._compute()
            self._overlaps = np.unique(self._index).size < self._index.size
        return self._index

    def _compute(self) -> np.ndarray:
        size = self.itemsize
        view_pos = self.offset // size + _offsets(self.shape, [s // size for s in self.strides])
        if self.base_strides == _c_strides(self.base_shape, size) or view_pos.size == 0:
            return view_pos
        base_pos = _offsets(self.base_shape, [s // size for s in self.base_strides])
        low = int(base_pos.min())
        lookup = np.full(int(base_pos.max()) - low + 1, -1, dtype=np.int64)
        lookup[(base_pos - low).ravel()] = np.arange(base_pos.size)
        return lookup[view_pos - low]

    def scatter(self, g: np.ndarray, dtype) -> np.ndarray:
        """A zero gradient of the base with `g` (the view's gradient) placed in its region."""
        idx = self.index()
        out = np.zeros(int(np.prod(self.base_shape)), dtype=dtype)
        if self._overlaps:
            np.add.at(out, idx.ravel(), np.broadcast_to(g, self.shape).ravel())
        else:
            out[idx] = g
        return out.reshape(self.base_shape)


def _offsets(shape: tuple, strides: list) -> np.ndarray:
    """Element offsets of every position of an array with `shape` and element `strides`."""
    pos = np.zeros(shape, dtype=np.int64)
    for d, (n, s) in enumerate(zip(shape, strides)):
        pos += (np.arange(n, dtype=np.int64) * s).reshape((n,) + (1,) * (len(shape) - d - 1))
    return pos


def _c_strides(shape: tuple, itemsize: int) -> tuple:
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


class AsStridedBackward0(Node):
    """A view's node after its base changed in place: its gradient is placed into a zero
    gradient of the base at the view's elements (summed where elements share memory)."""

    __slots__ = ("_geometry",)

    def __init__(self, base, view) -> None:
        self._saved = self._versions = ()
        self._pre_hooks = None
        self._geometry = _Geometry(base._data, view._data)
        self.next_functions = (base_edge(base),)
        self._seq = next(sequence)
        self._shape, self._dtype = view._data.shape, view._data.dtype

    def backward(self, grad):
        return (self._geometry.scatter(grad, grad.dtype),)


class CopySlices(Node):
    """The base's node after an in-place op on one of its views (PyTorch's `CopySlices`).

    Its edges are the base's previous history, then the op's other inputs. Backward runs
    the op's node on the view's part of the gradient and writes the gradient of the view's
    old values back into that part; the base's other elements pass their gradient on.
    """

    __slots__ = ("_fn", "_slot", "_geometry")

    def __init__(self, base, view, fn: Node, slot: int) -> None:
        self._saved = self._versions = ()
        self._pre_hooks = None
        self._fn, self._slot = fn, slot
        self._geometry = _Geometry(base._data, view._data)
        if fn._grad_edges_only:             # PyTorch drops fn's first edge, whichever it is
            self.next_functions = (base_edge(base),) + fn.next_functions[1:]
        else:
            edges = list(fn.next_functions)
            edges[slot] = base_edge(base)
            self.next_functions = tuple(edges)
        self._seq = next(sequence)
        self._shape, self._dtype = base._data.shape, base._data.dtype

    def backward(self, grad):
        geometry = self._geometry
        idx = geometry.index()
        out = np.array(grad, dtype=self._dtype, copy=True)
        flat = out.reshape(-1)
        fn = self._fn
        view_grad = np.asarray(flat[idx])           # an array also for a 0-d view
        if view_grad.dtype != fn._dtype:
            view_grad = view_grad.astype(fn._dtype)
        result = list(fn.backward(view_grad if fn._n_outputs == 1 else [view_grad]))
        own = result[self._slot]
        flat[idx] = 0 if own is None else np.broadcast_to(own, geometry.shape)
        result[self._slot] = out
        return tuple(result)

    def release(self) -> None:
        self._fn.release()


def refresh(view) -> None:
    """Regenerate the `grad_fn` of a view whose version moved on since it was set."""
    base = view._base
    if view._grad_fn is None and not base._requires_grad:
        return
    if view._creation != DEFAULT:
        raise RuntimeError(rebase_message(view, indirect=True))
    view._grad_fn = AsStridedBackward0(base, view)
    view._requires_grad = True
    view._output_nr = 0
    view._attr_version = view._version[0]


def rebase(view, fn: Node, slot: int) -> None:
    """Record the in-place op `fn` (already run) on `view`: the base takes a CopySlices of
    `fn` as its history, and the view an AsStridedBackward0 of the base."""
    base = view._base
    base._grad_fn = CopySlices(base, view, fn, slot)
    base._requires_grad = True
    base._output_nr = 0
    view._grad_fn = AsStridedBackward0(base, view)
    view._requires_grad = True
    view._output_nr = 0
    view._attr_version = view._version[0]


def check_inplace_target(t, requires: bool) -> None:
    """PyTorch's refusals of an in-place change of `t` whose result requires grad: views
    made under no_grad or by a multi-view op, views of leaves, leaves that require grad."""
    if not (requires and state.enabled):
        return
    base = t._base
    if base is not None:
        if t._creation != DEFAULT:
            raise RuntimeError(rebase_message(t, indirect=False))
        if (t._requires_grad or base._requires_grad) and base._grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in "
                               "an in-place operation.")
    if t._requires_grad and t.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")


def rebase_message(view, indirect: bool) -> str:
    """PyTorch's error for changing in place a view that must not be (or its base)."""
    what = "its base or another view of its base has been" if indirect else "is being"
    fn = view._grad_fn
    if fn is not None:
        msg = (f"Output {view._output_nr} of {_label(fn.name())} is a view and {what} modified "
               "inplace.")
    else:
        msg = f"A view was created in no_grad mode and {what} modified inplace with grad mode " \
              "enabled."
    if view._creation == MULTI_OUTPUT:
        return msg + (" This view is the output of a function that returns multiple views. "
                      "Such functions do not allow the output views to be modified inplace. "
                      "You should replace the inplace operation by an out-of-place one.")
    return msg + (" Given that this use case is ambiguous and error-prone, it is forbidden. "
                  "You can clarify your code by moving both the view and the inplace either "
                  "both inside the no_grad block (if you don't want the inplace to be tracked) "
                  "or both outside (if you want the inplace to be tracked).")
