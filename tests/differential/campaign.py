"""Many programs: run them, count differences per class, shrink one reproducer per class.

    summary = campaign(programs=1000, seed=0)
    print(format_counts(summary))
    write_report(summary, "/tmp/diff_report.md")
"""
from __future__ import annotations

import importlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from . import classes
from .execute import Difference, Executor, Step
from .generate import Builder
from .ops import ENTRIES, Entry, registry_entries

MAX_OPS = 6


def libraries():
    """(torch, microtorch); raises ImportError without torch."""
    return importlib.import_module("torch"), importlib.import_module("microtorch")


def all_entries(only: tuple = ()) -> list[Entry]:
    """The op table plus generic entries for registry ops it does not name; with `only`
    (shell-style globs), just the entries whose label matches one of them."""
    from registry import OPS

    entries = ENTRIES + registry_entries(OPS)
    if only:
        entries = [e for e in entries if any(fnmatchcase(e.label, g) for g in only)]
        if not entries:
            raise ValueError(f"no op entry matches {only}")
    return entries


def run_program(data, torch, mt, entries: list[Entry], max_ops: int = MAX_OPS):
    """Draw and run one program of 1..max_ops steps; its first Difference or None."""
    ex = Executor(torch, mt)
    n = data.draw(st.integers(1, max_ops), label="ops")
    first = None
    for _ in range(n):
        entry = data.draw(st.sampled_from(entries), label="op")
        step = entry.build(Builder(data, ex))
        if first is None:
            first = ex.run(step)
            if first:
                first.steps = list(ex.steps)
        else:                   # draw the rest as if nothing differed: the programs of a
            ex.run_torch(step)  # seed do not depend on microtorch's behaviour
    if first is None:
        first = ex.finish()
        if first:
            first.steps = list(ex.steps)
    return first


def replay(steps: list[Step], final: bool, torch, mt) -> Difference | None:
    ex = Executor(torch, mt)
    for s in steps:
        d = ex.run(s)
        if d:
            d.steps = list(steps)
            return d
    d = ex.finish() if final else None
    if d:
        d.steps = list(steps)
    return d


def _defines(step: Step) -> set[str]:
    return set(step.outputs) | {line.split(" = ", 1)[0] for line in step.pre}


def _uses(steps: list[Step], names: set[str]) -> bool:
    text = "\n".join(line for s in steps for line in s.pre + [s.line])
    return any(re.search(rf"\b{re.escape(n)}\b", text) for n in names)


def _without_grad(line: str) -> str:
    return line.replace(", requires_grad=True)", ")").replace(".requires_grad_()", "")


def _candidates(steps: list[Step], final: bool):
    """Smaller programs: one op removed (its inputs kept), or one unused input removed,
    or one input no longer requiring grad."""
    for i in range(len(steps) - 1, -1, -1):
        if (i == len(steps) - 1 and not final) or _uses(steps[i + 1:], set(steps[i].outputs)):
            continue
        rest = [replace(s) for s in steps[i + 1:]]
        if rest:
            rest[0] = replace(rest[0], pre=steps[i].pre + rest[0].pre)
        yield steps[:i] + rest
    for i, s in enumerate(steps):
        for j, line in enumerate(s.pre):
            name = line.split(" = ", 1)[0]
            later = [replace(s, pre=s.pre[j + 1:])] + steps[i + 1:]
            if not _uses(later, {name}):
                yield steps[:i] + [replace(s, pre=s.pre[:j] + s.pre[j + 1:])] + steps[i + 1:]
            elif _without_grad(line) != line:
                pre = s.pre[:j] + [_without_grad(line)] + s.pre[j + 1:]
                yield steps[:i] + [replace(s, pre=pre)] + steps[i + 1:]


def shrink(diff: Difference, torch, mt, budget: int = 60) -> Difference:
    """The smallest program found (greedily, in at most `budget` runs) that shows the same
    difference class."""
    final = diff.kind.startswith("final-")
    best = diff
    changed = True
    while changed and budget > 0:
        changed = False
        for cand in _candidates(best.steps, final):
            budget -= 1
            d = replay(cand, final, torch, mt)
            if d is not None and d.key == diff.key:
                best, changed = d, True
                break
            if budget <= 0:
                break
    return best


@dataclass
class Summary:
    programs: int = 0
    differing: int = 0
    seconds: float = 0.0
    counts: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)       # class -> shortest Difference

    def by_status(self, which: str) -> dict:
        return {k: n for k, n in self.counts.items() if classes.status(k) == which}


def campaign(programs: int, seed_value: int = 0, max_ops: int = MAX_OPS,
             on_difference=None, only: tuple = ()) -> Summary:
    """Run `programs` random programs (hypothesis generation only, no shrinking), drawn
    from the entries matching `only` (all when empty)."""
    torch, mt = libraries()
    entries = all_entries(only)
    summary = Summary()
    start = time.perf_counter()

    @settings(max_examples=programs, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @seed(seed_value)
    @given(data=st.data())
    def body(data):
        d = run_program(data, torch, mt, entries, max_ops)
        summary.programs += 1
        if d is None:
            return
        summary.differing += 1
        summary.counts[d.key] += 1
        best = summary.examples.get(d.key)
        if best is None or len(d.lines) < len(best.lines):
            summary.examples[d.key] = d
        if on_difference is not None:
            on_difference(d)

    body()
    summary.seconds = time.perf_counter() - start
    return summary


def class_label(key: tuple) -> str:
    return " :: ".join(key)


def format_counts(summary: Summary) -> str:
    """Counts per difference class (new ones first), one line each."""
    lines = [f"{summary.programs} programs in {summary.seconds:.1f} s; {summary.differing} differ "
             f"from PyTorch in {len(summary.counts)} classes "
             f"({len(summary.by_status('new'))} new, {len(summary.by_status('known'))} known "
             f"open, {len(summary.by_status('allowed'))} allowed)"]
    order = {"new": 0, "known": 1, "allowed": 2}
    for key, n in sorted(summary.counts.items(),
                         key=lambda kv: (order[classes.status(kv[0])], -kv[1], kv[0])):
        lines.append(f"  {n:5d}  {classes.status(key):7s}  {class_label(key)}")
    return "\n".join(lines)


def unused_patterns(summary: Summary) -> list:
    """KNOWN_OPEN entries that matched no difference (fixed, or not reached)."""
    return [p for p in classes.KNOWN_OPEN if not any(p.matches(k) for k in summary.counts)]


def write_report(summary: Summary, path: str, shrink_examples: bool = True) -> None:
    """A markdown report: counts per class and one (shrunk) reproducer per class."""
    torch, mt = libraries()
    out = ["# Differential test report: microtorch vs PyTorch " + torch.__version__, "",
           format_counts(summary).splitlines()[0], ""]
    by_op = Counter()
    for key, n in summary.counts.items():
        by_op[key[0]] += n
    out += ["## Programs per op (first difference)", "", "| op | programs |", "|---|---|"]
    out += [f"| `{op}` | {n} |" for op, n in by_op.most_common()]
    out += ["", "## Classes", "",
            "| status | count | op | kind | dtypes | shapes |", "|---|---|---|---|---|---|"]
    order = {"new": 0, "known": 1, "allowed": 2}
    keys = sorted(summary.counts, key=lambda k: (order[classes.status(k)], k[0], -summary.counts[k]))
    out += [f"| {classes.status(k)} | {summary.counts[k]} | `{k[0]}` | {k[1]} | {k[2]} | {k[3]} |"
            for k in keys]
    out += ["", "## Reproducers (one per class)", ""]
    for k in keys:
        d = summary.examples[k]
        if shrink_examples:
            d = shrink(d, torch, mt)
        out += [f"### {class_label(k)} ({classes.status(k)}, {summary.counts[k]})", "",
                "```python", d.reproducer(), "```", ""]
    with open(path, "w") as f:
        f.write("\n".join(out))
