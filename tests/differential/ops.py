"""The op table: how to draw a call of every registry op in each of its forms.

Each `Entry` builds one step with a `Builder`: function form (`torch.add(x, y, alpha=2)`),
method form (`x.add(y)`), operators (`x + y`, `2 ** x`, `x += y`), in-place methods,
indexing and `nn.functional`, with keyword variants. `covers` names the registry apis
(tests/registry.py) an entry exercises; `test_every_registry_op_is_generated` checks that
every registry op is covered, and registry ops without a custom `call` that no entry names
are drawn generically from their registry declaration (`registry_entries`).
"""
from __future__ import annotations

import ast
import builtins
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from .execute import Scalar, Step, Value
from .generate import Builder, kwargs_text


@dataclass(frozen=True)
class Entry:
    label: str
    build: Callable[[Builder], Step]
    covers: tuple = ()

    def __post_init__(self) -> None:
        if not self.covers:
            object.__setattr__(self, "covers", (self.label,))


ENTRIES: list[Entry] = []


def entry(label: str, *covers: str):
    def register(fn):
        ENTRIES.append(Entry(label, fn, covers or (label,)))
        return fn
    return register


def _kw(b: Builder, options: dict) -> list:
    """A random subset of keyword arguments; `options` maps a name to a drawing function."""
    return [(k, draw(b)) for k, draw in options.items() if b.coin(0.5)]


def _call(prefix: str, args: list, kws: list) -> str:
    parts = [str(a) for a in args] + ([kwargs_text(kws)] if kws else [])
    return f"{prefix}({', '.join(parts)})"


def _forms(name: str, fn: bool = True, method: bool = True, functional: bool = False):
    out = []
    if fn:
        out.append((name, lambda x, rest, kws: _call(f"torch.{name}", [x] + rest, kws)))
    if method:
        out.append((f"Tensor.{name}", lambda x, rest, kws: _call(f"{x}.{name}", rest, kws)))
    if functional:
        out.append((f"nn.functional.{name}",
                    lambda x, rest, kws: _call(f"F.{name}", [x] + rest, kws)))
    return out


def _register_forms(name, build_args, fn=True, method=True, functional=False, n_out=None,
                    covers_extra=()):
    """Entries for each form of `name`; build_args(b, x) -> (rest, kws, operands extra)."""
    for label, render in _forms(name, fn, method, functional):
        def build(b: Builder, render=render, label=label) -> Step:
            x = b.pick()
            rest, kws = build_args(b, x)
            outs = n_out(rest, kws) if callable(n_out) else (n_out or 1)
            ops = [x] + [a for a in rest if isinstance(a, (Value, Scalar))]
            return b.step(label + _kwlabel(kws, rest), render(x, rest, kws), ops, outs)
        ENTRIES.append(Entry(label, build, (label,) + tuple(covers_extra)))


def _kwlabel(kws, rest=()) -> str:
    """The keyword names used, and a `[dim=()]` tag when the dims are an empty tuple (a
    reduction over all dims in PyTorch, with its own bugs: see classes.ALLOWED)."""
    empty = any(type(a) is tuple and not a for a in rest) or any(
        k == "dim" and type(v) is tuple and not v for k, v in kws)
    return (f"({','.join(k for k, _ in kws)})" if kws else "") + ("[dim=()]" if empty else "")


# ---- elementwise unary ---------------------------------------------------------------

UNARY = ["abs", "absolute", "exp", "log", "log1p", "sqrt", "square", "neg", "negative", "sign",
         "relu", "sigmoid", "tanh", "isnan", "isinf", "isfinite", "logical_not", "bitwise_not"]
for _name in UNARY:
    _register_forms(_name, lambda b, x: ([], []))
for _name in ["relu", "sigmoid", "tanh"]:
    _register_forms(_name, lambda b, x: ([], []), fn=False, method=False, functional=True)
_register_forms("leaky_relu", lambda b, x: ([], _kw(b, {"negative_slope": lambda b: b.choice(
    ["0.2", "0.0", "-1.5", "2"])})), fn=False, method=False, functional=True)

for _label, _fmt in [("-x", "-{x}"), ("+x", "+{x}"), ("abs(x)", "abs({x})"), ("~x", "~{x}")]:
    def _unary_op(b: Builder, fmt=_fmt, label=_label) -> Step:
        x = b.pick()
        return b.step(label, fmt.format(x=x), [x])
    ENTRIES.append(Entry(_label, _unary_op, {"-x": ("Tensor.__neg__",), "abs(x)": (
        "Tensor.__abs__",), "~x": ("Tensor.__invert__",)}.get(_label, ())))


# ---- clamp ---------------------------------------------------------------------------

def _bound(b: Builder, x: Value):
    r = b.choice(["scalar", "scalar", "none", "tensor"])
    if r == "none":
        return "None"
    if r == "scalar":
        return b.scalar(("float", "int", "int", "bool"))
    return b.other(x, scalars=False)


for _name, _inplace in [("clamp", False), ("clip", False), ("clamp_", True), ("clip_", True)]:
    for _fn in ([True, False] if not _inplace else [False]):
        def _clamp(b: Builder, name=_name, fn=_fn, inplace=_inplace) -> Step:
            x = b.pick()
            lo, hi = _bound(b, x), _bound(b, x)
            style = b.choice(["kw", "pos", "min", "max"])
            args = {"kw": [f"min={lo}", f"max={hi}"], "pos": [str(lo), str(hi)],
                    "min": [f"min={lo}"], "max": [f"max={hi}"]}[style]
            used = {"kw": [lo, hi], "pos": [lo, hi], "min": [lo], "max": [hi]}[style]
            call = (f"torch.{name}({x}, {', '.join(args)})" if fn
                    else f"{x}.{name}({', '.join(args)})")
            label = ("" if fn else "Tensor.") + name + f"[{style}]"
            ops = [x] + [u for u in used if isinstance(u, (Value, Scalar))]
            return b.step(label, call, ops, inplace=inplace)
        ENTRIES.append(Entry(("" if _fn else "Tensor.") + _name, _clamp))


# ---- elementwise binary --------------------------------------------------------------

ALPHA = {"alpha": lambda b: b.choice(["2", "0.5", "-1", "True"])}
BINARY = {
    "add": ALPHA, "sub": ALPHA, "subtract": ALPHA, "mul": {}, "multiply": {},
    "div": {"rounding_mode": lambda b: b.choice(["'floor'", "'trunc'", "None"])},
    "divide": {"rounding_mode": lambda b: b.choice(["'trunc'", "'floor'"])},
    "true_divide": {}, "pow": {}, "maximum": {}, "minimum": {}, "remainder": {},
    "floor_divide": {}, "eq": {}, "ne": {}, "lt": {}, "le": {}, "gt": {}, "ge": {},
    "isclose": {"rtol": lambda b: b.choice(["0.1", "0.0"]), "atol": lambda b: b.choice(
        ["0.5", "0.0"]), "equal_nan": lambda b: b.choice(["True", "False"])},
    "max": {}, "min": {},
}
BINARY_COVERS = {"max": ("max[binary]",), "min": ("min[binary]",)}


def _binary_args(kw):
    def build(b: Builder, x: Value):
        return [b.other(x)], _kw(b, kw)
    return build


for _name, _kwopts in BINARY.items():
    _register_forms(_name, _binary_args(_kwopts))
for _name, _kwopts in [("allclose", BINARY["isclose"]), ("equal", {})]:
    _register_forms(_name, _binary_args(_kwopts))

for _name, _kwopts in [("add_", ALPHA), ("sub_", ALPHA), ("mul_", {}),
                       ("div_", BINARY["div"])]:
    def _inplace_binary(b: Builder, name=_name, kwopts=_kwopts) -> Step:
        x = b.pick(lambda v: not v.is_input or not v.requires_grad)
        y = b.other(x)
        kws = _kw(b, kwopts)
        return b.step(f"Tensor.{name}{_kwlabel(kws)}", _call(f"{x}.{name}", [y], kws),
                      [x, y], inplace=True)
    ENTRIES.append(Entry(f"Tensor.{_name}", _inplace_binary))

OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "&", "|",
             "^"]
OPERATOR_COVERS = {"+": "Tensor.__add__", "-": "Tensor.__sub__", "*": "Tensor.__mul__",
                   "/": "Tensor.__truediv__", "**": "Tensor.__pow__"}
RIGHT_COVERS = {"+": "Tensor.__radd__", "-": "Tensor.__rsub__", "*": "Tensor.__rmul__",
                "/": "Tensor.__rtruediv__", "**": "Tensor.__rpow__"}
for _op in OPERATORS:
    def _binop(b: Builder, op=_op) -> Step:
        x = b.pick()
        y = b.other(x)
        return b.step(f"x {op} y", f"{x} {op} {y}", [x, y])

    def _rbinop(b: Builder, op=_op) -> Step:
        x = b.pick()
        s = b.scalar()
        left = f"({s})" if s.text.startswith("-") else s.text
        return b.step(f"scalar {op} x", f"{left} {op} {x}", [s, x])
    ENTRIES.append(Entry(f"x {_op} y", _binop, tuple(
        c for c in [OPERATOR_COVERS.get(_op)] if c)))
    ENTRIES.append(Entry(f"scalar {_op} x", _rbinop, tuple(c for c in [RIGHT_COVERS.get(_op)] if c)))

for _op in ["+=", "-=", "*=", "/=", "//=", "%=", "**="]:
    def _augmented(b: Builder, op=_op) -> Step:
        x = b.pick(lambda v: "[" not in v.name and (not v.is_input or not v.requires_grad))
        y = b.other(x)
        return b.statement(f"x {op} y", f"{x} {op} {y}", [x, y], x)
    ENTRIES.append(Entry(f"x {_op} y", _augmented))


# ---- where / masked_fill -------------------------------------------------------------

def _condition(b: Builder, like: Value) -> Value:
    if b.coin(0.1):
        return b.pick(lambda v: True)
    shape = b.related_shape(like.shape)
    return b.pick(lambda v: v.dtype == "bool" and _broadcasts(v.shape, like.shape),
                  dtype="bool", shape=shape)


def _broadcasts(a, c) -> bool:
    try:
        np.broadcast_shapes(a, c)
    except ValueError:
        return False
    return True


@entry("where", "where", "where[scalar other]")
def _where(b: Builder) -> Step:
    x = b.pick()
    cond = _condition(b, x)
    y = b.other(x)
    first = b.scalar() if b.coin(0.15) else x
    return b.step("where", f"torch.where({cond}, {first}, {y})", [cond, first, y])


@entry("where[condition only]")
def _where1(b: Builder) -> Step:
    cond = b.pick()
    return b.step("where[condition only]", f"torch.where({cond})", [cond], n_out=1)


@entry("Tensor.where")
def _twhere(b: Builder) -> Step:
    x = b.pick()
    cond = _condition(b, x)
    y = b.other(x)
    return b.step("Tensor.where", f"{x}.where({cond}, {y})", [x, cond, y])


@entry("Tensor.masked_fill")
def _masked_fill(b: Builder) -> Step:
    x = b.pick()
    mask = _condition(b, x)
    value = b.scalar() if b.coin(0.7) else b.pick(lambda v: v.ndim == 0, shape=())
    return b.step("Tensor.masked_fill", f"{x}.masked_fill({mask}, {value})", [x, mask, value])


# ---- reductions ----------------------------------------------------------------------

def _dim_or_dims(b: Builder, x: Value):
    return b.dims(x) if b.coin(0.3) else b.dim(x)


KEEPDIM = {"keepdim": lambda b: b.choice(["True", "False"])}
DTYPE_KW = {"dtype": lambda b: b.choice(["torch.float64", "torch.float32", "torch.int64"])}


def _reduction(dims_kind: str, extra: dict, required: bool = False):
    def build(b: Builder, x: Value):
        kws = []
        if required or b.coin(0.6):
            d = b.dim(x) if dims_kind == "int" else _dim_or_dims(b, x)
            if b.coin(0.5):
                rest = [d]
            else:
                rest, kws = [], [("dim", d)]
        else:
            rest = []
        return rest, kws + _kw(b, {**KEEPDIM, **extra})
    return build


def _n_out_with_dim(rest, kws) -> int:
    has_dim = bool(rest) or any(k == "dim" for k, _ in kws)
    return 2 if has_dim else 1


CORRECTION = {"correction": lambda b: b.choice(["0", "1", "2", "5"]),
              "unbiased": lambda b: b.choice(["True", "False"])}
_register_forms("sum", _reduction("any", DTYPE_KW))
_register_forms("mean", _reduction("any", {"dtype": lambda b: b.choice(["torch.float64",
                                                                         "torch.float32"])}))
_register_forms("var", _reduction("any", CORRECTION))
_register_forms("std", _reduction("any", CORRECTION))
_register_forms("amax", _reduction("any", {}), covers_extra=("amax[ties]",))
_register_forms("amin", _reduction("any", {}))
_register_forms("logsumexp", _reduction("any", {}, required=True))
_register_forms("argmax", _reduction("int", {}))
_register_forms("argmin", _reduction("int", {}))
_register_forms("any", _reduction("int", {}))
_register_forms("all", _reduction("int", {}))
for _name in ["max", "min"]:
    _register_forms(_name, _reduction("int", {}), n_out=_n_out_with_dim)
_register_forms("nonzero", lambda b, x: ([], _kw(b, {"as_tuple": lambda b: "True"})))


# ---- softmax -------------------------------------------------------------------------

SOFTMAX_DTYPE = {"dtype": lambda b: b.choice(["torch.float64", "torch.float32"])}
for _name in ["softmax", "log_softmax"]:
    def _softmax_args(b: Builder, x: Value):
        return [b.dim(x)], _kw(b, SOFTMAX_DTYPE)

    def _f_softmax_args(b: Builder, x: Value):
        kws = [("dim", b.dim(x))] if b.coin(0.9) else []
        return [], kws + _kw(b, SOFTMAX_DTYPE)
    _register_forms(_name, _softmax_args, covers_extra=(f"{_name}[dtype]",))
    _register_forms(_name, _f_softmax_args, fn=False, method=False, functional=True)


# ---- matrix products -----------------------------------------------------------------

def _matmul_partner(b: Builder, x: Value, kind: str) -> Value:
    """A right operand whose shape fits `x` (usually)."""
    if b.coin(0.1):
        return b.pick()
    n = x.shape[-1] if x.ndim else 2
    p = b.choice([2, 3, 1, 0])
    if kind == "dot":
        shape = (n,)
    elif kind == "mm":
        shape = (n, p)
    elif kind == "bmm":
        shape = (x.shape[0] if x.ndim == 3 else 2, n, p)
    else:
        shape = b.choice([(n,), (n, p), (2, n, p), (1, n, p)])
    dtype = x.dtype if b.coin(0.8) else None
    return b.fresh(shape, dtype)


def _matmul_left(b: Builder, kind: str) -> Value:
    nd = {"dot": (1,), "mm": (2,), "bmm": (3,)}.get(kind, (1, 2, 3))
    return b.pick(lambda v: v.ndim in nd and v.dtype.startswith("float"), p_fresh=0.5,
                  min_dims=min(nd), max_dims=max(nd))


for _name in ["matmul", "mm", "bmm", "dot"]:
    for _method in [False, True]:
        def _mat(b: Builder, name=_name, method=_method) -> Step:
            x = _matmul_left(b, name)
            y = _matmul_partner(b, x, name)
            call = f"{x}.{name}({y})" if method else f"torch.{name}({x}, {y})"
            return b.step(("Tensor." if method else "") + name, call, [x, y])
        ENTRIES.append(Entry(("Tensor." if _method else "") + _name, _mat))


@entry("x @ y", "Tensor.__matmul__")
def _matmul_op(b: Builder) -> Step:
    x = _matmul_left(b, "matmul")
    y = _matmul_partner(b, x, "matmul")
    return b.step("x @ y", f"{x} @ {y}", [x, y])


# ---- shape ops -----------------------------------------------------------------------

def _new_shape(b: Builder, x: Value) -> tuple:
    """A shape with x's number of elements (a -1 sometimes), rarely a wrong one."""
    sizes = list(x.shape)
    how = b.choice(["reverse", "flat", "unsqueezed", "minus1", "wrong"])
    if how == "reverse":
        out = sizes[::-1]
    elif how == "flat":
        out = [x.numel]
    elif how == "unsqueezed":
        out = [1] + sizes
    elif how == "minus1":
        out = sizes[::-1] + [1]
        if out:
            out[0] = -1
    else:
        out = [x.numel + 1]
    return tuple(out)


def _shape_args(b: Builder, shape: tuple, varargs_ok: bool = True) -> list:
    if varargs_ok and shape and b.coin(0.5):
        return [str(s) for s in shape]
    return [repr(tuple(shape))]


for _name, _fn in [("reshape", True), ("view", False)]:
    for _is_fn in ([True, False] if _fn else [False]):
        def _reshape(b: Builder, name=_name, is_fn=_is_fn) -> Step:
            x = b.pick()
            shape = _new_shape(b, x)
            if is_fn:
                return b.step(name, f"torch.{name}({x}, {shape!r})", [x])
            args = ", ".join(_shape_args(b, shape)) if not b.coin(0.03) else ""
            return b.step(f"Tensor.{name}", f"{x}.{name}({args})", [x])
        ENTRIES.append(Entry(("" if _is_fn else "Tensor.") + _name, _reshape,
                             (("" if _is_fn else "Tensor.") + _name, "reshape[-1]")))

for _name in ["view_as", "reshape_as", "expand_as", "type_as"]:
    def _as(b: Builder, name=_name) -> Step:
        x = b.pick()
        if name == "expand_as":
            other = b.fresh((b.choice([2, 1]),) + x.shape) if b.coin(0.5) else b.pick()
        elif name == "type_as":
            other = b.pick()
        else:
            other = b.fresh(_new_shape(b, x)) if b.coin(0.7) else b.pick()
        return b.step(f"Tensor.{name}", f"{x}.{name}({other})", [x, other])
    ENTRIES.append(Entry(f"Tensor.{_name}", _as))


def _flatten_args(b: Builder, x: Value):
    return [], _kw(b, {"start_dim": lambda b: b.dim(x), "end_dim": lambda b: b.dim(x)})


_register_forms("flatten", _flatten_args)


def _unflatten_args(b: Builder, x: Value):
    d = b.dim(x)
    size = x.shape[d] if x.ndim and -x.ndim <= d < x.ndim else 1
    sizes = b.choice([(size, 1), (1, -1), (-1,), (size + 1, 1)])
    return [d, repr(sizes)], []


_register_forms("unflatten", _unflatten_args)


def _permute_args(b: Builder, x: Value):
    perm = list(b.draw(st.permutations(range(x.ndim))))
    if b.coin(0.05):
        perm = perm[:-1]
    return [repr(tuple(perm))], []


_register_forms("permute", _permute_args, covers_extra=("permute[rotate]",))


@entry("Tensor.permute[varargs]")
def _permute_var(b: Builder) -> Step:
    x = b.pick()
    perm = [str(d - x.ndim if b.coin(0.3) else d) for d in range(x.ndim)][::-1]
    return b.step("Tensor.permute[varargs]", f"{x}.permute({', '.join(perm)})", [x])


for _name in ["transpose", "swapaxes"]:
    _register_forms(_name, lambda b, x: ([b.dim(x), b.dim(x)], []))
_register_forms("t", lambda b, x: ([], []))
for _attr in ["T", "mT"]:
    def _attr_op(b: Builder, attr=_attr) -> Step:
        x = b.pick()
        return b.step(f"Tensor.{attr}", f"{x}.{attr}", [x])
    ENTRIES.append(Entry(f"Tensor.{_attr}", _attr_op))
_register_forms("unsqueeze", lambda b, x: ([b.dim(x, extra=1)], []))


def _squeeze_args(b: Builder, x: Value):
    r = b.choice(["none", "dim", "dims"])
    if r == "none":
        return [], []
    return [b.dim(x) if r == "dim" else b.dims(x)], []


_register_forms("squeeze", _squeeze_args)


def _target_shape(b: Builder, x: Value) -> tuple:
    how = b.choice(["prepend", "same", "ones-grow", "minus1", "wrong"])
    if how == "prepend":
        return (b.choice([2, 3, 0]),) + x.shape
    if how == "ones-grow":
        return tuple(3 if s == 1 else s for s in x.shape)
    if how == "minus1":
        return (2,) + (-1,) * x.ndim
    if how == "wrong":
        return tuple(s + 1 for s in x.shape) or (2,)
    return x.shape


@entry("broadcast_to")
def _broadcast_to(b: Builder) -> Step:
    x = b.pick()
    return b.step("broadcast_to", f"torch.broadcast_to({x}, {_target_shape(b, x)!r})", [x])


@entry("Tensor.expand")
def _expand(b: Builder) -> Step:
    x = b.pick()
    shape = _target_shape(b, x)
    args = ", ".join(_shape_args(b, shape)) if not b.coin(0.03) else ""
    return b.step("Tensor.expand", f"{x}.expand({args})", [x])


@entry("Tensor.repeat", "Tensor.repeat", "Tensor.repeat[every dim]")
def _repeat(b: Builder) -> Step:
    x = b.pick()
    reps = [b.choice([2, 1, 3, 0]) for _ in range(max(x.ndim, 1) + b.choice([0, 1, -1]))]
    return b.step("Tensor.repeat", f"{x}.repeat({', '.join(map(str, reps))})", [x])


_register_forms("clone", lambda b, x: ([], []))
for _name in ["contiguous", "detach", "float", "double", "half", "long", "int", "bool"]:
    _register_forms(_name, lambda b, x: ([], []), fn=False)


@entry("Tensor.to", "Tensor.to", "Tensor.type")
def _to(b: Builder) -> Step:
    x = b.pick()
    dt = b.choice(["torch.float32", "torch.float64", "torch.int64", "torch.bool",
                   "torch.float16"])
    how = b.choice(["to", "to-tensor", "type"])
    if how == "to-tensor":
        other = b.pick()
        return b.step("Tensor.to[tensor]", f"{x}.to({other})", [x, other])
    return b.step(f"Tensor.{how}", f"{x}.{how}({dt})", [x])


# ---- order, scans, splits -----------------------------------------------------------

BOOL_KW = lambda b: b.choice(["True", "False"])      # noqa: E731
_register_forms("sort", lambda b, x: ([], _kw(b, {"dim": lambda b: b.dim(x),
                                                  "descending": BOOL_KW})), n_out=2)
_register_forms("argsort", lambda b, x: ([], _kw(b, {"dim": lambda b: b.dim(x),
                                                     "descending": BOOL_KW})))


def _topk_args(b: Builder, x: Value):
    size = x.shape[-1] if x.ndim else 1
    k = b.choice([1, 2, size, 0, size + 1])
    return [k], _kw(b, {"dim": lambda b: b.dim(x), "largest": BOOL_KW, "sorted": BOOL_KW})


_register_forms("topk", _topk_args, n_out=2)
for _name in ["cumsum", "cumprod"]:
    _register_forms(_name, lambda b, x: ([b.dim(x)], _kw(b, DTYPE_KW)))
_register_forms("prod", _reduction("int", DTYPE_KW))
_register_forms("flip", lambda b, x: ([b.dims(x)], []))
for _name in ["fliplr", "flipud"]:
    _register_forms(_name, lambda b, x: ([], []))


def _roll_args(b: Builder, x: Value):
    if b.coin(0.5):
        return [b.choice([1, -3, 0])], []
    d = b.dims(x)
    return [repr(tuple(b.choice([1, -1, 2]) for _ in d)), repr(d)], []


_register_forms("roll", _roll_args, covers_extra=("roll[dims]",))


def _split_args(b: Builder, x: Value):
    size = x.shape[0] if x.ndim else 1
    what = b.choice([2, 1, 3, [1, max(size - 1, 0)], 0])
    return [repr(what)], _kw(b, {"dim": lambda b: b.dim(x)})


_register_forms("split", _split_args, covers_extra=("split[sizes]",))
_register_forms("chunk", lambda b, x: ([b.choice([2, 1, 3, 0])], _kw(b, {"dim": lambda b: b.dim(x)})))
_register_forms("unbind", lambda b, x: ([], _kw(b, {"dim": lambda b: b.dim(x)})))


# ---- join ----------------------------------------------------------------------------

def _parts(b: Builder, dim_for: str):
    x = b.pick()
    n = b.choice([2, 1, 3])
    parts = [x]
    for _ in range(n - 1):
        shape = list(x.shape)
        if dim_for == "cat" and shape and b.coin(0.5):
            d = b.draw(st.integers(0, len(shape) - 1))
            shape[d] = b.choice([0, 1, 2])
        if b.coin(0.1):
            shape = list(b.shape())
        dtype = x.dtype if b.coin(0.7) else None
        parts.append(b.fresh(tuple(shape), dtype))
    return x, parts


for _name in ["cat", "concat", "concatenate", "stack"]:
    def _join(b: Builder, name=_name) -> Step:
        x, parts = _parts(b, "stack" if name == "stack" else "cat")
        kws = _kw(b, {"dim": lambda b: b.dim(x, extra=1 if name == "stack" else 0)})
        seq = f"[{', '.join(map(str, parts))}]" if b.coin(0.8) else f"({', '.join(map(str, parts))},)"
        return b.step(name + _kwlabel(kws), _call(f"torch.{name}", [seq], kws), parts)
    ENTRIES.append(Entry(_name, _join))


# ---- indexing ------------------------------------------------------------------------

def _index(b: Builder, x: Value) -> tuple[str, str, list]:
    """(source text, kind, extra operands) of an index into `x`."""
    n = x.ndim
    side = x.shape[0] if n else 0
    kind = b.choice(["int", "slice", "tuple", "none", "ellipsis", "list", "tensor", "tensor0d",
                     "mask", "bool", "empty-list", "neg-step"])
    if kind == "int":
        return str(b.choice([0, -1, 1, side, 2])), kind, []
    if kind == "slice":
        start, stop, step = b.choice(["", "1", "-1"]), b.choice(["", "2", "-1", "10"]), \
            b.choice(["", "2", "1"])
        return f"{start}:{stop}" + (f":{step}" if step else ""), kind, []
    if kind == "tuple":
        items = [b.choice([":", "0", "None", "...", "1:", "-1", "::2"]) for _ in range(
            b.choice([2, 1, 3]))]
        return ", ".join(items), kind, []
    if kind == "none":
        return "None", kind, []
    if kind == "ellipsis":
        return b.choice(["...", "..., 0", "..., None"]), kind, []
    if kind == "list":
        return repr([b.choice([0, -1, 1]) for _ in range(b.choice([2, 1, 3]))]), kind, []
    if kind == "tensor":
        idx = b.fresh((b.choice([2, 1, 3, 0]),), "int64", values="small", layout=False)
        return str(idx), kind, [idx]
    if kind == "tensor0d":
        idx = b.fresh((), "int64", values="small")
        return str(idx), kind, [idx]
    if kind == "mask":
        shape = x.shape if b.coin(0.8) else x.shape[:1]
        mask = b.pick(lambda v: v.dtype == "bool" and v.shape == shape, dtype="bool",
                      shape=shape)
        return str(mask), kind, [mask]
    if kind == "bool":
        return b.choice(["True", "False"]), kind, []
    if kind == "empty-list":
        return "[]", kind, []
    return "::-1", kind, []


@entry("Tensor.__getitem__", "Tensor.__getitem__", "Tensor.__getitem__[basic]",
       "Tensor.__getitem__[int]", "Tensor.__getitem__[repeated list]",
       "Tensor.__getitem__[index tensor]", "Tensor.__getitem__[mask]")
def _getitem(b: Builder) -> Step:
    x = b.pick()
    idx, kind, extra = _index(b, x)
    return b.step(f"x[{kind}]", f"{x}[{idx}]", [x] + extra)


def _indexed_shape(x: Value, idx: str, extra: list) -> tuple | None:
    env = {v.name: np.zeros(v.shape, dtype=bool if v.dtype == "bool" else np.int64)
           for v in extra}
    try:
        return np.zeros(x.shape)[eval(f"np.s_[{idx}]", {"np": np, **env})].shape
    except Exception:  # noqa: BLE001 - an invalid index: any value will do
        return None


@entry("Tensor.__setitem__")
def _setitem(b: Builder) -> Step:
    x = b.pick(lambda v: not v.is_input or not v.requires_grad)
    idx, kind, extra = _index(b, x)
    if b.coin(0.5):
        value = b.scalar()
    else:
        shape = _indexed_shape(x, idx, extra)
        value = b.fresh(b.related_shape(shape) if shape is not None else None,
                        x.dtype if b.coin(0.6) else None)
    return b.statement(f"x[{kind}] = y", f"{x}[{idx}] = {value}", [x, value] + extra, x)


# ---- in-place fills ------------------------------------------------------------------

def _inplace_target(b: Builder) -> Value:
    return b.pick(lambda v: not v.is_input or not v.requires_grad)


@entry("Tensor.zero_")
def _zero(b: Builder) -> Step:
    x = _inplace_target(b)
    return b.step("Tensor.zero_", f"{x}.zero_()", [x], inplace=True)


@entry("Tensor.fill_")
def _fill(b: Builder) -> Step:
    x = _inplace_target(b)
    value = b.scalar() if b.coin(0.7) else b.pick(lambda v: v.ndim == 0, shape=())
    return b.step("Tensor.fill_", f"{x}.fill_({value})", [x, value], inplace=True)


@entry("Tensor.copy_")
def _copy(b: Builder) -> Step:
    x = _inplace_target(b)
    src = b.other(x, scalars=False)
    return b.step("Tensor.copy_", f"{x}.copy_({src})", [x, src], inplace=True)


# ---- nn.functional -------------------------------------------------------------------

def _float(v: Value) -> bool:
    return v.floating


@entry("nn.functional.linear", "nn.functional.linear", "nn.functional.linear[no bias]",
       "nn.functional.linear[1-d input]")
def _linear(b: Builder) -> Step:
    x = b.pick(lambda v: v.ndim >= 1 and _float(v), min_dims=1, dtype=b.choice(
        ["float32", "float64"]))
    n_in = x.shape[-1] if x.ndim else 2
    n_out = b.choice([2, 3, 1, 0])
    dtype = x.dtype if b.coin(0.85) else None
    w = b.fresh((n_out, n_in) if b.coin(0.9) else (n_in,), dtype)
    bias = b.choice(["none", "vec", "vec", "0d"])
    ops = [x, w]
    args = [str(x), str(w)]
    if bias != "none":
        bv = b.fresh((n_out,) if bias == "vec" else (), dtype)
        ops.append(bv)
        args.append(str(bv))
    return b.step(f"nn.functional.linear[{bias} bias]", f"F.linear({', '.join(args)})", ops)


@entry("nn.functional.batch_norm", "nn.functional.batch_norm",
       "nn.functional.batch_norm[eval]")
def _batch_norm(b: Builder) -> Step:
    dtype = b.choice(["float32", "float64"])
    x = b.pick(lambda v: v.ndim >= 2 and _float(v), dtype=dtype, min_dims=2)
    c = x.shape[1] if x.ndim >= 2 else 2
    training = b.coin(0.5)
    stats = b.coin(0.7) or not training
    ops, args = [x], [str(x)]
    if stats:
        rm = b.fresh((c,), x.dtype, rg=False, layout=False)
        rv = b.fresh((c,), x.dtype, rg=False, values="positive", layout=False)
        args += [str(rm), str(rv)]
        ops += [rm, rv]
    else:
        args += ["None", "None"]
    for nm in ["weight", "bias"]:
        if b.coin(0.6):
            p = b.fresh((c,), x.dtype)
            args.append(f"{nm}={p}")
            ops.append(p)
    args.append(f"training={training}")
    args += [f"{k}={v}" for k, v in _kw(b, {"momentum": lambda b: b.choice(["0.5", "None"]),
                                            "eps": lambda b: b.choice(["0.1", "0.0"])})]
    label = f"nn.functional.batch_norm[{'train' if training else 'eval'}]"
    return b.step(label, f"F.batch_norm({', '.join(args)})", ops)


@entry("nn.functional.layer_norm")
def _layer_norm(b: Builder) -> Step:
    x = b.pick(lambda v: v.ndim >= 1 and _float(v), min_dims=1, dtype=b.choice(
        ["float32", "float64"]))
    k = b.choice([1, 2]) if x.ndim >= 2 else 1
    norm = x.shape[-k:] if x.ndim else (1,)
    ops, args = [x], [str(x), repr(tuple(norm))]
    for nm in ["weight", "bias"]:
        if b.coin(0.6):
            p = b.fresh(norm, x.dtype)
            args.append(f"{nm}={p}")
            ops.append(p)
    args += [f"{k}={v}" for k, v in _kw(b, {"eps": lambda b: b.choice(["0.1", "0.0"])})]
    tag = "[1 element]" if int(np.prod(norm)) == 1 else ""     # rows of one: see ALLOWED
    return b.step("nn.functional.layer_norm" + tag, f"F.layer_norm({', '.join(args)})", ops)


@entry("nn.functional.one_hot")
def _one_hot(b: Builder) -> Step:
    x = b.pick(lambda v: v.dtype == "int64", dtype="int64", values=b.choice(["index", "small"]))
    kws = _kw(b, {"num_classes": lambda b: b.choice(["5", "-1", "2"])})
    return b.step("nn.functional.one_hot" + _kwlabel(kws), _call("F.one_hot", [x], kws), [x])


REDUCTION = {"reduction": lambda b: b.choice(["'sum'", "'none'", "'mean'"])}


for _name in ["mse_loss", "l1_loss"]:
    def _pointwise_loss(b: Builder, name=_name) -> Step:
        x = b.pick(_float)
        y = b.other(x, scalars=False) if b.coin(0.3) else b.fresh(x.shape, x.dtype if b.coin(
            0.8) else None)
        kws = _kw(b, REDUCTION)
        return b.step(f"nn.functional.{name}{_kwlabel(kws)}", _call(f"F.{name}", [x, y], kws),
                      [x, y])
    ENTRIES.append(Entry(f"nn.functional.{_name}", _pointwise_loss))


for _name in ["cross_entropy", "nll_loss"]:
    def _class_loss(b: Builder, name=_name) -> Step:
        x = b.pick(lambda v: v.ndim in (1, 2, 3) and _float(v), min_dims=1, max_dims=3,
                   dtype=b.choice(["float32", "float64"]))
        c = x.shape[1] if x.ndim >= 2 else (x.shape[0] if x.ndim else 1)
        tshape = (x.shape[:1] + x.shape[2:]) if x.ndim >= 2 else ()
        if name == "cross_entropy" and b.coin(0.15):
            target = b.fresh(x.shape, x.dtype, values="prob", rg=False)
        else:
            target = b.fresh(tshape, "int64", values="index" if b.coin(0.8) else "small",
                             rg=False, layout=False)
        opts = {**REDUCTION, "ignore_index": lambda b: b.choice(["0", "-100", "1"])}
        if name == "cross_entropy":
            opts["label_smoothing"] = lambda b: b.choice(["0.1", "0.0"])
        kws = _kw(b, opts)
        ops = [x, target]
        if b.coin(0.2):
            w = b.fresh((c,), x.dtype, values="positive", rg=False)
            kws.append(("weight", w))
            ops.append(w)
        return b.step(f"nn.functional.{name}{_kwlabel(kws)}", _call(f"F.{name}", [x, target],
                                                                    kws), ops)
    ENTRIES.append(Entry(f"nn.functional.{_name}", _class_loss))


@entry("nn.functional.binary_cross_entropy")
def _bce(b: Builder) -> Step:
    x = b.fresh(dtype=b.choice(["float32", "float64"]), values="prob")
    y = b.fresh(x.shape, x.dtype, values="prob") if b.coin(0.85) else b.other(x, scalars=False)
    kws = _kw(b, REDUCTION)
    ops = [x, y]
    if b.coin(0.2):
        w = b.fresh(b.related_shape(x.shape), x.dtype, values="positive", rg=False)
        kws.append(("weight", w))
        ops.append(w)
    return b.step(f"nn.functional.binary_cross_entropy{_kwlabel(kws)}",
                  _call("F.binary_cross_entropy", [x, y], kws), ops)


@entry("nn.functional.binary_cross_entropy_with_logits")
def _bce_logits(b: Builder) -> Step:
    x = b.pick(_float)
    y = b.fresh(x.shape, x.dtype, values="prob") if b.coin(0.85) else b.other(x, scalars=False)
    kws = _kw(b, REDUCTION)
    ops = [x, y]
    for nm in ["weight", "pos_weight"]:
        if b.coin(0.2):
            w = b.fresh(b.related_shape(x.shape), x.dtype, values="positive", rg=False)
            kws.append((nm, w))
            ops.append(w)
    return b.step(f"nn.functional.binary_cross_entropy_with_logits{_kwlabel(kws)}",
                  _call("F.binary_cross_entropy_with_logits", [x, y], kws), ops)


@entry("nn.functional.dropout")
def _dropout(b: Builder) -> Step:
    x = b.pick()
    p, training = b.choice([("0.0", "True"), ("0.5", "False"), ("1.0", "True"), ("0.0", "False")])
    return b.step("nn.functional.dropout", f"F.dropout({x}, p={p}, training={training})", [x])


@entry("nn.functional.embedding", "nn.functional.embedding",
       "nn.functional.embedding[gradient by design]")
def _embedding(b: Builder) -> Step:
    w = b.pick(lambda v: v.ndim == 2 and v.floating, min_dims=2, max_dims=2,
               dtype=b.choice(["float32", "float64"]))
    idx = b.pick(lambda v: v.dtype == "int64", dtype="int64", values="index")
    kws = _kw(b, {"padding_idx": lambda b: b.choice(["0", "-1", "1"]),
                  "scale_grad_by_freq": lambda b: "True"})
    return b.step("nn.functional.embedding" + _kwlabel(kws), _call("F.embedding", [idx, w], kws),
                  [idx, w])


# ---- registry ops no entry names -----------------------------------------------------

_MODULE_TREES: dict = {}


def call_source(fn) -> str | None:
    """The source of a registry `call` lambda if it runs on its own (it uses only its
    parameters and builtins), else None: `lambda lib, x: x.clone().acos_()`."""
    code = getattr(fn, "__code__", None)
    if code is None or fn.__name__ != "<lambda>":
        return None
    module = inspect.getmodule(fn)
    if module not in _MODULE_TREES:
        text = inspect.getsource(module)
        _MODULE_TREES[module] = (text, ast.parse(text))
    text, tree = _MODULE_TREES[module]
    params = list(code.co_varnames[:code.co_argcount])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno
                and [a.arg for a in node.args.args] == params):
            bound = set(params) | ({node.args.kwarg.arg} if node.args.kwarg else set())
            free = {n.id for n in ast.walk(node.body) if isinstance(n, ast.Name)} - bound
            if free - set(dir(builtins)) - {"_fn"}:
                return None
            return ast.get_source_segment(text, node).replace("_fn(lib)", "lib.nn.functional")
    return None


def registry_entries(ops) -> list[Entry]:
    """Generic entries for the registry ops no entry above covers: the registry's call
    (its function or method, or its `call` lambda written out) on operands of the shapes
    the registry declares (or a live tensor), with its keyword variants."""
    covered = {c for e in ENTRIES for c in e.covers}
    out = []
    for op in ops:
        if op.id in covered or op.api in covered:
            continue
        lam = call_source(op.call) if op.call is not None else None
        if op.call is not None and lam is None:
            continue

        def build(b: Builder, op=op, lam=lam) -> Step:
            variant = b.choice(list(op.variants))
            shapes = b.draw(op.shape_strategy(variant), label="shapes")
            operands = []
            for shape in shapes:
                fits = [v for v in b.ex.pool.values() if v.shape == tuple(shape)]
                if fits and b.coin(0.4):
                    operands.append(b.choice(fits))
                else:
                    dtype = b.choice(["float32", "float64"]) if b.coin(0.8) else None
                    operands.append(b.fresh(tuple(shape), dtype))
            kws = [(k, repr(v)) for k, v in variant.kwargs.items()]
            if lam is not None:
                call = _call(f"({lam})", ["torch"] + operands, kws)
            elif op.api.startswith("Tensor."):
                call = _call(f"{operands[0]}.{op.api[7:]}", operands[1:], kws)
            else:
                owner, _, name = op.api.rpartition(".")
                prefix = {"": "torch", "nn.functional": "F"}.get(owner, f"torch.{owner}")
                call = _call(f"{prefix}.{name}", operands, kws)
            return b.step(op.id + _kwlabel(kws), call, operands,
                          inplace=op.api.endswith("_"))
        out.append(Entry(op.id, build, (op.id,)))
    return out
