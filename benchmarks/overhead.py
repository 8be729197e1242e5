"""Group 2: per-op overhead on tiny (2x2) float32 tensors, forward only (inputs that do
not require grad, so no graph is built, as under no_grad) and forward+backward.

At this size the arithmetic is free; what is measured is the Python/dispatch/autograd cost
of one op. The numpy column (plain allocating numpy, backward by hand) is for context.
Targets (issue 11): forward+backward <= 0.33x PyTorch, the forward <= 1.0x PyTorch.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

import numpy as np

from benchmarks import numpy_baselines
from benchmarks.config import Config
from benchmarks.harness import (
    MICRO,
    NUMPY,
    TORCH,
    Libs,
    Row,
    Target,
    interleaved_rounds,
    timing_table,
)

MODES = ("forward", "forward+backward")


def lib_tiny_op(
    lib: ModuleType, op: str, a_np: np.ndarray, b_np: np.ndarray, g_np: np.ndarray, backward: bool
) -> Callable[[], object]:
    """One tiny op through ``lib``; with ``backward`` the inputs require grad and we backprop."""
    a = lib.tensor(a_np, requires_grad=backward)
    b = lib.tensor(b_np, requires_grad=backward)
    bias = lib.tensor(g_np[0], requires_grad=backward)
    target = lib.from_numpy(np.arange(a_np.shape[0]) % a_np.shape[1])
    F = lib.nn.functional
    forward: Callable[[], object] = {
        "add": lambda: a + b,
        "mul": lambda: a * b,
        "matmul": lambda: a @ b,
        "relu": lambda: lib.relu(a),
        "sigmoid": lambda: lib.sigmoid(a),
        "tanh": lambda: lib.tanh(a),
        "linear": lambda: F.linear(a, b, bias),
        "mse_loss": lambda: F.mse_loss(a, b),
        "cross_entropy": lambda: F.cross_entropy(a, target),
        "sum": lambda: a.sum(),
    }[op]
    if not backward:
        return forward
    g = lib.from_numpy(g_np)
    scalar = op in ("sum", "mse_loss", "cross_entropy")

    def run() -> None:
        a.grad = None
        b.grad = None
        bias.grad = None
        out = forward()
        if scalar:
            out.backward()
        else:
            out.backward(g)

    return run


def run_overhead(libs: Libs, cfg: Config, threads: int, progress: bool = True) -> list[Row]:
    rng = np.random.default_rng(0)
    a, b, g = (rng.standard_normal((2, 2), dtype=np.float32) for _ in range(3))
    rows: list[Row] = []
    for op in cfg.overhead_ops:
        for mode in MODES:
            label = f"{op} {mode}"
            if cfg.filter not in label:
                continue
            if progress:
                print(f"\r  overhead t={threads} {label:<40}", end="", file=sys.stderr, flush=True)
            backward = mode != "forward"
            fns: dict[str, Callable[[], object]] = {
                NUMPY: numpy_baselines.tiny_op(op, a, b, g, backward)
            }
            errors: dict[str, str] = {}
            for impl in (TORCH, MICRO):
                lib = libs.get(impl)
                if lib is None:
                    continue
                try:
                    fn = lib_tiny_op(lib, op, a, b, g, backward)
                    fn()
                    fns[impl] = fn
                except Exception as exc:
                    errors[impl] = f"{type(exc).__name__}: {exc}"
            targets = ([Target(MICRO, TORCH, 1 / 3, "<=0.33")] if backward
                       else [Target(MICRO, TORCH, 1.0, "<=1")])
            rows.append(
                Row(
                    group="overhead",
                    name=label,
                    threads=threads,
                    params={"op": op, "mode": mode, "shape": [2, 2], "dtype": "f32"},
                    rounds=interleaved_rounds(
                        fns, cfg.overhead_rounds, cfg.overhead_min_round_time
                    ),
                    targets=targets,
                    info={"errors": errors},
                )
            )
    if progress:
        print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)
    return rows


def overhead_table(rows: list[Row], libs: Libs) -> str:
    threads = rows[0].threads if rows else 0
    return timing_table(
        rows,
        libs,
        f"Per-op overhead, 2x2 float32, time per call ({threads} thread(s))",
        ("op", "mode"),
        extra=lambda r: "; ".join(f"{k} failed: {v[:60]}" for k, v in r.info["errors"].items()),
        extra_header="notes",
    )
