"""Group 1: kernels through the public API, against numpy and PyTorch: forward+backward,
and (every op but matmul) the forward alone under ``no_grad``.

The library side is written once, PyTorch style, against a module ``lib`` (microtorch or
torch): leaves are ``lib.tensor(array, requires_grad=True)``, the op is called through
``lib.relu``/``lib.softmax``/``lib.nn.functional.cross_entropy``/``@`` ..., and the
backward pass is ``out.backward(grad)`` (or ``loss.backward()`` for scalar losses).
Minor page faults per call are recorded for every implementation (``info.faults_per_call``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

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
    faster_than,
    interleaved_rounds,
    timing_table,
    to_numpy,
)

ELEMENTWISE = ("relu", "sigmoid", "tanh")
ROWWISE = ("softmax", "log_softmax", "cross_entropy")
FLAT_LOSSES = ("bce_with_logits", "mse")
SHORT_DTYPE = {"float32": "f32", "float64": "f64"}


@dataclass(frozen=True)
class KernelCase:
    """One kernel at one size and dtype. For matmul, x is (m, k) and w is (k, n)."""

    kernel: str
    dtype: str
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...] | None = None
    family: str = ""  # "matmul", "linear", "softmax x1000", ...
    mode: str = "fwd+bwd"  # or "no_grad": the forward alone, under no_grad

    @property
    def elements(self) -> int:
        return int(np.prod(self.x_shape))

    @property
    def size_label(self) -> str:
        if self.w_shape is not None:
            (m, k), n = self.x_shape, self.w_shape[1]
            return f"n={m}" if m == k == n else f"{m}x{k} @ {k}x{n}"
        return f"1e{round(np.log10(self.elements))}" if self.elements > 1 else "1"

    @property
    def label(self) -> str:
        suffix = " no_grad" if self.mode == "no_grad" else ""
        return f"{self.family} {SHORT_DTYPE[self.dtype]} {self.size_label}{suffix}"

    @property
    def flops(self) -> float | None:
        """Floating-point operations of forward+backward (3 products) for matmul."""
        if self.w_shape is None:
            return None
        (m, k), n = self.x_shape, self.w_shape[1]
        return 3 * 2.0 * m * k * n

    def targets(self) -> list[Target]:
        """Issue 12's goals: matmul >= 0.95x numpy's throughput where every dimension is at
        least 256; every other kernel >= 1.5x faster than numpy from 1e5 elements and
        <= 0.5x PyTorch's time at 1e3; the forward under no_grad <= 1.0x PyTorch."""
        if self.w_shape is not None:
            dims = (*self.x_shape, self.w_shape[1])
            return [Target(MICRO, NUMPY, 1 / 0.95, "<=1.05")] if min(dims) >= 256 else []
        if self.mode == "no_grad":
            return [Target(MICRO, TORCH, 1.0, "<=1")]
        if self.elements >= 100_000:
            return [faster_than(MICRO, NUMPY, 1.5)]
        if self.elements <= 1_000:
            return [Target(MICRO, TORCH, 0.5, "<=0.5")]
        return []


def kernel_cases(cfg: Config) -> list[KernelCase]:
    """All cases of a run, in table order."""
    cases: list[KernelCase] = []
    for dtype in cfg.dtypes:
        for n in cfg.matmul_sizes:
            cases.append(KernelCase("matmul", dtype, (n, n), (n, n), "matmul"))
        for batch, fan_in, fan_out in cfg.linear_shapes:
            cases.append(KernelCase("matmul", dtype, (batch, fan_in), (fan_in, fan_out), "linear"))
        for kernel in ELEMENTWISE + ROWWISE + FLAT_LOSSES:
            for size in cfg.kernel_sizes:
                for mode in ("fwd+bwd", "no_grad"):
                    if kernel in ROWWISE:
                        for classes in cfg.class_counts:
                            rows = max(1, size // classes)
                            cases.append(
                                KernelCase(kernel, dtype, (rows, classes), None,
                                           f"{kernel} x{classes}", mode)
                            )
                    else:
                        cases.append(KernelCase(kernel, dtype, (size,), None, kernel, mode))
    return cases


def make_inputs(case: KernelCase, seed: int = 0) -> dict[str, np.ndarray]:
    """Standard-normal inputs (and upstream gradient / targets) for one case."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(case.dtype)

    def normal(shape: tuple[int, ...]) -> np.ndarray:
        return rng.standard_normal(shape, dtype=dtype)

    x = normal(case.x_shape)
    if case.kernel == "matmul":
        w = normal(case.w_shape)
        return {"x": x, "w": w, "g": normal((case.x_shape[0], case.w_shape[1]))}
    if case.kernel == "cross_entropy":
        return {"x": x, "target": rng.integers(0, case.x_shape[1], case.x_shape[0])}
    if case.kernel == "bce_with_logits":
        return {"x": x, "target": (rng.random(case.x_shape) < 0.5).astype(dtype)}
    if case.kernel == "mse":
        return {"x": x, "target": normal(case.x_shape)}
    return {"x": x, "g": normal(case.x_shape)}


def lib_kernel(
    lib: ModuleType, case: KernelCase, arrays: dict[str, np.ndarray]
) -> tuple[Callable[[], None], dict[str, Any]]:
    """Forward+backward of ``case`` through ``lib``'s public API.

    Returns ``run`` and the leaf tensors (whose ``.grad`` holds the result after a run).
    """
    x = lib.tensor(arrays["x"], requires_grad=True)
    leaves = {"x": x}
    if case.kernel == "matmul":
        w = lib.tensor(arrays["w"], requires_grad=True)
        leaves["w"] = w
        forward: Callable[[], Any] = lambda: x @ w
    elif case.kernel in ELEMENTWISE:
        op = getattr(lib, case.kernel)
        forward = lambda: op(x)
    elif case.kernel in ("softmax", "log_softmax"):
        op = getattr(lib, case.kernel)
        forward = lambda: op(x, dim=1)
    else:
        target = lib.from_numpy(arrays["target"])
        name = (
            "binary_cross_entropy_with_logits" if case.kernel == "bce_with_logits" else case.kernel
        )
        op = getattr(lib.nn.functional, "mse_loss" if name == "mse" else name)
        forward = lambda: op(x, target)

    grad = lib.from_numpy(arrays["g"]) if "g" in arrays else None
    if case.mode == "no_grad":

        def inference() -> None:
            with lib.no_grad():
                forward()

        return inference, leaves

    def run() -> None:
        for leaf in leaves.values():
            leaf.grad = None
        out = forward()
        if grad is None:
            out.backward()
        else:
            out.backward(grad)

    return run, leaves


def check_grads(case: KernelCase, leaves: dict[str, Any], expected: dict[str, np.ndarray]) -> str:
    """'ok', or what is wrong with the library's gradients compared with numpy's."""
    tol = 2e-3 if case.dtype == "float32" else 1e-9
    try:
        for name, ref in expected.items():
            got = to_numpy(leaves[name].grad)
            if got.dtype != ref.dtype:
                return f"dtype {got.dtype}"
            if got.shape != ref.shape:
                return f"shape {got.shape}"
            scale = max(float(np.max(np.abs(ref))), np.finfo(ref.dtype).tiny)
            err = float(np.max(np.abs(got - ref))) / scale
            if not err <= tol:
                return f"grad err {err:.1e}"
    except Exception as exc:
        return f"unchecked ({type(exc).__name__})"
    return "ok"


def run_kernels(libs: Libs, cfg: Config, threads: int, progress: bool = True) -> list[Row]:
    """Time every kernel case at the current thread setting (the caller pins threads)."""
    cases = [c for c in kernel_cases(cfg) if cfg.filter in c.label]
    rows: list[Row] = []
    for i, case in enumerate(cases):
        if progress:
            print(
                f"\r  kernels t={threads} [{i + 1}/{len(cases)}] {case.label:<40}",
                end="",
                file=sys.stderr,
                flush=True,
            )
        arrays = make_inputs(case)
        np_run, np_grads = numpy_baselines.KERNELS[case.kernel](arrays)
        np_run()
        if case.mode == "no_grad":
            np_run, np_grads = numpy_baselines.forward_only(case.kernel, arrays), {}
        fns: dict[str, Callable[[], object]] = {NUMPY: np_run}
        info: dict[str, Any] = {"check": {}, "errors": {}, "faults_per_call": {}}
        for impl in (TORCH, MICRO):
            lib = libs.get(impl)
            if lib is None:
                continue
            try:
                run, leaves = lib_kernel(lib, case, arrays)
                run()
            except Exception as exc:
                info["errors"][impl] = f"{type(exc).__name__}: {exc}"
                continue
            if np_grads:
                info["check"][impl] = check_grads(case, leaves, np_grads)
            fns[impl] = run
        rounds = interleaved_rounds(
            fns, cfg.kernel_rounds, cfg.min_round_time, faults=info["faults_per_call"]
        )
        row = Row(
            group="kernels",
            name=case.label,
            threads=threads,
            params={
                "kernel": case.kernel,
                "case": case.family,
                "mode": case.mode,
                "dtype": SHORT_DTYPE[case.dtype],
                "size": case.size_label,
                "elements": case.elements,
                "x_shape": list(case.x_shape),
                "w_shape": list(case.w_shape or []),
            },
            rounds=rounds,
            targets=case.targets(),
            info=info,
        )
        if case.flops:
            info["gflops"] = {k: case.flops / row.time(k) / 1e9 for k in rounds}
        rows.append(row)
        del fns, arrays, np_grads
    if progress:
        print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)
    return rows


def _notes(row: Row) -> str:
    parts = []
    gflops = row.info.get("gflops")
    if gflops:
        parts.append(
            "GFLOP/s " + "/".join(f"{gflops[k]:.0f}" for k in (NUMPY, TORCH, MICRO) if k in gflops)
        )
    bad = {k: v for k, v in row.info.get("check", {}).items() if v != "ok"}
    parts += [f"{k}: {v}" for k, v in bad.items()]
    parts += [f"{k} failed: {v[:60]}" for k, v in row.info.get("errors", {}).items()]
    return "; ".join(parts)


def kernels_table(rows: list[Row], libs: Libs) -> str:
    threads = rows[0].threads if rows else 0
    return timing_table(
        rows,
        libs,
        f"Kernels, forward+backward (and forward under no_grad), time per call "
        f"({threads} thread(s))",
        ("case", "dtype", "size", "mode"),
        extra=_notes,
        extra_header="notes",
    )
