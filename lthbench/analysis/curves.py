"""Results datasets -> per-curve arrays for the analysis commands (compare, claims, report).

A curve is one (task, method, control): its rounds, seeds, and per (round, seed) the signed error,
its Monte Carlo variance (widened by chain diagnostics where the records carry them), and whether the
seed diverged. Analysis never averages a diverged seed away: `failed` marks it, and `requested` says
how many seeds the curve started with (seeds with a round-0 / first-round cell).

Tolerates variables older files lack (`reference_uncertainty`, `acceptance`, `tau`, `r_hat`, ...).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import LthbenchError
from .stats import inflate_sigma

# Variables a comparison can be made on (the rest are bookkeeping: counts, densities, times, flags).
METRICS = (
    "rel_error",
    "abs_error_per_spin",
    "energy",
    "variance",
    "v_score",
    "fidelity_prev",
    "fidelity_exact",
    "m_z",
    "m_x",
    "abs_m_z",
)
# Errors with an MC error bar from energy_sigma, tested as signed errors.
SIGNED_ERRORS = ("rel_error", "abs_error_per_spin", "energy")
# The relative error a diverged seed is counted with (|E - E_ref| = |E_ref|: worse than the product
# state on every task here), so that diverging is never better than converging badly.
FAIL_REL_ERROR = 1.0
# Chain-diagnostic variables used when present (none of today's records carry them).
DIAGNOSTICS = ("acceptance", "tau", "r_hat")


def check_metric(ds, metric: str) -> None:
    if metric not in METRICS:
        raise LthbenchError(f"--metric {metric!r} is not a metric; choose one of {', '.join(METRICS)}")
    base = "m_z" if metric == "abs_m_z" else metric
    if base not in ds.variables:
        raise LthbenchError(f"metric {metric!r} is not in these results")


@dataclass
class CurveData:
    """Arrays of one (task, method, control). Shapes: R rounds with a cell, S seeds of the dataset."""

    task: str
    method: str
    control: str
    metric: str
    rounds: np.ndarray  # (R,) int
    seeds: np.ndarray  # (S,) int
    n_alive: np.ndarray  # (R,) mean over seeds
    rho: np.ndarray  # (R,)
    density: np.ndarray  # (R,)
    value: np.ndarray  # (R, S) signed error (SIGNED_ERRORS) or the metric; NaN = no cell or failed
    var: np.ndarray  # (R, S) MC variance of value (0 where none is known)
    failed: np.ndarray  # (R, S) bool: the seed diverged at this round
    present: np.ndarray  # (R, S) bool: a cell exists
    unreliable: np.ndarray  # (R, S) bool: chain diagnostics say the MC error bar is not trusted
    reference_precision: float = float("nan")  # reference_uncertainty / |E_ref| (NaN unknown)
    has_reference: bool = True
    diagnostics: tuple = field(default_factory=tuple)  # which of DIAGNOSTICS the records carry
    fail_value: float = float("nan")  # what a diverged seed counts as (NaN: not a signed error)

    @property
    def requested(self) -> np.ndarray:
        """(S,) bool: seeds this curve started (a cell at its first round)."""
        return self.present[0] if self.present.size else np.zeros(len(self.seeds), bool)

    @property
    def n_requested(self) -> int:
        return int(self.requested.sum())

    def finished(self) -> np.ndarray:
        """(R,) seeds finished without divergence, per round (requested seeds only)."""
        return (self.present & ~self.failed & self.requested[None, :]).sum(axis=1)

    def diverged(self) -> np.ndarray:
        return (self.failed & self.requested[None, :]).sum(axis=1)

    def short(self) -> np.ndarray:
        """(R,) bool: the point has fewer finished seeds than requested."""
        return self.finished() < self.n_requested

    def scored(self) -> np.ndarray:
        """(R, S) the value with a diverged seed counted as a failure (FAIL_REL_ERROR scaled)."""
        fail = self.fail_value
        if not math.isfinite(fail):
            return self.value
        return np.where(self.failed, fail, self.value)

    def row(self, rnd: int) -> int | None:
        hit = np.flatnonzero(self.rounds == rnd)
        return int(hit[0]) if hit.size else None


def _cells(ds, name, sel) -> np.ndarray:
    """(R, S) float values of variable `name` on one curve (all rounds of the dataset)."""
    return ds[name].sel(sel).transpose("round", "seed").values.astype(float)


def _per_cell(ds, name, sel) -> np.ndarray | None:
    """`_cells`, or None when the records lack the variable."""
    return _cells(ds, name, sel) if name in ds.variables else None


def _empty_curve(task, method, control, metric, seeds) -> CurveData:
    z = np.zeros((0, seeds.size))
    e = np.array([])
    return CurveData(
        task,
        method,
        control,
        metric,
        e.astype(int),
        seeds,
        e,
        e,
        e,
        z,
        z,
        z.astype(bool),
        z.astype(bool),
        z.astype(bool),
        has_reference=False,
    )


def _reference_uncertainty(ds, task, sel, present) -> float:
    """The reference energy's uncertainty: per task, or (per cell) the largest over the curve's cells."""
    if "reference_uncertainty" not in ds:
        return float("nan")
    if ds["reference_uncertainty"].dims == ("task",):
        return float(ds["reference_uncertainty"].sel(task=task))
    return float(np.nanmax(_cells(ds, "reference_uncertainty", sel))) if present.any() else float("nan")


def _signed_values(metric, energy, sigma, e_ref, n_spins, has_ref):
    """(value, sigma, fail_value) of a signed error metric (SIGNED_ERRORS) from energies and sigmas."""
    scale = {"rel_error": abs(e_ref) if has_ref else float("nan"), "abs_error_per_spin": n_spins, "energy": 1.0}[metric]
    offset = 0.0 if metric == "energy" else e_ref
    value = (energy - offset) / scale
    sig = np.nan_to_num(sigma, nan=0.0) / scale
    fail_value = float("nan")
    if metric != "energy" and has_ref:
        fail_value = FAIL_REL_ERROR * abs(e_ref) / scale
    return value, sig, fail_value


def _metric_values(ds, metric, sel, shape):
    """(value, sigma = 0) of a metric without an MC error bar (observables, variance, ...)."""
    base = "m_z" if metric == "abs_m_z" else metric
    value = _per_cell(ds, base, sel)
    if value is None:
        value = np.full(shape, np.nan)
    if metric == "abs_m_z":
        value = np.abs(value)
    return value, np.zeros_like(value)


def _round_axes(ds, sel, n_alive):
    """(R,) seed means of n_alive, rho and density per round (NaN where a round has no cell)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        n_mean = np.nanmean(n_alive, axis=1)
        rho = np.nanmean(_cells(ds, "rho", sel), axis=1)
        dens = _per_cell(ds, "density", sel)
        dens = np.nanmean(dens, axis=1) if dens is not None else np.full(len(n_mean), np.nan)
    return n_mean, rho, dens


def curve_data(ds, task: str, method: str, control: str = "imp", metric: str = "rel_error") -> CurveData:
    """The arrays of one curve (rounds without any cell dropped). See CurveData."""
    seeds = np.asarray(ds["seed"].values, dtype=int)
    if control not in ds["control"].values or method not in ds["method"].values or task not in ds["task"].values:
        return _empty_curve(task, method, control, metric, seeds)
    sel = {"task": task, "method": method, "control": control}
    energy = _cells(ds, "energy", sel)
    sigma = _cells(ds, "energy_sigma", sel)
    n_alive = _cells(ds, "n_alive", sel)
    present = np.isfinite(n_alive) | np.isfinite(energy)
    div = _cells(ds, "diverged", sel)
    failed = present & ((np.nan_to_num(div, nan=0.0) > 0) | ~np.isfinite(energy))
    keep = present.any(axis=1)
    e_ref = float(ds["reference_energy"].sel(task=task)) if "reference_energy" in ds else float("nan")
    n_spins = float(ds["n_spins"].sel(task=task)) if "n_spins" in ds else float("nan")
    unc = _reference_uncertainty(ds, task, sel, present)
    has_ref = math.isfinite(e_ref) and e_ref != 0
    fail_value = float("nan")
    if metric in SIGNED_ERRORS:
        value, sig, fail_value = _signed_values(metric, energy, sigma, e_ref, n_spins, has_ref)
    else:
        value, sig = _metric_values(ds, metric, sel, energy.shape)
    diags = {name: _cells(ds, name, sel) for name in DIAGNOSTICS if name in ds.variables}
    sig, bad = inflate_sigma(sig, np.nan_to_num(value, nan=0.0), diags.get("acceptance"), diags.get("r_hat"))
    value = np.where(failed, np.nan, value)
    rel_prec = unc / abs(e_ref) if has_ref and math.isfinite(unc) else float("nan")
    n_mean, rho, dens = _round_axes(ds, sel, n_alive)
    return CurveData(
        task,
        method,
        control,
        metric,
        np.asarray(ds["round"].values, dtype=int)[keep],
        seeds,
        n_mean[keep],
        rho[keep],
        dens[keep],
        value[keep],
        (sig**2)[keep],
        failed[keep],
        present[keep],
        bad[keep],
        reference_precision=rel_prec,
        has_reference=has_ref,
        diagnostics=tuple(diags),
        fail_value=fail_value,
    )


def methods_with(ds, task: str, control: str = "imp") -> list[str]:
    """Method labels that have at least one cell of `control` on `task`, in dataset order."""
    if control not in ds["control"].values:
        return []
    out = []
    for m in map(str, ds["method"].values):
        n = ds["n_alive"].sel({"task": task, "method": m, "control": control}).values
        e = ds["energy"].sel({"task": task, "method": m, "control": control}).values
        if (np.isfinite(n) | np.isfinite(e)).any():
            out.append(m)
    return out
