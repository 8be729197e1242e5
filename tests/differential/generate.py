"""Drawing programs: inputs, operands, dims and scalars, guided by PyTorch's results.

A `Builder` serves one step: an op recipe (ops.py) asks it for operands, and it returns live
tensors of the program or new inputs (their creating lines go before the op's line). Every
choice is a hypothesis draw, so failing programs shrink; choices depend only on PyTorch's
results (shapes, dtypes), never on microtorch's, so a seed gives the same programs whatever
microtorch does.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from .execute import Executor, Scalar, Step, Value

NAN, INF = math.nan, math.inf

DTYPES = ["float32", "float64", "int64", "float32", "bool", "int64", "float64", "float32"]
NDIMS = [1, 2, 0, 3, 1, 2]
SIDES = [2, 3, 1, 4, 2, 3, 1, 0, 2, 0]

NICE = st.integers(-8, 8).map(lambda i: i / 2)
ELEMENTS = {
    "nice": NICE,
    "special": st.one_of(NICE, st.sampled_from([NAN, INF, -INF, 0.0, -0.0, 1e38, -1e38])),
    "wide": st.one_of(st.floats(-1e6, 1e6, width=32).map(float), st.sampled_from([1e38, -3e38])),
    "small": st.integers(-4, 4),
    "int-special": st.one_of(st.integers(-4, 4), st.sampled_from([0, -1, 2 ** 31, -2 ** 31, 2 ** 62])),
    "bool": st.booleans(),
    "prob": st.sampled_from([0.5, 0.25, 0.0, 1.0, 0.75]),
    "index": st.integers(0, 2),
    "positive": st.integers(1, 8).map(lambda i: i / 2),
}
FLOAT_PROFILES = ["nice", "special", "nice", "wide", "special", "nice"]
INT_PROFILES = ["small", "small", "int-special"]

SCALARS = {
    "int": ["2", "-1", "0", "3", "1"],
    "float": ["0.5", "-1.5", "2.0", "nan", "inf", "-inf", "1e38", "0.0", "-2.5"],
    "bool": ["True", "False"],
}


def literal(arr: np.ndarray) -> str:
    """Source text of `arr`'s values (nested lists; nan/inf as names)."""
    return repr(arr.tolist())


class Builder:
    """Draws the operands of one step (see the module docstring)."""

    def __init__(self, data, ex: Executor) -> None:
        self.data, self.ex = data, ex
        self.pre: list[str] = []

    # -- primitive choices (each shrinks towards the first/simplest option) ------------
    def draw(self, strategy, label: str | None = None):
        return self.data.draw(strategy, label=label)

    def coin(self, p: float) -> bool:
        """True with probability p; shrinks to False."""
        return self.draw(st.integers(0, 99)) >= 100 - round(100 * p)

    def choice(self, seq):
        return seq[self.draw(st.integers(0, len(seq) - 1))]

    def scalar(self, kinds=("int", "float", "bool")) -> Scalar:
        kind = self.choice(list(kinds))
        return Scalar(self.choice(SCALARS[kind]), kind)

    def out(self) -> str:
        return self.ex.fresh_name("v")

    # -- tensors -------------------------------------------------------------------------
    def shape(self, min_dims: int = 0, max_dims: int = 3, min_side: int = 0) -> tuple:
        nd = self.choice([n for n in NDIMS if min_dims <= n <= max_dims] or [min_dims])
        return tuple(max(min_side, self.choice(SIDES)) for _ in range(nd))

    def fresh(self, shape: tuple | None = None, dtype: str | None = None, *,
              rg: bool | None = None, values: str | None = None, layout: bool = True,
              **shape_kw) -> Value:
        """A new input tensor (its creating line runs before the step's op)."""
        dtype = dtype or self.choice(DTYPES)
        shape = self.shape(**shape_kw) if shape is None else tuple(abs(s) for s in shape)
        floating = dtype.startswith("float")
        if values is None:
            values = ("bool" if dtype == "bool" else
                      self.choice(FLOAT_PROFILES) if floating else self.choice(INT_PROFILES))
        n = math.prod(shape)
        elems = self.draw(st.lists(ELEMENTS[values], min_size=n, max_size=n), label="values")
        if dtype == "int64":                 # Python ints: 2**62 stays exact
            arr = np.array([int(e) for e in elems], dtype=object).reshape(shape)
        else:
            arr = np.array(elems, dtype=bool if dtype == "bool" else np.float64).reshape(shape)
        if rg is None:
            rg = floating and self.coin(0.6)
        rg = rg and floating
        name = self.ex.fresh_name("x")
        kind = "contiguous"
        if layout and n > 1 and self.coin(0.3):
            kind = self.choice(["transposed", "strided", "expanded"])
        dt = f"dtype=torch.{dtype}"
        if n == 0:
            kind = "contiguous"
        if kind == "transposed" and len(shape) >= 2:
            src = f"torch.tensor({literal(np.swapaxes(arr, 0, 1))}, {dt}).transpose(0, 1)"
        elif kind == "expanded" and any(s > 1 for s in shape):
            dims = [d for d, s in enumerate(shape) if s > 1]
            d = self.choice(dims)
            part = np.take(arr, [0], axis=d)
            arr = np.broadcast_to(part, shape)
            src = f"torch.tensor({literal(part)}, {dt}).expand{shape!r}"
        elif kind in ("strided", "transposed", "expanded") and len(shape) >= 1:
            fill = {"bool": True, "int64": 77}.get(dtype, NAN)
            buf = np.full(shape[:-1] + (2 * shape[-1],), fill, dtype=arr.dtype)
            buf[..., ::2] = arr
            src = f"torch.tensor({literal(buf)}, {dt})[..., ::2]"
        else:
            kind = "contiguous"
            src = (f"torch.zeros({shape!r}, {dt})" if n == 0
                   else f"torch.tensor({literal(arr)}, {dt})")
        if rg:
            src = (src[:-1] + ", requires_grad=True)" if kind == "contiguous"
                   else src + ".requires_grad_()")
        self.pre.append(f"{name} = {src}")
        return Value(name, shape, dtype, kind == "contiguous" or n <= 1, rg, True, True)

    def pick(self, pred=None, p_fresh: float = 0.35, **fresh_kw) -> Value:
        """A live tensor (preferably a recent result) satisfying `pred`, or a new input."""
        cands = [v for v in self.ex.pool.values() if pred is None or pred(v)]
        if cands and not self.coin(p_fresh):
            return cands[-1 - self.draw(st.integers(0, len(cands) - 1))]
        return self.fresh(**fresh_kw)

    def related_shape(self, shape: tuple) -> tuple:
        """A shape that broadcasts with `shape`: the same, a suffix, with 1s, or larger."""
        how = self.choice(["same", "same", "suffix", "ones", "prepend", "scalar"])
        if how == "suffix" and shape:
            return shape[self.draw(st.integers(1, len(shape))):]
        if how == "ones" and shape:
            return tuple(1 if self.coin(0.5) else s for s in shape)
        if how == "prepend" and len(shape) < 3:
            return (self.choice([2, 1, 3]),) + shape
        if how == "scalar":
            return ()
        return shape

    def other(self, like: Value, scalars: bool = True, **fresh_kw) -> Value | Scalar:
        """A second operand for `like`: a broadcastable tensor, a Python scalar, `like`
        itself, or (rarely) a tensor of an unrelated shape."""
        r = self.draw(st.integers(0, 9), label="operand")
        if r >= 6 and scalars:
            return self.scalar()
        if r == 5:
            return like
        if r == 4:
            return self.fresh(**fresh_kw)
        shape = self.related_shape(like.shape)

        def fits(v: Value) -> bool:
            try:
                np.broadcast_shapes(v.shape, like.shape)
            except ValueError:
                return False
            return v.name != like.name

        if self.coin(0.4):
            cands = [v for v in self.ex.pool.values() if fits(v)]
            if cands:
                return cands[-1 - self.draw(st.integers(0, len(cands) - 1))]
        return self.fresh(shape, **fresh_kw)

    # -- dims ----------------------------------------------------------------------------
    def dim(self, x: Value, extra: int = 0) -> int:
        """A dim of `x` (negative or not); rarely one out of range."""
        n = max(x.ndim + extra, 1)
        if self.coin(0.05):
            return self.choice([n, -n - 1])
        return self.draw(st.integers(-n, n - 1), label="dim")

    def dims(self, x: Value) -> tuple:
        """A tuple of distinct dims (rarely empty or repeated)."""
        n = max(x.ndim, 1)
        k = self.draw(st.integers(1, n))
        picked = self.draw(st.permutations(range(n)))[:k]
        out = tuple(d - n if self.coin(0.3) else d for d in picked)
        if self.coin(0.05):
            out = out + out[:1]
        if self.coin(0.05):
            out = ()
        return out

    # -- steps ---------------------------------------------------------------------------
    def step(self, label: str, expr: str, operands: list, n_out: int = 1,
             inplace: bool = False) -> Step:
        """`v = expr` (or `v1, v2 = expr` for two results)."""
        outs = [self.out() for _ in range(n_out)]
        return Step(label, f"{', '.join(outs)} = {expr}", operands, outs, inplace, self.pre)

    def statement(self, label: str, line: str, operands: list, target: Value) -> Step:
        """A statement that changes `target` in place (`x += y`, `x[i] = y`)."""
        return Step(label, line, operands, [target.name], True, self.pre)


def kwargs_text(items: list[tuple[str, object]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in items)
