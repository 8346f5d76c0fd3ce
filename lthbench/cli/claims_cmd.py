"""`lthbench claims results.nc [more.nc ...]`: the paper's claims as computed statements (value, 95% CI,
verdict). With several files (e.g. every shipped baseline), the claims that compare tasks (Fig 2's
collapse across alpha, Fig 3's trend with L) are computed across all of them.

Each claim names the quantity, its 95% interval over seeds and how it was made, and the threshold the
verdict used; what the data cannot pin down is "undetermined" with the reason. `--markdown` prints
the table docs/reproduction.md uses.
"""

from __future__ import annotations

from ..analysis.claims import claims_markdown, format_claims, scan_claims, task_claims
from ..analysis.datasets import load_results


def register(subparsers) -> None:
    p = subparsers.add_parser("claims", help="the paper's claims computed from a results file", description=__doc__)
    p.add_argument(
        "results", nargs="+", help="results file(s) written by `lthbench run` (artifacts next to them are used)"
    )
    p.add_argument("--method", action="append", default=None, help="only this method label (repeatable)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(func=run)


def run(args) -> int:
    for path in args.results:  # every file is checked before any claim is computed
        load_results(path)
    claims, summaries = [], {}
    for path in args.results:
        found, summary = task_claims(path, methods=args.method)
        claims += found
        summaries.update(summary)
    claims += scan_claims(summaries)
    print(claims_markdown(claims) if args.markdown else format_claims(claims))
    return 0
