"""Command line: run the benchmark groups, print tables, write JSON (and optionally a PNG).

    python -m benchmarks --quick

See benchmarks/README.md for the options and the meaning of every column.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.config import Config, preset
from benchmarks.harness import (
    REPO_ROOT,
    RERUN_VAR,
    SCRUBBED_ENV_VARS,
    Libs,
    Row,
    environment_info,
    load_libs,
    pinned_threads,
    subprocess_env,
    summarize_targets,
    write_json,
)
from benchmarks.startup import measure_startup
from benchmarks.targets import summary_lines

GROUPS = ("kernels", "overhead", "training", "conv")
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def _group_runner(group: str) -> tuple[Callable[..., list[Row]], Callable[[list[Row], Libs], str]]:
    if group == "kernels":
        from benchmarks.kernels import kernels_table, run_kernels

        return run_kernels, kernels_table
    if group == "overhead":
        from benchmarks.overhead import overhead_table, run_overhead

        return run_overhead, overhead_table
    if group == "conv":
        from benchmarks.conv import conv_table, run_conv

        return run_conv, conv_table
    from benchmarks.training import run_training, training_tables

    return run_training, training_tables


def header_lines(env: dict[str, Any], libs: Libs, cfg: Config, threads: Sequence[int]) -> list[str]:
    lines = [
        f"microtorch benchmarks, mode={cfg.mode}, threads={','.join(map(str, threads))}",
        f"python {env['python']}  numpy {env['numpy']}  torch {env['torch'] or '-'}  "
        f"microtorch {env['microtorch'] or '-'}"
        + (" (torch standing in)" if libs.micro_source == "torch" else ""),
        f"cpu: {env['cpu']} x{env['cpu_count']}  load average: "
        + (" ".join(f"{v:.2f}" for v in env["loadavg"]) if env["loadavg"] else "-"),
    ]
    for info in env["blas"]:
        lines.append(
            f"  {info.get('user_api')}: {info.get('internal_api')} {info.get('version') or ''} "
            f"threads={info.get('num_threads')} {info.get('architecture') or ''} "
            f"({os.path.basename(str(info.get('filepath', '')))})"
        )
    inherited = {k: v for k, v in env["env"].items() if v is not None}
    if inherited:
        lines.append("env: " + " ".join(f"{k}={v}" for k, v in inherited.items()))
    if env.get("scrubbed_by_rerun"):
        lines.append(
            f"NOTE: the suite was started with {env['scrubbed_by_rerun']}; it re-ran itself without "
            "them, so OpenBLAS chose its kernels for this CPU (the BLAS lines above show which)."
        )
    scrubbed = [k for k in SCRUBBED_ENV_VARS if os.environ.get(k) is not None]
    if scrubbed:
        lines.append(
            f"WARNING: {', '.join(scrubbed)} set in this process: its BLAS kernels are forced "
            "(a smoke or in-process run leaves the environment alone; `python -m benchmarks` "
            "re-runs itself without them)."
        )
    if env["loadavg"] and env["loadavg"][0] > 0.5 * (env["cpu_count"] or 1):
        lines.append("WARNING: the machine is busy (load average); timings may be disturbed.")
    lines += [f"NOTE: {note}" for note in libs.notes]
    lines.append(
        "Times are medians over interleaved rounds; ratios are medians of per-round ratios "
        "[min-max]; a ratio below 1 means microtorch (mt) is faster."
    )
    return lines


def run_suite(
    cfg: Config,
    groups: Sequence[str] = GROUPS,
    threads: Sequence[int] = (1, 2),
    libs: Libs | None = None,
    echo: Callable[[str], None] = print,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the selected groups at each thread count; print tables; return the JSON payload."""
    libs = libs or load_libs()
    gc.collect()
    gc.freeze()  # keep the imported libraries' objects out of every later collection
    started = time.time()
    env = environment_info(libs)
    for line in header_lines(env, libs, cfg, threads):
        echo(line)
    rows: list[Row] = []
    durations: dict[str, float] = {}
    try:
        for n in threads:
            with pinned_threads(n, libs):
                for group in groups:
                    run, table = _group_runner(group)
                    group_start = time.perf_counter()
                    group_rows = run(libs, cfg, n, progress=progress)
                    rows += group_rows
                    elapsed = time.perf_counter() - group_start
                    durations[f"{group} t{n}"] = round(elapsed, 1)
                    echo("")
                    echo(table(group_rows, libs))
                    echo(f"({group}, {n} thread(s): {elapsed:.0f} s)")
    finally:
        gc.unfreeze()
    startup = None
    if libs.micro_source == "microtorch" and cfg.startup_runs:
        startup = measure_startup(subprocess_env(1, cfg.scrub_openblas_env), cfg.startup_runs)
    echo("")
    for line in summary_lines(rows, startup):
        echo(line)
    summary = {g: summarize_targets([r for r in rows if r.group == g]) for g in groups}
    echo("")
    echo(
        "Targets: "
        + "; ".join(
            f"{g} {c['PASS']} PASS / {c['MISS']} MISS / {c['n/a']} n/a" for g, c in summary.items()
        )
    )
    return {
        "meta": {
            "mode": cfg.mode,
            "groups": list(groups),
            "threads": list(threads),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
            "duration_s": round(time.time() - started, 1),
            "group_durations_s": durations,
            "startup": startup,
            "argv": sys.argv,
            "environment": env,
            "loadavg_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "notes": libs.notes,
            "config": asdict(cfg),
        },
        "summary": summary,
        "rows": [row.to_json() for row in rows],
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick", action="store_true", help="smaller sizes and fewer rounds (~2 min)"
    )
    mode.add_argument(
        "--smoke", action="store_true", help="tiny sizes, 1 round (seconds; for tests)"
    )
    parser.add_argument(
        "--threads", default="1,2", help="comma-separated thread counts (default 1,2)"
    )
    parser.add_argument(
        "--groups", default=",".join(GROUPS), help="subset of kernels,overhead,training,conv"
    )
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})"
    )
    parser.add_argument(
        "--plot", type=Path, default=None, help="write a PNG bar chart of the ratios"
    )
    parser.add_argument(
        "--lib",
        choices=("microtorch", "torch"),
        default=os.environ.get("MICROTORCH_BENCH_LIB", "microtorch"),
        help="what fills the microtorch column; 'torch' is a development aid "
        "(env MICROTORCH_BENCH_LIB)",
    )
    parser.add_argument("--no-torch", action="store_true", help="do not benchmark PyTorch")
    parser.add_argument("--filter", default="", help="only cases whose label contains this text")
    parser.add_argument("--models", default=None, help="training models to run, e.g. a,b")
    parser.add_argument("--rounds", type=int, default=None, help="override rounds for every group")
    return parser.parse_args(argv)


def rerun_without_blas_overrides(argv: Sequence[str]) -> None:
    """Replace this process by the same command without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE.

    OpenBLAS reads them once, when it loads, and they force a kernel that may not be the
    best one for this CPU; so a measuring run must start without them.  The values seen
    are passed on (RERUN_VAR) for the report.  Returns only when neither is set.
    """
    found = {k: os.environ[k] for k in SCRUBBED_ENV_VARS if k in os.environ}
    if not found:
        return
    env = {k: v for k, v in os.environ.items() if k not in found}
    env[RERUN_VAR] = " ".join(f"{k}={v}" for k, v in found.items())
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + env.get("PYTHONPATH", "").split(os.pathsep))
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks", *argv], env)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.smoke:  # smoke runs (tests) leave the environment alone
        rerun_without_blas_overrides(sys.argv[1:] if argv is None else list(argv))
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    groups = [g.strip() for g in args.groups.split(",") if g.strip()]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise SystemExit(
            f"unknown group(s): {', '.join(sorted(unknown))}; choose from {', '.join(GROUPS)}"
        )
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    cfg = preset(
        mode,
        filter=args.filter,
        models=tuple(m.strip() for m in args.models.split(",")) if args.models else None,
        kernel_rounds=args.rounds,
        overhead_rounds=args.rounds,
        training_rounds=args.rounds,
    )
    libs = load_libs(args.lib, use_torch=not args.no_torch)
    payload = run_suite(cfg, groups, threads, libs, progress=sys.stderr.isatty())
    write_json(args.json, payload)
    print(f"\nwrote {args.json}")
    if args.plot:
        from benchmarks.plot import plot_ratios

        if plot_ratios(payload, args.plot, libs):
            print(f"wrote {args.plot}")
        else:
            print("matplotlib not installed: no plot written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
