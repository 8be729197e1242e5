"""Run a program's lines on microtorch and PyTorch side by side and compare after every step.

After each step the executor compares, for the step's outputs and then for every other live
value (an in-place op may change a base or a view): type, dtype, shape, values (dtype-aware
tolerance, NaN == NaN), requires_grad, is_leaf, grad_fn name, view-ness and strides of views;
exceptions (raised or not, builtin class); and the gradients of the leaves for a weighted sum
of the step's outputs (`torch.autograd.grad`). At the end, `backward()` of a weighted sum of
every live result, then the leaves' `.grad` (this is where in-place modifications of saved
values must raise). The first difference ends the program: later steps would only diverge.
"""
from __future__ import annotations

import importlib
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

EXTREME = 1e30
"""Operand magnitudes from which value and gradient differences are classed `*-extreme`."""
RTOL = {"float16": 4e-3, "bfloat16": 3e-2, "float32": 1e-4, "float64": 1e-9}
"""Relative tolerance per dtype; the absolute part is RTOL * max(1, max |expected|).

Programs chain ops, so microtorch and PyTorch may round differently several times over
(summation order, fused kernels): a few hundred ulps in float32, far below any real bug.
A program's tolerance is that of its least precise floating dtype so far (a float64
result of float32 values carries their rounding)."""

HEADER = ('import torch                      # or: import microtorch as torch\n'
          'import torch.nn.functional as F   #     import microtorch.nn.functional as F\n'
          'nan, inf = float("nan"), float("inf")')


@dataclass
class Value:
    """A live tensor of the program, described by PyTorch's result (the generator's guide)."""

    name: str
    shape: tuple
    dtype: str                      # "float32", "int64", "bool", ...
    contiguous: bool = True
    requires_grad: bool = False
    is_leaf: bool = True
    is_input: bool = False

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def floating(self) -> bool:
        return self.dtype.startswith(("float", "bfloat"))

    def __str__(self) -> str:
        return self.name


@dataclass
class Scalar:
    """A Python number (or bool) argument, as source text."""

    text: str
    kind: str                       # "int", "float", "bool"

    def __str__(self) -> str:
        return self.text


@dataclass
class Step:
    """One op of a program: input-creating lines, then the op's line."""

    label: str                      # op and form, e.g. "add", "Tensor.add_", "x + y"
    line: str
    operands: list                  # Values and Scalars, for the difference class
    outputs: list = field(default_factory=list)
    inplace: bool = False
    pre: list = field(default_factory=list)

    @property
    def dtype_tag(self) -> str:
        return dtype_tag(self.operands)

    @property
    def shape_tag(self) -> str:
        return shape_tag(self.operands)


SHORT = {"float32": "f32", "float64": "f64", "float16": "f16", "int64": "i64", "int32": "i32",
         "bool": "b", "bfloat16": "bf16", "uint8": "u8", "int8": "i8", "int16": "i16"}


def dtype_tag(operands) -> str:
    parts = []
    for o in operands:
        if isinstance(o, Value):
            parts.append(SHORT.get(o.dtype, o.dtype))
        elif isinstance(o, Scalar):
            parts.append(o.kind)
    return ",".join(parts) or "-"


def shape_tag(operands) -> str:
    tensors = [o for o in operands if isinstance(o, Value)]
    if not tensors:
        return "-"
    first = tensors[0]
    tag = "0d" if first.ndim == 0 else ("empty" if first.numel == 0 else "nd")
    if any(t.shape != first.shape for t in tensors[1:]):
        tag += "+bcast"
    if any(not t.contiguous and t.numel > 1 for t in tensors):
        tag += "+nc"
    return tag


@dataclass
class Difference:
    """The first difference of a program, with what is needed to reproduce it."""

    op: str
    kind: str
    dtype: str
    shape: str
    detail: str
    lines: list                     # the program up to the difference (source lines)
    steps: list = field(default_factory=list)   # the program's steps (for shrinking)

    @property
    def key(self) -> tuple:
        return (self.op, self.kind, self.dtype, self.shape)

    def reproducer(self) -> str:
        body = "\n".join(self.lines)
        detail = "\n".join("# " + d for d in self.detail.splitlines())
        return f"{HEADER}\n{body}\n{detail}"


# ---- the two libraries ------------------------------------------------------------------

def builtin_class(err: BaseException) -> type:
    """The first builtin exception class of `err` (PyTorch raises private subclasses)."""
    for cls in type(err).__mro__:
        if cls.__module__ == "builtins":
            return cls
    return Exception


class Side:
    """One library's namespace, in which the program's lines run."""

    def __init__(self, lib) -> None:
        self.lib = lib
        functional = importlib.import_module(f"{lib.__name__}.nn.functional")
        self.ns = {"torch": lib, "F": functional, "nan": math.nan, "inf": math.inf}

    def run(self, line: str) -> BaseException | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(line, "<program>", "exec"), self.ns)
        except Exception as err:  # noqa: BLE001 - exceptions are compared, not handled
            return err
        return None

    def get(self, name: str):
        """A value by name, or by an expression such as `v3[0]` (an element of a tuple)."""
        if name.isidentifier():
            return self.ns.get(name)
        try:
            return eval(name, self.ns)
        except Exception:  # noqa: BLE001 - gone (the tuple was rebound)
            return None


def _short(err: BaseException | None) -> str:
    if err is None:
        return "no error"
    msg = str(err).strip().splitlines()[0][:160] if str(err).strip() else ""
    return f"{type(err).__name__}: {msg}"


# ---- comparing values -------------------------------------------------------------------

def _arr_mt(t) -> np.ndarray:
    return np.asarray(t._data)


def _node_name(fn) -> str | None:
    """The class name users see (PyTorch's `name()` of C++ nodes has a namespace)."""
    if fn is None:
        return None
    name = getattr(fn, "name", None)
    return (name() if callable(name) else type(fn).__name__).rpartition("::")[2]


def _grad_meta(t) -> tuple:
    """(is_leaf, grad_fn name), or ("raises", error class) when reading grad_fn raises (as
    PyTorch does for a view made by a multi-view op or under no_grad whose base was since
    changed in place while recording)."""
    try:
        fn = t.grad_fn
    except RuntimeError as err:
        return "raises", type(err).__name__
    return fn is None, _node_name(fn)


def _values_differ(got: np.ndarray, exp: np.ndarray, rtol: float) -> str | None:
    """A description of the elements of `got` that differ from `exp`, or None."""
    if got.shape != exp.shape:
        return f"shape {got.shape} vs {exp.shape}"
    if exp.dtype.kind in "biu" and got.dtype.kind in "biu":
        bad = np.asarray(got != exp)
    else:
        g, e = got.astype(np.float64), exp.astype(np.float64)
        finite = np.abs(e[np.isfinite(e)])
        scale = max(1.0, float(finite.max()) if finite.size else 0.0)
        with np.errstate(all="ignore"):
            close = np.isfinite(g) & np.isfinite(e) & (np.abs(g - e) <= rtol * (scale + np.abs(e)))
            bad = ~((g == e) | (np.isnan(g) & np.isnan(e)) | close)
    if not bad.any():
        return None
    flat = np.flatnonzero(bad.reshape(-1))[:4]
    return (f"{int(bad.sum())} of {exp.size} elements differ: microtorch "
            f"{got.reshape(-1)[flat].tolist()} vs PyTorch {exp.reshape(-1)[flat].tolist()}")


def compare(a, b, torch, storages: dict | None = None, rtol: float = 0.0) -> tuple[str, str] | None:
    """(kind, detail) of the first difference between microtorch's `a` and PyTorch's `b`.

    `storages` maps the storage address of each tensor operand of the op in PyTorch to the
    operand's array in microtorch: when PyTorch's result shares an operand's storage (a view,
    or the operand itself), microtorch's must share that operand's memory, with the same
    strides. Floating values agree within max(rtol, RTOL of their dtype)."""
    if isinstance(b, torch.Tensor):
        if not (hasattr(a, "_data") and hasattr(type(a), "grad_fn")):
            return "type", f"microtorch {type(a).__name__}, PyTorch Tensor"
        dt = str(b.dtype).replace("torch.", "")
        if repr(a.dtype).replace("torch.", "") != dt:
            return "dtype", f"microtorch {a.dtype!r}, PyTorch {b.dtype}"
        if tuple(a.shape) != tuple(b.shape):
            return "shape", f"microtorch {tuple(a.shape)}, PyTorch {tuple(b.shape)}"
        try:
            got = _arr_mt(a)
        except Exception as err:  # noqa: BLE001
            return "storage", f"microtorch's storage is unreadable: {_short(err)}"
        if not isinstance(got, np.ndarray) or type(a._data) is not np.ndarray:
            return "storage", f"microtorch holds {type(a._data).__name__}, not a numpy.ndarray"
        bad = _values_differ(got, b.detach().numpy(), max(rtol, RTOL.get(dt, 0.0)))
        if bad:
            return "value", bad
        if a.requires_grad != b.requires_grad:
            return "requires_grad", f"microtorch {a.requires_grad}, PyTorch {b.requires_grad}"
        (la, na), (lb, nb) = _grad_meta(a), _grad_meta(b)
        if la != lb:
            return "is_leaf", f"microtorch {la}, PyTorch {lb}"
        if na != nb:
            return "grad_fn", f"microtorch {na}, PyTorch {nb}"
        shared = (storages or {}).get(b.untyped_storage().data_ptr()) if b.numel() > 1 else None
        if shared is not None:
            if not np.may_share_memory(got, shared):
                return "view", "PyTorch's result shares an operand's storage, microtorch's is a copy"
            sa, sb = a.stride(), b.stride()
            if any(sa[d] != sb[d] for d in range(b.dim()) if b.shape[d] > 1):
                return "stride", f"microtorch {sa}, PyTorch {sb}"
        elif storages and b.numel() > 1 and any(np.may_share_memory(got, arr)
                                                for arr in storages.values()):
            return "view", "microtorch's result shares an operand's memory, PyTorch's is a copy"
        return None
    if isinstance(b, torch.Size) or (isinstance(b, (tuple, list)) and not isinstance(b, str)):
        if not isinstance(a, (tuple, list)) or len(a) != len(b):
            return "type", f"microtorch {type(a).__name__}, PyTorch {type(b).__name__} of {len(b)}"
        for x, y in zip(a, b):
            d = compare(x, y, torch, storages, rtol)
            if d:
                return d
        return None
    if isinstance(b, (bool, int, float)) or b is None:
        if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                          and not isinstance(b, bool)):
            return "type", f"microtorch {type(a).__name__} {a!r}, PyTorch {type(b).__name__} {b!r}"
        if a != b and not (isinstance(b, float) and math.isnan(b) and math.isnan(a)):
            return "value", f"microtorch {a!r}, PyTorch {b!r}"
    return None


def _grads_differ(ga, gb, torch, rtol: float) -> tuple[str, str] | None:
    """Gradients from autograd.grad: None and an all-zero gradient count as the same."""
    if not isinstance(ga, (tuple, list)) or len(ga) != len(gb):
        return "grad", f"microtorch {type(ga).__name__}, PyTorch tuple of {len(gb)}"
    for i, (a, b) in enumerate(zip(ga, gb)):
        if b is None and a is None:
            continue
        if b is None or a is None:
            present = a if b is None else b
            arr = _arr_mt(present) if b is None else present.numpy()
            if np.any(arr != 0):
                return "grad", (f"input {i}: microtorch {'None' if a is None else 'a gradient'}, "
                                f"PyTorch {'None' if b is None else 'a nonzero gradient'}")
            continue
        if repr(a.dtype).replace("torch.", "") != str(b.dtype).replace("torch.", ""):
            return "grad-dtype", f"input {i}: microtorch {a.dtype!r}, PyTorch {b.dtype}"
        dt = str(b.dtype).replace("torch.", "")
        bad = _values_differ(_arr_mt(a), b.numpy(), max(rtol, RTOL.get(dt, 0.0)))
        if bad:
            return "grad", f"input {i}: {bad}"
    return None


def weights_literal(shape: tuple, dtype: str) -> str:
    """A fixed tensor of nonzero weights (-1.5, -0.5, 0.5, 1.5, 2.5, ...) of `shape`."""
    n = math.prod(shape)
    vals = np.array([(k % 5) - 1.5 for k in range(n)], dtype=np.float64).reshape(shape)
    return f"torch.tensor({vals.tolist()!r}, dtype=torch.{dtype})"


# ---- the executor -----------------------------------------------------------------------

class Executor:
    """Runs steps on both libraries; `pool` describes PyTorch's live tensors."""

    def __init__(self, torch, mt) -> None:
        self.torch = torch
        self.t, self.m = Side(torch), Side(mt)
        self.pool: dict[str, Value] = {}
        self.lines: list[str] = []
        self.steps: list[Step] = []
        self.counter = 0
        self.rtol = 0.0                 # of the least precise floating dtype seen

    def fresh_name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter - 1}"

    def describe(self, name: str, is_input: bool = False) -> Value | None:
        t = self.t.get(name)
        if not isinstance(t, self.torch.Tensor):
            return None
        return Value(name, tuple(t.shape), str(t.dtype).replace("torch.", ""), t.is_contiguous(),
                     t.requires_grad, _grad_meta(t)[0] is True, is_input)

    def _diff(self, step: Step, kind: str, detail: str, extra: list | None = None) -> Difference:
        return Difference(step.label, self._extreme(step, kind), step.dtype_tag,
                          step.shape_tag, detail, self.lines + (extra or []))

    def _extreme(self, step: Step, kind: str) -> str:
        """`kind` + "-extreme" for a value or gradient difference of a step whose float
        operands hold inf, NaN or a magnitude >= 1e30 (where rounding order decides overflow
        and cancellation), else `kind`."""
        if kind.rpartition("-")[2] not in ("value", "grad"):
            return kind
        for o in step.operands:
            if isinstance(o, Scalar):
                if o.kind == "float" and not abs(float(o.text)) < EXTREME:   # inf, nan too
                    return kind + "-extreme"
                continue
            t = self.t.get(o.name) if isinstance(o, Value) else None
            if isinstance(t, self.torch.Tensor) and t.dtype.is_floating_point and t.numel():
                a = t.detach().abs()
                if not bool(a.isfinite().all()) or float(a.max()) >= EXTREME:
                    return kind + "-extreme"
        return kind

    def _run_both(self, line: str) -> tuple:
        return self.t.run(line), self.m.run(line)

    def _errors_differ(self, et, em) -> tuple[str, str] | None:
        if et is None and em is None:
            return None
        if et is None:
            return "unexpected-error", f"microtorch raises {_short(em)}; PyTorch does not"
        if em is None:
            return "missing-error", f"PyTorch raises {_short(et)}; microtorch does not"
        if builtin_class(et) is not builtin_class(em):
            return "error-class", f"microtorch {_short(em)}\nPyTorch {_short(et)}"
        return None

    def run(self, step: Step) -> Difference | None:
        """Run one step; the first difference it shows, or None."""
        self.steps.append(step)
        for line in step.pre:
            self.lines.append(line)
            et, em = self._run_both(line)
            d = self._errors_differ(et, em)
            name = line.split(" = ", 1)[0]
            if d is None and et is None:
                d = compare(self.m.get(name), self.t.get(name), self.torch)
                v = self.describe(name, is_input=True)
                if v is not None:
                    self.pool[name] = v
                    self.rtol = max(self.rtol, RTOL.get(v.dtype, 0.0))
            if d:
                return Difference("input", d[0], step.dtype_tag, step.shape_tag, d[1], list(self.lines))
        self.lines.append(step.line)
        storages = self._storages(step)
        et, em = self._run_both(step.line)
        d = self._errors_differ(et, em)
        if d:
            return self._diff(step, *d)
        names = self._output_names(step) if et is None else []
        for name in names + [n for n in self.pool if n not in names]:
            d = compare(self.m.get(name), self.t.get(name), self.torch,
                        storages if name in names else None, self.rtol)
            if d:
                kind = d[0] if name in names else "alias-" + d[0]
                return self._diff(step, kind, f"{name}: {d[1]}", [f"print({name})"])
        self._update_pool(names)
        if et is None:
            return self._check_grad(step, names)
        return None

    def run_torch(self, step: Step) -> None:
        """Run a step on PyTorch only (to keep drawing a program after a difference)."""
        for line in step.pre:
            self.t.run(line)
            v = self.describe(line.split(" = ", 1)[0], is_input=True)
            if v is not None:
                self.pool[v.name] = v
        self.t.run(step.line)
        self._update_pool(self._output_names(step))

    def _output_names(self, step: Step) -> list[str]:
        """The step's outputs, and the elements of those that are tuples (`v3[0]`)."""
        names = []
        for name in step.outputs:
            names.append(name)
            value = self.t.get(name)
            if isinstance(value, (tuple, list)) and len(value) <= 6:
                names += [f"{name}[{i}]" for i in range(len(value))]
        return names

    def _update_pool(self, names: list[str]) -> None:
        """Add the new tensors and re-describe the live ones (in-place ops change them)."""
        for name in names:
            v = self.describe(name)
            if v is not None:
                self.pool[name] = v
        for name in list(self.pool):
            self.pool[name] = self.describe(name, self.pool[name].is_input) or self.pool[name]
            self.rtol = max(self.rtol, RTOL.get(self.pool[name].dtype, 0.0))

    def _storages(self, step: Step) -> dict:
        """{PyTorch storage address: microtorch array} of the step's tensor operands."""
        out = {}
        for o in step.operands:
            if not isinstance(o, Value):
                continue
            t, m = self.t.get(o.name), self.m.get(o.name)
            if isinstance(t, self.torch.Tensor) and t.numel() > 1 and hasattr(m, "_data"):
                out[t.untyped_storage().data_ptr()] = np.asarray(m._data)
        return out

    def leaves(self) -> list[str]:
        return [n for n, v in self.pool.items()
                if v.is_input and v.requires_grad and v.is_leaf]

    def _weighted(self, names: list[str]) -> list[str]:
        terms, seen = [], set()
        for n in names:
            t = self.t.get(n)
            if (isinstance(t, self.torch.Tensor) and t.requires_grad and t.is_floating_point()
                    and id(t) not in seen):
                seen.add(id(t))
                dt = str(t.dtype).replace("torch.", "")
                terms.append(f"({n} * {weights_literal(tuple(t.shape), dt)}).sum()")
        return terms

    def _check_grad(self, step: Step, names: list[str]) -> Difference | None:
        leaves = self.leaves()
        terms = self._weighted([n for n in self.pool if n.split("[")[0] in names])
        if not leaves or not terms:
            return None
        loss = " + ".join(terms)
        line = (f"g = torch.autograd.grad({loss}, [{', '.join(leaves)}], "
                "retain_graph=True, allow_unused=True)")
        et, em = self._run_both(line)
        d = self._errors_differ(et, em)
        if d is None and et is None:
            d = _grads_differ(self.m.get("g"), self.t.get("g"), self.torch, self.rtol)
        if not d:
            return None
        culprit = self._grad_culprit(step, loss) if d[0].startswith("grad") else step
        detail = d[1] if culprit is step else f"{d[1]}\n(first differs through: {culprit.line})"
        kind = self._extreme(culprit, d[0]) if d[0].startswith("grad") else "backward-" + d[0]
        return Difference(culprit.label, kind,
                          culprit.dtype_tag, culprit.shape_tag, detail,
                          self.lines + [line, "print(g)"])

    def _grad_culprit(self, step: Step, loss: str) -> Step:
        """The step where a gradient difference arises: the latest step (this one or an
        earlier one) whose operands get different gradients from `loss` in the two
        libraries (its outputs' gradients agree, or it is this step)."""
        names = [n for n, v in self.pool.items() if v.requires_grad and v.floating]
        line = f"_g = torch.autograd.grad({loss}, [{', '.join(names)}], retain_graph=True, " \
               "allow_unused=True)"
        et, em = self._run_both(line)
        if et is not None or em is not None:
            return step
        differs = {n for n, a, b in zip(names, self.m.get("_g"), self.t.get("_g"))
                   if _grads_differ([a], [b], self.torch, self.rtol)}
        for s in reversed(self.steps):
            if any(isinstance(o, Value) and o.name in differs for o in s.operands):
                return s
        return step

    def finish(self) -> Difference | None:
        """backward() of a weighted sum of every live result; compare the leaves' .grad."""
        leaves = self.leaves()
        terms = self._weighted([n for n, v in self.pool.items() if not v.is_input])
        if not leaves or not terms or not self.steps:
            return None
        inplace = [s for s in self.steps if s.inplace]
        blame = inplace[-1] if inplace else self.steps[-1]
        line = f"({' + '.join(terms)}).backward()"
        et, em = self._run_both(line)
        d = self._errors_differ(et, em)
        extra = [line]
        if d is None and et is None:
            for leaf in leaves:
                a, b = self.m.get(leaf), self.t.get(leaf)
                ga, gb = getattr(a, "grad", None), b.grad
                if (ga is None) != (gb is None):
                    d = ("grad-none", f"{leaf}.grad: microtorch {'None' if ga is None else 'set'}, "
                                      f"PyTorch {'None' if gb is None else 'set'}")
                elif gb is not None:
                    d = _grads_differ([ga], [gb], self.torch, self.rtol)
                if d:
                    extra.append(f"print({leaf}.grad)")
                    users = [s for s in self.steps
                             if any(isinstance(o, Value) and o.name == leaf for o in s.operands)]
                    blame = users[0] if users and not inplace else blame
                    break
        if d:
            return Difference(blame.label, "final-" + self._extreme(blame, d[0]), blame.dtype_tag,
                              blame.shape_tag,
                              d[1], self.lines + extra)
        return None
