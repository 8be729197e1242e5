"""No crashes: random calls of the public ops and of every kernel entry point end in a result
or a Python exception, never in a segfault, an abort or a hang.

The campaign itself is `tools/fuzz.py` (hypothesis draws the cases; a child process runs
them and prints each case before running it; the parent reports the last case of a child
that died or went silent). The default run makes 300 calls; a longer one:

    MICROTORCH_FUZZ_CALLS=10000 MICROTORCH_FUZZ_SEED=7 python -m pytest tests/test_fuzz.py
    python tools/fuzz.py --calls 10000 --seed 7          # same, with a printed summary

Every kernel entry point is also called with None, a list or a float for each array
argument, each call in its own forked process so that one segfault would not hide others.
"""
from __future__ import annotations

import importlib.util
import inspect
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import microtorch as torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC = os.path.dirname(os.path.dirname(os.path.abspath(torch.__file__)))  # the tested package


def _load_tool():
    spec = importlib.util.spec_from_file_location("microtorch_fuzz_tool",
                                                  os.path.join(ROOT, "tools", "fuzz.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fuzz = _load_tool()
import test_errors as E  # (tests/ is on sys.path: the kernel call table)

CALLS = int(os.environ.get("MICROTORCH_FUZZ_CALLS", "300"))
SEED = int(os.environ.get("MICROTORCH_FUZZ_SEED", "0"))


# ------------------------------------------------------------------------ the campaign

def test_fuzz_campaign():
    """CALLS random calls: no crash or hang."""
    summary = fuzz.campaign(calls=CALLS, seed=SEED, timeout=120)
    print("\n" + fuzz.format_summary(summary))
    new = [f for f in summary["failures"] if f["known"] is None]
    assert not new, "fuzzing found crashes or hangs:\n\n" + "\n\n".join(
        f"{f['kind']} ({f['how']}); reproduce with\n  {f['replay']}\n{f['stderr'][-1500:]}"
        for f in new)
    assert summary["calls"] == CALLS
    assert summary["ok"] > CALLS // 10, "almost every call failed: the generator is broken"


def test_campaign_reports_failures():
    """The parent notices a child that crashes or hangs, names the case it was running,
    and goes on with a new child for the remaining calls (faults injected on purpose)."""
    summary = fuzz.campaign(calls=8, seed=1, timeout=4, inject=["segv:3", "abort:1", "hang:2"])
    assert summary["calls"] == 8
    failures = summary["failures"]
    assert [(f["kind"], f["how"]) for f in failures] == [
        ("crash", "SIGSEGV"), ("crash", "SIGABRT"), ("hang", "no output for 4 s")]
    for failure in failures:
        case = json.loads(failure["case"])
        assert case["target"] and "family" in case
        assert failure["replay"] == f"python tools/fuzz.py --replay '{failure['case']}'"
        assert failure["known"] is None
    assert "Segmentation fault" in failures[0]["stderr"]        # faulthandler's traceback
    assert summary["new_failures"] == 3


def test_replay_runs_one_case(capsys):
    case = {"target": "torch.add", "family": "binary", "args": [
        {"tensor": {"shape": [2, 3], "dtype": "float32", "fill": "specials",
                    "layout": "strided", "seed": 1}, "rg": True},
        {"tensor": {"shape": [3], "dtype": "float32", "fill": "nan", "layout": "readonly",
                    "seed": 2}}], "backward": True}
    assert fuzz.main(["--replay", json.dumps(case)]) == 0
    assert capsys.readouterr().out.strip() == "target torch.add: ok"


def test_array_specs_are_what_they_say():
    """Layouts and fills of the generator (what the campaign claims to cover)."""
    def arr(layout, dtype="float32", fill="normal", shape=(3, 4)):
        return fuzz.build_array({"shape": list(shape), "dtype": dtype, "fill": fill,
                                 "layout": layout, "seed": 0})
    assert arr("c").flags.c_contiguous
    assert arr("f").flags.f_contiguous and not arr("f").flags.c_contiguous
    assert not arr("strided").flags.c_contiguous and not arr("strided").flags.f_contiguous
    assert arr("reversed").strides[0] < 0
    assert not arr("readonly").flags.writeable
    assert arr("broadcast").strides[0] == 0
    assert not arr("unaligned").flags.aligned
    assert np.isnan(arr("c", fill="nan")).all()
    assert np.isposinf(arr("c", fill="posinf")).all()
    assert arr("c", dtype="object").dtype == object
    assert arr("c", shape=(0, 3)).size == 0
    np.testing.assert_array_equal(arr("strided", fill="specials"), arr("c", fill="specials"))


# --------------------------------- kernels given something other than an array (forked)

SCAN = r"""
import json, os, signal, sys
sys.modules["torch"] = None            # test_errors imports PyTorch when it can: not here
sys.path[:0] = sys.argv[1:3]
import inspect
import numpy as np
import test_errors as E

BAD = {"None": None, "list": [1.0, 2.0], "float": 1.0}
results = {}
for kernel in E.KERNELS:
    fn, args = E.kernel_call(kernel)
    names = list(inspect.signature(fn).parameters)
    for pos, arg in enumerate(args):
        if not isinstance(arg, np.ndarray):
            continue
        for kind, bad in BAD.items():
            r, w = os.pipe()
            pid = os.fork()          # small arrays only: no OpenMP region ever runs here
            if pid == 0:
                os.close(r)
                try:
                    fn(*args[:pos], bad, *args[pos + 1:])
                    out = "returned normally"
                except Exception as exc:
                    out = f"{type(exc).__name__}: {exc}"
                os.write(w, out[:400].encode())
                os._exit(0)
            os.close(w)
            _, status = os.waitpid(pid, 0)
            with os.fdopen(r, "rb") as f:
                text = f.read().decode()
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                text = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
            results[f"{kernel}:{names[pos]}:{kind}"] = text
print(json.dumps(results))
"""


def _kernel_array_args():
    """(kernel, argument name) of every array argument of the kernels' valid calls."""
    out = []
    for kernel in E.KERNELS:
        fn, args = E.kernel_call(kernel)
        names = list(inspect.signature(fn).parameters)
        out += [(kernel, names[i]) for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    return out


OPTIONAL_CONV_ARGS = {"conv2d_forward": {"bias"},
                      "conv2d_backward": {"grad_x", "grad_w", "grad_b"}}
"""None-able arguments of the convolution kernels (not in tools/fuzz.py's random campaign)."""


def _optional(kernel: str, arg: str) -> bool:
    """Whether None is a valid value of the argument (tools/fuzz.py KERNEL_SIGS '?')."""
    if kernel not in fuzz.KERNEL_SIGS:
        return arg in OPTIONAL_CONV_ARGS.get(kernel, ())
    fn, _ = E.kernel_call(kernel)
    names = list(inspect.signature(fn).parameters)
    return fuzz.KERNEL_SIGS[kernel][names.index(arg)].endswith("?")


def _scan_params():
    params = []
    for kernel, arg in _kernel_array_args():
        for kind in ("None", "list", "float"):
            params.append(pytest.param(kernel, arg, kind, id=f"{kernel}-{arg}-{kind}"))
    return params


@pytest.fixture(scope="module")
def non_array_scan():
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", SCAN, HERE, SRC], capture_output=True,
                          text=True, timeout=300, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("kernel, arg, kind", _scan_params())
def test_kernel_non_array_argument(non_array_scan, kernel, arg, kind):
    """None / a list / a float where a kernel needs an array: TypeError naming the kernel
    (None is fine where the argument is optional)."""
    outcome = non_array_scan[f"{kernel}:{arg}:{kind}"]
    if kind == "None" and _optional(kernel, arg):
        assert outcome == "returned normally" or outcome.startswith("TypeError"), outcome
    else:
        assert outcome.startswith(f"TypeError: {kernel}: "), outcome


# ----------------------------------------------------------------- other fuzz findings

@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "remainder"])
def test_number_as_first_operand(op):
    t = torch.tensor([1.0, 2.0])
    got = getattr(torch, op)(3.0, t)
    want = {"add": [4.0, 5.0], "sub": [2.0, 1.0], "mul": [3.0, 6.0], "div": [3.0, 1.5],
            "remainder": [0.0, 1.0]}[op]
    np.testing.assert_allclose(got.numpy(), want)


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "std", "var", "logsumexp"])
def test_reduce_zero_dim_tensor_over_dim_0(op):
    x = torch.tensor(1.5)
    got = getattr(torch, op)(x, dim=0)
    assert got.shape == ()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")           # numpy's mean of nothing
@pytest.mark.parametrize("shape, dim", [((1,), None), ((0,), None), ((2, 0), 1)])
def test_var_backward_with_too_few_samples(shape, dim):
    x = torch.ones(*shape, requires_grad=True)
    v = torch.var(x) if dim is None else torch.var(x, dim=dim)
    v.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_repeat_with_a_huge_count_raises_instead_of_crashing():
    """Found by tools/fuzz.py (seed 23): numpy's tile overflowed its shape and segfaulted."""
    t = torch.ones(2, 2, 2, 3, dtype=torch.float16, requires_grad=True)
    with pytest.raises(RuntimeError, match="more than can be stored"):
        t.repeat(2, 4611686018427387904, 2, 2)
    with pytest.raises(RuntimeError, match="negative dimension"):
        t.repeat(2, 2, -2, -2)
