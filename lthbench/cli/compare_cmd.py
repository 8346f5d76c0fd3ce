"""`lthbench compare a.nc b.nc ...`: methods at matched densities, mean ± 95% CI over seeds, Welch test."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("compare", help="compare methods at matched densities", description=__doc__)
    p.add_argument("results", nargs="+", help="results files (one file holding several methods is fine)")
    p.add_argument("--metric", default="rel_error", help="variable to compare (default rel_error)")
    p.add_argument("--control", default="imp", help="which curve: imp, ticket, reinit or random-mask")
    p.add_argument("--tolerance", type=float, default=0.1,
                   help="match rounds whose rho differ by at most this in |log(rho_b/rho_a)| (default 0.1)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..compare import compare, format_table

    rows = compare(args.results, metric=args.metric, control=args.control, tolerance=args.tolerance,
                   alpha=args.alpha)
    print(format_table(rows, args.metric))
    return 0
