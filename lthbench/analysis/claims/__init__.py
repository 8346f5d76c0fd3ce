"""The paper's claims (arXiv:2505.22734) as computed statements: quantity, 95% CI over seeds, verdict.

Every claim is a `Claim` row: what was measured, its value and 95% interval over seeds (bootstrap over
seeds or a t interval, named in `ci`), a verdict and the threshold the verdict used. A quantity that
the data cannot pin down is "undetermined", with the reason. The detectors are small pure functions on
arrays (`detectors`, `toric`; tests/analysis/test_claims.py checks them on synthetic curves):

- `fit_regions`: the LEP / APL / HEP regions by a piecewise-linear fit in (log10 n, log10 error) with
  slopes 0, beta, 0 (breakpoints on the measured n; least squares), continuous or with a jump at the
  HEP end (the jump when it lowers the BIC by > BIC_MIN); a plateau is accepted only when it improves the BIC by
  > BIC_MIN over the fit without it and holds >= 3 points.
- `largest_jump`: the largest rise of log10 error between consecutive rounds with data (a `Jump`:
  the rounds before and after, the size), accepted when it is >= JUMP_MIN decades and >= JUMP_RATIO x
  the median rise.
- `n_at_error`: the alive count at which a pruning curve first reaches an error level (log-log
  interpolation); `largest_shift`: a control's largest n over IMP's n at equal error, over the
  control points within an error window (the random mask's "earlier in n").
- `dip`: the minimum of a per-round quantity (fidelity) accepted when 1 - F_min >= DIP_MIN and
  >= JUMP_RATIO x the median of 1 - F.
- `odd_parity_filters`: hidden units supported on exactly the 4 edges of one plaquette with an odd
  number of negative weights.

"Matches dense" is `lthbench.analysis.dense_match.matches_dense`, the definition `lthbench compare` uses.

One module per claim family: `matching` (Fig 1: matches dense, seeds), `regions` (Fig 2), `controls`
(Fig 1/4a), `transition` (Fig 3/4), `toric` (Fig 4d), `scans` (across tasks); the thresholds and the
`Claim` row in `claim`, the detectors in `detectors`, the tables in `format`. This module assembles them.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

from ...experiment.baselines import artifacts_next_to
from ..curves import curve_data, methods_with
from ..datasets import load_results
from ..task_params import task_parameters
from .claim import Claim
from .controls import control_claims
from .detectors import Jump, RegionFit, dip, fit_regions, largest_jump, largest_shift, n_at_error
from .format import claims_markdown, format_claims
from .matching import match_claim, seeds_claim
from .regions import boundaries, region_boundaries, region_claims
from .scans import scan_claims
from .toric import filter_claim, odd_parity_filters
from .transition import transition_claims

__all__ = [
    "Claim",
    "Jump",
    "RegionFit",
    "boundaries",
    "claims_markdown",
    "claims_of_files",
    "compute_claims",
    "dip",
    "fit_regions",
    "format_claims",
    "largest_jump",
    "largest_shift",
    "n_at_error",
    "odd_parity_filters",
    "region_boundaries",
    "scan_claims",
    "task_claims",
]


def compute_claims(results, *, methods=None) -> list[Claim]:
    """Every claim for every (task, method) in `results` (a path, or a dataset with no artifacts),
    then the claims across its tasks (`scan_claims`: collapse across alpha, trends with L)."""
    claims, summaries = task_claims(results, methods=methods)
    return claims + scan_claims(summaries)


def claims_of_files(sources, *, methods=None) -> tuple[list[list[Claim]], list[Claim]]:
    """(each source's claims: its tasks' and the scans within it, in source order; the scans across
    all the sources' tasks that no single source already holds). The results files of a study ship
    one task each, so collapse across alpha and trends with L appear only in the second list; a file
    holding several widths keeps its own collapse, and the second list has it again only where
    another file's tasks join the comparison (and change it)."""
    per_source, summaries, within = [], {}, set()
    for src in sources:
        found, summary = task_claims(src, methods=methods)
        summaries.update(summary)
        scans = scan_claims(summary)
        within.update(map(claim_key, scans))
        per_source.append(found + scans)
    return per_source, [c for c in scan_claims(summaries) if claim_key(c) not in within]


def claim_key(claim: Claim) -> tuple:
    """A hashable key equal for equal claims (NaN fields equal each other, unlike in `==`)."""
    return tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in dataclasses.astuple(claim))


def task_claims(results, *, methods=None) -> tuple[list[Claim], dict]:
    """(the per-(task, method) claims of `results`, their summaries {(task, method): dict}): the
    summaries of several results files, merged, are what `scan_claims` compares across tasks."""
    with warnings.catch_warnings():  # all-NaN rounds (controls, fidelity at round 0) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        return _compute_claims(results, methods)


def _task_claims(ds, task, method, c, store) -> tuple[list[Claim], dict]:
    """The claims of one (task, method) with a reference energy, and its summary for `scan_claims`."""
    out = [seeds_claim(task, method, c)]
    m_claim, match = match_claim(task, method, c)
    out.append(m_claim)
    region, fit, bounds = region_claims(ds, task, method, c)
    out += region
    out += control_claims(ds, task, method, c, match)
    trans = transition_claims(ds, task, method, c)
    out += trans
    fc = filter_claim(task, method, c, match, store)
    if fc is not None:
        out.append(fc)
    n1c, n2c = region[0], region[1]
    summary = {
        "params": task_parameters(task),
        "bounds": bounds,
        "fit": fit,
        "bounds_ci": ((n1c.lo, n1c.hi), (n2c.lo, n2c.hi)),
        "n_grid": sorted({float(n) for n in c.n_alive if math.isfinite(n)}),
        "jump_rho": trans[0].value,
        "fid_min": trans[1].value,
    }
    return out, summary


def _compute_claims(results, methods) -> tuple[list[Claim], dict]:
    ds = load_results(results)
    store = None if hasattr(results, "data_vars") else artifacts_next_to(results)
    out: list[Claim] = []
    per_task = {}
    for task in map(str, ds["task"].values):
        for method in methods_with(ds, task, "imp"):
            if methods and method not in methods:
                continue
            c = curve_data(ds, task, method, "imp", "rel_error")
            if not c.has_reference:
                out.append(
                    Claim(
                        "-",
                        "all error claims",
                        task,
                        "-",
                        method=method,
                        verdict="undetermined: no reference energy for this task",
                    )
                )
                continue
            claims, per_task[(task, method)] = _task_claims(ds, task, method, c, store)
            out += claims
    return out, per_task
