"""`lthbench compare a.nc [b.nc ...] [--baseline LABEL|shipped]`: methods at matched densities.

Cells are paired by seed and matched by density; the paired difference of signed errors uses each
cell's Monte Carlo error bar as well as the seed scatter (docs/comparison.md), with Holm's correction
across densities, the ratio of errors with its CI, and per method the lowest density that still
matches dense and the area between the curves in log-log. Round 0 is shown, not tested; diverged
seeds count as failures.
"""

from __future__ import annotations

from ..analysis.compare import compare
from ..analysis.compare_format import format_comparison


def register(subparsers) -> None:
    p = subparsers.add_parser("compare", help="compare methods at matched densities", description=__doc__)
    p.add_argument("results", nargs="+", help="results files (one file holding several methods is fine)")
    p.add_argument(
        "--baseline",
        default=None,
        metavar="LABEL|shipped",
        help="method label to compare against, or 'shipped' for the shipped baseline of each "
        "task (default: the first method of the first file)",
    )
    p.add_argument(
        "--metric",
        default="rel_error",
        help="variable to compare (default rel_error; also abs_error_per_spin, energy, variance, "
        "v_score, fidelity_prev, fidelity_exact, m_z, abs_m_z, m_x)",
    )
    p.add_argument("--control", default="imp", help="which curve: imp, ticket, reinit or random-mask")
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.1,
        help="match rounds whose rho differ by at most this in |log(rho_b/rho_a)| (default 0.1)",
    )
    p.add_argument(
        "--alpha", type=float, default=0.05, help="family-wise significance level across densities, Holm (default 0.05)"
    )
    p.set_defaults(func=run)


def run(args) -> int:
    result = compare(
        args.results,
        metric=args.metric,
        control=args.control,
        tolerance=args.tolerance,
        alpha=args.alpha,
        baseline=args.baseline,
    )
    print(format_comparison(result))
    return 0
