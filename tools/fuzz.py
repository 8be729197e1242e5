#!/usr/bin/env python
"""Crash fuzzing of microtorch: random calls that must end in a result or a Python exception.

Each call is a *case*: a JSON document naming a target (a public op such as `torch.add` or
`F.cross_entropy`, a Tensor method, an optimizer step, `torch.load` of damaged bytes, or one
of the Cython kernel entry points in `microtorch._kernels`) and describing its arguments:
arrays of random shapes (0-size and mismatched ones included), dtypes (float16, float32,
float64, int32, int64, bool, object), layouts (C, Fortran, strided, reversed, read-only,
broadcast with zero strides, unaligned) and values (NaN, +-Inf, huge, subnormal, ...).
Hypothesis draws the cases.

The cases run in a child process that prints each case before running it. A Python
exception is a fine outcome. A signal (segfault, abort), any other non-zero exit, or no
progress within `--timeout` seconds (a hang) is a *failure*: the parent reports the last
case printed, then starts a new child for the remaining calls. Exit status is 1 if any
failure was found.

    python tools/fuzz.py --calls 10000 --seed 1      # a campaign, then a summary
    python tools/fuzz.py --calls 300 --json          # the summary as JSON
    python tools/fuzz.py --replay '<case JSON>'      # run one reported case in this process

A replayed case that crashes can be run under gdb:
`gdb --args python tools/fuzz.py --replay '<case JSON>'`.
"""
from __future__ import annotations

import argparse
import collections
import importlib.util
import io
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _package_root() -> str:
    """The folder holding the microtorch to fuzz: the importable (installed or already on
    sys.path) one, else this checkout's src/ (built in place)."""
    spec = importlib.util.find_spec("microtorch")
    if spec is not None and spec.origin:
        return os.path.dirname(os.path.dirname(os.path.abspath(spec.origin)))
    return os.path.join(ROOT, "src")


SRC = _package_root()

DTYPES = ("float32", "float64", "float16", "int64", "int32", "bool", "object")
LAYOUTS = ("c", "f", "strided", "reversed", "readonly", "broadcast", "unaligned")
FILLS = ("normal", "uniform01", "ints", "zeros", "nan", "posinf", "neginf", "huge", "tiny",
         "specials")
SPECIAL_FLOATS = (float("nan"), float("inf"), float("-inf"), 0.0, -0.0, 1e300, -1e300,
                  3.4e38, 65504.0, 1e-310, -1.0, 1.0, 0.5, 2.0)
SPECIAL_INTS = (0, 1, -1, 2, 3, 7, -100, 2**31, -(2**31) - 1, 2**63 - 1, -(2**63))
BIG_1D = 70_000               # above the kernels' PARALLEL_MIN (65,536): OpenMP paths run
HUGE_1D = 2_100_000           # above PARALLEL_MIN_STREAMING (2**21) for relu and backwards
STARTUP_TIMEOUT = 120.0       # seconds a child may take to import everything


# =================================================================== the kernels

KERNEL_SIGS = {
    # One entry per argument: an array role, whose shape comes from the symbols n, N, C, ...
    # ('?': the argument may be None), or a scalar kind (bool, float, step, reduction,
    # ignore, smooth).
    "relu_forward": ["n", "n"], "relu_backward": ["n", "n", "n"],
    "sigmoid_forward": ["n", "n"], "sigmoid_backward": ["n", "n", "n"],
    "tanh_forward": ["n", "n"], "tanh_backward": ["n", "n", "n"],
    "softmax_forward": ["NC", "NC"], "softmax_backward": ["NC", "NC", "NC"],
    "log_softmax_forward": ["NC", "NC"], "log_softmax_backward": ["NC", "NC", "NC"],
    "gemm": ["MK", "KN", "MN", "bool", "bool", "float", "float"],
    "linear_forward": ["NI", "OI", "O?", "NO"],
    "linear_backward": ["NO", "NI", "OI", "NI?", "OI?", "O?", "float", "float"],
    "sum_rows": ["NO", "O", "bool"],
    "mse_forward": ["n", "n", "red", "reduction"],
    "mse_backward": ["red", "n", "n", "n", "reduction"],
    "l1_forward": ["n", "n", "red", "reduction"],
    "l1_backward": ["red", "n", "n", "n", "reduction"],
    "bce_forward": ["n", "n", "n?", "red", "reduction"],
    "bce_backward": ["red", "n", "n", "n?", "n", "reduction"],
    "bce_with_logits_forward": ["n", "n", "n?", "n?", "red", "reduction"],
    "bce_with_logits_backward": ["red", "n", "n", "n?", "n?", "n", "reduction"],
    "cross_entropy_forward": ["NC", "target", "C?", "ignore", "smooth", "NC", "redN",
                              "reduction"],
    "cross_entropy_backward": ["redN", "NC", "target", "C?", "ignore", "smooth", "NC",
                               "reduction", "float"],
    "cross_entropy_prob_forward": ["NC", "NC", "C?", "smooth", "NC", "redN", "reduction"],
    "cross_entropy_prob_backward": ["redN", "NC", "NC", "C?", "smooth", "NC", "reduction",
                                    "float"],
    "nll_forward": ["NC", "target", "C?", "ignore", "redN", "reduction"],
    "nll_backward": ["redN", "target", "C?", "ignore", "NC", "reduction", "float"],
    "sgd_step": ["n", "n", "n?", "float", "float", "float", "float", "bool", "bool",
                 "bool"],
    "adam_step": ["n", "n", "n", "n", "n?", "step", "float", "float", "float", "float",
                  "float", "bool", "bool", "bool"],
    "rmsprop_step": ["n", "n", "n", "n?", "n?", "float", "float", "float", "float",
                     "float", "bool", "bool"],
    "adagrad_step": ["n", "n", "n", "step", "float", "float", "float", "float", "bool"],
}
SCALAR_ROLES = {"bool", "float", "step", "reduction", "ignore", "smooth"}


def required_arrays(kernel: str) -> list:
    """Positions of the arguments of `kernel` that must be arrays (None is invalid)."""
    return [i for i, role in enumerate(KERNEL_SIGS[kernel])
            if role not in SCALAR_ROLES and not role.endswith("?")]


# Crashes already reported and not yet fixed: name -> (predicate on a case, description).
# A crash matching one is counted as known instead of new. Empty: none is open.
KNOWN_BUGS: dict = {}


def known_bug(case: dict) -> str | None:
    for name, (matches, _) in KNOWN_BUGS.items():
        if matches(case):
            return name
    return None


# ============================================================ building a case's arguments

def build_array(spec: dict) -> np.ndarray:
    """The numpy array an array spec describes (deterministic: values come from its seed)."""
    shape = tuple(int(s) for s in spec["shape"])
    dtype = np.dtype(spec["dtype"])
    rng = np.random.default_rng(spec["seed"])
    n = math.prod(shape)
    values = _values(spec["fill"], n, rng, spec.get("hi", 10))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dtype == np.bool_:
            arr = values != 0
        elif dtype.kind in "iu":
            arr = np.nan_to_num(values, nan=0, posinf=2**62, neginf=-(2**62)).astype(dtype)
        else:
            arr = values.astype(dtype)
    return _layout(arr.reshape(shape), spec["layout"])


def _values(fill: str, n: int, rng, hi: int) -> np.ndarray:
    if fill == "normal":
        return rng.standard_normal(n)
    if fill == "uniform01":
        return rng.random(n)
    if fill == "ints":
        return rng.integers(-5, 10, n).astype(np.float64)
    if fill == "classes":                     # class indices, some out of range
        return rng.integers(-2, hi + 2, n).astype(np.float64)
    if fill == "zeros":
        return np.zeros(n)
    if fill in ("nan", "posinf", "neginf"):
        return np.full(n, {"nan": np.nan, "posinf": np.inf, "neginf": -np.inf}[fill])
    if fill == "huge":
        return rng.choice([1e38, -1e38, 3.4e38, 1e300, -1e300, 65504.0, 1e19], n)
    if fill == "tiny":
        return rng.choice([1e-310, -1e-310, 1e-45, 5e-324, -0.0, 1e-8], n)
    if fill == "specials":
        out = rng.standard_normal(n)
        mask = rng.random(n) < 0.3
        out[mask] = rng.choice(np.array(SPECIAL_FLOATS), int(mask.sum()))
        return out
    raise ValueError(f"unknown fill {fill!r}")


def _layout(arr: np.ndarray, layout: str) -> np.ndarray:
    if layout == "c":
        return np.ascontiguousarray(arr)
    if layout == "f":
        return np.asfortranarray(arr)
    if layout == "strided":                   # every other element of a bigger array
        big = np.empty(tuple(2 * s for s in arr.shape), dtype=arr.dtype)
        view = big[tuple(slice(None, None, 2) for _ in arr.shape)]
        view[...] = arr
        return view
    if layout == "reversed":                  # negative strides
        return np.flip(arr.copy())
    if layout == "readonly":
        out = arr.copy()
        out.setflags(write=False)
        return out
    if layout == "broadcast":                 # zero strides, read-only
        if arr.ndim == 0 or arr.shape[0] == 0:
            return arr
        return np.broadcast_to(arr[:1], arr.shape)
    if layout == "unaligned":                 # data pointer off by one byte
        if arr.dtype.kind == "O" or arr.dtype.itemsize == 1:
            return arr
        buf = np.empty(arr.nbytes + 1, dtype=np.uint8)
        view = buf[1:].view(arr.dtype).reshape(arr.shape)
        view[...] = arr
        return view
    raise ValueError(f"unknown layout {layout!r}")


def build(node, torch):
    """Turn a JSON argument spec into Python objects (arrays, tensors, indices, ...)."""
    if isinstance(node, list):
        return [build(x, torch) for x in node]
    if not isinstance(node, dict):
        return node
    if "array" in node:
        return build_array(node["array"])
    if "tensor" in node:
        t = torch.from_numpy(build_array(node["tensor"]))
        if node.get("rg"):
            t.requires_grad_(True)
        return t
    if "tuple" in node:
        return tuple(build(x, torch) for x in node["tuple"])
    if "slice" in node:
        return slice(*node["slice"])
    if "ellipsis" in node:
        return Ellipsis
    if "dtype" in node:
        return getattr(torch, node["dtype"])
    if "dict" in node:
        return {k: build(v, torch) for k, v in node["dict"].items()}
    raise ValueError(f"unknown argument spec {node!r}")


# ================================================================= running one case

def _target(name: str, torch):
    """The callable a case names: 'torch.x', 'F.x', 'Tensor.x', 'K.x', 'KO.x' or a recipe."""
    from microtorch._kernels import _optim as KO

    prefix, _, attr = name.partition(".")
    if prefix == "torch":
        return getattr(torch, attr)
    if prefix == "F":
        return getattr(torch.nn.functional, attr)
    if prefix == "Tensor":
        return lambda self, *a, **k: getattr(self, attr)(*a, **k)
    if prefix == "K":
        return getattr(torch._kernels, attr)
    if prefix == "KO":
        return getattr(KO, attr)
    if prefix == "recipe":
        return RECIPES[attr]
    raise ValueError(f"unknown target {name!r}")


CLEAN_EXCEPTIONS = {"ValueError", "RuntimeError", "TypeError", "IndexError",
                    "NotImplementedError", "OverflowError"}
"""Exceptions that read as a deliberate refusal. Others (AttributeError, KeyError,
ZeroDivisionError, numpy's own classes, ...) are reported as *notes*: usually an argument
that reached code not meant for it."""


def run_case(case: dict, details: list | None = None) -> str:
    """Run one case; return 'ok' or the class name of the Python exception it raised
    (and append the exception's message to `details`, if given)."""
    import microtorch as torch

    try:
        fn = _target(case["target"], torch)
        args = build(case.get("args", []), torch)
        kwargs = {k: build(v, torch) for k, v in case.get("kwargs", {}).items()}
        out = fn(*args, **kwargs)
        if case.get("backward") and isinstance(out, torch.Tensor) and out.grad_fn is not None:
            out.sum().backward()
    except Exception as exc:  # noqa: BLE001  (any Python exception is an acceptable outcome)
        if details is not None:
            details.append(str(exc)[:300])
        cls = type(exc)
        return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"
    return "ok"


# ---- recipes: small scripts through the public API, for targets that are not one call

def _recipe_optimizer(name, params, grads, hyper, steps=2):
    """Build optimizer `name` over `params`, give them `grads` (any shape/dtype), step."""
    import microtorch as torch

    for p, g in zip(params, grads):
        p.grad = g
    opt = getattr(torch.optim, name)(params, **hyper)
    for _ in range(steps):
        opt.step()
    opt.zero_grad()
    return opt


def _recipe_load(mutations, truncate):
    """torch.load of a valid checkpoint with bytes overwritten and/or cut short."""
    import microtorch as torch

    buf = io.BytesIO()
    torch.save({"w": torch.ones(2, 3), "b": torch.arange(3), "step": 5,
                "nested": {"x": [1, 2.5, None, "s"], "t": (True, float("nan"))}}, buf)
    data = bytearray(buf.getvalue())
    for pos, byte in mutations:
        if data:
            data[pos % len(data)] = byte
    if truncate is not None:
        data = data[:truncate]
    return torch.load(io.BytesIO(bytes(data)))


def _recipe_setitem(t, index, value):
    t[index] = value
    return t


def _recipe_module(kind, x, args):
    """Call an nn layer built with `args` on `x`."""
    import microtorch as torch

    layer = getattr(torch.nn, kind)(*args)
    return layer(x)


RECIPES = {"optimizer": _recipe_optimizer, "load": _recipe_load, "setitem": _recipe_setitem,
           "module": _recipe_module}


# ================================================================== hypothesis side

def strategies():
    """The case strategy (hypothesis is imported only by the processes that draw cases)."""
    from hypothesis import strategies as st

    dims_small = st.integers(0, 5)

    @st.composite
    def shapes(draw, max_ndim=4):
        ndim = draw(st.integers(0, max_ndim))
        if ndim == 1 and draw(st.integers(0, 9)) == 0:
            return [draw(st.sampled_from([BIG_1D, 65_536, 65_535, 1000]))]
        hi = {0: 1, 1: 64, 2: 32}.get(ndim, 6)
        return [draw(st.integers(0, hi) if draw(st.booleans()) else dims_small)
                for _ in range(ndim)]

    def array_spec(draw, shape, dtype=None, fill=None, layout=None, hi=10):
        return {
            "shape": list(shape),
            "dtype": dtype or draw(st.sampled_from(DTYPES)),
            "fill": fill or draw(st.sampled_from(FILLS)),
            "layout": layout or draw(st.sampled_from(LAYOUTS)),
            "seed": draw(st.integers(0, 2**32 - 1)),
            "hi": hi,
        }

    tensor_dtypes = st.sampled_from(["float32"] * 4 + ["float64"] * 2 +
                                    ["float16", "int64", "int32", "bool"])

    def tensor(draw, shape, dtype=None, fill=None):
        dtype = dtype or draw(tensor_dtypes)
        spec = array_spec(draw, shape, dtype, fill,
                          draw(st.sampled_from(("c",) * 4 + LAYOUTS[1:])))
        rg = dtype.startswith("float") and draw(st.booleans())
        return {"tensor": spec, "rg": rg}

    def related(draw, shape):
        """A shape equal to, broadcastable with, or mismatching `shape`."""
        kind = draw(st.sampled_from(["same", "same", "bcast", "trailing", "random"]))
        if kind == "same":
            return list(shape)
        if kind == "bcast":
            return [1 if draw(st.booleans()) else s for s in shape]
        if kind == "trailing":
            return list(shape[draw(st.integers(0, len(shape))):])
        return draw(shapes())

    scalar = st.one_of(st.sampled_from(SPECIAL_FLOATS), st.sampled_from(SPECIAL_INTS),
                       st.booleans())
    dim = st.one_of(st.integers(-5, 5), st.none())

    @st.composite
    def unary(draw):
        op = draw(st.sampled_from([
            "torch.abs", "torch.exp", "torch.log", "torch.log1p", "torch.sqrt", "torch.square",
            "torch.sign", "torch.neg", "torch.relu", "torch.sigmoid", "torch.tanh",
            "F.leaky_relu", "torch.isnan", "torch.isfinite", "torch.logical_not",
            "torch.clone", "Tensor.contiguous", "Tensor.float", "Tensor.double", "Tensor.half",
            "Tensor.long", "Tensor.bool", "Tensor.tolist", "Tensor.item", "Tensor.numpy",
            "Tensor.__repr__", "Tensor.__bool__", "Tensor.__float__", "Tensor.__len__",
            "Tensor.detach", "Tensor.__neg__", "Tensor.__invert__", "Tensor.__abs__",
            "Tensor.t", "torch.t"]))
        return {"target": op, "args": [tensor(draw, draw(shapes()))],
                "backward": draw(st.booleans())}

    @st.composite
    def clamp(draw):
        bound = st.one_of(st.none(), scalar)
        return {"target": "torch.clamp", "args": [tensor(draw, draw(shapes()))],
                "kwargs": {"min": draw(bound), "max": draw(bound)},
                "backward": draw(st.booleans())}

    @st.composite
    def binary(draw):
        op = draw(st.sampled_from([
            "torch.add", "torch.sub", "torch.mul", "torch.div", "torch.pow",
            "torch.remainder", "torch.floor_divide", "torch.maximum", "torch.minimum",
            "torch.eq", "torch.lt", "torch.ge", "torch.ne", "torch.allclose", "torch.isclose",
            "torch.equal", "Tensor.__and__", "Tensor.__or__", "Tensor.__rsub__",
            "Tensor.__rtruediv__", "Tensor.__rpow__", "Tensor.__iadd__", "Tensor.__imul__",
            "Tensor.__itruediv__", "Tensor.add_", "Tensor.mul_", "Tensor.copy_"]))
        shape = draw(shapes())
        a = tensor(draw, shape)
        b = tensor(draw, related(draw, shape)) if draw(st.integers(0, 3)) else draw(scalar)
        if draw(st.integers(0, 3)) == 0 and not op.startswith("Tensor."):
            a, b = b, a                               # a Python number as `input`
        return {"target": op, "args": [a, b], "backward": draw(st.booleans())}

    @st.composite
    def matmuls(draw):
        op = draw(st.sampled_from(["torch.matmul", "torch.mm", "torch.bmm", "torch.dot",
                                   "F.linear", "F.linear3"]))
        m, k, n = (draw(st.integers(0, 9)) for _ in range(3))
        lead = [draw(st.integers(0, 3)) for _ in range(draw(st.integers(0, 2)))]
        sa = draw(st.sampled_from([[k], [m, k], lead + [m, k]]))
        sb = draw(st.sampled_from([[k], [k, n], lead + [k, n], [n, k]]))
        if op.startswith("F.linear") and draw(st.integers(0, 3)):
            sb = [n, k]                               # a weight that fits, mostly
        if draw(st.integers(0, 4)) == 0:
            sb = draw(shapes())
        dt = draw(st.sampled_from(["float32", "float64"])) if draw(st.integers(0, 3)) else \
            draw(tensor_dtypes)
        args = [tensor(draw, sa, dt if draw(st.integers(0, 3)) else None),
                tensor(draw, sb, dt if draw(st.integers(0, 3)) else None)]
        if op == "F.linear3":
            op = "F.linear"
            args.append(tensor(draw, draw(st.sampled_from([[n], [k], [m]])), dt))
        return {"target": op, "args": args, "backward": draw(st.booleans())}

    @st.composite
    def reductions(draw):
        op = draw(st.sampled_from([
            "torch.sum", "torch.mean", "torch.amax", "torch.amin", "torch.argmax",
            "torch.argmin", "torch.std", "torch.var", "torch.max", "torch.min", "torch.all",
            "torch.any", "torch.logsumexp", "torch.softmax", "torch.log_softmax",
            "F.softmax", "F.log_softmax"]))
        kwargs = {}
        d = draw(st.one_of(dim, st.lists(st.integers(-4, 4), max_size=3)))
        if op in ("torch.logsumexp", "torch.softmax", "torch.log_softmax") and d is None:
            d = draw(st.integers(-3, 3))
        if d is not None:
            kwargs["dim"] = d if isinstance(d, int) else {"tuple": d}
        if draw(st.booleans()) and op not in ("torch.softmax", "torch.log_softmax",
                                               "F.softmax", "F.log_softmax"):
            kwargs["keepdim"] = draw(st.booleans())
        return {"target": op, "args": [tensor(draw, draw(shapes()))], "kwargs": kwargs,
                "backward": draw(st.booleans())}

    @st.composite
    def shape_ops(draw):
        op = draw(st.sampled_from([
            "Tensor.reshape", "Tensor.view", "Tensor.permute", "Tensor.transpose",
            "Tensor.flatten", "Tensor.squeeze", "Tensor.unsqueeze", "Tensor.expand",
            "torch.broadcast_to", "Tensor.unflatten", "Tensor.repeat", "Tensor.view_as"]))
        shape = draw(shapes())
        t = tensor(draw, shape)
        ints = st.integers(-6, 8)
        if op in ("Tensor.reshape", "Tensor.view", "Tensor.expand", "Tensor.repeat"):
            args = draw(st.lists(st.one_of(ints, st.sampled_from([-1, 2**40, 2**62])),
                                 max_size=4))
        elif op == "torch.broadcast_to":
            args = [{"tuple": draw(st.lists(ints, max_size=4))}]
        elif op == "Tensor.permute":
            args = draw(st.lists(st.integers(-4, 4), max_size=5))
        elif op in ("Tensor.transpose", "Tensor.flatten"):
            args = [draw(st.integers(-4, 4)), draw(st.integers(-4, 4))]
        elif op == "Tensor.unflatten":
            args = [draw(st.integers(-4, 4)), {"tuple": draw(st.lists(ints, max_size=3))}]
        elif op == "Tensor.view_as":
            args = [tensor(draw, related(draw, shape))]
        else:
            args = [draw(st.integers(-5, 5))]
        return {"target": op, "args": [t] + args, "backward": draw(st.booleans())}

    @st.composite
    def index(draw, shape):
        def one():
            kind = draw(st.sampled_from(["int", "slice", "none", "ellipsis", "tensor", "list",
                                         "mask", "bool"]))
            if kind == "int":
                return draw(st.one_of(st.integers(-8, 8), st.sampled_from([2**63 - 1, -2**63])))
            if kind == "slice":
                part = st.one_of(st.none(), st.integers(-8, 8))
                return {"slice": [draw(part), draw(part), draw(part)]}
            if kind == "none":
                return None
            if kind == "ellipsis":
                return {"ellipsis": 1}
            if kind == "tensor":
                ishape = draw(shapes(max_ndim=2))
                return tensor(draw, ishape, draw(st.sampled_from(["int64", "int32", "float32",
                                                                 "bool"])), "ints")
            if kind == "list":
                return draw(st.lists(st.integers(-8, 8), max_size=4))
            if kind == "mask":
                return tensor(draw, related(draw, shape), "bool", "normal")
            return draw(st.booleans())
        if draw(st.booleans()):
            return one()
        return {"tuple": [one() for _ in range(draw(st.integers(0, 4)))]}

    @st.composite
    def indexing(draw):
        shape = draw(shapes())
        t = tensor(draw, shape)
        idx = draw(index(shape))
        if draw(st.booleans()):
            return {"target": "Tensor.__getitem__", "args": [t, idx],
                    "backward": draw(st.booleans())}
        value = draw(st.one_of(scalar, st.just("tensor")))
        if value == "tensor":
            value = tensor(draw, draw(shapes(max_ndim=2)))
        return {"target": "recipe.setitem", "args": [t, idx, value]}

    @st.composite
    def joins(draw):
        op = draw(st.sampled_from(["torch.cat", "torch.stack"]))
        shape = draw(shapes())
        ts = [tensor(draw, related(draw, shape) if draw(st.integers(0, 3)) == 0 else shape)
              for _ in range(draw(st.integers(0, 3)))]
        kwargs = {"dim": draw(st.integers(-5, 5))} if draw(st.booleans()) else {}
        return {"target": op, "args": [ts], "kwargs": kwargs, "backward": draw(st.booleans())}

    reduction = st.sampled_from(["mean", "sum", "none", "avg"])

    @st.composite
    def losses(draw):
        op = draw(st.sampled_from(["F.mse_loss", "F.l1_loss", "F.binary_cross_entropy",
                                   "F.binary_cross_entropy_with_logits", "F.cross_entropy",
                                   "F.nll_loss"]))
        kwargs = {"reduction": draw(reduction)}
        if op in ("F.cross_entropy", "F.nll_loss"):
            n, c = draw(st.integers(0, 6)), draw(st.integers(0, 6))
            if draw(st.integers(0, 9)) == 0:
                n, c = 2000, 40                   # N*C above PARALLEL_MIN: parallel rows
            xshape = draw(st.sampled_from([[n, c], [c], [n, c, 2], [n]]))
            x = tensor(draw, xshape)
            if draw(st.integers(0, 3)):
                tshape = draw(st.sampled_from([[n], [], [n, 2], [n + 1]]))
                tgt = tensor(draw, tshape, draw(st.sampled_from(["int64"] * 4 +
                                                                ["int32", "float32"])),
                             "classes")
                tgt["tensor"]["hi"] = c
            else:
                tgt = tensor(draw, related(draw, xshape), draw(tensor_dtypes), "uniform01")
            if draw(st.booleans()):
                kwargs["weight"] = tensor(draw, draw(st.sampled_from([[c], [c + 1], []])))
            if draw(st.booleans()):
                kwargs["ignore_index"] = draw(st.sampled_from([-100, -1, 0, 1, c, 2**40]))
            if op == "F.cross_entropy" and draw(st.booleans()):
                kwargs["label_smoothing"] = draw(st.sampled_from(
                    [0.0, 0.1, 1.0, -0.5, 1.5, float("nan")]))
            return {"target": op, "args": [x, tgt], "kwargs": kwargs,
                    "backward": draw(st.booleans())}
        shape = draw(shapes())
        fill = "uniform01" if draw(st.booleans()) else None
        x = tensor(draw, shape, fill=fill)
        y = tensor(draw, related(draw, shape), fill=fill)
        if op.startswith("F.binary") and draw(st.booleans()):
            kwargs["weight"] = tensor(draw, related(draw, shape))
        if op == "F.binary_cross_entropy_with_logits" and draw(st.booleans()):
            kwargs["pos_weight"] = tensor(draw, related(draw, shape))
        return {"target": op, "args": [x, y], "kwargs": kwargs,
                "backward": draw(st.booleans())}

    @st.composite
    def layers(draw):
        op = draw(st.sampled_from(["F.batch_norm", "F.layer_norm", "F.dropout", "F.one_hot",
                                   "module"]))
        shape = draw(shapes())
        x = tensor(draw, shape)
        c = shape[1] if len(shape) > 1 else 3
        opt = st.one_of(st.none(), st.just(1))
        if op == "F.batch_norm":
            rm, rv, w, b = (tensor(draw, [c if draw(st.integers(0, 4)) else c + 1])
                            if draw(opt) else None for _ in range(4))
            args = [x, rm, rv, w, b, draw(st.booleans()), draw(st.sampled_from([0.1, -1.0])),
                    draw(st.sampled_from([1e-5, 0.0, -1.0]))]
        elif op == "F.layer_norm":
            ns = shape[-draw(st.integers(0, max(len(shape), 1))):] if shape else []
            if draw(st.integers(0, 4)) == 0:
                ns = draw(shapes(max_ndim=2))
            args = [x, {"tuple": list(ns)}, tensor(draw, ns) if draw(opt) else None,
                    tensor(draw, ns) if draw(opt) else None]
        elif op == "F.dropout":
            args = [x, draw(st.sampled_from([0.0, 0.5, 1.0, -0.1, 1.5, float("nan")])),
                    draw(st.booleans())]
        elif op == "F.one_hot":
            args = [tensor(draw, shape, draw(st.sampled_from(["int64", "int32", "float32"])),
                           "classes"), draw(st.integers(-2, 6))]
        else:
            kind = draw(st.sampled_from(["Linear", "BatchNorm1d", "LayerNorm", "Dropout",
                                         "Flatten", "ReLU", "Softmax"]))
            nargs = {"Linear": 2, "BatchNorm1d": 1, "LayerNorm": 1, "Dropout": 1}.get(kind, 0)
            margs = [draw(st.one_of(st.integers(-1, 8), st.sampled_from([0.5, float("nan")])))
                     for _ in range(nargs)]
            return {"target": "recipe.module", "args": [kind, x, margs],
                    "backward": draw(st.booleans())}
        return {"target": op, "args": args, "backward": draw(st.booleans())}

    @st.composite
    def factories(draw):
        op = draw(st.sampled_from(["torch.tensor", "torch.zeros", "torch.ones", "torch.full",
                                   "torch.arange", "torch.eye", "torch.randn", "torch.empty",
                                   "torch.linspace", "torch.randint", "torch.from_numpy"]))
        size = st.one_of(st.integers(-2, 6), st.sampled_from([2**31, 2**62, 2**63 - 1]))
        if op == "torch.tensor":
            leaf = st.one_of(scalar, st.sampled_from(["a", None]))
            data = draw(st.recursive(leaf, lambda c: st.lists(c, max_size=3), max_leaves=12))
            return {"target": op, "args": [data]}
        if op == "torch.from_numpy":
            return {"target": op, "args": [{"array": array_spec(draw, draw(shapes()))}]}
        if op in ("torch.arange", "torch.linspace"):
            num = st.one_of(st.integers(-5, 10), st.sampled_from(SPECIAL_FLOATS))
            return {"target": op, "args": [draw(num), draw(num), draw(num)]}
        if op == "torch.randint":
            return {"target": op, "args": [draw(size), draw(size), {"tuple": [draw(size)]}]}
        args = draw(st.lists(size, max_size=3))
        if op == "torch.full":
            args = [{"tuple": args}, draw(scalar)]
        return {"target": op, "args": args}

    hyper = st.sampled_from([0.1, 0.0, 0.9, 1.0, -1.0, 1e-8, 2.0] + list(SPECIAL_FLOATS))

    @st.composite
    def kernels(draw):
        name = draw(st.sampled_from(sorted(KERNEL_SIGS)))
        small = st.integers(0, 7)
        sym = {s: draw(small) for s in "nNCMKIO"}
        if draw(st.integers(0, 5)) == 0:             # big: the OpenMP paths
            sym.update(n=draw(st.sampled_from([BIG_1D, BIG_1D, HUGE_1D])),
                       N=draw(st.sampled_from([2, 1100, 33000])),
                       C=draw(st.sampled_from([1, 40, 64])))
        red = draw(st.sampled_from([0, 1, 2, 0, 1, 2, -1, 3, 2**31 - 1]))
        dtype = draw(st.sampled_from(["float32", "float64"]))
        roles = {"n": ["n"], "NC": ["N", "C"], "MK": ["M", "K"], "KN": ["K", "N"],
                 "MN": ["M", "N"], "NI": ["N", "I"], "OI": ["O", "I"], "O": ["O"],
                 "NO": ["N", "O"], "C": ["C"]}
        args = []
        for role in KERNEL_SIGS[name]:
            optional = role.endswith("?")
            role = role.rstrip("?")
            if role == "bool":
                args.append(draw(st.booleans()))
            elif role == "float":
                args.append(draw(hyper))
            elif role == "step":
                args.append(draw(st.sampled_from([1.0, 2.0, 0.0, -1.0, 1e10, float("nan")])))
            elif role == "reduction":
                args.append(red)
            elif role == "ignore":
                args.append(draw(st.sampled_from([-100, -1, 0, 1, sym["C"], 2**40])))
            elif role == "smooth":
                args.append(draw(st.sampled_from([0.0, 0.1, 1.0, -0.5, 1.5, float("nan")])))
            elif optional and draw(st.booleans()):
                args.append(None)
            else:
                if role == "target":
                    shape = [sym["N"]]
                elif role == "red":
                    shape = [sym["n"] if red == 0 else 1]
                elif role == "redN":
                    shape = [sym["N"] if red == 0 else 1]
                else:
                    shape = [sym[s] for s in roles[role]]
                if draw(st.integers(0, 9)) == 0:     # a mismatched shape
                    shape = draw(shapes(max_ndim=3))
                if role == "target":
                    spec = array_spec(draw, shape,
                                      draw(st.sampled_from(["int64"] * 6 + list(DTYPES))),
                                      "classes", draw(st.sampled_from(["c"] * 6 + list(LAYOUTS))),
                                      hi=sym["C"])
                else:
                    spec = array_spec(
                        draw, shape,
                        dtype if draw(st.integers(0, 5)) else draw(st.sampled_from(DTYPES)),
                        None, draw(st.sampled_from(["c"] * 6 + list(LAYOUTS))))
                if draw(st.integers(0, 30)) == 0:     # not an array at all
                    args.append(draw(st.sampled_from([None, 1.0, "x", [1.0, 2.0]])))
                else:
                    args.append({"array": spec})
        prefix = "KO" if name.endswith("_step") else "K"
        return {"target": f"{prefix}.{name}", "args": args}

    @st.composite
    def optimizers(draw):
        name = draw(st.sampled_from(["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]))
        params, grads = [], []
        for _ in range(draw(st.integers(1, 3))):
            shape = draw(shapes(max_ndim=2))
            p = tensor(draw, shape, draw(st.sampled_from(["float32", "float64", "float16"])),
                       "normal")
            p["rg"] = True
            params.append(p)
            grads.append(None if draw(st.integers(0, 5)) == 0 else
                         tensor(draw, related(draw, shape)))
        keys = {"SGD": ["lr", "momentum", "dampening", "weight_decay", "nesterov"],
                "Adam": ["lr", "eps", "weight_decay", "amsgrad"],
                "AdamW": ["lr", "eps", "weight_decay", "amsgrad"],
                "RMSprop": ["lr", "alpha", "eps", "weight_decay", "momentum", "centered"],
                "Adagrad": ["lr", "lr_decay", "weight_decay", "eps"]}[name]
        hyp = {}
        for key in keys:
            if draw(st.booleans()):
                hyp[key] = draw(st.booleans()) if key in ("nesterov", "amsgrad", "centered") \
                    else draw(hyper)
        if "lr" not in hyp:
            hyp["lr"] = 0.01
        return {"target": "recipe.optimizer", "args": [name, params, grads, {"dict": hyp}]}

    @st.composite
    def loads(draw):
        muts = draw(st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=6))
        trunc = draw(st.one_of(st.none(), st.integers(0, 2000)))
        return {"target": "recipe.load", "args": [[list(m) for m in muts], trunc]}

    families = {
        "unary": unary(), "clamp": clamp(), "binary": binary(), "matmul": matmuls(),
        "reduction": reductions(), "shape": shape_ops(), "indexing": indexing(),
        "join": joins(), "loss": losses(), "layer": layers(), "factory": factories(),
        "kernel": kernels(), "optimizer": optimizers(), "load": loads(),
    }
    weights = {"kernel": 6, "loss": 3, "binary": 2, "indexing": 2, "matmul": 2}
    choices = [name for name in families for _ in range(weights.get(name, 1))]

    @st.composite
    def case(draw):
        family = draw(st.sampled_from(choices))
        c = draw(families[family])
        c["family"] = family
        return c

    return case()


# ======================================================================== the child

def _emit(*parts) -> None:
    os.write(1, (" ".join(str(p) for p in parts) + "\n").encode())


def _limit_memory(mb: int) -> None:
    if mb > 0:
        try:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (mb * 2**20, mb * 2**20))
        except (ImportError, ValueError, OSError):
            pass


def _inject(kind: str) -> None:
    """Self-test faults (tests/test_fuzz.py checks that the parent reports them)."""
    if kind == "segv":
        import ctypes
        ctypes.string_at(0)                   # reads address 0: SIGSEGV
    elif kind == "abort":
        os.abort()
    elif kind == "hang":
        time.sleep(3600)
    elif kind == "exit":
        os._exit(3)


def child_main(calls: int, seed: int, inject: str | None, memory_mb: int) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    import microtorch  # noqa: F401  (imported before timing starts)

    _limit_memory(memory_mb)
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    inject_at, inject_kind = None, None
    if inject:
        inject_kind, _, at = inject.partition(":")
        inject_at = int(at)
    counter = [0]

    @hseed(seed)
    @settings(max_examples=calls, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(case=strategies())
    def campaign(case):
        counter[0] += 1
        _emit("CASE", counter[0], json.dumps(case, separators=(",", ":")))
        if counter[0] == inject_at:
            _inject(inject_kind)
        details = []
        outcome = run_case(case, details)
        if outcome != "ok" and outcome not in CLEAN_EXCEPTIONS:
            _emit("NOTE", json.dumps({"exception": outcome, "message": details[0],
                                      "target": case["target"], "case": case},
                                     separators=(",", ":")))
        _emit("RES", counter[0], case["family"], outcome)

    campaign()
    _emit("END", counter[0])


# ======================================================================= the parent

def _signal_name(rc: int) -> str:
    if rc < 0:
        try:
            return signal.Signals(-rc).name
        except ValueError:
            return f"signal {-rc}"
    return f"exit status {rc}"


class _Child:
    """One child process and the lines it printed so far."""

    def __init__(self, calls, seed, inject, memory_mb, python):
        env = dict(os.environ)
        env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("PYTHONHASHSEED", "0")
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed by stderr_tail)
        cmd = [python, "-X", "faulthandler", os.path.abspath(__file__), "--child",
               "--calls", str(calls), "--seed", str(seed), "--memory-mb", str(memory_mb)]
        if inject:
            cmd += ["--inject", inject]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self.buffer = b""

    def lines(self, timeout: float):
        """Yield complete lines as they come; yield None every `timeout` seconds of silence."""
        fd = self.proc.stdout.fileno()
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        try:
            while True:
                if not sel.select(timeout):
                    yield None
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    if self.buffer:
                        yield self.buffer.decode(errors="replace")
                    return
                self.buffer += chunk
                while b"\n" in self.buffer:
                    line, self.buffer = self.buffer.split(b"\n", 1)
                    yield line.decode(errors="replace")
        finally:
            sel.close()

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)     # the child's own process group
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stderr_tail(self, limit: int = 3000) -> str:
        self.stderr.seek(0)
        text = self.stderr.read().decode(errors="replace")
        self.stderr.close()
        return text[-limit:]


def campaign(calls: int = 300, seed: int = 0, timeout: float = 60.0, inject=(),
             memory_mb: int = 4096, python: str | None = None, log=None) -> dict:
    """Run `calls` cases in child processes; return the summary (see `format_summary`).

    `inject` (self-test) lists faults such as 'segv:3' ('segv', 'abort', 'hang' or 'exit'
    at the 3rd case of a child), one for each child started, in order.
    """
    python = python or sys.executable
    start = time.monotonic()
    outcomes: collections.Counter = collections.Counter()
    families: collections.Counter = collections.Counter()
    failures: list = []
    notes: dict = {}
    done = 0
    restarts = 0
    while done < calls:
        child = _Child(calls - done, seed + 1_000_003 * restarts,
                       inject[restarts] if restarts < len(inject) else None, memory_mb, python)
        last_case, finished, hung = None, False, False
        started, last_output = False, time.monotonic()
        for line in child.lines(min(timeout, 0.5)):
            now = time.monotonic()
            if line is None:
                # a hang: no output for `timeout` s (STARTUP_TIMEOUT before the first case,
                # which covers imports on a busy machine)
                if now - last_output > (timeout if started else max(timeout, STARTUP_TIMEOUT)):
                    hung = True
                    child.kill()
                    break
                continue
            started, last_output = True, now
            kind, _, rest = line.partition(" ")
            if kind == "CASE":
                _, _, last_case = rest.partition(" ")
            elif kind == "RES":
                _, family, outcome = rest.split(" ", 2)
                outcomes[outcome] += 1
                families[family] += 1
                done += 1
                last_case = None
            elif kind == "NOTE":
                note = json.loads(rest)
                key = f"{note['exception']} in {note['target']}"
                entry = notes.setdefault(key, {"count": 0, "message": note["message"],
                                               "case": json.dumps(note["case"],
                                                                  separators=(",", ":"))})
                entry["count"] += 1
            elif kind == "END":
                finished = True
        rc = child.proc.wait()
        tail = child.stderr_tail()
        if finished and rc == 0:
            break
        if last_case is not None:
            done += 1                              # the case that crashed or hung counts
        if hung and not started:
            raise RuntimeError(f"the fuzz child printed nothing within {STARTUP_TIMEOUT} s:\n"
                               + tail)
        failures.append({
            "kind": "hang" if hung else "crash",
            "known": None if last_case is None else known_bug(json.loads(last_case)),
            "how": f"no output for {timeout:g} s" if hung else _signal_name(rc),
            "case": last_case,
            "replay": None if last_case is None else
            f"python tools/fuzz.py --replay '{last_case}'",
            "stderr": tail,
        })
        if log:
            log(f"FAILURE ({failures[-1]['how']}) at call {done}: {last_case}")
        restarts += 1
        if last_case is None and not hung:         # the child died outside any case
            break
        if restarts > 50:
            break
    exceptions = {k: v for k, v in outcomes.items() if k != "ok"}
    return {
        "calls": done,
        "seed": seed,
        "ok": outcomes.get("ok", 0),
        "exceptions": dict(sorted(exceptions.items(), key=lambda kv: -kv[1])),
        "families": dict(sorted(families.items())),
        "failures": failures,
        "crashes": sum(f["kind"] == "crash" for f in failures),
        "hangs": sum(f["kind"] == "hang" for f in failures),
        "new_failures": sum(f["known"] is None for f in failures),
        "notes": dict(sorted(notes.items(), key=lambda kv: -kv[1]["count"])),
        "seconds": round(time.monotonic() - start, 1),
    }


def format_summary(s: dict, verbose: bool = False) -> str:
    lines = [f"microtorch fuzz: {s['calls']} calls (seed {s['seed']}) in {s['seconds']} s",
             f"  returned normally:  {s['ok']}",
             f"  Python exceptions:  {sum(s['exceptions'].values())}"]
    for name, n in s["exceptions"].items():
        lines.append(f"      {n:7d}  {name}")
    lines.append("  calls by family:    " + ", ".join(f"{k} {v}" for k, v in s["families"].items()))
    if s["notes"]:
        lines.append("  notes (exceptions other than " + "/".join(sorted(CLEAN_EXCEPTIONS))
                     + "):")
        for key, note in s["notes"].items():
            lines.append(f"      {note['count']:7d}  {key}: {note['message'][:100]}")
            if verbose:
                lines.append(f"               e.g. {note['case']}")
    lines.append(f"  crashes: {s['crashes']}    hangs: {s['hangs']}    "
                 f"(not matching a known bug: {s['new_failures']})")
    for f in s["failures"]:
        known = f" [known: {f['known']}]" if f["known"] else ""
        lines.append(f"  - {f['kind']} ({f['how']}){known}; reproduce with:\n"
                     f"      {f['replay']}")
        if f["stderr"]:
            lines.append("    child stderr (tail):\n" + "\n".join(
                "      " + ln for ln in f["stderr"].splitlines()[-25:]))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=10_000, help="number of cases (default 10000)")
    ap.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds without progress that count as a hang (default 60)")
    ap.add_argument("--memory-mb", type=int, default=4096,
                    help="address-space limit of the child, MiB (0: none; default 4096)")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show an example case for every note")
    ap.add_argument("--replay", metavar="CASE_JSON", help="run one case in this process")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--inject", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        child_main(args.calls, args.seed, args.inject, args.memory_mb)
        return 0
    if args.replay:
        sys.path.insert(0, SRC)
        case = json.loads(args.replay)
        print(f"target {case['target']}: {run_case(case)}")
        return 0
    summary = campaign(args.calls, args.seed, args.timeout, memory_mb=args.memory_mb,
                       log=None if args.json else lambda m: print(m, file=sys.stderr, flush=True))
    print(json.dumps(summary, indent=1) if args.json else format_summary(summary, args.verbose))
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
