""" "Matches dense": the one definition `lthbench compare` and `lthbench claims` share.

The operating point of an IMP curve: the lowest density down to which every round's seed-mean error
stays <= MATCH_FACTOR x the upper end of the dense level's 95% interval, with a bootstrap CI over seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .stats import mean_estimate, t_quantile

MATCH_FACTOR = 2.0  # a round matches dense when its mean error <= MATCH_FACTOR x the dense CI's upper end
N_BOOT = 400


@dataclass(frozen=True)
class MatchDense:
    """Lowest density (and its round) down to which every round matches dense; CI over seeds (bootstrap)."""

    density: float
    round: int
    lo: float  # 95% bootstrap interval of the density
    hi: float
    threshold: float  # the error bound used
    factor: float
    incomplete: bool  # some round up to and including the next one lacked requested seeds or diverged

    def fmt(self) -> str:
        if not math.isfinite(self.density):
            return "undetermined"
        ci = f" [{self.lo:.3g}, {self.hi:.3g}]" if math.isfinite(self.lo) else ""
        return f"{self.density:.3g}{ci} (round {self.round})"


def _last_matching(means, ok, thresholds):
    """(B, R) means, (R,) or (B, R) ok, (B,) thresholds -> (B,) index of the last round of the leading
    run of matching rounds (-1: round 0 itself fails)."""
    match = (means <= thresholds[:, None]) & ok
    lead = np.cumprod(match, axis=-1).astype(bool)
    return lead.sum(axis=-1) - 1


def dense_threshold(err0, var0, factor: float = MATCH_FACTOR) -> float:
    """factor x the upper end of the dense level's 95% interval (mean_estimate of round 0)."""
    e = mean_estimate(err0, var0)
    return factor * e.hi if math.isfinite(e.hi) else factor * e.value


def matches_dense(
    density, err, var, failed, *, factor: float = MATCH_FACTOR, n_boot: int = N_BOOT, seed: int = 0
) -> MatchDense:
    """The matching-dense operating point of one IMP curve.

    density: (R,) per round, round 0 (dense) first, decreasing. err: (R, S) relative errors per seed
    (NaN = missing); var: (R, S) MC variances; failed: (R, S) bool, a seed that diverged (counts as not
    matching). A round matches when no requested seed is missing or failed and its seed-mean error is
    <= factor x the upper end of round 0's 95% interval. The operating point is the last round of the
    leading run of matching rounds. The interval: percentile bootstrap over seeds (seeds resampled
    jointly across rounds, fixed RNG seed, so the output is reproducible).
    """
    density = np.asarray(density, float)
    err = np.asarray(err, float)
    var = np.nan_to_num(np.asarray(var, float), nan=0.0)
    failed = np.asarray(failed, bool)
    requested = np.isfinite(err[0]) | failed[0]
    complete = ~((~np.isfinite(err) | failed) & requested[None, :]).any(axis=1)
    if not np.isfinite(err[0]).any():
        return MatchDense(float("nan"), -1, float("nan"), float("nan"), float("nan"), factor, True)
    thr = dense_threshold(err[0], var[0], factor)
    means = np.nanmean(np.where(failed, np.nan, err), axis=1) if err.shape[1] else np.full(len(density), np.nan)
    j = int(_last_matching(means[None, :], complete[None, :], np.array([thr]))[0])
    incomplete = bool((~complete[: min(j + 2, len(density))]).any())
    if j < 0:
        return MatchDense(float("nan"), -1, float("nan"), float("nan"), thr, factor, incomplete)
    cols = np.flatnonzero(requested)
    lo = hi = float("nan")
    if cols.size > 1 and n_boot > 0:
        rng = np.random.default_rng(seed)
        idx = cols[rng.integers(0, cols.size, size=(n_boot, cols.size))]  # (B, k)
        e_b = err[:, idx].transpose(1, 0, 2)  # (B, R, k)
        f_b = failed[:, idx].transpose(1, 0, 2)
        v_b = var[:, idx].transpose(1, 0, 2)
        k = cols.size
        with np.errstate(invalid="ignore"):
            e0 = e_b[:, 0, :]
            m0 = e0.mean(axis=1)
            se0 = np.sqrt(np.maximum(e0.var(axis=1, ddof=1) / k, v_b[:, 0, :].mean(axis=1) / k))
            thr_b = factor * (m0 + float(t_quantile(k - 1)) * se0)
            m_b = np.where(f_b | ~np.isfinite(e_b), np.nan, e_b).mean(axis=2)
            ok_b = np.isfinite(m_b) & complete[None, :]
            jb = _last_matching(np.nan_to_num(m_b, nan=np.inf), ok_b, thr_b)
        dens_b = np.where(jb >= 0, density[np.maximum(jb, 0)], np.nan)
        if np.isfinite(dens_b).any():
            lo, hi = (float(x) for x in np.nanpercentile(dens_b, [2.5, 97.5]))
    return MatchDense(float(density[j]), j, lo, hi, thr, factor, incomplete)
