"""`lthbench compare`'s plain-text report: the per-density table, the per-method summary, the notes."""

from __future__ import annotations

import math

from .compare import Comparison, Point, Summary
from .stats import fmt_number


def _table(header, body) -> list[str]:
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip() for b in body]
    return lines


POINT_HEADER = [
    "task",
    "round A/B",
    "rho A",
    "rho B",
    "seeds A",
    "seeds B",
    "A mean [95% CI]",
    "B mean [95% CI]",
    "B - A [95% CI]",
    "B / A [95% CI]",
    "p",
    "p Holm",
    "verdict",
]
SUMMARY_HEADER = [
    "task",
    "method",
    "lowest matching density [95% CI] (round)",
    "area vs A [95% CI]",
    "p (area)",
    "n range",
]


def _point_row(p: Point) -> list[str]:
    verdict = (
        p.verdict
        + ("" if p.paired or p.dense else " (unpaired)")
        + (" *" if p.short else "")
        + (" (below reference precision)" if p.below_reference else "")
    )
    ratio = (
        p.ratio.fmt(".3g")
        if math.isfinite(p.ratio.hi)
        else (f"{p.ratio.value:.3g} [unbounded]" if math.isfinite(p.ratio.value) else "-")
    )
    return [
        p.task,
        f"{p.round_a}/{p.round_b}",
        f"{p.rho_a:.4g}",
        f"{p.rho_b:.4g}",
        p.seeds_a,
        p.seeds_b,
        p.mean_a.fmt(".2e"),
        p.mean_b.fmt(".2e"),
        p.diff.fmt(".2e"),
        ratio,
        fmt_number(p.p),
        fmt_number(p.p_holm),
        verdict,
    ]


def _summary_row(s: Summary, baselines: set[str]) -> list[str]:
    area = s.area.fmt(".3g") if math.isfinite(s.area.value) else "(baseline)" if s.method in baselines else "-"
    n_range = f"{s.n_range[0]:.4g}-{s.n_range[1]:.4g}" if math.isfinite(s.n_range[0]) else "-"
    return [s.task, s.method, s.match.fmt() + (" *" if s.match.incomplete else ""), area, fmt_number(s.area.p), n_range]


def format_comparison(cmp: Comparison) -> str:
    """Plain-text report: per-density table, per-method summary, notes."""
    if not cmp.points:
        return "\n".join(
            ["no matched densities (need two methods on the same task; try a larger --tolerance)"]
            + [f"note: {n}" for n in cmp.notes]
        )
    lines = [
        f"metric: {cmp.metric} (signed, E - E_ref, for errors); control: {cmp.control}; "
        f"alpha {cmp.alpha} after Holm's correction across densities"
    ]
    labels = {}
    for p in cmp.points:
        labels.setdefault((p.task, p.method_a, p.method_b), None)
    lines += [f"A = {a}   B = {b}   ({t})" for t, a, b in labels]
    lines += _table(POINT_HEADER, [_point_row(p) for p in cmp.points])
    lines.append(
        "seeds: finished/requested; * = a point with fewer finished seeds than requested "
        "(diverged seeds count as failures, relative error 1)"
    )
    lines.append("")
    lines.append(
        "operating points (lowest density still matching dense: mean error <= "
        f"{cmp.summaries[0].match.factor:g} x the upper end of the dense 95% CI, every round "
        "before it too; bootstrap CI over seeds); area between the curves in log-log "
        "(decades^2, positive = worse than A, t CI and t-test over seeds: the one test of the whole curve)"
    )
    baselines = {p.method_a for p in cmp.points}
    lines += _table(SUMMARY_HEADER, [_summary_row(s, baselines) for s in cmp.summaries])
    lines += [f"note: {n}" for n in cmp.notes]
    return "\n".join(lines)
