"""Random programs agree with PyTorch 2.13 (see tests/differential/__init__.py).

The fast profile (CI) runs 500 programs from a fixed seed; the thorough one 10,000 and
prints the counts per difference class:

    MICROTORCH_DIFFERENTIAL=thorough python -m pytest -p no:cacheprovider tests/differential
    MICROTORCH_DIFFERENTIAL=2000 MICROTORCH_DIFFERENTIAL_SEED=7 python -m pytest ...

A difference of a class listed in neither classes.ALLOWED nor classes.KNOWN_OPEN fails
the test; hypothesis shrinks the program and the failure shows a reproducer.
"""
from __future__ import annotations

import os
from collections import Counter

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from registry import OPS

import microtorch as mt

from . import classes
from .campaign import all_entries, libraries, run_program
from .execute import HEADER, Executor, Step, Value, compare
from .ops import ENTRIES, registry_entries

PROFILES = {"fast": 500, "thorough": 10_000}
_profile = os.environ.get("MICROTORCH_DIFFERENTIAL", "fast")
PROGRAMS = PROFILES[_profile] if _profile in PROFILES else int(_profile)
SEED = int(os.environ.get("MICROTORCH_DIFFERENTIAL_SEED", "0"))


def test_programs_agree_with_pytorch(capsys):
    lib_torch, lib_mt = libraries()
    entries = all_entries()
    counts: Counter = Counter()

    @settings(max_examples=PROGRAMS, phases=[Phase.generate, Phase.shrink], database=None,
              deadline=None, suppress_health_check=list(HealthCheck), print_blob=False)
    @seed(SEED)
    @given(data=st.data())
    def programs(data):
        d = run_program(data, lib_torch, lib_mt, entries)
        if d is None:
            return
        if classes.status(d.key) == "new":
            raise AssertionError(
                f"a new difference from PyTorch: {' :: '.join(d.key)}\n"
                "(fix it, or list its class in tests/differential/classes.py; all classes:\n"
                " python -m tests.differential --programs 10000 --report /tmp/diff_report.md)"
                f"\n\n{d.reproducer()}")
        counts[d.key] += 1

    programs()
    if _profile != "fast":
        with capsys.disabled():
            print(f"\n{PROGRAMS} programs; differences per class (all allowed or known open):")
            for key, n in counts.most_common():
                print(f"  {n:5d}  {classes.status(key):7s}  {' :: '.join(key)}")


def test_every_registry_op_is_generated():
    covered = {c for e in ENTRIES + registry_entries(OPS) for c in e.covers}
    missing = sorted({op.id for op in OPS if op.id not in covered and op.api not in covered})
    assert not missing, f"registry ops the differential tester never calls: {missing}"


def test_every_listed_class_has_a_reason():
    for p in classes.ALLOWED + classes.KNOWN_OPEN:
        assert p.reason.strip(), f"no reason for {p}"
    assert classes.status(("no such op", "value", "f32", "nd")) == "new"


# ---- the comparison itself can fail -------------------------------------------------

@pytest.mark.parametrize("a, b, kind", [
    (lambda l: l.tensor([1.0, 2.0]), lambda l: l.tensor([1.0, 2.5]), "value"),
    (lambda l: l.tensor([1.0, 2.0]), lambda l: l.tensor([1.0, 2.0], dtype=l.float64), "dtype"),
    (lambda l: l.tensor([1.0, 2.0]), lambda l: l.tensor([[1.0, 2.0]]), "shape"),
    (lambda l: l.tensor([1, 2]), lambda l: l.tensor([1, 3]), "value"),
    (lambda l: l.tensor([np.nan, 1.0]), lambda l: l.tensor([1.0, 1.0]), "value"),
    (lambda l: l.tensor([np.inf]), lambda l: l.tensor([3e38]), "value"),
    (lambda l: l.ones(2, requires_grad=True), lambda l: l.ones(2), "requires_grad"),
    (lambda l: l.ones(2, requires_grad=True) * 1, lambda l: l.ones(2, requires_grad=True) + 0,
     "grad_fn"),
    (lambda l: l.tensor([np.nan, 1.0]), lambda l: l.tensor([np.nan, 1.0]), None),
    (lambda l: l.tensor([1.0, 2.0]), lambda l: l.tensor([1.0, 2.0 + 1e-6]), None),
])
def test_compare_finds_differences(a, b, kind):
    got = compare(a(mt), b(torch), torch)
    assert (got[0] if got else None) == kind


def test_a_planted_difference_is_found_and_reproduced():
    """A step on which the libraries differ (sum of a bool tensor: int64 in both, but here
    the program asks microtorch for something else) gives a reproducer that runs."""
    ex = Executor(torch, mt)
    ex.m.ns["torch"] = _Shim(mt)          # microtorch whose `exp` is off by one
    d = ex.run(Step("exp", "v0 = torch.exp(x0)", [], ["v0"], False,
                    ["x0 = torch.tensor([0.0, 1.0], dtype=torch.float64)"]))
    assert d is not None and d.kind == "value"
    text = d.reproducer()
    assert text.startswith(HEADER)
    namespace: dict = {}
    exec(compile(text, "<reproducer>", "exec"), namespace)     # runs on PyTorch as printed


@pytest.mark.parametrize("value, kind", [("1e+38", "value-extreme"), ("inf", "value-extreme"),
                                         ("1e+20", "value")])
def test_differences_from_extreme_operands_are_their_own_kind(value, kind):
    """A value difference of a step whose operand holds inf, NaN or |x| >= 1e30 is classed
    `value-extreme` (ALLOWED only for some accumulating ops), any other stays `value`."""
    ex = Executor(torch, mt)
    ex.m.ns["torch"] = _Shim(mt)
    d = ex.run(Step("exp", "v0 = torch.exp(x0)", [Value("x0", (2,), "float64")], ["v0"], False,
                    [f"x0 = torch.tensor([0.0, {value}], dtype=torch.float64)"]))
    assert d is not None and d.kind == kind


class _Shim:
    def __init__(self, lib):
        self._lib = lib

    def __getattr__(self, name):
        return getattr(self._lib, name)

    def exp(self, x):
        return self._lib.exp(x) + 1
