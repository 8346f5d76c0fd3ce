"""The plotted curve of one (task, method, control): per round, the seed mean and its 95% interval."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .curves import curve_data
from .stats import mean_estimate


@dataclass
class Curve:
    """One control's curve for one (task, method): per round, mean over seeds and its 95% CI."""

    control: str
    rounds: np.ndarray
    n_alive: np.ndarray
    rho: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    mc: np.ndarray  # mean MC sigma per round
    n_seeds: np.ndarray  # finished seeds
    short: np.ndarray  # fewer finished than requested
    n_diverged: int = 0
    n_requested: int = 0


def curve(ds, task: str, method: str, control: str, var: str = "rel_error") -> Curve:
    """Seed statistics of `var` along the rounds with data (|signed error| for the error metrics)."""
    c = curve_data(ds, task, method, control, var)
    value = np.abs(c.value) if var in ("rel_error", "abs_error_per_spin") else c.value
    rows = [mean_estimate(value[r], c.var[r]) for r in range(len(c.rounds))]
    keep = np.array([e.k > 0 for e in rows], dtype=bool)
    arr = lambda f: np.array([f(e) for e in rows], dtype=float)[keep] if rows else np.array([])  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mc = np.sqrt(np.nanmean(np.where(c.failed, np.nan, c.var), axis=1)) if c.var.size else np.array([])
    return Curve(
        control,
        c.rounds[keep],
        c.n_alive[keep],
        c.rho[keep],
        arr(lambda e: e.value),
        arr(lambda e: e.lo),
        arr(lambda e: e.hi),
        mc[keep] if mc.size else mc,
        c.finished()[keep],
        c.short()[keep],
        int(c.diverged().max()) if c.rounds.size else 0,
        c.n_requested,
    )


def dense_level(ds, task: str, method: str, var: str = "rel_error") -> float:
    """Mean over seeds of round 0 of the IMP chain (the dense network)."""
    c = curve(ds, task, method, "imp", var)
    dense = c.mean[c.rounds == 0]
    return float(dense[0]) if dense.size else float("nan")
