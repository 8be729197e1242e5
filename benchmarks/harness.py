"""Shared machinery: libraries, thread pinning, interleaved timing, targets, tables, JSON.

Nothing here imports torch or microtorch at module level, so the training worker
subprocesses (which import this module only for tiny helpers) stay lean.
"""

from __future__ import annotations

import gc
import importlib
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

# Implementation keys, in table order. "microtorch" may be torch standing in (--lib torch).
# "microtorch compiled" (training only) is microtorch with the model under microtorch.compile.
NUMPY, TORCH, MICRO, COMPILED = "numpy", "torch", "microtorch", "microtorch compiled"
IMPLS = (NUMPY, TORCH, MICRO, COMPILED)
SHORT = {NUMPY: "np", TORCH: "torch", MICRO: "mt", COMPILED: "mtc"}

# OpenBLAS tuning variables that benchmark runs must not inherit (see README).
SCRUBBED_ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# Set in the suite's own re-run without them (see run.py): the values the caller had.
RERUN_VAR = "MICROTORCH_BENCH_SCRUBBED"
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ---------------------------------------------------------------------------
# Libraries
# ---------------------------------------------------------------------------


@dataclass
class Libs:
    """The modules under test. ``micro`` is microtorch, or torch when it stands in."""

    torch: ModuleType | None
    micro: ModuleType | None
    micro_source: str  # "microtorch", "torch" (stand-in) or "" (unavailable)
    notes: list[str] = field(default_factory=list)

    def get(self, impl: str) -> ModuleType | None:
        return {TORCH: self.torch, MICRO: self.micro}.get(impl)

    def available(self) -> list[str]:
        """Implementation keys that can run, numpy always first."""
        return [NUMPY] + [k for k in (TORCH, MICRO) if self.get(k) is not None]

    def label(self, impl: str) -> str:
        if impl == MICRO and self.micro_source == "torch":
            return "microtorch*"
        return impl


def _try_import(name: str) -> tuple[ModuleType | None, str]:
    try:
        return importlib.import_module(name), ""
    except Exception as exc:  # a half-built extension can raise more than ImportError
        return None, f"{type(exc).__name__}: {exc}"


def load_libs(lib: str = "microtorch", use_torch: bool = True) -> Libs:
    """Import the libraries under test.

    Args:
        lib: "microtorch" (normal) or "torch" to let PyTorch stand in for microtorch,
            a development aid for exercising the harness before microtorch exists.
        use_torch: whether to benchmark PyTorch as a reference at all.
    """
    notes: list[str] = []
    torch_mod = None
    if use_torch or lib == "torch":
        torch_mod, err = _try_import("torch")
        if torch_mod is None:
            notes.append(f"PyTorch not importable ({err}); torch columns skipped.")
    if lib == "torch":
        micro, source = torch_mod, "torch" if torch_mod is not None else ""
        notes.append(
            "microtorch* = torch standing in for microtorch (--lib torch, development only)."
        )
    else:
        micro, err = _try_import("microtorch")
        source = "microtorch" if micro is not None else ""
        if micro is None:
            notes.append(f"microtorch not importable ({err}); microtorch columns skipped.")
        else:
            # As `import microtorch.nn` in user code would, in case the package does not yet.
            for sub in ("nn", "nn.functional", "optim"):
                _try_import(f"microtorch.{sub}")
    if micro is not None and source == "microtorch":
        if not hasattr(micro, "set_num_threads"):
            notes.append(
                "microtorch has no set_num_threads(); only threadpoolctl/env limits apply."
            )
        _touch(micro)
    return Libs(
        torch=torch_mod if use_torch else None, micro=micro, micro_source=source, notes=notes
    )


def _touch(lib: ModuleType) -> None:
    """Run a few tiny ops so lazily loaded native libraries (BLAS, OpenMP) are loaded now,
    before threadpoolctl looks for them and pins their thread counts."""
    import numpy as np

    try:
        x = lib.tensor(np.ones((2, 2), np.float32), requires_grad=True)
        out = lib.nn.functional.cross_entropy(
            lib.softmax(lib.relu(x @ x), dim=1), lib.from_numpy(np.zeros(2, np.int64))
        )
        out.backward()
        # microtorch's Linear and conv kernels call the BLAS that SciPy bundles
        lib.nn.functional.conv2d(x.reshape(1, 1, 2, 2), x.reshape(1, 1, 2, 2)).sum().backward()
    except Exception:
        pass


def version_of(module: ModuleType | None) -> str | None:
    if module is None:
        return None
    return str(getattr(module, "__version__", "unknown"))


# ---------------------------------------------------------------------------
# Threads and environment
# ---------------------------------------------------------------------------


@contextmanager
def pinned_threads(n: int, libs: Libs) -> Iterator[None]:
    """Limit BLAS/OpenMP pools (threadpoolctl) and torch/microtorch intra-op threads to n.

    A fresh ThreadpoolController (about 1 ms) sees every native library loaded so far.
    """
    try:
        from threadpoolctl import ThreadpoolController

        limiter = ThreadpoolController().limit(limits=n)
    except ImportError:
        limiter = None
    previous: list[tuple[ModuleType, int | None]] = []
    for module in {id(m): m for m in (libs.torch, libs.micro) if m is not None}.values():
        if hasattr(module, "set_num_threads"):
            old = module.get_num_threads() if hasattr(module, "get_num_threads") else None
            module.set_num_threads(n)
            previous.append((module, old))
    try:
        yield
    finally:
        for module, old in previous:
            if old is not None:
                module.set_num_threads(old)
        if limiter is not None:
            limiter.restore_original_limits()


def subprocess_env(threads: int, scrub_openblas: bool = True) -> dict[str, str]:
    """Environment for a worker subprocess: thread counts pinned, repo importable.

    Benchmark runs also drop OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE so the worker uses the
    BLAS kernels OpenBLAS picks for this CPU. ``scrub_openblas=False`` (smoke tests) leaves
    the environment as inherited.
    """
    env = dict(os.environ)
    if scrub_openblas:
        for name in SCRUBBED_ENV_VARS:
            env.pop(name, None)
    for name in THREAD_ENV_VARS:
        env[name] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    return env


def blas_info() -> list[dict[str, Any]]:
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries (empty if unavailable)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = (
        "user_api",
        "internal_api",
        "prefix",
        "version",
        "num_threads",
        "architecture",
        "threading_layer",
        "filepath",
    )
    return [{k: info.get(k) for k in keys if k in info} for info in threadpool_info()]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment_info(libs: Libs) -> dict[str, Any]:
    """Versions, CPU, load and BLAS configuration, recorded with every run."""
    import numpy as np

    try:
        import threadpoolctl

        tpc_version: str | None = threadpoolctl.__version__
    except ImportError:
        tpc_version = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "numpy": np.__version__,
        "torch": version_of(libs.torch),
        "microtorch": version_of(libs.micro),
        "microtorch_source": libs.micro_source or None,
        "threadpoolctl": tpc_version,
        "env": {name: os.environ.get(name) for name in SCRUBBED_ENV_VARS + THREAD_ENV_VARS},
        "scrubbed_by_rerun": os.environ.get(RERUN_VAR),
        "blas": blas_info(),
    }


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


def _calibrate(fn: Callable[[], object], min_time: float) -> int:
    """Number of calls per round so that one round lasts at least ``min_time`` seconds."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or number >= 1_000_000:
            return number
        # Aim a little past min_time; grow at most 100x per try.
        number = min(
            number * 100, max(number + 1, math.ceil(number * 1.2 * min_time / max(elapsed, 1e-9)))
        )


def minor_faults() -> int:
    """Minor page faults of this process so far (0 where getrusage is unavailable)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def interleaved_rounds(
    fns: Mapping[str, Callable[[], object]],
    rounds: int,
    min_time: float,
    warmup: int = 1,
    faults: dict[str, float] | None = None,
) -> dict[str, list[float]]:
    """Time several implementations in interleaved rounds (A B C, B C A, C A B, ...).

    Each implementation is warmed up, calibrated to a call count that fills ``min_time``,
    then timed once per round; the order rotates every round so none always runs first.
    The garbage collector stays enabled (freeing autograd graphs is part of the cost); a
    full collection runs once before the rounds.

    Returns:
        impl -> seconds per call, one value per round.  When ``faults`` is given, it
        receives impl -> minor page faults per call in steady state (median over rounds).
    """
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name]()
    numbers = {name: _calibrate(fns[name], min_time) for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    faulted: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            fn, number = fns[name], numbers[name]
            before = minor_faults()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - start) / number)
            faulted[name].append((minor_faults() - before) / number)
    if faults is not None:
        faults.update({name: statistics.median(v) for name, v in faulted.items()})
    return times


# ---------------------------------------------------------------------------
# Results, ratios and targets
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A goal ``value <= limit``.  The value is the ratio ``num/den`` of times (metric
    "time") or of peak RSS ("rss"), or, for metric "info:KEY", the plain number
    ``row.info[KEY][num]`` (faults per step, seconds of import, ...)."""

    num: str
    den: str
    limit: float
    label: str  # how the goal is printed, e.g. "<=0.67" or ">=1.5x faster"
    metric: str = "time"


@dataclass
class Row:
    """One benchmark case: per-round timings of every implementation plus extras."""

    group: str
    name: str
    threads: int
    params: dict[str, Any] = field(default_factory=dict)
    rounds: dict[str, list[float]] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def time(self, impl: str) -> float | None:
        values = self.rounds.get(impl)
        return statistics.median(values) if values else None

    def ratio(self, num: str, den: str) -> RatioStat | None:
        """Median and range of per-round ratios num/den (rounds paired by index)."""
        a, b = self.rounds.get(num), self.rounds.get(den)
        if not a or not b:
            return None
        per_round = [x / y for x, y in zip(a, b) if y > 0]
        return RatioStat.of(per_round) if per_round else None

    def metric_ratio(self, target: Target) -> float | None:
        if target.metric.startswith("info:"):
            return self.info.get(target.metric[5:], {}).get(target.num)
        if target.metric == "rss":
            rss = self.info.get("peak_rss_mb", {})
            num, den = rss.get(target.num), rss.get(target.den)
            return num / den if num and den else None
        stat = self.ratio(target.num, target.den)
        return stat.median if stat else None

    def verdict(self, target: Target) -> str:
        value = self.metric_ratio(target)
        if value is None:
            return "n/a"
        return "PASS" if value <= target.limit else "MISS"

    def to_json(self) -> dict[str, Any]:
        ratios = {}
        for num, den in ((MICRO, NUMPY), (MICRO, TORCH), (TORCH, NUMPY), (COMPILED, NUMPY),
                         (COMPILED, MICRO)):
            stat = self.ratio(num, den)
            if stat is not None:
                ratios[f"{num}/{den}"] = asdict(stat)
        return {
            "group": self.group,
            "name": self.name,
            "threads": self.threads,
            "params": self.params,
            "median_seconds": {k: self.time(k) for k in self.rounds},
            "rounds_seconds": self.rounds,
            "ratios": ratios,
            "targets": [
                {**asdict(t), "value": self.metric_ratio(t), "verdict": self.verdict(t)}
                for t in self.targets
            ],
            "info": self.info,
        }


@dataclass
class RatioStat:
    median: float
    low: float
    high: float
    per_round: list[float]

    @classmethod
    def of(cls, values: Sequence[float]) -> RatioStat:
        return cls(statistics.median(values), min(values), max(values), list(values))

    def __str__(self) -> str:
        if len(self.per_round) == 1:
            return f"{self.median:.2f}"
        return f"{self.median:.2f} [{self.low:.2f}-{self.high:.2f}]"


def faster_than(num: str, den: str, factor: float) -> Target:
    """Target "num is at least ``factor`` times faster than den" (time ratio <= 1/factor)."""
    label = f"<={1 / factor:.2f}" if factor != 1 else "<=1"
    return Target(num, den, 1.0 / factor, label)


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_ratio(stat: RatioStat | None) -> str:
    return str(stat) if stat is not None else "-"


def _median(stat: RatioStat | None) -> str:
    return f"{stat.median:.2f}" if stat is not None else "-"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> str:
    """Plain-text table; the first column is left-aligned, the others right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ]
        return "  ".join(parts).rstrip()

    out = [title] if title else []
    out += [line(headers), line(["-" * w for w in widths])]
    out += [line(row) for row in rows]
    return "\n".join(out)


def target_cell(row: Row, num: str, den: str) -> str:
    """'<=0.67 PASS' for the first target on this ratio, or '' when there is none."""
    for target in row.targets:
        if target.num == num and target.den == den and target.metric == "time":
            return f"{target.label} {row.verdict(target)}"
    return ""


def timing_table(
    rows: Sequence[Row],
    libs: Libs,
    title: str,
    key_columns: Sequence[str],
    extra: Callable[[Row], str] | None = None,
    extra_header: str = "",
) -> str:
    """The standard table: key columns, median times, ratios with their targets."""
    impls = [i for i in IMPLS if any(i in r.rounds for r in rows)]
    headers = list(key_columns) + [libs.label(i) for i in impls]
    headers += ["mt/np", "target", "mt/torch", "target", "torch/np"]
    compiled = COMPILED in impls
    if compiled:
        headers += ["mtc/np", "target", "mtc/mt"]
    if extra:
        headers.append(extra_header)
    body = []
    for row in rows:
        cells = [str(row.params.get(k, "")) for k in key_columns]
        cells[0] = row.name if key_columns[0] == "name" else cells[0]
        cells += [format_time(row.time(i)) for i in impls]
        cells += [
            format_ratio(row.ratio(MICRO, NUMPY)),
            target_cell(row, MICRO, NUMPY),
            format_ratio(row.ratio(MICRO, TORCH)),
            target_cell(row, MICRO, TORCH),
            _median(row.ratio(TORCH, NUMPY)),
        ]
        if compiled:
            cells += [format_ratio(row.ratio(COMPILED, NUMPY)),
                      target_cell(row, COMPILED, NUMPY), _median(row.ratio(COMPILED, MICRO))]
        if extra:
            cells.append(extra(row))
        body.append(cells)
    return render_table(headers, body, title)


def summarize_targets(rows: Sequence[Row]) -> dict[str, int]:
    counts = {"PASS": 0, "MISS": 0, "n/a": 0}
    for row in rows:
        for target in row.targets:
            counts[row.verdict(target)] += 1
    return counts


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def to_numpy(tensor: Any) -> Any:
    """Best-effort conversion of a torch/microtorch tensor to a numpy array."""
    import numpy as np

    for attempt in (lambda t: t.numpy(), lambda t: t.detach().numpy(), np.asarray):
        try:
            return np.asarray(attempt(tensor))
        except Exception:
            continue
    raise TypeError(f"cannot convert {type(tensor).__name__} to numpy")
