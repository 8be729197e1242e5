"""Group 3: end-to-end training, the same math in three implementations.

Each run happens in a fresh subprocess (``python -m benchmarks.training --worker SPEC``)
so that its peak RSS is its own and its timing is isolated. Every implementation starts
from the same numpy-generated weights and sees the same batches in the same order, so
their final losses must agree to float32 tolerance.

The library side, ``build_and_train(lib, ...)``, is plain PyTorch code written against a
module ``lib`` (microtorch or torch).
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from benchmarks.breakdown import breakdown_table
from benchmarks.config import Config
from benchmarks.harness import (
    COMPILED,
    IMPLS,
    MICRO,
    NUMPY,
    REPO_ROOT,
    TORCH,
    Libs,
    Row,
    Target,
    minor_faults,
    render_table,
    subprocess_env,
    timing_table,
    to_numpy,
)
from benchmarks.numpy_baselines import NumpyMLP

Params = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ModelSpec:
    """One training benchmark. ``batch=None`` means full batch; ``budget`` counts epochs,
    or steps when ``cycle`` (fixed batches taken in order, model d)."""

    key: str
    title: str
    sizes: tuple[int, ...]
    head: str  # "mse", "bce" (Sigmoid + BCELoss) or "ce" (cross-entropy on logits)
    n: int
    batch: int | None
    budget: int
    lr: float
    momentum: float = 0.0
    cycle: bool = False
    torch_target: float = 1.0  # goal for microtorch/torch time per step
    compiled_target: float = 1.0  # issue 13: goal for compiled microtorch/numpy time per step

    @property
    def unit(self) -> str:
        return "steps" if self.cycle else "epochs"


MODELS: dict[str, ModelSpec] = {
    "a": ModelSpec(
        "a",
        "1-5-2-1 MSE full batch",
        (1, 5, 2, 1),
        "mse",
        392,
        None,
        1000,
        0.01,
        torch_target=0.25,
        compiled_target=0.5,
    ),
    "b": ModelSpec(
        "b",
        "2-10-10-1 BCE full batch",
        (2, 10, 10, 1),
        "bce",
        178,
        None,
        1000,
        0.01,
        torch_target=0.25,
        compiled_target=0.5,
    ),
    "c": ModelSpec(
        "c",
        "64-256-256-10 CE mb64 mom0.9",
        (64, 256, 256, 10),
        "ce",
        1797,
        64,
        20,
        0.01,
        momentum=0.9,
        torch_target=0.6,
        compiled_target=0.8,
    ),
    "d": ModelSpec(
        "d",
        "784-1024-1024-10 CE b256",
        (784, 1024, 1024, 10),
        "ce",
        2560,
        256,
        50,
        0.01,
        cycle=True,
        torch_target=1.0,
    ),
}


# ---------------------------------------------------------------------------
# Data, initial weights, batch order (all numpy, seeded: identical in every worker)
# ---------------------------------------------------------------------------


def make_data(spec: ModelSpec, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic float32 data: a noisy quadratic (a), two blobs (b), 10 gaussian clusters (c, d)."""
    rng = np.random.default_rng(seed)
    n = spec.n
    if spec.head == "mse":
        x = rng.uniform(-2.0, 2.0, (n, 1))
        y = 0.5 * x**2 - x + 0.5 + 0.1 * rng.standard_normal((n, 1))
        return x.astype(np.float32), y.astype(np.float32)
    if spec.head == "bce":
        labels = rng.integers(0, 2, n)
        centers = np.array([[-1.0, -1.0], [1.0, 1.0]])
        x = centers[labels] + 0.8 * rng.standard_normal((n, 2))
        return x.astype(np.float32), labels[:, None].astype(np.float32)
    features, classes = spec.sizes[0], spec.sizes[-1]
    centers = 1.5 * rng.standard_normal((classes, features))
    labels = rng.integers(0, classes, n)
    x = centers[labels] + rng.standard_normal((n, features))
    return x.astype(np.float32), labels.astype(np.int64)


def init_params(sizes: tuple[int, ...], seed: int = 1) -> Params:
    """PyTorch's default Linear init: W (out, in) and b (out,) ~ U(-1/sqrt(in), 1/sqrt(in))."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        params.append((w, b))
    return params


def batch_plan(
    spec: ModelSpec,
    x: np.ndarray,
    y: np.ndarray,
    budget: int,
    convert: Callable[[np.ndarray], Any] = lambda a: a,
    seed: int = 2,
) -> Iterator[list[tuple[Any, Any]]]:
    """Yield, per epoch (per step for ``cycle`` models), the batches to train on.

    Full batch: the whole set every epoch. Minibatch: a fresh seeded permutation per
    epoch, gathered once and cut into contiguous slices (the last batch may be short).
    Cycle: fixed consecutive batches taken in order, wrapping around.
    ``convert`` turns a numpy array into the implementation's tensor (``lib.from_numpy``);
    it is applied once to fixed batches and per batch in the shuffled case, as a user would.
    """
    if spec.batch is None:
        batch = (convert(x), convert(y))
        for _ in range(budget):
            yield [batch]
    elif spec.cycle:
        starts = range(0, spec.n - spec.batch + 1, spec.batch)
        fixed = [(convert(x[i : i + spec.batch]), convert(y[i : i + spec.batch])) for i in starts]
        for step in range(budget):
            yield [fixed[step % len(fixed)]]
    else:
        rng = np.random.default_rng(seed)
        for _ in range(budget):
            perm = rng.permutation(spec.n)
            xs, ys = x[perm], y[perm]
            yield [
                (convert(xs[i : i + spec.batch]), convert(ys[i : i + spec.batch]))
                for i in range(0, spec.n, spec.batch)
            ]


def total_steps(spec: ModelSpec, budget: int) -> int:
    if spec.batch is None or spec.cycle:
        return budget
    return budget * -(-spec.n // spec.batch)


class StepClock:
    """Wall time of the steps after a short warm-up (the warm-up steps still train), and
    the minor page faults taken inside those steps (``enter()`` marks a step's start, so
    gathering a shuffled epoch's batches between steps is not counted)."""

    def __init__(self, steps: int) -> None:
        self.warmup = min(20, max(1, steps // 20)) if steps > 1 else 0
        self.count = 0
        self.start = time.perf_counter()
        self.faults = 0
        self.step_faults = 0

    def enter(self) -> None:
        self.step_faults = minor_faults()

    def tick(self) -> None:
        self.count += 1
        if self.count > self.warmup:
            self.faults += minor_faults() - self.step_faults
        if self.count == self.warmup:
            self.start = time.perf_counter()

    def per_step(self) -> float:
        return (time.perf_counter() - self.start) / max(1, self.count - self.warmup)

    def faults_per_step(self) -> float:
        return self.faults / max(1, self.count - self.warmup)


# ---------------------------------------------------------------------------
# The three implementations
# ---------------------------------------------------------------------------


def train_numpy(
    spec: ModelSpec, x: np.ndarray, y: np.ndarray, params: Params, budget: int
) -> dict[str, Any]:
    """The hand-written numpy loop (see NumpyMLP)."""
    model = NumpyMLP(params, spec.head, spec.lr, spec.momentum)
    clock = StepClock(total_steps(spec, budget))
    for epoch in batch_plan(spec, x, y, budget):
        for xb, yb in epoch:
            clock.enter()
            model.step(xb, yb)
            clock.tick()
    per_step, faults = clock.per_step(), clock.faults_per_step()
    return {"time_per_step": per_step, "faults_per_step": faults, "steps": clock.count,
            "final_loss": model.evaluate(x, y)}


def build_model(lib: ModuleType, sizes: tuple[int, ...], head: str) -> tuple[Any, list[Any]]:
    """Sequential of Linear/ReLU (+ Sigmoid for the BCE head); also returns the Linear layers."""
    nn = lib.nn
    layers: list[Any] = []
    linears = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        linear = nn.Linear(fan_in, fan_out)
        linears.append(linear)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if head == "bce":
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers), linears


def load_params(lib: ModuleType, model: Any, linears: list[Any], params: Params) -> str:
    """Copy numpy weights into the model; returns which API did it.

    Tries ``load_state_dict`` (keys "0.weight", ...), then ``param.copy_`` under
    ``no_grad``, then ``param.data = ...``, and checks the result.
    """
    index = 0
    state = {}
    for i, (w, b) in enumerate(params):
        state[f"{index}.weight"] = lib.from_numpy(w.copy())
        state[f"{index}.bias"] = lib.from_numpy(b.copy())
        index += 2 if i < len(params) - 1 else 1

    def via_state_dict() -> None:
        model.load_state_dict(state)

    def via_copy() -> None:
        with lib.no_grad():
            for layer, (w, b) in zip(linears, params):
                layer.weight.copy_(lib.from_numpy(w))
                layer.bias.copy_(lib.from_numpy(b))

    def via_data() -> None:
        for layer, (w, b) in zip(linears, params):
            layer.weight.data = lib.from_numpy(w.copy())
            layer.bias.data = lib.from_numpy(b.copy())

    for name, method in (
        ("load_state_dict", via_state_dict),
        ("copy_", via_copy),
        ("data", via_data),
    ):
        try:
            method()
            ok = all(
                np.array_equal(to_numpy(layer.weight), w)
                and np.array_equal(to_numpy(layer.bias), b)
                for layer, (w, b) in zip(linears, params)
            )
        except Exception:
            continue
        if ok:
            return name
    raise RuntimeError("could not load the initial weights into the model")


def build_and_train(
    lib: ModuleType, spec: ModelSpec, x: np.ndarray, y: np.ndarray, params: Params, budget: int,
    compiled: bool = False,
) -> dict[str, Any]:
    """Train ``spec`` with ``lib`` (microtorch or torch), in plain PyTorch style; with
    ``compiled``, the model goes through ``lib.compile`` (loss and optimizer as written)."""
    torch = lib
    model, linears = build_model(torch, spec.sizes, spec.head)
    loaded_via = load_params(torch, model, linears, params)
    if compiled:
        model = torch.compile(model)
    if spec.momentum:
        optimizer = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=spec.lr)
    loss_fn = {
        "mse": torch.nn.MSELoss(),
        "bce": torch.nn.BCELoss(),
        "ce": torch.nn.functional.cross_entropy,
    }[spec.head]

    clock = StepClock(total_steps(spec, budget))
    for epoch in batch_plan(spec, x, y, budget, convert=torch.from_numpy):
        for xb, yb in epoch:
            clock.enter()
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            clock.tick()
    per_step, faults = clock.per_step(), clock.faults_per_step()
    with torch.no_grad():
        final = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y)).item()
    result = {
        "time_per_step": per_step,
        "faults_per_step": faults,
        "steps": clock.count,
        "final_loss": float(final),
        "weights_loaded_via": loaded_via,
    }
    if compiled:
        result["recording_per_eager_step"] = recording_cost(
            torch, model._orig_mod, optimizer, loss_fn, xb, yb
        )
    return result


def recording_cost(lib: ModuleType, model: Any, optimizer: Any, loss_fn: Any, xb: Any,
                   yb: Any) -> float:
    """First step of a freshly compiled ``model`` (the recording) over an eager step: medians
    of 5 of each, interleaved, in the warm process after training (so that neither pays
    one-time start-up)."""

    def step(run: Any) -> float:
        start = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(run(xb), yb).backward()
        optimizer.step()
        return time.perf_counter() - start

    eager, recording = [], []
    for _ in range(5):
        eager.append(step(model))
        recording.append(step(lib.compile(model)))
    return statistics.median(recording) / statistics.median(eager)


# ---------------------------------------------------------------------------
# Worker subprocess
# ---------------------------------------------------------------------------


def _max_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    On Linux this reads VmHWM: ``ru_maxrss`` would not do, because the kernel carries it
    across fork+exec, so a worker would report its parent's peak.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB elsewhere


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """One training run inside the worker. job: model, impl, module, budget, threads."""
    spec = MODELS[job["model"]]
    lib = None
    if job["impl"] != "numpy":
        lib = importlib.import_module(job["module"])
        for sub in ("nn", "nn.functional", "optim"):  # as `import microtorch.nn` would
            importlib.import_module(f"{job['module']}.{sub}")
        if hasattr(lib, "set_num_threads"):
            lib.set_num_threads(job["threads"])
    x, y = make_data(spec)
    params = init_params(spec.sizes)
    rss_before = _max_rss_mb()
    if lib is None:
        result = train_numpy(spec, x, y, params, job["budget"])
    else:
        result = build_and_train(lib, spec, x, y, params, job["budget"],
                                 compiled=job["impl"] == COMPILED)
    result.update(peak_rss_mb=_max_rss_mb(), rss_before_training_mb=rss_before)
    if lib is not None and hasattr(lib, "get_num_threads"):
        result["lib_threads"] = lib.get_num_threads()
    return result


def worker_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Training benchmark worker (internal).")
    parser.add_argument("--worker", required=True, help="JSON list of jobs")
    jobs = json.loads(parser.parse_args(argv).worker)
    for job in jobs:
        try:
            result = {"ok": True, **run_job(job)}
        except Exception as exc:
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print("RESULT " + json.dumps({**job, **result}), flush=True)
    return 0


def spawn_worker(
    jobs: list[dict[str, Any]], env: dict[str, str], timeout: float = 900.0
) -> list[dict[str, Any]]:
    """Run jobs in a fresh interpreter; returns one result dict per job."""
    cmd = [sys.executable, "-m", "benchmarks.training", "--worker", json.dumps(jobs)]
    try:
        proc = subprocess.run(
            cmd,
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [{**job, "ok": False, "error": f"timeout after {timeout:.0f} s"} for job in jobs]
    results = {
        (r["model"], r["impl"]): r
        for r in (
            json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")
        )
    }
    tail = proc.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
    return [
        results.get((job["model"], job["impl"]), {**job, "ok": False, "error": tail[0]})
        for job in jobs
    ]


# ---------------------------------------------------------------------------
# Orchestration (parent process)
# ---------------------------------------------------------------------------

LOSS_RTOL, LOSS_ATOL = 1e-3, 1e-5  # float32 runs of up to 1000 steps
FAULTS_PER_STEP = 0.5  # issue 12: "about 0" minor page faults per steady-state step
FIRST_CALL = 3.0  # issue 13: the recording (first compiled) step <= 3x a steady eager step


def losses_agree(a: float | None, b: float | None) -> bool | None:
    if a is None or b is None:
        return None
    return abs(a - b) <= LOSS_ATOL + LOSS_RTOL * abs(b)


def run_training(libs: Libs, cfg: Config, threads: int, progress: bool = True) -> list[Row]:
    """Run every model in every implementation, one subprocess per run, interleaved rounds."""
    impls = libs.available()
    if libs.micro_source == "microtorch":
        impls.append(COMPILED)
    modules = {TORCH: "torch", MICRO: libs.micro_source, COMPILED: libs.micro_source}
    env = subprocess_env(threads, cfg.scrub_openblas_env)
    specs = [MODELS[k] for k in cfg.models if cfg.filter in f"training {k} {MODELS[k].title}"]

    def job(spec: ModelSpec, impl: str) -> dict[str, Any]:
        return {
            "model": spec.key,
            "impl": impl,
            "module": modules.get(impl, ""),
            "budget": cfg.training_budget.get(spec.key, spec.budget),
            "threads": threads,
        }

    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    if cfg.one_process_per_impl:
        # Smoke mode: one worker per implementation, all at once (timings are not the point).
        with ThreadPoolExecutor(len(impls)) as pool:
            batches = pool.map(
                lambda impl: spawn_worker([job(spec, impl) for spec in specs], env), impls
            )
            for result in (r for batch in batches for r in batch):
                results.setdefault((result["model"], result["impl"]), []).append(result)
    else:
        for spec in specs:
            for r in range(cfg.training_rounds):
                for impl in impls[r % len(impls) :] + impls[: r % len(impls)]:
                    if progress:
                        print(
                            f"\r  training t={threads} model {spec.key} round {r + 1}/{cfg.training_rounds}"
                            f" {impl:<12}",
                            end="",
                            file=sys.stderr,
                            flush=True,
                        )
                    results.setdefault((spec.key, impl), []).extend(
                        spawn_worker([job(spec, impl)], env)
                    )
    if progress:
        print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)
    rows = [_training_row(spec, impls, results, threads, cfg) for spec in specs]
    if (libs.micro_source == "microtorch" and threads == 1 and rows
            and rows[0].name == BREAKDOWN_MODEL):
        rows[0].info["breakdown"] = run_breakdown(cfg.breakdown_steps, env)
    return rows


BREAKDOWN_MODEL = "a"


def run_breakdown(steps: int, env: dict[str, str], timeout: float = 600.0) -> dict[str, Any]:
    """Per-step breakdown of model a (benchmarks/breakdown.py), in a fresh interpreter."""
    cmd = [sys.executable, "-m", "benchmarks.breakdown", BREAKDOWN_MODEL, str(steps)]
    try:
        proc = subprocess.run(cmd, env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}


def _training_row(
    spec: ModelSpec,
    impls: list[str],
    results: dict[tuple[str, str], list[dict[str, Any]]],
    threads: int,
    cfg: Config,
) -> Row:
    rounds: dict[str, list[float]] = {}
    info: dict[str, Any] = {
        "final_loss": {},
        "peak_rss_mb": {},
        "faults_per_step": {},
        "rss_before_training_mb": {},
        "errors": {},
        "loss_agrees_with_numpy": {},
        "weights_loaded_via": {},
        "recording_per_eager_step": {},
    }
    steps = None
    for impl in impls:
        runs = results.get((spec.key, impl), [])
        failed = [r for r in runs if not r.get("ok")]
        if failed or not runs:
            info["errors"][impl] = failed[0]["error"] if failed else "no result"
            continue
        rounds[impl] = [r["time_per_step"] for r in runs]
        info["final_loss"][impl] = runs[0]["final_loss"]
        info["peak_rss_mb"][impl] = statistics.median(r["peak_rss_mb"] for r in runs)
        info["faults_per_step"][impl] = statistics.median(r["faults_per_step"] for r in runs)
        info["rss_before_training_mb"][impl] = statistics.median(
            r["rss_before_training_mb"] for r in runs
        )
        if "weights_loaded_via" in runs[0]:
            info["weights_loaded_via"][impl] = runs[0]["weights_loaded_via"]
        steps = runs[0]["steps"]
    for impl in rounds:
        if impl != NUMPY:
            info["loss_agrees_with_numpy"][impl] = losses_agree(
                info["final_loss"].get(impl), info["final_loss"].get(NUMPY)
            )
    if COMPILED in rounds:
        info["recording_per_eager_step"][COMPILED] = statistics.median(
            r["recording_per_eager_step"] for r in results[(spec.key, COMPILED)]
        )
    budget = cfg.training_budget.get(spec.key, spec.budget)
    torch_label = f"<={spec.torch_target:.2f}" if spec.torch_target != 1 else "<=1"
    return Row(
        group="training",
        name=spec.key,
        threads=threads,
        params={"model": spec.key, "net": spec.title, spec.unit: budget, "steps": steps},
        rounds=rounds,
        targets=[
            Target(MICRO, TORCH, spec.torch_target, torch_label),
            Target(MICRO, NUMPY, 1.0, "<=1"),
            Target(MICRO, NUMPY, 1.5, "<=1.5", metric="rss"),
            Target(MICRO, MICRO, FAULTS_PER_STEP, f"<={FAULTS_PER_STEP}",
                   metric="info:faults_per_step"),
            Target(COMPILED, NUMPY, spec.compiled_target, f"<={spec.compiled_target:g}"),
            Target(COMPILED, MICRO, FIRST_CALL, f"<={FIRST_CALL:g}",
                   metric="info:recording_per_eager_step"),
        ],
        info=info,
    )


def training_tables(rows: list[Row], libs: Libs) -> str:
    threads = rows[0].threads if rows else 0
    timing = timing_table(
        rows,
        libs,
        f"Training, time per step ({threads} thread(s))",
        ("model", "net", "steps"),
        extra=lambda r: "; ".join(f"{k} failed: {v[:60]}" for k, v in r.info["errors"].items()),
        extra_header="notes",
    )
    impls = [i for i in IMPLS if any(i in r.rounds for r in rows)]
    headers = ["model"] + [f"loss {libs.label(i)}" for i in impls] + ["agree"]
    headers += [f"RSS {libs.label(i)}" for i in impls] + ["mt/np RSS", "target"]
    headers += [f"faults/step {libs.label(i)}" for i in impls] + ["target"]
    body = []
    for row in rows:
        losses, rss = row.info["final_loss"], row.info["peak_rss_mb"]
        agree = row.info["loss_agrees_with_numpy"]
        flag = (
            "-"
            if not agree
            else (
                "ok"
                if all(agree.values())
                else "DIFF " + ",".join(k for k, v in agree.items() if not v)
            )
        )
        rss_target = next(t for t in row.targets if t.metric == "rss")
        faults_target = next(t for t in row.targets if t.metric == "info:faults_per_step")
        value = row.metric_ratio(rss_target)
        faults = row.info.get("faults_per_step", {})
        body.append(
            [row.name]
            + [f"{losses[i]:.6g}" if i in losses else "-" for i in impls]
            + [flag]
            + [f"{rss[i]:.0f} MB" if i in rss else "-" for i in impls]
            + [f"{value:.2f}" if value else "-", f"{rss_target.label} {row.verdict(rss_target)}"]
            + [f"{faults[i]:.2f}" if i in faults else "-" for i in impls]
            + [f"{faults_target.label} {row.verdict(faults_target)}"]
        )
    losses_table = render_table(
        headers, body,
        f"Training, final full-data loss, peak RSS and minor page faults per steady-state step "
        f"({threads} thread(s))",
    )
    parts = [timing, losses_table]
    parts += [breakdown_table(r.info["breakdown"]) for r in rows if "breakdown" in r.info]
    return "\n\n".join(parts)


if __name__ == "__main__":
    raise SystemExit(worker_main(sys.argv[1:]))
