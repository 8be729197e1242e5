"""Where one training step of a small model goes, by layer of microtorch.

Runs in a worker subprocess (``python -m benchmarks.breakdown MODEL STEPS``, threads pinned
to 1 by the caller's environment), microtorch only, on a training model of
``benchmarks.training`` (model a, the 1-5-2-1 regressor, by default).  Method: every
compiled kernel entry point is wrapped in a one-line Python function, so that cProfile,
which cannot see Cython functions, records each call; the steps run under cProfile, and
each function's own time (tottime) goes to a category by where it lives:

=========  ===========================================================================
kernels    the compiled kernels (their wrappers' own time is the kernel's time)
recording  ``autograd.function``: Function.apply and its helpers (graph recording)
engine     the backward pass: ``autograd.engine``, ``autograd.node``, ``autograd``'s
           ``backward``, and the BackwardFunction methods the engine calls
optimizer  ``microtorch.optim`` (zero_grad and step)
other      everything else: the ops' Python bodies (forward/backward), nn modules,
           Tensor methods, numpy calls made from Python
=========  ===========================================================================

The profiler slows Python calls more than kernels, so the shares are approximate; they
are scaled to the time per step measured without the profiler.
"""

from __future__ import annotations

import cProfile
import functools
import importlib
import json
import pstats
import sys
import time
from typing import Any

from benchmarks.harness import render_table

CATEGORIES = ("kernels", "recording", "engine", "optimizer", "other")
KERNEL_MODULES = ("_elementwise", "_losses", "_softmax", "_matmul", "_optim", "_conv", "_pool")


def _make_hook(fn: Any) -> Any:
    """A Python function calling `fn`: cProfile times it where it cannot time `fn`."""

    @functools.wraps(fn)
    def hook(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return hook


_HOOK_CODE = _make_hook(len).__code__
HOOK_KEY = (_HOOK_CODE.co_filename, _HOOK_CODE.co_firstlineno, _HOOK_CODE.co_name)


def hook_kernels() -> None:
    """Wrap every compiled kernel entry point in a hook, wherever microtorch looks it up:
    on ``microtorch._kernels``, on each kernel module and in modules that imported it."""
    wrapped: dict[int, Any] = {}
    package = importlib.import_module("microtorch._kernels")
    for name in KERNEL_MODULES:
        try:
            module = importlib.import_module(f"microtorch._kernels.{name}")
        except ImportError:
            continue
        for attr, fn in list(vars(module).items()):
            if not attr.startswith("_") and type(fn).__name__ == "cython_function_or_method":
                wrapped[id(fn)] = wrapped.get(id(fn)) or _make_hook(fn)
                setattr(module, attr, wrapped[id(fn)])
                if attr in getattr(package, "__all__", ()):
                    setattr(package, attr, wrapped[id(fn)])
    for module in list(sys.modules.values()):  # `from .._kernels._optim import sgd_step`
        if getattr(module, "__name__", "").startswith("microtorch."):
            for attr, fn in list(vars(module).items()):
                if id(fn) in wrapped:
                    setattr(module, attr, wrapped[id(fn)])


def _engine_codes(mt: Any) -> set[tuple[str, int, str]]:
    """Functions of autograd.function that the backward pass calls (not recording)."""
    codes: set[tuple[str, int, str]] = set()
    try:
        function = importlib.import_module("microtorch.autograd.function")
    except ImportError:  # an older microtorch without autograd.Function
        return codes
    backward_cls = getattr(function, "BackwardFunction", None)
    for attr in ("apply", "saved_tensors", "backward"):
        obj = getattr(backward_cls, attr, None) if backward_cls else None
        fn = getattr(obj, "fget", obj)
        code = getattr(fn, "__code__", None)
        if code is not None:
            codes.add((code.co_filename, code.co_firstlineno, code.co_name))
    return codes


def categorize(key: tuple[str, int, str], engine: set) -> str:
    filename = key[0].replace("\\", "/")
    if key == HOOK_KEY:
        return "kernels"
    if "/microtorch/optim/" in filename:
        return "optimizer"
    if "/microtorch/autograd/" in filename:
        if filename.endswith("/function.py") and key not in engine:
            return "recording"
        return "engine"
    return "other"


def breakdown(model_key: str = "a", steps: int = 2000) -> dict[str, Any]:
    """Time per step without the profiler, and each category's share of it (µs)."""
    import numpy as np

    from benchmarks.training import MODELS, batch_plan, build_model, init_params, load_params, make_data

    mt = importlib.import_module("microtorch")
    for sub in ("nn", "nn.functional", "optim"):
        importlib.import_module(f"microtorch.{sub}")
    spec = MODELS[model_key]
    x, y = make_data(spec)
    model, linears = build_model(mt, spec.sizes, spec.head)
    load_params(mt, model, linears, init_params(spec.sizes))
    optimizer = mt.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)
    loss_fn = {"mse": mt.nn.MSELoss(), "bce": mt.nn.BCELoss(),
               "ce": mt.nn.functional.cross_entropy}[spec.head]
    batches = [b for epoch in batch_plan(spec, x, y, 1, convert=mt.from_numpy) for b in epoch]

    def run(n: int) -> None:
        for i in range(n):
            xb, yb = batches[i % len(batches)]
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()

    run(100)
    start = time.perf_counter()
    run(steps)
    per_step = (time.perf_counter() - start) / steps
    hook_kernels()
    engine = _engine_codes(mt)
    run(10)
    profile = cProfile.Profile()
    profile.enable()
    run(steps)
    profile.disable()
    totals = dict.fromkeys(CATEGORIES, 0.0)
    for key, (_, _, tottime, _, _) in pstats.Stats(profile).stats.items():
        totals[categorize(key, engine)] += tottime
    profiled = sum(totals.values()) or 1.0
    del np
    return {
        "model": model_key,
        "title": spec.title,
        "steps": steps,
        "time_per_step_us": per_step * 1e6,
        "share": {k: v / profiled for k, v in totals.items()},
        "us_per_step": {k: per_step * 1e6 * v / profiled for k, v in totals.items()},
    }


def breakdown_table(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"Per-step breakdown: failed ({result['error']})"
    rows = [[k, f"{result['us_per_step'][k]:.1f} us", f"{100 * result['share'][k]:.0f} %"]
            for k in CATEGORIES]
    rows.append(["total", f"{result['time_per_step_us']:.1f} us", "100 %"])
    return render_table(
        ["category", "per step", "share"], rows,
        f"Per-step breakdown, model {result['model']} ({result['title']}), microtorch, 1 thread "
        "(cProfile shares scaled to the unprofiled step time; see benchmarks/breakdown.py)",
    )


if __name__ == "__main__":
    model = sys.argv[1] if len(sys.argv) > 1 else "a"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    print("RESULT " + json.dumps(breakdown(model, count)), flush=True)
