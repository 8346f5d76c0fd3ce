"""Records <-> the xarray dataset (dims task, method, control, round, seed), and the netCDF file
(h5netcdf engine, written atomically) that holds it."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..atomic import atomic_replace
from ..errors import LthbenchError, one_line
from .paths import check_output_path
from .records import CellKey, normalize_record, to_json
from .schema import CONTROLS, DIMS, SCHEMA_VERSION, TASK_VARIABLES, TITLE, VARIABLES, read_attrs, read_title


def _object_array(values: Iterable[str]) -> np.ndarray:
    return np.asarray(list(values), dtype=object)


def _order_controls(controls: set[str]) -> list[str]:
    known = [c for c in CONTROLS if c in controls]
    return known + sorted(controls - set(CONTROLS))


def _coordinates(records: list[dict]) -> dict[str, list]:
    """The sorted values of each dimension (controls in CONTROLS order, then the others sorted)."""
    return {
        "task": sorted({r["task"] for r in records}),
        "method": sorted({r["method"] for r in records}),
        "control": _order_controls({r["control"] for r in records}),
        "round": sorted({r["round"] for r in records}),
        "seed": sorted({r["seed"] for r in records}),
    }


@dataclass
class _Columns:
    """The dataset's values, filled from normalised records (NaN / '' where no record has one)."""

    cell: dict[str, np.ndarray]
    task: dict[str, np.ndarray]
    sources: list[str]
    fingerprints: np.ndarray
    ref_methods: list[str]


def _fill(records: list[dict], coords: dict[str, list]) -> _Columns:
    index = {dim: {v: i for i, v in enumerate(values)} for dim, values in coords.items()}
    shape = tuple(len(coords[d]) for d in DIMS)
    n_task = len(coords["task"])
    cols = _Columns(
        cell={name: np.full(shape, np.nan) for name in VARIABLES},
        task={name: np.full(n_task, np.nan) for name in TASK_VARIABLES},
        sources=[""] * n_task,
        fingerprints=np.full((n_task, len(coords["method"])), "", dtype=object),
        ref_methods=[""] * n_task,
    )
    for r in records:
        pos = tuple(index[d][r[d]] for d in DIMS)
        for name in VARIABLES:
            cols.cell[name][pos] = r[name]
        t = index["task"][r["task"]]
        for name in TASK_VARIABLES:
            if not math.isnan(r[name]):
                cols.task[name][t] = r[name]
        if r["reference_source"]:
            cols.sources[t] = r["reference_source"]
        if r["fingerprint"]:
            cols.fingerprints[t, index["method"][r["method"]]] = r["fingerprint"]
        if r["reference_method"]:
            cols.ref_methods[t] = r["reference_method"]
    return cols


def _data_vars(cols: _Columns) -> dict:
    data_vars = {}
    for name, (units, long_name) in VARIABLES.items():
        data_vars[name] = (DIMS, cols.cell[name], {"units": units, "long_name": long_name})
    for name, (units, long_name) in TASK_VARIABLES.items():
        data_vars[name] = (("task",), cols.task[name], {"units": units, "long_name": long_name})
    data_vars["reference_source"] = (("task",), _object_array(cols.sources), {"long_name": "how E_ref was obtained"})
    data_vars["fingerprint"] = (
        ("task", "method"),
        cols.fingerprints,
        {"long_name": "cell identity: sha256 of everything that determines the chain's numbers ('' = unknown)"},
    )
    data_vars["reference_method"] = (
        ("task",),
        _object_array(cols.ref_methods),
        {"long_name": "method of the E_ref row (ed-lanczos, dmrg-tenpy, ...)"},
    )
    return data_vars


def _coordinate_vars(coords: dict[str, list]) -> dict:
    return {
        "task": ("task", _object_array(coords["task"])),
        "method": ("method", _object_array(coords["method"])),
        "control": ("control", _object_array(coords["control"])),
        "round": ("round", np.asarray(coords["round"], dtype=np.int64)),
        "seed": ("seed", np.asarray(coords["seed"], dtype=np.int64)),
    }


def _global_attrs(coords: dict[str, list], fingerprints: np.ndarray, provenance: dict | None) -> dict:
    by_task = {
        t: {m: fp for m, fp in zip(coords["method"], fingerprints[i]) if fp} for i, t in enumerate(coords["task"])
    }
    return {
        "title": TITLE,
        "schema_version": SCHEMA_VERSION,
        "lthbench_schema": str(SCHEMA_VERSION),
        "diverged_values": "0 = finite, 1 = diverged, NaN = no such cell",
        "fingerprints_json": to_json(by_task),
        "provenance_json": to_json(provenance or {}),
    }


def records_to_dataset(records: list[dict], provenance: dict | None = None) -> xr.Dataset:
    """Records -> Dataset with dims (task, method, control, round, seed); missing cells are NaN.

    Per-cell variables (VARIABLES) have all five dims; reference_energy, reference_source and n_spins
    have dim task. Attributes: units and long_name per variable, and `provenance_json`.
    """
    records = [normalize_record(r) for r in records]
    coords = _coordinates(records)
    cols = _fill(records, coords)
    ds = xr.Dataset(_data_vars(cols), coords=_coordinate_vars(coords))
    ds["round"].attrs["long_name"] = "pruning round (0 = dense)"
    ds["control"].attrs["long_name"] = "imp = the pruning chain; ticket, reinit, random-mask = controls"
    ds["method"].attrs["long_name"] = "pruning method label: method/protocol/rewind=target"
    ds.attrs.update(_global_attrs(coords, cols.fingerprints, provenance))
    return ds


def _record_at(ds: xr.Dataset, pos: tuple[int, ...], values: dict[str, float]) -> dict:
    """The record of the cell at index pos (task, method, control, round, seed) with these values."""
    t, m, c, r, s = pos
    rec = {
        "task": str(ds["task"].values[t]),
        "method": str(ds["method"].values[m]),
        "control": str(ds["control"].values[c]),
        "round": int(ds["round"].values[r]),
        "seed": int(ds["seed"].values[s]),
        **values,
    }
    for name in TASK_VARIABLES:  # files from before a variable existed lack it
        rec[name] = float(ds[name].values[t]) if name in ds else float("nan")
    rec["reference_source"] = str(ds["reference_source"].values[t])
    rec["fingerprint"] = str(ds["fingerprint"].values[t, m]) if "fingerprint" in ds else ""
    rec["reference_method"] = str(ds["reference_method"].values[t]) if "reference_method" in ds else ""
    return rec


def dataset_to_records(ds: xr.Dataset) -> list[dict]:
    """The inverse of records_to_dataset: one dict per cell that has an energy or an n_alive."""
    records = []
    sizes = [len(ds[dim].values) for dim in DIMS]
    for pos in np.ndindex(*sizes):
        values = {name: float(ds[name].values[pos]) for name in VARIABLES}
        if all(math.isnan(v) for v in values.values()):
            continue
        records.append(_record_at(ds, pos, values))
    return records


def provenance_of(ds: xr.Dataset) -> dict:
    """The provenance dict of a dataset (parsed from its `provenance_json` attribute)."""
    return json.loads(ds.attrs.get("provenance_json", "{}") or "{}")


def merge(datasets: list[xr.Dataset]) -> xr.Dataset:
    """Merge datasets cell by cell; where two hold the same cell, the later one wins.

    The provenance of a merged dataset is {'merged_from': [provenance of each input, in order]}
    (inputs that are themselves merges are flattened).
    """
    if not datasets:
        raise ValueError("nothing to merge")
    by_key: dict[CellKey, dict] = {}
    provs: list = []
    for ds in datasets:
        for rec in dataset_to_records(ds):
            by_key[CellKey.from_record(rec)] = rec
        prov = provenance_of(ds)
        for p in prov.get("merged_from", [prov]) if isinstance(prov, dict) else [prov]:
            if p not in provs:
                provs.append(p)
    provenance = provs[0] if len(provs) == 1 else {"merged_from": provs}
    return records_to_dataset(list(by_key.values()), provenance)


def _netcdf_safe(value):
    """netCDF attributes take str, numbers and 1-D arrays: no nested dicts, no bools, no None."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if value is None:
        return ""
    if isinstance(value, dict):
        return to_json(value)
    if isinstance(value, (list, tuple)):
        return to_json(list(value))
    return value


def save_dataset(ds: xr.Dataset, path: str | os.PathLike) -> None:
    """Write a dataset to netCDF (h5netcdf) atomically: temp file in the same directory + os.replace."""
    path = check_output_path(path)
    ds = ds.copy()
    ds.attrs = {k: _netcdf_safe(v) for k, v in ds.attrs.items()}
    for name in ds.variables:
        ds[name].attrs = {k: _netcdf_safe(v) for k, v in ds[name].attrs.items()}
    atomic_replace(path, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf"))


def load_dataset(path: str | os.PathLike, *, other_titles: Iterable[str] = ()) -> xr.Dataset:
    """Read a results file fully into memory (the file is closed afterwards). LthbenchError (one line)
    for anything else: another netCDF, not netCDF, damaged, or a results schema version this lthbench
    does not read. A netCDF file whose `title` is one of other_titles (e.g. the `lthbench bench`
    files') is read as it is, without the results checks."""
    path = Path(path)
    others = set(other_titles)
    try:
        read_attrs(path)
    except LthbenchError:
        if not others or read_title(path) not in others:
            raise
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception as err:  # noqa: BLE001 - a damaged file
        raise LthbenchError(f"cannot read results file {str(path)!r}: {one_line(err, 200)}") from None
    if ds.attrs.get("title") in others:
        return ds
    missing = [name for name in DIMS if name not in ds.dims]
    if missing:
        raise LthbenchError(f"{str(path)!r} is not an lthbench results file (no dimension {missing[0]})")
    return ds


def stored_fingerprints(path: str | os.PathLike) -> list[dict]:
    """[{'task', 'method', 'fingerprint'}] of a results file ([] when there is none or it predates
    fingerprints); reads only those variables."""
    path = Path(path)
    if not path.is_file():
        return []
    read_attrs(path)
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            if "fingerprint" not in ds:
                return []
            fps = ds["fingerprint"].values
            tasks, methods = [str(t) for t in ds["task"].values], [str(m) for m in ds["method"].values]
    except Exception as err:  # noqa: BLE001 - a damaged file
        raise LthbenchError(f"cannot read results file {str(path)!r}: {one_line(err, 200)}") from None
    return [
        {"task": t, "method": m, "fingerprint": str(fps[i, j])}
        for i, t in enumerate(tasks)
        for j, m in enumerate(methods)
        if str(fps[i, j])
    ]
