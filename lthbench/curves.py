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
from pathlib import Path

import numpy as np

from .errors import LthbenchError
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


def load_results(path) -> xr.Dataset:  # noqa: F821
    """Read an lthbench results file; LthbenchError (one line) for anything that is not one.

    An in-memory xr.Dataset is checked and returned as is (the tests and the Python API use that)."""
    from .results import load_dataset

    if hasattr(path, "data_vars"):
        check_results(path)
        return path
    path = Path(path)
    ds = load_dataset(path)  # turns every foreign, damaged or unreadable file into one LthbenchError line
    check_results(ds, path)
    return ds


def combine(datasets) -> xr.Dataset:  # noqa: F821
    """Datasets whose method labels are disjoint -> one dataset (outer join of every coordinate).

    Unlike `results.merge` (cell by cell, the record variables only) this keeps every variable a file
    carries (chain diagnostics, reference_uncertainty, ...), and is vectorised. Per-task variables are
    taken from the first file that has a value.
    """
    import xarray as xr

    if len(datasets) == 1:
        return datasets[0]
    labels = [str(m) for ds in datasets for m in ds["method"].values]
    if len(set(labels)) != len(labels):
        raise ValueError("combine needs disjoint method labels")
    cell_vars = sorted({v for ds in datasets for v in ds.data_vars if "method" in ds[v].dims})
    task_vars = sorted({v for ds in datasets for v in ds.data_vars if ds[v].dims == ("task",)})
    parts = []
    for ds in datasets:
        part = ds[[v for v in cell_vars if v in ds]]
        for v in cell_vars:
            if v not in part:
                part[v] = xr.full_like(part["energy"], np.nan)
        parts.append(part)
    out = xr.concat(parts, dim="method", join="outer", fill_value=np.nan)
    tasks = ds_task = None
    for ds in datasets:
        ds_task = ds[[v for v in task_vars if v in ds]]
        tasks = ds_task if tasks is None else tasks.combine_first(ds_task)
    out = out.merge(tasks, join="outer")
    out.attrs = dict(datasets[0].attrs)
    out["method"] = out["method"].astype(object)
    return out


def load_many(sources, extra=()):
    """Several results (paths or datasets) -> (combined dataset, {method label: source}).

    A label that occurs in two inputs becomes `label [source]` for the later one, so each input's
    methods stay distinct. extra: more (dataset, name) pairs appended after the sources (e.g. shipped
    baselines, already relabelled).
    """
    datasets, names = [], []
    for src in sources:
        datasets.append(load_results(src))
        names.append(src if hasattr(src, "data_vars") else str(src))
    for ds, name in extra:
        datasets.append(ds)
        names.append(name)
    seen: dict[str, int] = {}
    labelled, origin = [], {}
    for k, ds in enumerate(datasets):
        new = []
        for m in map(str, ds["method"].values):
            label = m
            if m in seen and seen[m] != k:
                label = f"{m} [{names[k] if isinstance(names[k], str) else f'input {k}'}]"
            seen.setdefault(m, k)
            new.append(label)
            origin[label] = names[k]
        ds = ds.assign_coords(method=np.asarray(new, dtype=object))
        labelled.append(ds)
    return combine(labelled), origin


def check_results(ds, path="dataset") -> None:
    """LthbenchError unless `ds` has the lthbench results layout (dims and the energy variables)."""
    missing_dims = [d for d in ("task", "method", "control", "round", "seed") if d not in ds.dims]
    missing_vars = [v for v in ("energy", "energy_sigma", "n_alive", "rho") if v not in ds.variables]
    if "lthbench_schema" not in ds.attrs or missing_dims or missing_vars:
        what = missing_dims + missing_vars or ["attribute lthbench_schema"]
        raise LthbenchError(f"{str(path)!r} is not an lthbench results file (lacks {', '.join(what)})")


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


def _per_cell(ds, name, sel):
    if name not in ds.variables:
        return None
    return ds[name].sel(sel).transpose("round", "seed").values.astype(float)


def curve_data(ds, task: str, method: str, control: str = "imp", metric: str = "rel_error") -> CurveData:
    """The arrays of one curve (rounds without any cell dropped). See CurveData."""
    seeds = np.asarray(ds["seed"].values, dtype=int)
    if control not in ds["control"].values or method not in ds["method"].values or task not in ds["task"].values:
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
    sel = {"task": task, "method": method, "control": control}
    energy = _per_cell(ds, "energy", sel)
    sigma = _per_cell(ds, "energy_sigma", sel)
    n_alive = _per_cell(ds, "n_alive", sel)
    present = np.isfinite(n_alive) | np.isfinite(energy)
    div = _per_cell(ds, "diverged", sel)
    failed = present & ((np.nan_to_num(div, nan=0.0) > 0) | ~np.isfinite(energy))
    keep = present.any(axis=1)
    e_ref = float(ds["reference_energy"].sel(task=task)) if "reference_energy" in ds else float("nan")
    n_spins = float(ds["n_spins"].sel(task=task)) if "n_spins" in ds else float("nan")
    unc = float(ds["reference_uncertainty"].sel(task=task)) if "reference_uncertainty" in ds else float("nan")
    if "reference_uncertainty" in ds and ds["reference_uncertainty"].dims != ("task",):
        unc = float(np.nanmax(_per_cell(ds, "reference_uncertainty", sel))) if present.any() else float("nan")
    has_ref = math.isfinite(e_ref) and e_ref != 0
    fail_value = float("nan")
    if metric in SIGNED_ERRORS:
        scale = {"rel_error": abs(e_ref) if has_ref else float("nan"), "abs_error_per_spin": n_spins, "energy": 1.0}[
            metric
        ]
        offset = 0.0 if metric == "energy" else e_ref
        value = (energy - offset) / scale
        sig = np.nan_to_num(sigma, nan=0.0) / scale
        if metric != "energy" and has_ref:
            fail_value = FAIL_REL_ERROR * abs(e_ref) / scale
    else:
        base = "m_z" if metric == "abs_m_z" else metric
        value = _per_cell(ds, base, sel)
        if value is None:
            value = np.full(energy.shape, np.nan)
        if metric == "abs_m_z":
            value = np.abs(value)
        sig = np.zeros_like(value)
    diags = {name: _per_cell(ds, name, sel) for name in DIAGNOSTICS if name in ds.variables}
    sig, bad = inflate_sigma(sig, np.nan_to_num(value, nan=0.0), diags.get("acceptance"), diags.get("r_hat"))
    value = np.where(failed, np.nan, value)
    rel_prec = unc / abs(e_ref) if has_ref and math.isfinite(unc) else float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        n_mean = np.nanmean(n_alive, axis=1)
        rho = np.nanmean(_per_cell(ds, "rho", sel), axis=1)
        dens = _per_cell(ds, "density", sel)
        dens = np.nanmean(dens, axis=1) if dens is not None else np.full(len(n_mean), np.nan)
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


def task_parameters(task: str) -> dict:
    """What the analysis needs to know of a task beyond the dataset: model, L, kappa, net tag, alpha.

    From the task registry when the id is registered, else parsed from the id; unknown fields are None.
    """
    import re

    system_id = task
    try:
        from .experiment import get_task

        spec = get_task(task)
        system_id = spec.system_id
        hyper = dict(spec.net_hyper)
        net = spec.net
    except LthbenchError:
        hyper, net = {}, None
    out = {"model": None, "L": None, "kappa": None, "net": net, "alpha": hyper.get("alpha")}
    m = re.search(r"tfim2d-(\d+)x(\d+)", system_id)
    if m:
        out["model"], out["L"] = "tfim", int(m.group(1))
        k = re.search(r"-k([0-9.]+)", system_id)
        out["kappa"] = float(k.group(1).rstrip(".")) if k else None
    m = re.search(r"toric-(\d+)", system_id)
    if m:
        out["model"], out["L"] = "toric", int(m.group(1))
    if out["alpha"] is None:
        a = re.search(r"-a([0-9.]+)", task)
        out["alpha"] = float(a.group(1).rstrip(".")) if a else None
    if out["net"] is None:
        n = re.search(r"-(ffnn|rbm|cnn|rescnn)", task)
        out["net"] = n.group(1) if n else None
    return out


def product_state_energy(task: str, n_spins: float) -> float:
    """Exact energy of the uniform state |+...+> (the empty network): -kappa N (TFIM), -L^2 (toric)."""
    p = task_parameters(task)
    if p["model"] == "tfim" and p["kappa"] is not None:
        return -p["kappa"] * n_spins
    if p["model"] == "toric" and p["L"] is not None:
        return -float(p["L"] ** 2)
    return float("nan")
