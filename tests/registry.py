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
from conv_reference import adaptive_avg_pool2d, avg_pool2d, conv_nd, max_pool2d, pad, pool1d
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

# Known bug with 0-d inputs (test_autograd.py::test_max_with_dim_of_a_0d_tensor_is_
# differentiable): those variants ask for >= 1 dim (`D1`) until it is fixed; then drop
# `min_dims=D1` to cover 0-d inputs too.
D1 = 1

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
    Op("sign", kinks=(0.0,), ref=np.sign),
    Op("relu", kinks=(0.0,), ref=lambda x: np.maximum(x, 0)),
    Op("sigmoid", ref=_sigmoid),
    Op("tanh", ref=np.tanh),
    Op("clamp", kinks=(-1.0, -0.5, 0.5, 1.0),
       ref=lambda x, min=None, max=None: np.clip(x, min, max),
       variants=(v(min=-1.0, max=1.0), v(min=-0.5), v(max=0.5))),
    Op("clip", kinks=(-1.0, 0.5, 1.0),
       ref=lambda x, min=None, max=None: np.clip(x, min, max),
       variants=(v(min=-1.0, max=1.0), v(max=0.5))),
    # x below, between or above the bounds, at least 0.25 from each (no kinks); x has the
    # broadcast shape (PyTorch 2.13 refuses some bounds that broadcast x to more dims)
    Op("clamp", 3, tag="tensor bounds",
       domain=(st.one_of(st.floats(-4, -2.5), st.floats(-0.25, 0.25), st.floats(2.5, 4)),
               st.floats(-2, -0.5), st.floats(0.5, 2)),
       shapes=lambda variant: S.broadcastable_shapes(3).map(
           lambda s: (np.broadcast_shapes(*s),) + tuple(s[1:])),
       call=lambda lib, x, lo, hi: lib.clamp(x, lo, hi),
       ref=lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi)),
    # -- elementwise binary -----------------------------------------------------------------
    Op("add", 2, broadcast=True, ref=lambda x, y, alpha=1: x + alpha * y,
       variants=(v(), v(alpha=2.5))),
    Op("sub", 2, broadcast=True, ref=lambda x, y, alpha=1: x - alpha * y,
       variants=(v(), v(alpha=0.5))),
    Op("mul", 2, broadcast=True, ref=np.multiply),
    Op("div", 2, broadcast=True, domain=(REAL, NONZERO), ref=np.divide),
    Op("div", 2, tag="rounding", broadcast=True, domain=(QUARTERS, ODD_HALVES),
       ref=lambda x, y, rounding_mode: (np.floor if rounding_mode == "floor" else np.trunc)(x / y),
       variants=(v(rounding_mode="floor"), v(rounding_mode="trunc"))),
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
    Op("remainder", 2, broadcast=True, domain=(QUARTERS, ODD_HALVES), ref=_remainder),
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
    Op("Tensor.remainder_", 2, shapes=into_shapes, domain=(QUARTERS, ODD_HALVES),
       call=lambda lib, x, y: x.clone().remainder_(y), ref=_remainder),
    Op("Tensor.floor_divide_", 2, shapes=into_shapes, domain=(QUARTERS, ODD_HALVES),
       call=lambda lib, x, y: x.clone().floor_divide_(y), ref=lambda x, y: np.floor(x / y),
       differentiable=False),
    Op("Tensor.pow_", 2, shapes=into_shapes, domain=(POSITIVE, st.floats(-2, 2)),
       call=lambda lib, x, y: x.clone().pow_(y), ref=np.power),
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


# ---- split, order, scan (ops/split.py, ops/sort.py, ops/scan.py) -----------------------

def _split_ref(x, size, dim=0):
    n = x.shape[dim]
    return tuple(np.split(x, list(range(size, n, size)), axis=dim))


def _chunk_ref(x, chunks, dim=0):
    n = x.shape[dim]
    if n == 0:
        return tuple(np.split(x, [0] * (chunks - 1), axis=dim))
    return _split_ref(x, -(-n // chunks), dim)


def _sort_ref(x, dim=-1, descending=False):
    if x.ndim == 0:
        return x.copy(), np.zeros((), np.int64)
    idx = np.argsort(-x if descending else x, axis=dim, kind="stable")
    return np.take_along_axis(x, idx, axis=dim), idx.astype(np.int64)


def _topk_ref(x, k, dim=-1, largest=True):
    vals, idx = _sort_ref(x, dim, largest)
    if x.ndim == 0:
        return vals, idx
    return (np.take(vals, range(k), axis=dim), np.take(idx, range(k), axis=dim))


def _scan_ref(fn):
    def ref(x, dim):
        return x.copy() if x.ndim == 0 else fn(x, axis=dim)

    return ref


def _prod_ref(x, dim=None, keepdim=False):
    if dim is None or x.ndim == 0:
        return np.asarray(np.prod(x))
    return np.prod(x, axis=dim, keepdims=keepdim)


def _smooth_l1_ref(x, y, reduction="mean", beta=1.0):
    d = np.abs(x - y)
    return _reduced(np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


def _huber_ref(x, y, reduction="mean", delta=1.0):
    d = np.abs(x - y)
    return _reduced(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)


def _kl_ref(x, t, reduction, log_target):
    loss = np.exp(t) * (t - x) if log_target else t * (np.log(t) - x)
    if reduction == "batchmean":
        return np.asarray(loss.sum() / x.shape[0])
    return _reduced(loss, reduction)


def _attention_shapes(variant):
    """(query, key, value) shapes (B, H, L, E), (B, H, S, E), (B, H, S, E)."""
    return st.tuples(SIDE, SIDE_1, SIDE, SIDE_1, SIDE_1).map(
        lambda t: ((t[0], t[1], t[2], t[3]), (t[0], t[1], t[4], t[3]), (t[0], t[1], t[4], t[3])))


def _attention_ref(q, k, v, is_causal=False, scale=None):
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if is_causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)), s, -np.inf)
    top = np.max(s, axis=-1, keepdims=True, initial=-np.inf)
    e = np.exp(s - np.where(np.isfinite(top), top, 0))
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0) @ v


PRODUCT_DOMAIN = st.one_of(st.floats(-1.5, -0.5), st.floats(0.5, 1.5), st.just(0.0))
"""Factors away from 0 except exact zeros (whose product gradients must stay exact)."""

OPS += [
    Op("split", min_dims=1, call=lambda lib, x, **kw: lib.split(x, 2, **kw),
       ref=lambda x, **kw: _split_ref(x, 2, **kw), variants=(v(), v(dim=-1))),
    Op("split", tag="sizes", min_dims=1, min_side=1,
       call=lambda lib, x: lib.split(x, [1, x.shape[0] - 1]), ref=lambda x: np.split(x, [1])),
    Op("chunk", min_dims=1, call=lambda lib, x, **kw: lib.chunk(x, 2, **kw),
       ref=lambda x, **kw: _chunk_ref(x, 2, **kw), variants=(v(), v(dim=-1))),
    Op("unbind", min_dims=1, min_side=1, ref=lambda x, dim=0: tuple(np.moveaxis(x, dim, 0)),
       variants=(v(), v(dim=-1))),
    Op("sort", unique=True, domain=GRID, ref=_sort_ref,
       variants=(v(), v(dim=0, descending=True))),
    Op("argsort", unique=True, domain=GRID, differentiable=False,
       ref=lambda x, **kw: _sort_ref(x, **kw)[1], variants=(v(), v(dim=0, descending=True))),
    Op("topk", unique=True, domain=GRID, min_side=1,
       call=lambda lib, x, **kw: lib.topk(x, 1, **kw), ref=lambda x, **kw: _topk_ref(x, 1, **kw),
       variants=(v(), v(dim=0, largest=False))),
    Op("flip", call=lambda lib, x: lib.flip(x, tuple(range(x.ndim))), ref=np.flip),
    Op("fliplr", min_dims=2, ref=np.fliplr),
    Op("flipud", min_dims=1, ref=np.flipud),
    Op("roll", call=lambda lib, x: lib.roll(x, 1), ref=lambda x: np.roll(x, 1)),
    Op("roll", tag="dims", min_dims=2, call=lambda lib, x: lib.roll(x, (1, -3), (0, -1)),
       ref=lambda x: np.roll(x, (1, -3), (0, -1))),
    Op("cumsum", ref=_scan_ref(np.cumsum), variants=(v(dim=0), v(dim=-1))),
    Op("cumprod", domain=PRODUCT_DOMAIN, ref=_scan_ref(np.cumprod),
       variants=(v(dim=0), v(dim=-1))),
    Op("prod", domain=PRODUCT_DOMAIN, ref=_prod_ref,
       variants=(v(), v(dim=0), v(dim=-1, keepdim=True))),
    Op("Tensor.split", min_dims=1, call=lambda lib, x: x.split(1),
       ref=lambda x: _split_ref(x, 1)),
    Op("Tensor.chunk", min_dims=1, call=lambda lib, x: x.chunk(3, -1),
       ref=lambda x: _chunk_ref(x, 3, -1)),
    Op("Tensor.unbind", min_dims=1, min_side=1, call=lambda lib, x: x.unbind(),
       ref=lambda x: tuple(x)),
    Op("Tensor.sort", unique=True, domain=GRID, call=lambda lib, x: x.sort(descending=True),
       ref=lambda x: _sort_ref(x, descending=True)),
    Op("Tensor.argsort", unique=True, domain=GRID, differentiable=False,
       call=lambda lib, x: x.argsort(), ref=lambda x: _sort_ref(x)[1]),
    Op("Tensor.topk", unique=True, domain=GRID, min_dims=1, min_side=2,
       call=lambda lib, x: x.topk(2, 0), ref=lambda x: _topk_ref(x, 2, 0)),
    Op("Tensor.flip", min_dims=1, call=lambda lib, x: x.flip(0), ref=lambda x: np.flip(x, 0)),
    Op("Tensor.fliplr", min_dims=2, call=lambda lib, x: x.fliplr(), ref=np.fliplr),
    Op("Tensor.flipud", min_dims=1, call=lambda lib, x: x.flipud(), ref=np.flipud),
    Op("Tensor.roll", min_dims=1, call=lambda lib, x: x.roll(-1, 0),
       ref=lambda x: np.roll(x, -1, 0)),
    Op("Tensor.cumsum", min_dims=1, call=lambda lib, x: x.cumsum(0),
       ref=lambda x: np.cumsum(x, 0)),
    Op("Tensor.cumprod", min_dims=1, domain=PRODUCT_DOMAIN, call=lambda lib, x: x.cumprod(-1),
       ref=lambda x: np.cumprod(x, -1)),
    Op("Tensor.prod", domain=PRODUCT_DOMAIN, call=lambda lib, x: x.prod(),
       ref=lambda x: np.asarray(np.prod(x))),
    # -- smooth losses, KL divergence, attention (ops/smooth_loss.py, divergence.py,
    #    attention.py) --------------------------------------------------------------------
    Op("nn.functional.smooth_l1_loss", 2, min_side=1, ref=_smooth_l1_ref,
       variants=(v(), v(reduction="sum"), v(reduction="none", beta=0.5))),
    Op("nn.functional.huber_loss", 2, min_side=1, ref=_huber_ref,
       variants=(v(), v(reduction="sum", delta=0.5), v(reduction="none", delta=2.0))),
    Op("nn.functional.kl_div", 2, min_dims=1, min_side=1, domain=(REAL, POSITIVE),
       ref=lambda x, t, reduction, log_target=False: _kl_ref(x, t, reduction, log_target),
       variants=(v(reduction="sum"), v(reduction="batchmean"), v(reduction="none"))),
    Op("nn.functional.kl_div", 2, tag="log target", min_dims=1, min_side=1,
       ref=lambda x, t, reduction, log_target: _kl_ref(x, t, reduction, log_target),
       variants=(v(reduction="batchmean", log_target=True),
                 v(reduction="none", log_target=True))),
    Op("nn.functional.scaled_dot_product_attention", 3, shapes=_attention_shapes,
       ref=_attention_ref, variants=(v(), v(is_causal=True), v(scale=0.5))),
    Op("nn.functional.scaled_dot_product_attention", 3, tag="3-d",
       shapes=lambda variant: _attention_shapes(variant).map(lambda s: tuple(x[1:] for x in s)),
       ref=_attention_ref),
]


# ---- pointwise math, activations, embedding, masks, norms (issue 16) ----------------------

def _erf(x):
    from scipy.special import erf

    return erf(x)


def _erfc(x):
    from scipy.special import erfc

    return erfc(x)


def _lerp_ref(x, y, w):
    return x + w * (y - x)


def _softplus_ref(x, beta=1.0, threshold=20.0):
    bx = x * beta
    return np.where(bx > threshold, x, np.log1p(np.exp(bx)) / beta)


def _gelu_ref(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + _erf(x / np.sqrt(2)))


def _indices(lib, n: int):
    """Embedding indices with repeats (the gradient must add them up); `lib` None: numpy."""
    rows = [[0, n - 1, 0], [n // 2, n - 1, 0]]
    return np.array(rows) if lib is None else lib.tensor(rows)


def _vector_norm_ref(x, ord=2, dim=None, keepdim=False):
    a = np.abs(x)
    axes = _axes(x, dim)
    if ord == np.inf:
        return np.asarray(np.amax(a, axis=axes, keepdims=keepdim))
    if ord == -np.inf:
        return np.asarray(np.amin(a, axis=axes, keepdims=keepdim))
    if ord == 0:
        return np.asarray(np.sum(a != 0, axis=axes, keepdims=keepdim), dtype=x.dtype)
    return np.asarray(np.sum(a ** ord, axis=axes, keepdims=keepdim) ** (1 / ord))


def _matrix_norm_ref(x, ord="fro"):
    if ord == "fro":
        return np.sqrt(np.sum(x * x, axis=(-2, -1)))
    if abs(ord) == 1:
        sums = np.abs(x).sum(axis=-2)
    else:
        sums = np.abs(x).sum(axis=-1)
    return (np.amax if ord > 0 else np.amin)(sums, axis=-1)


def _tail_into(shapes):
    """(broadcast shape, *shapes[1:]): the first input takes every other input's shape (the
    in-place ops with several operands)."""
    return (np.broadcast_shapes(*shapes),) + tuple(shapes[1:])


TRIG = st.floats(-1.4, 1.4)                # tan's poles stay away
UNIT = st.floats(-0.9, 0.9)                # asin, acos, atanh: inside (-1, 1)
ABOVE_ONE = st.floats(1.1, 4)              # acosh
DECIMALS = st.integers(-40, 40).map(lambda i: i / 10 + 0.02)
"""round(decimals=1) stays 0.03 away from its jumps at the half-tenths."""
POWERS_OF_TWO = st.integers(-12, 4).map(lambda k: 2.0 ** k)
"""Distinct powers of two are far apart, and so are sums of disjoint sets of them: the max/min
of |x| or of column sums (inf and 1 norms) never ties or nearly ties."""
HALVES = st.integers(-8, 8).map(lambda i: i / 2)
"""Clamp bounds: never equal to a QUARTERS input (so no ties between x and the bound)."""
INPLACE_ASINH = ("PyTorch's in-place inverse hyperbolics (asinh_, acosh_, atanh_) raise in "
                 "backward ('derivative not implemented'); microtorch differentiates them")
UNARY_MATH = [
    ("sin", REAL, np.sin), ("cos", REAL, np.cos), ("tan", TRIG, np.tan),
    ("asin", UNIT, np.arcsin), ("acos", UNIT, np.arccos), ("atan", REAL, np.arctan),
    ("sinh", REAL, np.sinh), ("cosh", REAL, np.cosh), ("asinh", REAL, np.arcsinh),
    ("acosh", ABOVE_ONE, np.arccosh), ("atanh", UNIT, np.arctanh),
    ("log10", POSITIVE, np.log10), ("log2", POSITIVE, np.log2), ("exp2", REAL, np.exp2),
    ("expm1", REAL, np.expm1), ("reciprocal", NONZERO, np.reciprocal),
    ("rsqrt", POSITIVE, lambda x: 1 / np.sqrt(x)), ("erf", REAL, _erf), ("erfc", REAL, _erfc),
    ("floor", QUARTERS, np.floor), ("ceil", QUARTERS, np.ceil), ("round", QUARTERS, np.round),
    ("trunc", QUARTERS, np.trunc), ("fix", QUARTERS, np.trunc),
    ("frac", QUARTERS, lambda x: x - np.trunc(x)),
]
BROADCAST_3 = lambda variant: S.broadcastable_shapes(3)                        # noqa: E731
INTO_3 = lambda variant: S.broadcastable_shapes(3).map(_tail_into)              # noqa: E731

OPS += [
    *[Op(name, domain=dom, ref=fn) for name, dom, fn in UNARY_MATH],
    *[Op(f"Tensor.{name}_", domain=dom, ref=fn,
         call=lambda lib, x, name=name: getattr(x.clone(), f"{name}_")(),
         skip={"parity": INPLACE_ASINH} if name in ("asinh", "acosh", "atanh") else {})
      for name, dom, fn in UNARY_MATH],
    Op("round", tag="decimals", domain=DECIMALS, ref=lambda x, decimals: np.round(x, decimals),
       variants=(v(decimals=1),)),
    Op("Tensor.round_", tag="decimals", domain=DECIMALS,
       call=lambda lib, x: x.clone().round_(decimals=1), ref=lambda x: np.round(x, 1)),
    Op("atan2", 2, broadcast=True, domain=(NONZERO, NONZERO), ref=np.arctan2),
    Op("hypot", 2, broadcast=True, domain=(NONZERO, NONZERO), ref=np.hypot),
    Op("logaddexp", 2, broadcast=True, ref=np.logaddexp),
    Op("fmod", 2, broadcast=True, domain=(QUARTERS, ODD_HALVES), ref=np.fmod),
    Op("fmod", tag="number", domain=QUARTERS, call=lambda lib, x: lib.fmod(x, 1.5),
       ref=lambda x: np.fmod(x, 1.5)),
    Op("lerp", 2, broadcast=True, call=lambda lib, x, y, weight: lib.lerp(x, y, weight),
       ref=lambda x, y, weight: _lerp_ref(x, y, weight),
       variants=(v(weight=0.3), v(weight=0.8))),
    Op("lerp", 3, tag="tensor weight", shapes=BROADCAST_3, domain=(REAL, REAL, st.floats(-1, 2)),
       ref=_lerp_ref),
    Op("addcmul", 3, shapes=BROADCAST_3, ref=lambda x, a, b, value=1: x + value * a * b,
       variants=(v(), v(value=-0.5))),
    Op("addcdiv", 3, shapes=BROADCAST_3, domain=(REAL, REAL, NONZERO),
       ref=lambda x, a, b, value=1: x + value * a / b, variants=(v(), v(value=2.0))),
    Op("clamp_min", domain=QUARTERS, ref=lambda x, min: np.maximum(x, min),
       variants=(v(min=0.5), v(min=-1.0))),
    Op("clamp_max", domain=QUARTERS, ref=lambda x, max: np.minimum(x, max),
       variants=(v(max=0.5),)),
    Op("clamp_min", 2, tag="tensor", broadcast=True, domain=(QUARTERS, HALVES),
       ref=np.maximum),
    Op("clamp_max", 2, tag="tensor", broadcast=True, domain=(QUARTERS, HALVES),
       ref=np.minimum),
    Op("clamp_min_", domain=QUARTERS, call=lambda lib, x: lib.clamp_min_(x.clone(), 0.5),
       ref=lambda x: np.maximum(x, 0.5)),
    Op("clamp_max_", domain=QUARTERS, call=lambda lib, x: lib.clamp_max_(x.clone(), 0.5),
       ref=lambda x: np.minimum(x, 0.5)),
    Op("Tensor.clamp_min_", 2, shapes=into_shapes, domain=(QUARTERS, HALVES),
       call=lambda lib, x, m: x.clone().clamp_min_(m), ref=np.maximum),
    Op("Tensor.clamp_max_", domain=QUARTERS, call=lambda lib, x: x.clone().clamp_max_(-0.5),
       ref=lambda x: np.minimum(x, -0.5)),
    Op("Tensor.atan2_", 2, shapes=into_shapes, domain=(NONZERO, NONZERO),
       call=lambda lib, x, y: x.clone().atan2_(y), ref=np.arctan2),
    Op("Tensor.hypot_", 2, shapes=into_shapes, domain=(NONZERO, NONZERO),
       call=lambda lib, x, y: x.clone().hypot_(y), ref=np.hypot),
    Op("Tensor.fmod_", 2, shapes=into_shapes, domain=(QUARTERS, ODD_HALVES),
       call=lambda lib, x, y: x.clone().fmod_(y), ref=np.fmod),
    Op("Tensor.lerp_", 3, shapes=INTO_3, domain=(REAL, REAL, st.floats(-1, 2)),
       call=lambda lib, x, y, w: x.clone().lerp_(y, w), ref=_lerp_ref),
    Op("Tensor.addcmul_", 3, shapes=INTO_3, call=lambda lib, x, a, b: x.clone().addcmul_(a, b),
       ref=lambda x, a, b: x + a * b),
    Op("Tensor.addcdiv_", 3, shapes=INTO_3, domain=(REAL, REAL, NONZERO),
       call=lambda lib, x, a, b: x.clone().addcdiv_(a, b, value=0.5),
       ref=lambda x, a, b: x + 0.5 * a / b),
    # -- activations ------------------------------------------------------------------------
    Op("nn.functional.softplus", ref=_softplus_ref,
       variants=(v(), v(beta=2.0, threshold=1.5))),
    Op("nn.functional.gelu", ref=_gelu_ref, variants=(v(), v(approximate="tanh"))),
    Op("nn.functional.silu", ref=lambda x: x * _sigmoid(x)),
    Op("nn.functional.mish", ref=lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    Op("nn.functional.elu", kinks=(0.0,),
       ref=lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x)),
       variants=(v(), v(alpha=0.5))),
    Op("nn.functional.hardtanh", kinks=(-1.0, 1.0, -0.5, 2.0),
       ref=lambda x, min_val=-1.0, max_val=1.0: np.clip(x, min_val, max_val),
       variants=(v(), v(min_val=-0.5, max_val=2.0))),
    Op("nn.functional.softmin", ref=lambda x, dim: _softmax(-x, dim),
       variants=(v(dim=0), v(dim=-1))),
    Op("nn.functional.elu", tag="inplace", kinks=(0.0,),
       call=lambda lib, x: _fn(lib).elu(x.clone(), inplace=True),
       ref=lambda x: np.where(x > 0, x, np.expm1(x))),
    Op("nn.functional.silu", tag="inplace", call=lambda lib, x: _fn(lib).silu(x.clone(), True),
       ref=lambda x: x * _sigmoid(x)),
    Op("nn.functional.hardtanh", tag="inplace", kinks=(-1.0, 1.0),
       call=lambda lib, x: _fn(lib).hardtanh(x.clone(), inplace=True),
       ref=lambda x: np.clip(x, -1, 1)),
    # -- embedding --------------------------------------------------------------------------
    Op("nn.functional.embedding", min_dims=2, max_dims=2, min_side=1,
       call=lambda lib, w, **kw: _fn(lib).embedding(_indices(lib, w.shape[0]), w, **kw),
       ref=lambda w, **kw: w[_indices(None, w.shape[0])],
       variants=(v(),)),
    Op("nn.functional.embedding", tag="gradient by design", min_dims=2, max_dims=2, min_side=1,
       call=lambda lib, w, **kw: _fn(lib).embedding(_indices(lib, w.shape[0]), w, **kw),
       ref=lambda w, **kw: w[_indices(None, w.shape[0])],
       variants=(v(padding_idx=0), v(scale_grad_by_freq=True)),
       skip={"gradcheck": "by design not the derivative: the padding row gets no gradient, "
                          "scale_grad_by_freq divides by the index counts (parity checks it)"}),
    # -- masks ------------------------------------------------------------------------------
    *[Op(name, min_dims=2, ref=lambda x, diagonal=0, fn=fn: fn(x, diagonal),
         variants=(v(), v(diagonal=1), v(diagonal=-1)))
      for name, fn in (("tril", np.tril), ("triu", np.triu))],
    Op("Tensor.tril_", min_dims=2, call=lambda lib, x: x.clone().tril_(-1),
       ref=lambda x: np.tril(x, -1)),
    Op("Tensor.triu_", min_dims=2, call=lambda lib, x: x.clone().triu_(1),
       ref=lambda x: np.triu(x, 1)),
    Op("masked_fill", kinks=(0.0,), call=lambda lib, x: lib.masked_fill(x, x > 0, -1.5),
       ref=lambda x: np.where(x > 0, -1.5, x)),
    Op("masked_fill", 2, tag="tensor value", kinks=(0.0,),
       shapes=lambda variant: S.shapes().map(lambda s: (s, ())),
       call=lambda lib, x, value: lib.masked_fill(x, x > 0, value),
       ref=lambda x, value: np.where(x > 0, value, x)),
    Op("masked_fill", tag="broadcast mask", min_dims=1, kinks=(0.0,),
       call=lambda lib, x: lib.masked_fill(x, x[..., :1] > 0, -2.5),
       ref=lambda x: np.where(x[..., :1] > 0, -2.5, x)),
    Op("Tensor.masked_fill_", kinks=(0.0,), call=lambda lib, x: x.clone().masked_fill_(x < 0, 2.0),
       ref=lambda x: np.where(x < 0, 2.0, x)),
    # -- norms ------------------------------------------------------------------------------
    Op("linalg.vector_norm", domain=NONZERO, ref=_vector_norm_ref,
       variants=(v(), v(ord=1), v(ord=3, dim=0), v(ord=0.5, dim=-1, keepdim=True),
                 v(ord=-2, min_side=1), v(ord=0), v(ord=2, dim=(0, -1), min_dims=2))),
    Op("linalg.vector_norm", tag="inf", domain=POWERS_OF_TWO, unique=True, min_side=1,
       ref=_vector_norm_ref, variants=(v(ord=np.inf), v(ord=-np.inf, dim=-1))),
    Op("linalg.vector_norm", tag="zeros", domain=st.just(0.0),
       ref=_vector_norm_ref, variants=(v(), v(ord=1), v(ord=0.5)),
       skip={"gradcheck": "a norm is not differentiable at 0; the zero-safe gradient (0, as "
                          "PyTorch's) is checked against PyTorch"}),
    Op("linalg.matrix_norm", min_dims=2, domain=POWERS_OF_TWO, unique=True, min_side=1,
       max_side=3,
       ref=_matrix_norm_ref, variants=(v(), v(ord=1), v(ord=-np.inf))),
    Op("linalg.norm", domain=NONZERO, ref=lambda x: _vector_norm_ref(x)),
    Op("norm", domain=NONZERO, ref=lambda x, p="fro", dim=None, keepdim=False:
       _vector_norm_ref(x, 2 if p == "fro" else p, dim, keepdim),
       variants=(v(), v(p=1, dim=0), v(p=2, dim=-1, keepdim=True))),
    Op("Tensor.norm", domain=NONZERO, call=lambda lib, x: x.norm(3),
       ref=lambda x: _vector_norm_ref(x, 3)),
]


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

RANDOM = "random sampling: microtorch's stream differs from PyTorch's (tests/test_breadth_random.py)"
COUNTING = "counting, not differentiable (tests/test_breadth_ops.py checks it against PyTorch)"
NOT_OPS.update({
    "compile": "wraps a module or function; tests/test_compile.py checks replay == eager",
    **{name: RANDOM for name in ["bernoulli", "multinomial", "normal", "poisson"]},
    **{name: COUNTING for name in ["bincount", "histc", "histogram"]},
    "randint_like": FACTORY,
    "get_default_device": UTILITY,
    "set_default_device": UTILITY,
    "use_deterministic_algorithms": UTILITY,
    "are_deterministic_algorithms_enabled": UTILITY,
    "is_autocast_enabled": UTILITY,
    "set_printoptions": UTILITY,
})
NOT_TENSOR_OPS.update({
    **{name: RANDOM for name in ["bernoulli", "bernoulli_", "exponential_", "multinomial",
                                 "random_"]},
    **{name: COUNTING for name in ["bincount", "histc", "histogram"]},
})

NOT_FUNCTIONAL_OPS: dict[str, str] = {}
"""Public callables of `microtorch.nn.functional` that are not ops, with the reason."""


# ---- convolution, pooling, padding (ops/conv.py, ops/pooling.py, ops/padding.py) --------

def _conv_shapes(dims: int):
    """(input, weight, bias) shapes: batch 1-2, 1-2 channels per group, kernel 1-3, side 4-5."""
    def shapes(variant: Variant):
        groups = variant.kwargs.get("groups", 1)
        sizes = st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2),
                          st.integers(1, 3), st.integers(4, 5))
        return sizes.map(lambda t: ((t[0], t[1] * groups) + (t[4],) * dims,
                                    (t[2] * groups, t[1]) + (t[3],) * dims, (t[2] * groups,)))

    return shapes


def _pool_shapes(dims: int):
    return lambda variant: st.tuples(st.integers(1, 2), st.integers(1, 2),
                                     *[st.integers(4, 5)] * dims).map(lambda t: (t,))


CONV_VARIANTS = (v(), v(stride=2, padding=1), v(dilation=2, padding="same"), v(groups=2))

OPS += [
    Op("nn.functional.conv2d", 3, shapes=_conv_shapes(2), ref=conv_nd, variants=CONV_VARIANTS),
    Op("nn.functional.conv1d", 3, shapes=_conv_shapes(1), ref=conv_nd, variants=CONV_VARIANTS),
    Op("nn.functional.max_pool2d", unique=True, domain=GRID, shapes=_pool_shapes(2), ref=max_pool2d,
       variants=(v(kernel_size=2), v(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                 v(kernel_size=2, dilation=2, return_indices=True))),
    Op("nn.functional.max_pool1d", unique=True, domain=GRID, shapes=_pool_shapes(1),
       ref=pool1d(max_pool2d),
       variants=(v(kernel_size=2), v(kernel_size=3, stride=2, padding=1, return_indices=True))),
    Op("nn.functional.avg_pool2d", shapes=_pool_shapes(2), ref=avg_pool2d,
       variants=(v(kernel_size=2), v(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                     count_include_pad=False))),
    Op("nn.functional.avg_pool1d", shapes=_pool_shapes(1), ref=pool1d(avg_pool2d),
       variants=(v(kernel_size=2), v(kernel_size=3, stride=2, padding=1))),
    Op("nn.functional.adaptive_avg_pool2d", shapes=_pool_shapes(2), ref=adaptive_avg_pool2d,
       variants=(v(output_size=(2, 3)), v(output_size=1))),
    Op("nn.functional.pad", min_dims=2, min_side=2, ref=pad,
       variants=(v(pad=(1, 2)), v(pad=(1, -1, 0, 2), value=0.5))),
    Op("nn.functional.dropout2d", shapes=_pool_shapes(2),
       call=lambda lib, x, **kw: _fn(lib).dropout2d(x, **kw), ref=lambda x, **kw: x,
       variants=(v(p=0.5, training=False), v(p=0.0))),
]


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
