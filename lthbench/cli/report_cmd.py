"""`lthbench report results.nc --out dir/`: the paper's figures as PNG files."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="figures from a results file", description=__doc__)
    p.add_argument("results", help="results file written by `lthbench run`")
    p.add_argument("--out", default="report", help="output directory (created; its parent must exist)")
    p.add_argument("--task", action="append", default=None, help="only this task (repeatable)")
    p.add_argument("--method", action="append", default=None, help="only this method label (repeatable)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..report import make_report

    paths = make_report(args.results, args.out, tasks=args.task, methods=args.method)
    for path in paths:
        print(path)
    return 0
