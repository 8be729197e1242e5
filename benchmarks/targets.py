"""The goals of issues 11, 12 and 13, each with its measured figure and PASS/MISS.

Each goal gathers the per-row targets it covers (see kernels.py, overhead.py and
training.py, which attach them) and reports the worst value among them; a goal passes
when every row passes.  Import time and kernel page faults are not per-row targets and
are reported from their own measurements.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.harness import COMPILED, MICRO, NUMPY, TORCH, Row, Target
from benchmarks.startup import IMPORT_LIMIT_S

Selector = Callable[[Row, Target], bool]


def _kernels(mode: str, den: str, matmul: bool = False) -> Selector:
    def select(row: Row, target: Target) -> bool:
        return (row.group == "kernels" and row.params.get("mode") == mode
                and (row.params.get("kernel") == "matmul") == matmul and target.den == den)

    return select


def _training(metric: str, den: str = MICRO, models: str = "abcd", num: str = MICRO) -> Selector:
    def select(row: Row, target: Target) -> bool:
        return (row.group == "training" and row.name in models and target.metric == metric
                and target.num == num and (metric != "time" or target.den == den))

    return select


def _overhead(mode: str) -> Selector:
    def select(row: Row, target: Target) -> bool:
        return row.group == "overhead" and row.params.get("mode") == mode and target.den == TORCH

    return select


ISSUE_12: list[tuple[str, Selector]] = [
    ("kernels fwd+bwd >= 1.5x faster than numpy at >= 1e5 elements",
     _kernels("fwd+bwd", NUMPY)),
    ("kernels fwd+bwd <= 0.5x PyTorch at 1e3 elements", _kernels("fwd+bwd", TORCH)),
    ("kernels forward under no_grad <= 1.0x PyTorch", _kernels("no_grad", TORCH)),
    ("matmul >= 0.95x numpy's throughput (every dimension >= 256)",
     _kernels("fwd+bwd", NUMPY, matmul=True)),
    ("minor page faults per steady-state training step <= 0.5",
     _training("info:faults_per_step")),
    ("peak RSS of a training run <= 1.5x the numpy loop", _training("rss")),
]

ISSUE_11: list[tuple[str, Selector]] = [
    ("training step <= 1.0x the numpy loop (models a-d)", _training("time", NUMPY)),
    ("training step <= 0.25x PyTorch (a, b), 0.6x (c), 1.0x (d)", _training("time", TORCH)),
    ("tiny op forward+backward <= 0.33x PyTorch", _overhead("forward+backward")),
    ("tiny op forward under no_grad <= 1.0x PyTorch", _overhead("forward")),
]


ISSUE_13: list[tuple[str, Selector]] = [
    ("compiled training step <= 0.5x the numpy loop (a, b), 0.8x (c), 1.0x (d)",
     _training("time", NUMPY, num=COMPILED)),
    ("first compiled step (recording) <= 3x an eager step",
     _training("info:recording_per_eager_step", num=COMPILED)),
]


def goal_line(title: str, select: Selector, rows: list[Row]) -> str:
    """'PASS  title: n/m rows pass; worst <row> <value>' (n/a when nothing was measured)."""
    checked = [(row, t) for row in rows for t in row.targets if select(row, t)]
    measured = [(row, t, row.metric_ratio(t)) for row, t in checked]
    measured = [(row, t, v) for row, t, v in measured if v is not None]
    if not measured:
        return f"n/a   {title}: not measured in this run"
    passed = sum(v <= t.limit for _, t, v in measured)
    row, target, value = max(measured, key=lambda m: m[2] / m[1].limit)
    verdict = "PASS" if passed == len(measured) else "MISS"
    where = f"{row.group} {row.name} t{row.threads}"
    return (f"{verdict:5} {title}: {passed}/{len(measured)} pass; worst {value:.2f} "
            f"(limit {target.limit:.2f}) at {where}")


def kernel_faults_line(rows: list[Row]) -> str:
    """The most minor page faults microtorch took per repeated kernel call."""
    faults = [(row.info["faults_per_call"][MICRO], row) for row in rows
              if row.group == "kernels" and MICRO in row.info.get("faults_per_call", {})]
    if not faults:
        return "n/a   minor page faults per repeated kernel call: not measured in this run"
    worst, row = max(faults, key=lambda f: f[0])
    verdict = "PASS" if worst <= 0.5 else "MISS"
    return (f"{verdict:5} minor page faults per repeated kernel call <= 0.5: worst {worst:.2f} "
            f"at {row.name} t{row.threads}")


def import_line(startup: dict[str, Any] | None) -> str:
    mt = (startup or {}).get("microtorch", {})
    if "seconds" not in mt:
        return f"n/a   import microtorch <= {IMPORT_LIMIT_S} s: {mt.get('error', 'not measured')}"
    verdict = "PASS" if mt["seconds"] <= IMPORT_LIMIT_S else "MISS"
    numpy = startup.get("numpy", {}).get("seconds")
    context = f"; numpy alone {numpy:.3f} s" if numpy is not None else ""
    return (f"{verdict:5} import microtorch <= {IMPORT_LIMIT_S} s: {mt['seconds']:.3f} s, "
            f"{mt['modules']} modules loaded (median of {mt['runs']} fresh interpreters{context})")


def summary_lines(rows: list[Row], startup: dict[str, Any] | None) -> list[str]:
    lines = ["Issue 12 targets (kernels, memory, start-up):"]
    lines += ["  " + goal_line(title, select, rows) for title, select in ISSUE_12]
    lines += ["  " + kernel_faults_line(rows), "  " + import_line(startup)]
    lines += ["Issue 11 targets (the op layer and the engine):"]
    lines += ["  " + goal_line(title, select, rows) for title, select in ISSUE_11]
    lines += ["Issue 13 targets (microtorch.compile):"]
    lines += ["  " + goal_line(title, select, rows) for title, select in ISSUE_13]
    return lines
