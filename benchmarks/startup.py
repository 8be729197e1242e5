"""Import time of microtorch (and of numpy, for scale), each in fresh interpreters.

"Cold" here means a fresh process (nothing imported yet); the files themselves are in the
OS cache after the first run, as they are for a user who runs a script twice.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from typing import Any

from benchmarks.harness import REPO_ROOT

IMPORT_LIMIT_S = 0.35  # issue 12: `import microtorch` <= 0.35 s
PROBE = (
    "import time, sys; t = time.perf_counter(); import {module}; "
    "print(time.perf_counter() - t, len(sys.modules))"
)


def import_seconds(module: str, runs: int, env: dict[str, str]) -> dict[str, Any]:
    """Median wall time of `import module` over `runs` fresh interpreters, and how many
    modules that import loaded (the interpreter's own start-up included)."""
    times, modules = [], 0
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], env=env,
                              cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
        seconds, count = proc.stdout.split()
        times.append(float(seconds))
        modules = int(count)
    return {"seconds": statistics.median(times), "runs": runs, "modules": modules}


def measure_startup(env: dict[str, str], runs: int) -> dict[str, Any]:
    return {module: import_seconds(module, runs, env) for module in ("numpy", "microtorch")}
