"""Run a differential campaign from the command line.

    python -m tests.differential --thorough --report /tmp/diff_report.md   # 10,000 programs
    python -m tests.differential --programs 500 --seed 3          # counts per class only
    python -m tests.differential --only 'clamp*' --only 'Tensor.clamp*'   # some ops only
"""
from __future__ import annotations

import argparse
import sys

from .campaign import campaign, format_counts, unused_patterns, write_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.differential",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=1000)
    parser.add_argument("--thorough", action="store_true",
                        help="the thorough profile: 10,000 programs (overrides --programs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-ops", type=int, default=6)
    parser.add_argument("--report", help="write a markdown report with one reproducer per class")
    parser.add_argument("--only", action="append", default=[],
                        help="run only the op entries whose label matches this glob (repeatable)")
    parser.add_argument("--no-shrink", action="store_true", help="report unshrunk reproducers")
    args = parser.parse_args(argv)
    if args.thorough:
        args.programs = 10_000
    summary = campaign(args.programs, args.seed, args.max_ops, only=tuple(args.only))
    print(format_counts(summary))
    for p in unused_patterns(summary):
        print(f"KNOWN_OPEN entry matched nothing: {p.reason[:90]}...")
    if args.report:
        write_report(summary, args.report, shrink_examples=not args.no_shrink)
        print(f"report: {args.report}")
    return 1 if summary.by_status("new") else 0


if __name__ == "__main__":
    sys.exit(main())
