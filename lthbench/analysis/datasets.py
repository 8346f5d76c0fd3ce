"""Results files -> one dataset for the analysis commands: read, check, combine several inputs.

Tolerates variables older files lack (`reference_uncertainty`, `acceptance`, `tau`, `r_hat`, ...): a
combined dataset keeps every variable any input carries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import LthbenchError
from ..results import load_dataset


def load_results(path) -> xr.Dataset:
    """Read an lthbench results file; LthbenchError (one line) for anything that is not one.

    An in-memory xr.Dataset is checked and returned as is (the tests and the Python API use that)."""
    if hasattr(path, "data_vars"):
        check_results(path)
        return path
    path = Path(path)
    ds = load_dataset(path)  # turns every foreign, damaged or unreadable file into one LthbenchError line
    check_results(ds, path)
    return ds


def combine(datasets) -> xr.Dataset:
    """Datasets whose method labels are disjoint -> one dataset (outer join of every coordinate).

    Unlike `results.merge` (cell by cell, the record variables only) this keeps every variable a file
    carries (chain diagnostics, reference_uncertainty, ...), and is vectorised. Per-task variables are
    taken from the first file that has a value.
    """
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


def load_many(sources, extra=()) -> tuple[xr.Dataset, dict]:
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


def check_results(ds, path: str | Path = "dataset") -> None:
    """LthbenchError unless `ds` has the lthbench results layout (dims and the energy variables)."""
    missing_dims = [d for d in ("task", "method", "control", "round", "seed") if d not in ds.dims]
    missing_vars = [v for v in ("energy", "energy_sigma", "n_alive", "rho") if v not in ds.variables]
    if "lthbench_schema" not in ds.attrs or missing_dims or missing_vars:
        what = missing_dims + missing_vars or ["attribute lthbench_schema"]
        raise LthbenchError(f"{str(path)!r} is not an lthbench results file (lacks {', '.join(what)})")
