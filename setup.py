"""Build the Cython kernels under src/microtorch/_kernels/.

Environment switches:
  MICROTORCH_CYTHON_DEBUG=1  bounds/initialized checks on, -O0 -g (the debug build)
  MICROTORCH_NO_OPENMP=1     force a serial build
  MICROTORCH_NATIVE=1        add -march=native (local benchmarking only)
  MICROTORCH_ANNOTATE=1      write Cython's annotated HTML next to each .pyx
"""
import glob
import os
import subprocess
import sys
import tempfile
import warnings

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("MICROTORCH_CYTHON_DEBUG", "0") not in ("", "0")
KERNELS = "src/microtorch/_kernels"
OMP_PROBE = "#include <omp.h>\nint main(void){int n=0;\n#pragma omp parallel reduction(+:n)\nn+=1;\nreturn n>0?0:1;}\n"


def _openmp_flags() -> list[str]:
    """Compile, link and run a tiny OpenMP program; return the flags that work, or []."""
    if os.environ.get("MICROTORCH_NO_OPENMP", "0") not in ("", "0"):
        return []
    cc = os.environ.get("CC", "cc")
    candidates = [["/openmp"]] if sys.platform == "win32" else [["-fopenmp"]]
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        exe = os.path.join(tmp, "probe")
        with open(src, "w") as f:
            f.write(OMP_PROBE)
        for flags in candidates:
            try:
                subprocess.run([cc, *flags, src, "-o", exe], check=True, capture_output=True)
                subprocess.run([exe], check=True, capture_output=True)
                return flags
            except (OSError, subprocess.CalledProcessError):
                continue
    warnings.warn("OpenMP not available: building microtorch kernels serially", stacklevel=1)
    return []


def _simd_only_flags() -> list[str]:
    """Without OpenMP, still honour `#pragma omp simd` (vectorised row sums) if the compiler can."""
    if sys.platform == "win32":
        return []
    cc = os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("int main(void){return 0;}\n")
        try:
            subprocess.run([cc, "-fopenmp-simd", "-c", src, "-o", os.path.join(tmp, "probe.o")],
                           check=True, capture_output=True)
            return ["-fopenmp-simd"]
        except (OSError, subprocess.CalledProcessError):
            return []


class BuildExt(build_ext):
    """Add OpenMP flags, probed once with the compiler that will build the extensions."""

    def build_extensions(self):
        omp = _openmp_flags() or _simd_only_flags()
        for ext in self.extensions:
            ext.extra_compile_args += omp
            ext.extra_link_args += omp
        super().build_extensions()


def extensions() -> list[Extension]:
    # -fno-trapping-math (unlike -ffast-math) keeps every NaN/inf result; it only lets gcc
    # if-convert the clamps in the branch-free exp so those loops vectorise.
    opt = ["-O0", "-g"] if DEBUG else ["-O3", "-fno-trapping-math", "-fno-math-errno"]
    if os.environ.get("MICROTORCH_NATIVE", "0") not in ("", "0"):
        opt.append("-march=native")
    exts = []
    for pyx in sorted(glob.glob(os.path.join(KERNELS, "*.pyx"))):
        name = "microtorch._kernels." + os.path.splitext(os.path.basename(pyx))[0]
        exts.append(Extension(name, [pyx], extra_compile_args=list(opt)))
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": DEBUG,
            "initializedcheck": DEBUG,
            "wraparound": False,
            "nonecheck": False,
            "cdivision": True,
            "cpow": True,
            "embedsignature": True,
        },
        annotate=os.environ.get("MICROTORCH_ANNOTATE", "0") not in ("", "0"),
        include_path=["src"],
        nthreads=os.cpu_count() or 1,
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
