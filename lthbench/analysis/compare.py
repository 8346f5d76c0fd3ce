"""Compare pruning methods at matched densities: "is my method better?" with an honest error model.

For every task in the inputs, each method B is compared with the baseline A (`baseline=` a label, or
"shipped": the shipped baseline dataset of the task; by default the first method of the first file).
Rounds are matched by density: each round of A takes B's round with the nearest rho when
|log(rho_B / rho_A)| <= tolerance. Cells are paired by seed (both methods share each seed's dense net);
where the two sides share fewer than 2 seeds (a rerun with new seeds against a shipped baseline), the
difference is tested unpaired (`stats.unpaired_difference`, Welch with the same MC floor) and marked.

Per matched density: mean over seeds of each side (95% interval whose variance is at least the MC
one), the paired difference of signed errors B - A with the hierarchical error model of
`lthbench.analysis.stats.random_effects` (seed scatter plus each cell's Monte Carlo variance), the ratio of mean
errors B / A with its interval, a two-sided p-value and its Holm correction across the densities of
that (task, A, B). Round 0 (the shared dense net) is shown, never tested. A diverged seed counts as a
failure (its relative error as `curves.FAIL_REL_ERROR`), and each point says seeds finished/diverged;
a point with fewer finished seeds than requested is marked `*`.

Per method: the lowest density that still matches dense (`lthbench.analysis.dense_match.matches_dense`, the
definition `lthbench claims` uses) and the area between B's and A's curves in log-log, with CIs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps

from ..errors import LthbenchError
from ..experiment.baselines import shipped_baseline_path
from .area import loglog_area
from .curves import SIGNED_ERRORS, CurveData, check_metric, curve_data, methods_with
from .datasets import load_many, load_results
from .dense_match import MatchDense, matches_dense
from .stats import Estimate, holm, mean_estimate, paired_difference, ratio_estimate, unpaired_difference

LOWER_IS_BETTER = ("rel_error", "abs_error_per_spin", "energy", "variance", "v_score")
HIGHER_IS_BETTER = ("fidelity_prev", "fidelity_exact")
SHIPPED = "shipped"
SHIPPED_SUFFIX = " [shipped]"


@dataclass
class Point:
    """One matched density of (task, A, B)."""

    task: str
    method_a: str
    method_b: str
    round_a: int
    round_b: int
    rho_a: float
    rho_b: float
    seeds_a: str  # "finished/requested (d diverged)"
    seeds_b: str
    short: bool  # fewer finished seeds than requested on either side
    mean_a: Estimate
    mean_b: Estimate
    diff: Estimate  # B - A, paired
    ratio: Estimate  # mean(B) / mean(A)
    p: float
    p_holm: float = float("nan")
    verdict: str = ""
    dense: bool = False
    below_reference: bool = False  # an error below the reference's own precision
    paired: bool = True  # False: the two sides share < 2 seeds, Welch-type unpaired test


@dataclass
class Summary:
    """Operating points of one method on one task (area relative to the baseline)."""

    task: str
    method: str
    match: MatchDense
    area: Estimate  # decades^2, B vs baseline (NaN for the baseline itself)
    n_range: tuple = (float("nan"), float("nan"))


@dataclass
class Comparison:
    metric: str
    control: str
    alpha: float
    points: list[Point] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _load(paths, baseline):
    """Merged dataset of the inputs (same label in two files: suffixed by the file), and the labels of
    the first input (the default baseline)."""
    extra = []
    if baseline == SHIPPED:
        tasks = sorted({str(t) for p in paths for t in load_results(p)["task"].values})
        for task in tasks:
            path = shipped_baseline_path(task)
            ds = load_results(path).sel(task=[task])
            ds = ds.assign_coords(method=[f"{m}{SHIPPED_SUFFIX}" for m in map(str, ds["method"].values)])
            extra.append((ds, str(path)))
    merged, _ = load_many(paths, extra)
    first = [str(m) for m in load_results(paths[0])["method"].values]
    return merged, first


def _nan_estimate() -> Estimate:
    return Estimate(float("nan"), float("nan"), float("nan"), 0)


def _seeds_text(c, r) -> str:
    fin, div = int(c.finished()[r]), int(c.diverged()[r])
    text = f"{fin}/{c.n_requested}"
    return text + (f" ({div} div)" if div else "")


def _verdict(p_holm, diff, metric, alpha, dense, k) -> str:
    if dense:
        return "dense (not tested)"
    if k < 2 or not math.isfinite(p_holm):
        return "n/a (< 2 seeds)"
    if p_holm >= alpha:
        return "not significant"
    up = diff.value > 0
    if metric in LOWER_IS_BETTER:
        return "B worse" if up else "B better"
    if metric in HIGHER_IS_BETTER:
        return "B better" if up else "B worse"
    return "B higher" if up else "B lower"


def _matched_row(ca, cb, i: int, rnd, tolerance: float) -> int | None:
    """B's row matched to A's row i (round rnd): round 0 to round 0, else the nearest rho in tolerance."""
    if rnd == 0:
        return cb.row(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.abs(np.log(cb.rho / ca.rho[i]))
    # ties (a chain that stalls at the same n for several rounds): prefer the same round number
    dist = np.where(np.isfinite(dist) & (cb.rounds > 0), dist + 1e-9 * np.abs(cb.rounds - rnd), np.inf)
    j = int(np.argmin(dist))
    return None if dist[j] > tolerance else j


def _point(ca, cb, i: int, j: int, rnd, metric: str, va, vb) -> Point:
    """The Point of A's row i against B's row j (va, vb: the scored values of A and B)."""
    a, b = va[i], vb[j]
    var_a = np.where(ca.failed[i], 0.0, ca.var[i])
    var_b = np.where(cb.failed[j], 0.0, cb.var[j])
    paired = int((np.isfinite(a) & np.isfinite(b)).sum()) >= 2
    if paired:
        diff = paired_difference(a, var_a, b, var_b)
        ratio = ratio_estimate(a, var_a, b, var_b) if metric in SIGNED_ERRORS else _nan_estimate()
    else:  # different seeds (e.g. a rerun with new seeds against a shipped baseline): unpaired
        diff = unpaired_difference(a, var_a, b, var_b)
        ratio = _nan_estimate()
    prec = ca.reference_precision
    mean_a, mean_b = mean_estimate(a, var_a), mean_estimate(b, var_b)
    below = math.isfinite(prec) and metric == "rel_error" and (abs(mean_a.value) < prec or abs(mean_b.value) < prec)
    return Point(
        ca.task,
        ca.method,
        cb.method,
        int(rnd),
        int(cb.rounds[j]),
        float(ca.rho[i]),
        float(cb.rho[j]),
        _seeds_text(ca, i),
        _seeds_text(cb, j),
        bool(ca.short()[i] or cb.short()[j]),
        mean_a,
        mean_b,
        diff,
        ratio,
        float("nan") if rnd == 0 else diff.p,
        dense=bool(rnd == 0),
        below_reference=bool(below),
        paired=paired,
    )


def compare_curves(ca, cb, *, tolerance: float, metric: str) -> list[Point]:
    """Matched-density points of two curves (CurveData of A and B on the same task and seeds)."""
    points = []
    if not ca.rounds.size or not cb.rounds.size:
        return points
    va, vb = ca.scored(), cb.scored()
    for i, rnd in enumerate(ca.rounds):
        j = _matched_row(ca, cb, i, rnd, tolerance)
        if j is not None:
            points.append(_point(ca, cb, i, j, rnd, metric, va, vb))
    return points


def _area(ca, cb):
    """Area between B and A in log-log (decades^2) per seed -> mean with t interval over seeds."""
    floor_a = np.sqrt(np.nanmax(ca.var)) if ca.var.size else 0.0
    floor = max(float(np.nan_to_num(floor_a)), 1e-300)
    common = np.intersect1d(ca.seeds[ca.requested], cb.seeds[cb.requested])
    ia = np.searchsorted(ca.seeds, common)
    ib = np.searchsorted(cb.seeds, common)
    per_seed = loglog_area(ca.n_alive, np.abs(ca.scored()[:, ia]), cb.n_alive, np.abs(cb.scored()[:, ib]), floor)
    lo = max(np.nanmin(ca.n_alive), np.nanmin(cb.n_alive)) if ca.rounds.size and cb.rounds.size else float("nan")
    hi = min(np.nanmax(ca.n_alive), np.nanmax(cb.n_alive)) if ca.rounds.size and cb.rounds.size else float("nan")
    est = mean_estimate(per_seed)
    p = float("nan")
    if est.k > 1 and est.se > 0:
        p = float(2 * sps.t.sf(abs(est.value / est.se), est.k - 1))
    return Estimate(est.value, est.lo, est.hi, est.k, est.se, p), (float(lo), float(hi))


def match_of(c: CurveData) -> MatchDense:
    """dense_match.matches_dense on a CurveData (diverged seeds count as not matching)."""
    return matches_dense(c.density, np.abs(c.value), c.var, c.failed)


def _bases(ds, methods, baseline, first) -> list[str]:
    """The baseline label(s) of one task: the shipped ones, the one asked for, or the default."""
    if baseline == SHIPPED:
        return [m for m in methods if m.endswith(SHIPPED_SUFFIX)]
    if baseline:
        if baseline not in ds["method"].values:
            raise LthbenchError(
                f"--baseline {baseline!r} is not a method in these results; "
                f"methods: {', '.join(map(str, ds['method'].values))}"
            )
        return [baseline] if baseline in methods else []
    return [m for m in first if m in methods][:1] or methods[:1]


def _diagnostics_note(ds) -> str:
    diags = [d for d in ("acceptance", "tau", "r_hat") if d in ds.variables]
    return (
        f"chain diagnostics used: {', '.join(diags)}"
        if diags
        else "chain diagnostics: these records carry no acceptance / autocorrelation time / split R-hat; "
        "the MC error bars are used as recorded (energy_sigma already takes max(autocorrelation, "
        "between-chain) estimates) and nothing is widened"
    )


def _compare_with(out: Comparison, ds, task: str, ca, others: list[str], tolerance: float) -> None:
    """Append the points and summaries of every method in `others` against the baseline curve `ca`."""
    metric, control, alpha = out.metric, out.control, out.alpha
    out.summaries.append(Summary(task, ca.method, match_of(ca), _nan_estimate()))
    for other in others:
        cb = curve_data(ds, task, other, control, metric)
        pts = compare_curves(ca, cb, tolerance=tolerance, metric=metric)
        adj = holm([p.p for p in pts])
        for p, q in zip(pts, adj):
            p.p_holm = float(q)
            p.verdict = _verdict(p.p_holm, p.diff, metric, alpha, p.dense, p.diff.k)
        out.points.extend(pts)
        area, n_range = _area(ca, cb) if metric in SIGNED_ERRORS else (_nan_estimate(), (float("nan"),) * 2)
        out.summaries.append(Summary(task, other, match_of(cb), area, n_range))


def compare(
    paths,
    *,
    metric: str = "rel_error",
    control: str = "imp",
    tolerance: float = 0.1,
    alpha: float = 0.05,
    baseline: str | None = None,
) -> Comparison:
    """The comparison of every method with the baseline (see the module docstring).

    paths: results files, or in-memory datasets (xr.Dataset) in the results schema."""
    if len(paths) < 1:
        raise LthbenchError("give at least one results file")
    if not (tolerance > 0 and math.isfinite(tolerance)):
        raise LthbenchError(f"--tolerance must be a finite number > 0, got {tolerance}")
    if not 0 < alpha < 1:
        raise LthbenchError(f"--alpha must be in (0, 1), got {alpha}")
    ds, first = _load([p if hasattr(p, "data_vars") else str(p) for p in paths], baseline)
    check_metric(ds, metric)
    out = Comparison(metric, control, alpha)
    out.notes.append(_diagnostics_note(ds))
    for task in map(str, ds["task"].values):
        methods = methods_with(ds, task, control)
        bases = _bases(ds, methods, baseline, first)
        for base in bases:
            ca = curve_data(ds, task, base, control, metric)
            others = [m for m in methods if m != base and not (baseline == SHIPPED and m in bases)]
            if not others:
                continue
            if not baseline:
                out.notes.append(
                    f"{task}: baseline {base!r} (the first method of the first file; choose with --baseline)"
                )
            if not ca.has_reference and metric in ("rel_error", "abs_error_per_spin"):
                out.notes.append(f"{task}: no reference energy, so no {metric}; compare --metric energy")
            _compare_with(out, ds, task, ca, others, tolerance)
    return out
