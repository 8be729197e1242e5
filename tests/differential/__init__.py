"""Differential testing: random programs run on microtorch and on PyTorch, compared step by step.

A program is 1-6 ops (functions, methods, operators, in-place ops, indexing, nn.functional)
on random inputs (0-d, size-0, broadcast, non-contiguous; float32/float64/int64/bool and Python
scalars; negatives, zeros, +-inf, NaN, 1e38). Each program is a list of Python source lines,
so any difference comes with a reproducer that runs unchanged on both libraries.

    generate.py    draws programs (hypothesis) from the op table
    ops.py         the op table: every registry op in its function, method, operator,
                   in-place and indexing forms, with keyword variants
    execute.py     runs a program on both libraries and compares every step
    classes.py     the allow-list (PyTorch is wrong or not reproducible, each with its
                   reason) and KNOWN_OPEN (differences still to fix: empty)
    campaign.py    many programs: counts per difference class, reproducers, the report
    __main__.py    `python -m tests.differential --thorough --report /tmp/diff_report.md`
                   (`--only GLOB` restricts the programs to some ops, `--seed N`)

The pytest entry is test_differential.py (a fast profile in CI; MICROTORCH_DIFFERENTIAL=thorough
for 10,000 programs).
"""
import os
import sys

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS not in sys.path:        # `registry` (tests/registry.py) when run as `python -m`
    sys.path.insert(0, _TESTS)
