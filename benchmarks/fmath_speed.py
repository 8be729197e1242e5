"""Speed of the hand-written transcendentals (_fmath.pxd) against libm, in C.

    python -m benchmarks.fmath_speed

Extracts the C block of src/microtorch/_kernels/_fmath.pxd, compiles a loop over 1e5
elements per function twice (the baseline x86-64 instruction set, and x86-64-v3 = AVX2,
the clone the kernels run on any CPU since 2013) with the build's flags, and prints the
best time per element of each function and of its libm counterpart.  The accuracy side
is tests/test_kernels_math.py; docs/kernels.md records both.  Linux/macOS with a C compiler.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

FMATH = Path(__file__).resolve().parent.parent / "src" / "microtorch" / "_kernels" / "_fmath.pxd"
CASES = [  # (label, C type, our expression, libm expression), v is the input
    ("exp", "float", "mt_expf(v)", "expf(v)"),
    ("tanh", "float", "mt_tanhf(v)", "tanhf(v)"),
    ("sigmoid", "float", "mt_sigmoidf(v)", "1.0f / (1.0f + expf(-v))"),
    ("log(1+e^-|x|)", "float", "mt_log1pexpf(v)", "log1pf(expf(-fabsf(v)))"),
    ("exp", "double", "mt_exp(v)", "exp(v)"),
    ("tanh", "double", "mt_tanh(v)", "tanh(v)"),
    ("sigmoid", "double", "mt_sigmoid(v)", "1.0 / (1.0 + exp(-v))"),
    ("log(1+e^-|x|)", "double", "mt_log1pexp(v)", "log1p(exp(-fabs(v)))"),
]
N = 100_000

HARNESS = """
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define N %(n)d
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
                          return t.tv_sec + t.tv_nsec * 1e-9; }
float xf[N], of[N]; double xd[N], od[N];
#define BENCH(ID, X, O, T, EXPR) { double best = 1e9;                                  \\
    for (int rep = 0; rep < 40; rep++) { double t0 = now();                             \\
        for (int i = 0; i < N; i++) { T v = X[i]; O[i] = EXPR; }                        \\
        double dt = now() - t0; if (dt < best) best = dt; }                             \\
    printf("%%d %%.3f\\n", ID, best * 1e9 / N); }
__attribute__((noinline)) static void run(void) {
%(cases)s
}
int main(void) { srand(1); for (int i = 0; i < N; i++) {
    xf[i] = (rand() / (float)RAND_MAX - 0.5f) * 20; xd[i] = xf[i]; } run(); return 0; }
"""


def c_source() -> str:
    block = FMATH.read_text().split('"""')[1].replace("\\\\", "\\")
    cases = []
    for i, (_, ctype, ours, libm) in enumerate(CASES):
        arrays = ("xf", "of") if ctype == "float" else ("xd", "od")
        cases.append(f"    BENCH({2 * i}, {arrays[0]}, {arrays[1]}, {ctype}, {ours});")
        cases.append(f"    BENCH({2 * i + 1}, {arrays[0]}, {arrays[1]}, {ctype}, {libm});")
    head = "#include <math.h>\n#include <stddef.h>\ntypedef ptrdiff_t Py_ssize_t;\n"
    return head + block + HARNESS % {"n": N, "cases": "\n".join(cases)}


def run(arch: str | None) -> dict[int, float] | None:
    cc = os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "fmath.c"), os.path.join(tmp, "fmath")
        Path(src).write_text(c_source())
        flags = ["-O3", "-fno-trapping-math", "-fno-math-errno", "-fopenmp-simd"]
        flags += [f"-march={arch}"] if arch else []
        built = subprocess.run([cc, *flags, src, "-o", exe, "-lm"], capture_output=True)
        if built.returncode != 0:
            return None
        out = subprocess.run([exe], capture_output=True, text=True).stdout
    return {int(k): float(v) for k, v in (line.split() for line in out.splitlines())}


def main() -> int:
    results = {"baseline": run(None), "x86-64-v3": run("x86-64-v3")}
    print(f"ns per element, best of 40 loops over {N} values in [-10, 10]")
    print(f"{'function':16} {'dtype':7}" + "".join(f"{arch + ' ours':>18}{'libm':>8}"
                                                    for arch in results))
    for i, (label, ctype, _, _) in enumerate(CASES):
        cells = ""
        for times in results.values():
            cells += (f"{times[2 * i]:18.2f}{times[2 * i + 1]:8.2f}" if times else f"{'-':>18}{'-':>8}")
        print(f"{label:16} {ctype:7}{cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
