"""Which kernel loops the compiler vectorised (the report recorded in docs/kernels.md).

    python -m benchmarks.vector_report          # after `python setup.py build_ext --inplace`

Two views:

1. Loops written in Cython: gcc's ``-fopt-info-vec-optimized`` report for each module's
   generated C (compiled again with the build's flags), mapped back to the .pyx/.pxd line
   through the source markers Cython writes into the C file.
2. The multiversioned C spans (``MT_MULTIVERSION`` in _fmath.pxd and the modules): for each
   clone in the built .so (baseline x86-64, x86-64-v3 = AVX2, x86-64-v4 = AVX-512), the
   widest vector register its packed arithmetic uses, read from the disassembly.

Linux and gcc only (objdump and nm from binutils).
"""

from __future__ import annotations

import collections
import glob
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

KERNELS = Path(__file__).resolve().parent.parent / "src" / "microtorch" / "_kernels"
MODULES = ("_elementwise", "_losses", "_softmax", "_optim", "_matmul")
FLAGS = ["-O3", "-fno-trapping-math", "-fno-math-errno", "-fopenmp", "-fPIC"]
MARKER = re.compile(r'/\* "([^"]+\.(?:pyx|pxd))":(\d+)')


def cython_loops(module: str) -> list[str]:
    """'file:line  widths' for every loop gcc vectorised in a module's Cython code."""
    c_file = KERNELS / f"{module}.c"
    source_at: dict[int, tuple[str, int]] = {}
    current = None
    for number, line in enumerate(c_file.read_text().splitlines(), 1):
        found = MARKER.search(line)
        if found:
            current = (found.group(1).split("/")[-1], int(found.group(2)))
        if current:
            source_at[number] = current
    include = "-I" + sysconfig.get_paths()["include"]
    report = subprocess.run(["gcc", *FLAGS, include, "-c", str(c_file), "-o", "/dev/null",
                             "-fopt-info-vec-optimized"], capture_output=True, text=True).stderr
    widths: dict[tuple[str, int], set[str]] = collections.defaultdict(set)
    for line in report.splitlines():
        match = re.match(rf"{re.escape(str(c_file))}:(\d+):\d+: optimized: loop vectorized "
                         r"using (\d+) byte vectors", line)
        if match and int(match.group(1)) in source_at:
            widths[source_at[int(match.group(1))]].add(f"{int(match.group(2)) * 8}-bit")
    return [f"{f}:{n}  {', '.join(sorted(w, key=lambda s: int(s.split('-')[0])))}"
            for (f, n), w in sorted(widths.items())]


def clones() -> list[str]:
    """'module function baseline v3 v4' rows: the widest register of each clone's packed
    arithmetic ('scalar' if it has none)."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for so in sorted(glob.glob(str(KERNELS / "_*.so"))):
        module = Path(so).name.split(".")[0]
        symbols = subprocess.run(["nm", "--defined-only", so], capture_output=True,
                                 text=True).stdout
        names = sorted({line.split()[-1] for line in symbols.splitlines()
                        if re.search(r" t mt_\w+\.(default|arch_x86_64_v[34])$", line)})
        for name in names:
            base, clone = name.rsplit(".", 1)
            code = subprocess.run(["objdump", "-d", "--no-show-raw-insn",
                                   f"--disassemble={name}", so],
                                  capture_output=True, text=True).stdout
            packed = {reg for op, reg in re.findall(r"\s(v?\w+p[sd])\s+[^\n]*%(xmm|ymm|zmm)", code)
                      if "xorp" not in op}
            widest = next((r for r in ("zmm", "ymm", "xmm") if r in packed), "scalar")
            rows.setdefault((module, base), {})[clone] = {
                "zmm": "512-bit", "ymm": "256-bit", "xmm": "128-bit"}.get(widest, widest)
    return [f"{m:13} {f:26} {c.get('default', '-'):8} {c.get('arch_x86_64_v3', '-'):8} "
            f"{c.get('arch_x86_64_v4', '-')}" for (m, f), c in sorted(rows.items())]


def main() -> int:
    if not sys.platform.startswith("linux"):
        print("vector_report needs Linux, gcc and binutils")
        return 1
    for module in MODULES:
        print(f"== {module}: loops vectorised in Cython code (source line, vector widths)")
        print("\n".join(cython_loops(module)) or "(none)")
    print("\n== multiversioned C spans: module, function, baseline / AVX2 / AVX-512 clone")
    print("\n".join(clones()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
