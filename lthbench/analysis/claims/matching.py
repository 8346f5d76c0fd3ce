"""Fig 1: the lowest density that still matches dense, and the divergence accounting of the IMP rounds.

"Matches dense" is `lthbench.analysis.dense_match.matches_dense`, the definition `lthbench compare` uses.
"""

from __future__ import annotations

import math

import numpy as np

from ..dense_match import MATCH_FACTOR, MatchDense, matches_dense
from .claim import PAPER_MATCH, Claim


def seeds_claim(task, method, c) -> Claim:
    """Divergence accounting: the IMP rounds with fewer finished seeds than requested."""
    short = np.flatnonzero(c.short())
    cl = Claim(
        "-",
        "seeds finished / diverged",
        task,
        "IMP rounds short of the requested seeds",
        float(short.size),
        method=method,
        threshold=f"{c.n_requested} seeds requested; a diverged seed counts as a failure",
    )
    if short.size:
        cl.verdict = "marked: " + ", ".join(
            f"round {c.rounds[r]}: {c.finished()[r]}/{c.n_requested} ({c.diverged()[r]} diverged)" for r in short[:8]
        )
        if short.size > 8:
            cl.verdict += f", ... ({short.size} rounds)"
    else:
        cl.verdict = f"all rounds {c.n_requested}/{c.n_requested}"
    return cl


def match_claim(task, method, c) -> tuple[Claim, MatchDense]:
    """The matching-dense claim of an IMP curve, and the operating point (the controls use it)."""
    m = matches_dense(c.density, np.abs(c.value), c.var, c.failed)
    cl = Claim(
        "Fig 1",
        "matches dense",
        task,
        "lowest density matching dense",
        method=method,
        ci="bootstrap over seeds",
        threshold=f"mean error <= {MATCH_FACTOR:g} x upper end of the dense 95% CI, all rounds before too",
        paper="5-20% of the weights",
    )
    if math.isfinite(m.density):
        cl.value, cl.lo, cl.hi = m.density, m.lo, m.hi
        inside = PAPER_MATCH[0] <= m.density <= PAPER_MATCH[1]
        cl.verdict = ("within" if inside else "outside") + f" the paper's {PAPER_MATCH[0]:.0%}-{PAPER_MATCH[1]:.0%}"
        cl.verdict += f" (rho {c.rho[m.round]:.3g})"
        if m.incomplete:
            cl.verdict += "; * fewer seeds than requested near it"
    else:
        cl.verdict = "undetermined: no dense level"
    dense = np.abs(c.value[0]) if c.value.size else np.array([])
    if math.isfinite(c.reference_precision) and dense.size and np.nanmean(dense) < c.reference_precision:
        cl.verdict = "below reference precision (dense error < reference uncertainty); " + cl.verdict
    return cl, m
