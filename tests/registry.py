"""The op registry: one declaration per op that the property and parity tests cover.

Each `Op` says how to call the op on tensors (the same call works for microtorch and
PyTorch: `call(lib, *tensors, **kwargs)` with `lib` either module), how many tensor
inputs it takes and which shapes they may have, where its inputs may lie (`domain`) and
which points to keep away from (`kinks`: where the derivative jumps or blows up), the
keyword variants to test, and a numpy reference for the forward values.

`test_ops_property.py::test_registry_complete` fails when a public op of microtorch (or
of `microtorch.nn.functional`, once it exists) has neither an entry here nor a line in
an allow-list below. Adding an op is one `Op(...)` line:

    Op("exp", ref=np.exp),
    Op("div", 2, broadcast=True, domain=(REAL, NONZERO), ref=np.divide),
    Op("Tensor.view", call=lambda lib, x: x.view(-1), ref=lambda x: x.reshape(-1)),
    Op("nn.functional.relu", kinks=(0.0,), ref=lambda x: np.maximum(x, 0)),
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import microtorch
from microtorch.testing import strategies as S
from microtorch.testing.strategies import away_from

# ---- input domains (elements strategies, float64 values) ---------------------------------

REAL = st.floats(-4, 4, allow_subnormal=False)
POSITIVE = st.floats(0.25, 4)
NONZERO = st.one_of(st.floats(0.25, 4), st.floats(-4, -0.25))
GRID = st.integers(-32, 32).map(lambda i: i / 8)
"""Exact binary fractions 1/8 apart: ties happen (for comparisons) and distinct values are
far apart compared with the finite-difference step (for max/min)."""
QUARTERS = st.integers(-20, 20).map(lambda i: i + 0.25)
ODD_HALVES = st.one_of(st.integers(0, 9), st.integers(-10, -1)).map(lambda i: i + 0.5)
"""QUARTERS / ODD_HALVES is never an integer (4i+1 is odd, 2k(2j+1) even): remainder and
floor_divide stay away from their jumps."""
SPECIAL = st.one_of(REAL, st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]))


# ---- declarations --------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """One set of keyword arguments, and the shapes it needs."""

    kwargs: dict
    min_dims: int | None = None        # None: derived from a `dim` keyword
    min_side: int | None = None

    @property
    def label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.kwargs.items())

    def needed_dims(self) -> int:
        if self.min_dims is not None:
            return self.min_dims
        dim = self.kwargs.get("dim")
        dims = dim if isinstance(dim, (tuple, list)) else ((dim,) if dim is not None else ())
        need = max([d + 1 if d >= 0 else -d for d in dims], default=0)
        return 0 if need <= 1 else need      # dim 0 / -1 are valid on 0-d tensors too


def v(min_dims: int | None = None, min_side: int | None = None, **kwargs) -> Variant:
    return Variant(kwargs, min_dims, min_side)


NO_KWARGS = (Variant({}),)


@dataclass
class Op:
    """One op under test. Only `api` is required; see the module docstring."""

    api: str                                # "add", "Tensor.view", "nn.functional.relu"
    nargs: int = 1                          # tensor inputs
    call: Callable | None = None            # call(lib, *tensors, **kwargs)
    ref: Callable | None = None             # numpy reference: ref(*arrays, **kwargs)
    domain: object = REAL                   # elements strategy, or one per input
    kinks: tuple = ()                       # values every input keeps 1e-3 away from
    broadcast: bool = False                 # inputs are mutually broadcastable, not equal
    variants: tuple = NO_KWARGS
    differentiable: bool = True
    unique: bool = False                    # distinct elements (max/argmax: no ties)
    min_dims: int = 0
    max_dims: int = 3
    min_side: int = 0
    max_side: int = 4
    shapes: Callable | None = None          # variant -> strategy of shape tuples
    noncontiguous: bool = True              # also test non-contiguous inputs
    gradcheck_kw: dict = field(default_factory=dict)
    f32_tol: dict | None = None             # float32 vs float64 tolerance override
    known_bugs: dict = field(default_factory=dict)   # test kind -> reason (strict xfail)
    skip: dict = field(default_factory=dict)         # test kind -> why it does not apply
    fixed_dtype: bool = False               # result dtype set by the op, not by the input
    tag: str = ""                           # distinguishes several entries of one api

    @property
    def id(self) -> str:
        return f"{self.api}[{self.tag}]" if self.tag else self.api

    # -- calling ----------------------------------------------------------------------------
    def resolve(self, lib):
        """The function this entry calls in `lib` (None if `lib` does not have it)."""
        if self.api.startswith("Tensor."):
            return getattr(lib.Tensor, self.api[len("Tensor."):], None)
        owner, _, name = self.api.rpartition(".")
        try:
            module = importlib.import_module(f"{lib.__name__}.{owner}") if owner else lib
        except ImportError:
            return None
        return getattr(module, name, None)

    def available(self) -> bool:
        return self.resolve(microtorch) is not None

    def __call__(self, lib, *tensors, **kwargs):
        if self.call is not None:
            return self.call(lib, *tensors, **kwargs)
        if self.api.startswith("Tensor."):
            return getattr(tensors[0], self.api[len("Tensor."):])(*tensors[1:], **kwargs)
        return self.resolve(lib)(*tensors, **kwargs)

    # -- inputs -----------------------------------------------------------------------------
    def elements(self, i: int):
        dom = self.domain[i] if isinstance(self.domain, tuple) else self.domain
        return dom.filter(away_from(self.kinks)) if self.kinks else dom

    def shape_strategy(self, variant: Variant):
        if self.shapes is not None:
            return self.shapes(variant)
        lo = max(self.min_dims, variant.needed_dims())
        side = self.min_side if variant.min_side is None else variant.min_side
        kw = {"min_dims": lo, "max_dims": max(lo, self.max_dims), "min_side": side,
              "max_side": self.max_side}
        if self.nargs > 1 and self.broadcast:
            return S.broadcastable_shapes(self.nargs, **kw)
        return S.shapes(**kw).map(lambda s: (s,) * self.nargs)


@dataclass(frozen=True)
class Case:
    op: Op
    variant: Variant

    @property
    def id(self) -> str:
        return f"{self.op.id}({self.variant.label})" if self.variant.kwargs else self.op.id

    def __repr__(self) -> str:
        return f"Case({self.id})"

    def run(self, lib, *tensors):
        return self.op(lib, *tensors, **self.variant.kwargs)

    def ref(self, *arrays):
        with np.errstate(all="ignore"):
            return self.op.ref(*arrays, **self.variant.kwargs)


# ---- shape strategies for ops with structured shapes ------------------------------------

SIDE = st.integers(0, 3)
SIDE_1 = st.integers(1, 3)


def matmul_shapes(kind: str):
    @st.composite
    def draw(draw, variant=None):
        n, m, p = draw(SIDE), draw(SIDE), draw(SIDE)
        if kind == "dot":
            return (n,), (n,)
        if kind == "mm":
            return (m, n), (n, p)
        if kind == "bmm":
            b = draw(SIDE)
            return (b, m, n), (b, n, p)
        batch_a, batch_b = draw(S.broadcastable_shapes(2, max_dims=2, max_side=3))
        a = (n,) if draw(st.booleans()) else batch_a + (m, n)
        b = (n,) if draw(st.booleans()) else batch_b + (n, p)
        return a, b

    return lambda variant: draw()


def cat_shapes(variant: Variant):
    """Two shapes equal except along the variant's dim."""
    dim = variant.kwargs.get("dim", 0)

    @st.composite
    def draw(draw):
        base = draw(S.shapes(min_dims=max(1, dim + 1 if dim >= 0 else -dim), max_dims=3))
        d = dim % len(base)
        other = base[:d] + (draw(SIDE),) + base[d + 1:]
        return base, other

    return draw()


def into_shapes(variant: Variant):
    """(target, source): source broadcasts to target (in-place ops, expand_as)."""
    def target_first(pair):
        return np.broadcast_shapes(*pair), pair[1]

    return S.broadcastable_shapes(2).map(target_first)


# ---- numpy references ----------------------------------------------------------------------

def _axes(x: np.ndarray, dim):
    """A PyTorch `dim` as numpy axes (None for all; 0-d arrays reduce over nothing)."""
    if dim is None or x.ndim == 0:
        return None
    return tuple(d % x.ndim for d in dim) if isinstance(dim, (tuple, list)) else dim % x.ndim


def _reduce(fn):
    def ref(x, dim=None, keepdim=False, **kw):
        return np.asarray(fn(x, axis=_axes(x, dim), keepdims=keepdim, **kw))

    return ref


def _var_ref(root: bool):
    def ref(x, dim=None, keepdim=False, correction=1, unbiased=None):
        ddof = (1 if unbiased else 0) if unbiased is not None else correction
        axes = _axes(x, dim)
        n = x.size if axes is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axes)]))
        mean = np.mean(x, axis=axes, keepdims=True) if x.size else x
        ss = np.sum((x - mean) ** 2, axis=axes, keepdims=keepdim)
        out = ss / (n - ddof) if n - ddof > 0 else ss * np.nan
        return np.asarray(np.sqrt(out) if root else out)

    return ref


def _logsumexp(x, dim, keepdim=False):
    axes = _axes(x, dim)
    if axes is None:                      # 0-d: the value itself
        return x.copy()
    m = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=axes)


def _softmax(x, dim, dtype=None):
    return np.exp(_log_softmax(x, dim))


def _log_softmax(x, dim, dtype=None):
    axes = _axes(x, dim)
    if axes is None:
        return x - x                      # 0-d: log(1)
    m = np.max(x, axis=axes, keepdims=True) if x.shape[axes] else 0
    shifted = x - m
    return shifted - np.log(np.sum(np.exp(shifted), axis=axes, keepdims=True))


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _extreme_dim(fn, argfn):
    """(values, indices) of max/min along a dim, or the full reduction without dim."""
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            return np.asarray(fn(x))
        x1 = x.reshape(1) if x.ndim == 0 else x
        d = dim % x1.ndim
        idx = np.expand_dims(argfn(x1, axis=d), d)
        vals = np.take_along_axis(x1, idx, axis=d)
        if not keepdim:
            vals, idx = np.squeeze(vals, d), np.squeeze(idx, d)
        if x.ndim == 0:
            vals, idx = vals.reshape(()), idx.reshape(())
        return vals, idx.astype(np.int64)

    return ref


def _arg(argfn):
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            idx = np.asarray(argfn(x.reshape(-1)))
            return idx.reshape([1] * x.ndim) if keepdim else idx
        if x.ndim == 0:
            return np.asarray(0)
        idx = argfn(x, axis=dim % x.ndim)
        return np.asarray(np.expand_dims(idx, dim % x.ndim) if keepdim else idx)

    return ref


def _squeeze_ref(x, dim=None):
    if dim is None:
        return np.squeeze(x)
    dims = dim if isinstance(dim, tuple) else (dim,)
    axes = tuple(d % x.ndim for d in dims if x.ndim and x.shape[d % x.ndim] == 1)
    return np.squeeze(x, axis=axes) if axes else x


def _stack_ref(x, y, dim=0):
    return np.stack([x, y], axis=dim)


def _remainder(x, y):
    return np.remainder(x, y)


def _setitem(lib, x, y):
    """x.clone() with its first row replaced by y's (recorded as an in-place op)."""
    out = x.clone()
    out[0] = y[0]
    return out


def _setitem_ref(x, y):
    out = x.copy()
    out[0] = y[0]
    return out


def _fn(lib):
    return importlib.import_module(f"{lib.__name__}.nn.functional")


def _targets(lib, n: int, c: int):
    """Deterministic class targets 0, 1, 2, ... mod c for cross_entropy / nll_loss."""
    return lib.arange(n) % max(c, 1)


# ---- the registry ---------------------------------------------------------------------

ZERO_GRAD_NODE = ("microtorch records no graph node for ops whose gradient is zero "
                  "(PyTorch returns a tensor that requires grad, with a zero gradient)")
# Known bug with 0-d inputs (test_autograd.py::test_max_with_dim_of_a_0d_tensor_is_
# differentiable): those variants ask for >= 1 dim (`D1`) until it is fixed; then drop
# `min_dims=D1` to cover 0-d inputs too.
D1 = 1
CLAMP_TENSOR = ("clamp with tensor min/max: no gradient flows to min/max "
                "(test_autograd.py::test_clamp_gradient_reaches_tensor_bounds)")

F32_STEP = {"eps": 1e-3, "atol": 1e-3, "rtol": 1e-3}
"""gradcheck settings for ops that pass through float32: a step large against its rounding."""

DIMS = (v(), v(dim=0), v(dim=-1, keepdim=True), v(dim=(0, -1), min_dims=2))

OPS: list[Op] = [
    # -- elementwise unary ------------------------------------------------------------------
    Op("abs", kinks=(0.0,), ref=np.abs),
    Op("exp", ref=np.exp),
    Op("log", domain=POSITIVE, ref=np.log),
    Op("log1p", domain=st.floats(-0.75, 4), ref=np.log1p),
    Op("sqrt", domain=POSITIVE, ref=np.sqrt),
    Op("square", ref=np.square),
    Op("neg", ref=np.negative),
    Op("sign", kinks=(0.0,), ref=np.sign,
       known_bugs={"parity": ZERO_GRAD_NODE}),
    Op("relu", kinks=(0.0,), ref=lambda x: np.maximum(x, 0)),
    Op("sigmoid", ref=_sigmoid),
    Op("tanh", ref=np.tanh),
    Op("clamp", kinks=(-1.0, -0.5, 0.5, 1.0),
       ref=lambda x, min=None, max=None: np.clip(x, min, max),
       variants=(v(min=-1.0, max=1.0), v(min=-0.5), v(max=0.5))),
    # x outside [lo, hi] and min/max broadcasting into x's shape while CLAMP_TENSOR is open;
    # then let x take any value (REAL, kinks=(0,)) and use S.broadcastable_shapes(3).
    Op("clamp", 3, tag="tensor bounds",
       domain=(st.one_of(st.floats(-4, -2.5), st.floats(2.5, 4)), st.floats(-2, -0.5),
               st.floats(0.5, 2)),
       shapes=lambda variant: S.broadcastable_shapes(3).map(
           lambda s: (np.broadcast_shapes(*s),) + tuple(s[1:])),
       call=lambda lib, x, lo, hi: lib.clamp(x, lo, hi),
       ref=lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
       known_bugs={"gradcheck": CLAMP_TENSOR, "parity": CLAMP_TENSOR}),
    # -- elementwise binary -----------------------------------------------------------------
    Op("add", 2, broadcast=True, ref=lambda x, y, alpha=1: x + alpha * y,
       variants=(v(), v(alpha=2.5))),
    Op("sub", 2, broadcast=True, ref=lambda x, y, alpha=1: x - alpha * y,
       variants=(v(), v(alpha=0.5))),
    Op("mul", 2, broadcast=True, ref=np.multiply),
    Op("div", 2, broadcast=True, domain=(REAL, NONZERO), ref=np.divide),
    Op("div", 2, tag="rounding", broadcast=True, domain=(QUARTERS, ODD_HALVES),
       ref=lambda x, y, rounding_mode: (np.floor if rounding_mode == "floor" else np.trunc)(x / y),
       variants=(v(rounding_mode="floor"), v(rounding_mode="trunc")),
       known_bugs={"parity": ZERO_GRAD_NODE}),
    Op("pow", 2, broadcast=True, domain=(POSITIVE, st.floats(-2, 2)), ref=np.power),
    Op("pow", tag="scalar exponent", domain=POSITIVE,
       call=lambda lib, x, exponent: lib.pow(x, exponent),
       ref=lambda x, exponent: np.power(x, exponent),
       variants=(v(exponent=2), v(exponent=3), v(exponent=0.5), v(exponent=-1.5),
                 v(exponent=0))),
    Op("pow", tag="scalar base", call=lambda lib, x: lib.pow(2.0, x),
       ref=lambda x: np.power(2.0, x)),
    Op("maximum", 2, broadcast=True, domain=GRID, ref=np.maximum),
    Op("minimum", 2, broadcast=True, domain=GRID, ref=np.minimum),
    Op("remainder", 2, broadcast=True, domain=(QUARTERS, ODD_HALVES), ref=_remainder,
       known_bugs={"gradcheck": "remainder records no graph (PyTorch: d/dx = 1, "
                                "d/dy = -floor(x / y))",
                   "parity": "remainder records no graph (PyTorch: RemainderBackward0)"}),
    Op("floor_divide", 2, broadcast=True, domain=(QUARTERS, ODD_HALVES),
       ref=lambda x, y: np.floor(x / y), differentiable=False),
    # python scalars on either side (their own graph nodes)
    Op("Tensor.__add__", tag="scalar", call=lambda lib, x: x + 2.5, ref=lambda x: x + 2.5),
    Op("Tensor.__radd__", call=lambda lib, x: 2.5 + x, ref=lambda x: 2.5 + x),
    Op("Tensor.__sub__", tag="scalar", call=lambda lib, x: x - 2.5, ref=lambda x: x - 2.5),
    Op("Tensor.__rsub__", call=lambda lib, x: 2.5 - x, ref=lambda x: 2.5 - x),
    Op("Tensor.__mul__", tag="scalar", call=lambda lib, x: x * -1.5, ref=lambda x: x * -1.5),
    Op("Tensor.__rmul__", call=lambda lib, x: 3 * x, ref=lambda x: 3 * x),
    Op("Tensor.__truediv__", tag="scalar", call=lambda lib, x: x / 4.0, ref=lambda x: x / 4.0),
    Op("Tensor.__rtruediv__", domain=NONZERO, call=lambda lib, x: 2.0 / x,
       ref=lambda x: 2.0 / x),
    Op("Tensor.__rpow__", call=lambda lib, x: 1.5 ** x, ref=lambda x: 1.5 ** x),
    Op("Tensor.__pow__", tag="square", call=lambda lib, x: x ** 2, ref=lambda x: x ** 2),
    Op("Tensor.__neg__", call=lambda lib, x: -x, ref=np.negative),
    Op("Tensor.__abs__", kinks=(0.0,), call=lambda lib, x: abs(x), ref=np.abs),
    Op("Tensor.__matmul__", 2, shapes=matmul_shapes("matmul"), call=lambda lib, x, y: x @ y,
       ref=np.matmul),
    # -- comparisons and predicates (not differentiable) ------------------------------------
    *[Op(name, 2, broadcast=True, domain=GRID, ref=fn, differentiable=False)
      for name, fn in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less),
                       ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal)]],
    *[Op(f"Tensor.{name}", 2, broadcast=True, domain=GRID, ref=fn, differentiable=False)
      for name, fn in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less),
                       ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal)]],
    Op("isclose", 2, broadcast=True, domain=GRID, ref=np.isclose, differentiable=False),
    Op("isnan", domain=SPECIAL, ref=np.isnan, differentiable=False),
    Op("isinf", domain=SPECIAL, ref=np.isinf, differentiable=False),
    Op("isfinite", domain=SPECIAL, ref=np.isfinite, differentiable=False),
    Op("logical_not", call=lambda lib, x: lib.logical_not(x > 0),
       ref=lambda x: np.logical_not(x > 0), differentiable=False),
    Op("logical_not", tag="float", domain=st.one_of(REAL, st.just(0.0)),
       ref=np.logical_not, differentiable=False),
    Op("Tensor.__invert__", call=lambda lib, x: ~(x > 0), ref=lambda x: ~(x > 0),
       differentiable=False),
    Op("bitwise_not", call=lambda lib, x: lib.bitwise_not(x > 0), ref=lambda x: ~(x > 0),
       differentiable=False),
    Op("bitwise_not", tag="int", domain=QUARTERS,
       call=lambda lib, x: lib.bitwise_not(x.long()),
       ref=lambda x: ~np.trunc(x).astype(np.int64), differentiable=False),
    # -- reductions -------------------------------------------------------------------------
    Op("sum", ref=_reduce(np.sum), variants=DIMS,
),
    Op("sum", tag="dtype", fixed_dtype=True,
       call=lambda lib, x: lib.sum(x, dtype=lib.float64),
       ref=lambda x: np.sum(x, dtype=np.float64)),
    Op("mean", ref=_reduce(np.mean), variants=DIMS,
),
    Op("var", ref=_var_ref(False), min_dims=1, min_side=2, max_side=3, unique=True, domain=GRID,
       variants=(v(), v(dim=0), v(dim=-1, keepdim=True), v(dim=(0, 1)), v(correction=0),
                 v(dim=0, unbiased=False)),
),
    Op("std", ref=_var_ref(True), min_dims=1, min_side=2, max_side=3, unique=True, domain=GRID,
       variants=(v(), v(dim=0), v(dim=-1, keepdim=True), v(correction=0)),
),
    Op("amax", ref=_reduce(np.amax), min_side=1, max_side=3, unique=True, domain=GRID,
       variants=(v(), v(dim=0), v(dim=(0, -1), keepdim=True, min_dims=2)),
),
    Op("amin", ref=_reduce(np.amin), min_side=1, max_side=3, unique=True, domain=GRID,
       variants=(v(), v(dim=0), v(dim=(0, -1), keepdim=True, min_dims=2)),
),
    Op("amax", tag="ties", domain=st.sampled_from([0.0, 1.0]), min_side=1,
       ref=_reduce(np.amax), variants=(v(), v(dim=-1, min_dims=1)),
       skip={"gradcheck": "at a tie of c maxima autograd gives each 1/c (as PyTorch), "
                          "finite differences 1/2"}),
    Op("max", ref=_extreme_dim(np.max, np.argmax), min_side=1, max_side=3, unique=True,
       domain=GRID, variants=(v(), v(dim=0, min_dims=D1), v(dim=-1, keepdim=True,
                                                             min_dims=D1))),
    Op("min", ref=_extreme_dim(np.min, np.argmin), min_side=1, max_side=3, unique=True,
       domain=GRID, variants=(v(), v(dim=0, keepdim=True, min_dims=D1),
                              v(dim=-1, min_dims=D1))),
    Op("max", 2, tag="binary", broadcast=True, domain=GRID, ref=np.maximum),
    Op("min", 2, tag="binary", broadcast=True, domain=GRID, ref=np.minimum),
    Op("logsumexp", ref=_logsumexp,
       variants=(v(dim=0), v(dim=-1, keepdim=True), v(dim=(0, 1))),
),
    Op("argmax", ref=_arg(np.argmax), min_side=1, max_side=3, unique=True, domain=GRID,
       differentiable=False, variants=(v(), v(dim=0), v(dim=-1, keepdim=True))),
    Op("argmin", ref=_arg(np.argmin), min_side=1, max_side=3, unique=True, domain=GRID,
       differentiable=False, variants=(v(), v(dim=0), v(dim=-1, keepdim=True))),
    Op("any", call=lambda lib, x, **kw: lib.any(x > 0, **kw),
       ref=lambda x, **kw: _reduce(np.any)(x > 0, **kw), differentiable=False,
       variants=(v(), v(dim=0, min_dims=1))),
    Op("all", call=lambda lib, x, **kw: lib.all(x > 0, **kw),
       ref=lambda x, **kw: _reduce(np.all)(x > 0, **kw), differentiable=False,
       variants=(v(), v(dim=-1, keepdim=True, min_dims=1))),
    Op("nonzero", call=lambda lib, x: lib.nonzero(x > 0), min_dims=1,
       ref=lambda x: np.stack(np.nonzero(x > 0), axis=1), differentiable=False),
    # -- softmax family ---------------------------------------------------------------------
    Op("softmax", ref=_softmax, variants=(v(dim=0), v(dim=-1), v(dim=1))),
    Op("log_softmax", ref=_log_softmax, variants=(v(dim=0), v(dim=-1), v(dim=1))),
    Op("softmax", tag="dtype", fixed_dtype=True,
       call=lambda lib, x: lib.softmax(x.float(), -1, dtype=lib.float64),
       ref=lambda x: _softmax(x.astype(np.float32).astype(np.float64), -1),
       gradcheck_kw=F32_STEP),
    # -- matrix products --------------------------------------------------------------------
    Op("matmul", 2, shapes=matmul_shapes("matmul"), ref=np.matmul),
    Op("mm", 2, shapes=matmul_shapes("mm"), ref=np.matmul),
    Op("bmm", 2, shapes=matmul_shapes("bmm"), ref=np.matmul),
    Op("dot", 2, shapes=matmul_shapes("dot"), ref=np.dot),
    # -- shape ops --------------------------------------------------------------------------
    Op("reshape", call=lambda lib, x: lib.reshape(x, tuple(reversed(x.shape))),
       ref=lambda x: x.reshape(x.shape[::-1])),
    Op("reshape", tag="-1", call=lambda lib, x: lib.reshape(x, (-1,)),
       ref=lambda x: x.reshape(-1)),
    Op("Tensor.view", call=lambda lib, x: x.view(-1), ref=lambda x: x.reshape(-1),
       noncontiguous=False),
    Op("Tensor.view_as", 2, call=lambda lib, x, y: x.view_as(y), noncontiguous=False,
       ref=lambda x, y: x.reshape(y.shape)),
    Op("Tensor.reshape_as", 2, call=lambda lib, x, y: x.reshape_as(y),
       ref=lambda x, y: x.reshape(y.shape)),
    Op("flatten", ref=lambda x, start_dim=0, end_dim=-1: _flatten(x, start_dim, end_dim),
       variants=(v(), v(start_dim=1, min_dims=2), v(start_dim=0, end_dim=-2, min_dims=2))),
    Op("unflatten", min_dims=1, call=lambda lib, x: lib.unflatten(x, 0, (x.shape[0], 1)),
       ref=lambda x: x.reshape((x.shape[0], 1) + x.shape[1:])),
    Op("permute", call=lambda lib, x: lib.permute(x, tuple(reversed(range(x.ndim)))),
       ref=lambda x: np.transpose(x)),
    Op("permute", tag="rotate", min_dims=1,
       call=lambda lib, x: x.permute(*range(1, x.ndim), 0),
       ref=lambda x: np.moveaxis(x, 0, -1)),
    Op("transpose", call=lambda lib, x: lib.transpose(x, 0, -1),
       ref=lambda x: np.swapaxes(x, 0, -1) if x.ndim else x),
    Op("swapaxes", min_dims=2, call=lambda lib, x: lib.swapaxes(x, 0, 1),
       ref=lambda x: np.swapaxes(x, 0, 1)),
    Op("t", max_dims=2, ref=lambda x: x.T),
    Op("Tensor.T", max_dims=2, call=lambda lib, x: x.T, ref=lambda x: x.T),
    Op("Tensor.mT", min_dims=2, call=lambda lib, x: x.mT, ref=lambda x: np.swapaxes(x, -1, -2)),
    Op("unsqueeze", ref=lambda x, dim: np.expand_dims(x, dim % (x.ndim + 1)),
       variants=(v(dim=0), v(dim=-1), v(dim=1, min_dims=1))),
    Op("squeeze", ref=_squeeze_ref,
       variants=(v(), v(dim=0), v(dim=(0, -1), min_dims=2))),
    Op("broadcast_to", call=lambda lib, x: lib.broadcast_to(x, (2,) + tuple(x.shape)),
       ref=lambda x: np.broadcast_to(x, (2,) + x.shape)),
    Op("Tensor.expand", call=lambda lib, x: x.expand(3, *x.shape),
       ref=lambda x: np.broadcast_to(x, (3,) + x.shape)),
    Op("Tensor.expand_as", 2, shapes=into_shapes,
       call=lambda lib, target, x: x.expand_as(target),
       ref=lambda target, x: np.broadcast_to(x, target.shape)),
    Op("Tensor.repeat", call=lambda lib, x: x.repeat(2, *[1] * x.ndim),
       ref=lambda x: np.tile(x, (2,) + (1,) * x.ndim)),
    Op("Tensor.repeat", tag="every dim", call=lambda lib, x: x.repeat(*[2] * max(x.ndim, 1)),
       ref=lambda x: np.tile(x, (2,) * max(x.ndim, 1))),
    Op("clone", ref=np.copy),
    Op("Tensor.clone", call=lambda lib, x: x.clone(), ref=np.copy),
    Op("Tensor.contiguous", call=lambda lib, x: x.contiguous(), ref=np.copy),
    Op("cat", 2, shapes=cat_shapes, call=lambda lib, x, y, **kw: lib.cat([x, y], **kw),
       ref=lambda x, y, dim=0: np.concatenate([x, y], axis=dim),
       variants=(v(dim=0), v(dim=-1))),
    Op("stack", 2, call=lambda lib, x, y, **kw: lib.stack([x, y], **kw), ref=_stack_ref,
       variants=(v(dim=0), v(dim=-1), v(dim=1, min_dims=1))),
    Op("where", 2, broadcast=True, kinks=(0.0,),
       call=lambda lib, x, y: lib.where(x > 0, x, y), ref=lambda x, y: np.where(x > 0, x, y)),
    Op("where", tag="scalar other", kinks=(0.0,), call=lambda lib, x: lib.where(x > 0, x, 0.5),
       ref=lambda x: np.where(x > 0, x, 0.5)),
    Op("Tensor.where", 2, broadcast=True, kinks=(0.0,),
       call=lambda lib, x, y: x.where(x > 0, y), ref=lambda x, y: np.where(x > 0, x, y)),
    Op("Tensor.masked_fill", kinks=(0.0,), call=lambda lib, x: x.masked_fill(x > 0, 0.5),
       ref=lambda x: np.where(x > 0, 0.5, x)),
    # -- indexing ---------------------------------------------------------------------------
    Op("Tensor.__getitem__", tag="basic", min_dims=1,
       call=lambda lib, x: x[..., ::2, None], ref=lambda x: x[..., ::2, None]),
    Op("Tensor.__getitem__", tag="int", min_dims=1, min_side=1,
       call=lambda lib, x: x[-1], ref=lambda x: x[-1]),
    Op("Tensor.__getitem__", tag="repeated list", min_dims=1, min_side=1,
       call=lambda lib, x: x[[0, -1, 0]], ref=lambda x: x[[0, -1, 0]]),
    Op("Tensor.__getitem__", tag="index tensor", min_dims=2, min_side=1,
       call=lambda lib, x: x[:, lib.tensor([0, 0, -1])], ref=lambda x: x[:, [0, 0, -1]]),
    Op("Tensor.__getitem__", tag="mask", kinks=(0.0,),
       call=lambda lib, x: x[x > 0], ref=lambda x: x[x > 0]),
    Op("Tensor.__setitem__", 2, min_dims=1, min_side=1, call=_setitem, ref=_setitem_ref),
    # -- in-place ops on non-leaf tensors ---------------------------------------------------
    Op("Tensor.add_", 2, shapes=into_shapes, call=lambda lib, x, y: x.clone().add_(y),
       ref=np.add),
    Op("Tensor.sub_", 2, shapes=into_shapes, call=lambda lib, x, y: x.clone().sub_(y, alpha=2),
       ref=lambda x, y: x - 2 * y),
    Op("Tensor.mul_", 2, shapes=into_shapes, call=lambda lib, x, y: x.clone().mul_(y),
       ref=np.multiply),
    Op("Tensor.div_", 2, shapes=into_shapes, domain=(REAL, NONZERO),
       call=lambda lib, x, y: x.clone().div_(y), ref=np.divide),
    Op("Tensor.clamp_", kinks=(-0.5, 1.0), call=lambda lib, x: x.clone().clamp_(-0.5, 1.0),
       ref=lambda x: np.clip(x, -0.5, 1.0)),
    Op("Tensor.clip_", kinks=(0.5,), call=lambda lib, x: x.clone().clip_(max=0.5),
       ref=lambda x: np.minimum(x, 0.5)),
    Op("Tensor.zero_", call=lambda lib, x: (x * 2).zero_(), ref=np.zeros_like),
    Op("Tensor.fill_", call=lambda lib, x: (x * 2).fill_(1.5), ref=lambda x: np.full_like(x, 1.5)),
    Op("Tensor.copy_", 2, shapes=into_shapes, call=lambda lib, x, y: (x * 2).copy_(y),
       ref=lambda x, y: np.broadcast_to(y, x.shape)),
    # -- dtype conversions ------------------------------------------------------------------
    Op("Tensor.float", call=lambda lib, x: x.float(), ref=lambda x: x.astype(np.float32),
       gradcheck_kw=F32_STEP, fixed_dtype=True),
    Op("Tensor.double", call=lambda lib, x: x.float().double(), gradcheck_kw=F32_STEP,
       ref=lambda x: x.astype(np.float32).astype(np.float64), fixed_dtype=True),
    Op("Tensor.half", call=lambda lib, x: x.half(), ref=lambda x: x.astype(np.float16),
       gradcheck_kw={"eps": 0.25, "atol": 0.02, "rtol": 0.02}, fixed_dtype=True),
    Op("Tensor.to", call=lambda lib, x: x.to(lib.float32), ref=lambda x: x.astype(np.float32),
       gradcheck_kw=F32_STEP, fixed_dtype=True),
    Op("Tensor.type", call=lambda lib, x: x.type(lib.float32), gradcheck_kw=F32_STEP,
       ref=lambda x: x.astype(np.float32), fixed_dtype=True),
    Op("Tensor.type_as", 2, call=lambda lib, x, y: x.type_as(y.float()), gradcheck_kw=F32_STEP,
       ref=lambda x, y: x.astype(np.float32), fixed_dtype=True),
    Op("Tensor.long", domain=QUARTERS, call=lambda lib, x: x.long(),
       ref=lambda x: np.trunc(x).astype(np.int64), differentiable=False),
    Op("Tensor.int", domain=QUARTERS, call=lambda lib, x: x.int(),
       ref=lambda x: np.trunc(x).astype(np.int32), differentiable=False),
    Op("Tensor.bool", call=lambda lib, x: x.bool(), ref=lambda x: x.astype(bool),
       differentiable=False),
    Op("Tensor.detach", call=lambda lib, x: x.detach(), ref=np.copy, differentiable=False),
    # -- nn.functional (entries are skipped until microtorch.nn.functional has the name) --
    Op("nn.functional.relu", kinks=(0.0,), ref=lambda x: np.maximum(x, 0)),
    Op("nn.functional.leaky_relu", kinks=(0.0,),
       ref=lambda x, negative_slope=0.01: np.where(x > 0, x, x * negative_slope),
       variants=(v(), v(negative_slope=0.2))),
    Op("nn.functional.sigmoid", ref=_sigmoid),
    Op("nn.functional.tanh", ref=np.tanh),
    Op("nn.functional.softmax", ref=_softmax, variants=(v(dim=0), v(dim=-1))),
    Op("nn.functional.log_softmax", ref=_log_softmax, variants=(v(dim=0), v(dim=-1))),
    Op("nn.functional.linear", 3,     # (batch, in), (out, in), (out,)
       shapes=lambda variant: st.tuples(SIDE, SIDE, SIDE).map(
           lambda t: ((t[0], t[1]), (t[2], t[1]), (t[2],))),
       ref=lambda x, w, b: x @ w.T + b),
    Op("nn.functional.linear", 2, tag="no bias",
       shapes=lambda variant: st.tuples(SIDE, SIDE, SIDE).map(
           lambda t: ((2, t[0], t[1]), (t[2], t[1]))),
       ref=lambda x, w: x @ w.T),
    Op("nn.functional.linear", 1, tag="1-d input", shapes=lambda variant: SIDE_1.map(
           lambda n: ((n,),)), call=lambda lib, x: _fn(lib).linear(x, x.reshape(1, -1) * 2),
       ref=lambda x: (x.reshape(1, -1) * 2) @ x),
    Op("nn.functional.batch_norm", 3, domain=(GRID, REAL, REAL), unique=True, max_side=3,
       shapes=lambda variant: st.tuples(st.integers(2, 3), SIDE_1, st.integers(0, 2)).map(
           lambda t: ((t[0], t[1]) + (t[2],) * (t[2] > 0), (t[1],), (t[1],))),
       call=lambda lib, x, w, b: _fn(lib).batch_norm(x, None, None, w, b, training=True),
       ref=lambda x, w, b: _norm_ref(x, (0,) + tuple(range(2, x.ndim)), w, b, channel_dim=1)),
    Op("nn.functional.batch_norm", 3, tag="eval", max_side=3,
       shapes=lambda variant: st.tuples(SIDE, SIDE_1).map(
           lambda t: ((t[0], t[1]), (t[1],), (t[1],))),
       call=lambda lib, x, w, b: _fn(lib).batch_norm(
           x, x.new_full((x.shape[1],), 0.5), x.new_full((x.shape[1],), 2.0), w, b),
       ref=lambda x, w, b: (x - 0.5) / np.sqrt(2.0 + 1e-5) * w + b),
    Op("nn.functional.layer_norm", 3, domain=(GRID, REAL, REAL), unique=True, max_side=3,
       shapes=lambda variant: st.tuples(SIDE, st.integers(2, 3)).map(
           lambda t: ((t[0], t[1]), (t[1],), (t[1],))),
       call=lambda lib, x, w, b: _fn(lib).layer_norm(x, (x.shape[-1],), w, b),
       ref=lambda x, w, b: _norm_ref(x, (x.ndim - 1,), w, b, channel_dim=-1)),
    Op("nn.functional.one_hot", call=lambda lib, x: _fn(lib).one_hot((x > 0).long(), 2),
       ref=lambda x: np.eye(2, dtype=np.int64)[(x > 0).astype(np.int64)], differentiable=False),
    Op("nn.functional.mse_loss", 2, ref=lambda x, y, reduction="mean": _reduced((x - y) ** 2,
                                                                               reduction),
       variants=(v(), v(reduction="sum"), v(reduction="none")), min_side=1),
    Op("nn.functional.l1_loss", 2, domain=(st.floats(-1, 1), st.one_of(st.floats(-4, -2),
                                                                         st.floats(2, 4))),
       ref=lambda x, y, reduction="mean": _reduced(np.abs(x - y), reduction),
       variants=(v(), v(reduction="sum"), v(reduction="none")), min_side=1),
    Op("nn.functional.cross_entropy", min_dims=2, max_dims=2, min_side=1,
       call=lambda lib, x, **kw: _fn(lib).cross_entropy(x, _targets(lib, *x.shape), **kw),
       ref=lambda x, reduction="mean": _nll_ref(_log_softmax(x, 1), reduction),
       variants=(v(), v(reduction="sum"), v(reduction="none"))),
    Op("nn.functional.nll_loss", min_dims=2, max_dims=2, min_side=1,
       call=lambda lib, x, **kw: _fn(lib).nll_loss(x, _targets(lib, *x.shape), **kw),
       ref=lambda x, reduction="mean": _nll_ref(x, reduction),
       variants=(v(), v(reduction="sum"), v(reduction="none"))),
    Op("nn.functional.binary_cross_entropy", 2, domain=(st.floats(0.05, 0.95),
                                                         st.floats(0.01, 0.99)),
       ref=lambda p, y, reduction="mean": _reduced(-(y * np.log(p) + (1 - y) * np.log1p(-p)),
                                                   reduction),
       variants=(v(), v(reduction="none")), min_side=1),
    Op("nn.functional.binary_cross_entropy_with_logits", 2,
       domain=(REAL, st.floats(0.01, 0.99)),
       ref=lambda x, y, reduction="mean": _reduced(
           np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x))), reduction),
       variants=(v(), v(reduction="none")), min_side=1),
    Op("nn.functional.dropout", call=lambda lib, x, **kw: _fn(lib).dropout(x, **kw),
       ref=lambda x, **kw: x, variants=(v(p=0.5, training=False), v(p=0.0))),
]


def _flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return x.reshape(1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return x.reshape(x.shape[:s] + (-1 if x.size else int(np.prod(x.shape[s:e + 1])),)
                     + x.shape[e + 1:])


def _norm_ref(x, axes, w, b, channel_dim, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    shape = [1] * x.ndim
    shape[channel_dim] = -1
    return (x - mean) / np.sqrt(var + eps) * w.reshape(shape) + b.reshape(shape)


def _reduced(loss, reduction):
    if reduction == "none":
        return loss
    return np.asarray(loss.sum() if reduction == "sum" else loss.mean())


def _nll_ref(logp, reduction):
    n, c = logp.shape
    picked = -logp[np.arange(n), np.arange(n) % max(c, 1)]
    return _reduced(picked, reduction)


# ---- what is deliberately not in the registry --------------------------------------------

FACTORY = "factory: makes a new tensor from sizes or data, no tensor input (tests/test_tensor.py)"
UTILITY = "utility: returns no tensor (tests/test_tensor.py, test_autograd.py)"
BOOL_RESULT = "returns a Python bool, not a tensor (tests/test_tensor.py)"

NOT_OPS = {
    **{name: FACTORY for name in [
        "arange", "as_tensor", "empty", "empty_like", "eye", "from_numpy", "full", "full_like",
        "linspace", "ones", "ones_like", "rand", "rand_like", "randint", "randn", "randn_like",
        "randperm", "tensor", "zeros", "zeros_like"]},
    **{name: UTILITY for name in [
        "get_default_dtype", "set_default_dtype", "get_num_threads", "set_num_threads",
        "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "is_tensor",
        "is_floating_point", "numel", "is_grad_enabled"]},
    "allclose": BOOL_RESULT,
    "equal": BOOL_RESULT,
    "save": "serialization: writes a file, returns None",
    "load": "serialization: reads a file (tensors come back as leaves)",
}
"""Public callables of `microtorch` that are not ops, with the reason."""

NOT_TENSOR_OPS = {
    **{name: "metadata or autograd state, not an op (tests/test_tensor.py)" for name in [
        "backward", "data", "data_ptr", "device", "dim", "dtype", "element_size", "grad",
        "grad_fn", "is_contiguous", "is_cuda", "is_floating_point", "is_leaf", "ndim",
        "ndimension", "nelement", "numel", "register_hook", "requires_grad",
        "requires_grad_", "retain_grad", "shape", "size", "stride", "detach_"]},
    **{name: "conversion out of microtorch or device move (tests/test_tensor.py)" for name in [
        "cpu", "cuda", "item", "numpy", "tolist"]},
    **{name: FACTORY for name in ["new_empty", "new_full", "new_ones", "new_tensor",
                                  "new_zeros"]},
    "uniform_": "random fill: its result does not depend on the input's values",
    "normal_": "random fill: its result does not depend on the input's values",
    "allclose": BOOL_RESULT,
    "equal": BOOL_RESULT,
}
"""Public Tensor attributes that are not ops, with the reason."""

NOT_FUNCTIONAL_OPS: dict[str, str] = {}
"""Public callables of `microtorch.nn.functional` that are not ops, with the reason."""


# ---- cases for the tests -----------------------------------------------------------------

CASES = [Case(op, variant) for op in OPS for variant in op.variants]


def params(kind: str, cases=None, only_differentiable: bool = False) -> list:
    """pytest params for the registry cases: known bugs are strict xfails for `kind`
    ("gradcheck", "ref", "f32", "parity"); ops not in microtorch yet are skipped."""
    out = []
    for case in CASES if cases is None else cases:
        if only_differentiable and not case.op.differentiable:
            continue
        marks = []
        if not case.op.available():
            marks.append(pytest.mark.skip(reason=f"{case.op.api} is not in microtorch yet"))
        elif kind in case.op.skip:
            marks.append(pytest.mark.skip(reason=case.op.skip[kind]))
        elif kind in case.op.known_bugs:
            marks.append(pytest.mark.xfail(strict=True, reason=case.op.known_bugs[kind]))
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


def draw_inputs(data, case: Case, *, contiguous: bool = False) -> list:
    """float64 leaf tensors for `case` (some non-contiguous unless `contiguous`)."""
    op = case.op
    shapes = data.draw(op.shape_strategy(case.variant), label="shapes")
    tensors = []
    for i, shape in enumerate(shapes):
        t = data.draw(S.tensors(shape=shape, elements=op.elements(i), unique=op.unique),
                      label=f"input {i}")
        if op.noncontiguous and not contiguous and data.draw(st.booleans(),
                                                             label=f"non-contiguous {i}"):
            t = data.draw(S.non_contiguous(st.just(t)), label=f"layout {i}")
        tensors.append(t)
    return tensors


def run_examples(case: Case, kind: str, body, **settings_kw) -> None:
    """Run `body(data)` on hypothesis examples for `case`.

    Cases with a known bug for `kind` (strict xfail) stop at the first failing example
    instead of shrinking it, which would only spend time on an expected failure.
    """
    if kind in case.op.known_bugs:
        settings_kw["phases"] = [Phase.explicit, Phase.generate]

    @settings(database=None, **settings_kw)
    @given(data=st.data())
    def examples(data):
        body(data)

    examples()
