"""`lthbench claims results.nc`: the paper's claims as computed statements (value, 95% CI, verdict).

Each claim names the quantity, its 95% interval over seeds and how it was made, and the threshold the
verdict used; what the data cannot pin down is "undetermined" with the reason. `--markdown` prints
the table docs/reproduction.md uses.
"""

from __future__ import annotations

from ..analysis.claims import claims_markdown, compute_claims, format_claims


def register(subparsers) -> None:
    p = subparsers.add_parser("claims", help="the paper's claims computed from a results file", description=__doc__)
    p.add_argument("results", help="results file written by `lthbench run` (artifacts next to it are used)")
    p.add_argument("--method", action="append", default=None, help="only this method label (repeatable)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(func=run)


def run(args) -> int:
    claims = compute_claims(args.results, methods=args.method)
    print(claims_markdown(claims) if args.markdown else format_claims(claims))
    return 0
