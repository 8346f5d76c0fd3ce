"""`lthbench report a.nc [b.nc ...] --out dir/`: the paper's figures as PNG files, methods overlaid,
and the claims (`lthbench claims`) as dir/claims.txt."""

from __future__ import annotations

import sys
import warnings

from ..analysis.report import check_out_dir, make_report


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="figures (and claims) from results files", description=__doc__)
    p.add_argument("results", nargs="+", help="results files written by `lthbench run` (methods are overlaid)")
    p.add_argument("--out", default="report", help="output directory (created; its parent must exist)")
    p.add_argument("--task", action="append", default=None, help="only this task (repeatable)")
    p.add_argument("--method", action="append", default=None, help="only this method label (repeatable)")
    p.add_argument("--no-claims", action="store_true", help="figures only, no claims.txt")
    p.set_defaults(func=run)


def run(args) -> int:
    check_out_dir(args.out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        paths = make_report(args.results, args.out, tasks=args.task, methods=args.method, claims=not args.no_claims)
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"lthbench report: warning: {w.message}", file=sys.stderr)
    for path in paths:
        print(path)
    return 0
